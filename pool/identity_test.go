package pool_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
)

// identityCase is one Normalize input and what it must give: want is the
// normalised value, or "" when the value must be flagged invalid (the
// value is then the trimmed input and bad a substring of Invalid).
type identityCase struct {
	name   string
	kind   pool.IdentityKind
	in     string
	region string
	want   string
	bad    string
}

func runIdentityCases(t *testing.T, cases []identityCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := pool.Normalize(c.kind, c.in, c.region)
			assert.Equal(t, c.kind, got.Kind)
			key, ok := got.Key()
			if c.want != "" {
				assert.Empty(t, got.Invalid)
				assert.Equal(t, c.want, got.Value)
				assert.True(t, ok)
				assert.Equal(t, string(c.kind)+":"+c.want, key)
				return
			}
			assert.Contains(t, got.Invalid, c.bad)
			assert.True(t, strings.HasPrefix(got.Invalid, string(c.kind)+": "), "Invalid %q names the kind", got.Invalid)
			assert.Equal(t, strings.TrimSpace(c.in), got.Value, "an invalid value is kept, trimmed")
			assert.False(t, ok)
			assert.Empty(t, key)
		})
	}
}

func TestNormalizeIdentityEmail(t *testing.T) {
	runIdentityCases(t, []identityCase{
		{name: "plain", kind: pool.Email, in: "ana@example.com", want: "ana@example.com"},
		{name: "spaces and uppercase", kind: pool.Email, in: "  Ana.Silva@Example.COM \n", want: "ana.silva@example.com"},
		{name: "plus tag kept", kind: pool.Email, in: "ana+leads@example.com", want: "ana+leads@example.com"},
		{name: "subdomain", kind: pool.Email, in: "li@mail.corp.example.cn", want: "li@mail.corp.example.cn"},
		{name: "IDN domain lower-cased", kind: pool.Email, in: "Jörg@Bücher.DE", want: "jörg@bücher.de"},
		{name: "Chinese domain", kind: pool.Email, in: "王@例子.中国", want: "王@例子.中国"},
		{name: "empty", kind: pool.Email, in: "", bad: "is empty"},
		{name: "only spaces", kind: pool.Email, in: " \t ", bad: "is empty"},
		{name: "no at", kind: pool.Email, in: "ana.example.com", bad: "no @"},
		{name: "two ats", kind: pool.Email, in: "ana@b@example.com", bad: "more than one @"},
		{name: "empty local part", kind: pool.Email, in: "@example.com", bad: "empty local part"},
		{name: "empty domain", kind: pool.Email, in: "ana@", bad: "no dot"},
		{name: "domain without dot", kind: pool.Email, in: "ana@localhost", bad: "no dot"},
		{name: "trailing dot", kind: pool.Email, in: "ana@example.com.", bad: "empty label"},
		{name: "double dot", kind: pool.Email, in: "ana@example..com", bad: "empty label"},
		{name: "inner space", kind: pool.Email, in: "ana silva@example.com", bad: "white space"},
		{name: "no-break space", kind: pool.Email, in: "ana\u00a0silva@example.com", bad: "white space"},
		{name: "control character", kind: pool.Email, in: "ana\x07@example.com", bad: "control character"},
		{name: "NUL byte", kind: pool.Email, in: "ana\x00@example.com", bad: "NUL byte"},
		{name: "invalid UTF-8", kind: pool.Email, in: "ana\xff@example.com", bad: "not valid UTF-8"},
		{name: "too long", kind: pool.Email, in: strings.Repeat("a", 10000) + "@example.com", bad: "is 10012 bytes, the limit is 256"},
		{name: "lower-casing makes it too long", kind: pool.Email, in: strings.Repeat("Ⱥ", 120) + "@ex.com", bad: "the limit is 256"},
	})
}

func TestNormalizeIdentityPhone(t *testing.T) {
	runIdentityCases(t, []identityCase{
		{name: "CN mobile international", kind: pool.Phone, in: "+86 138 0013 8000", region: "CN", want: "+8613800138000"},
		{name: "CN mobile national", kind: pool.Phone, in: "138 0013 8000", region: "CN", want: "+8613800138000"},
		{name: "US national", kind: pool.Phone, in: "(415) 555-0123", region: "US", want: "+14155550123"},
		{name: "region in lower case", kind: pool.Phone, in: "(415) 555-0123", region: "us", want: "+14155550123"},
		{name: "DE with 00 prefix", kind: pool.Phone, in: "0049 30 1234567", region: "DE", want: "+49301234567"},
		{name: "DE trunk prefix", kind: pool.Phone, in: "030 1234567", region: "DE", want: "+49301234567"},
		{name: "international form ignores the region", kind: pool.Phone, in: "+49 30 1234567", region: "US", want: "+49301234567"},
		{name: "international form without region", kind: pool.Phone, in: " +1 415-555-0123 ", want: "+14155550123"},
		{name: "tel URI", kind: pool.Phone, in: "tel:+1-415-555-0123", want: "+14155550123"},
		{name: "vanity letters", kind: pool.Phone, in: "1-800-FLOWERS", region: "US", want: "+18003569377"},
		{name: "extension kept", kind: pool.Phone, in: "+1 415 555 0123 ext. 45", want: "+14155550123;ext=45"},
		{name: "national form without region", kind: pool.Phone, in: "(415) 555-0123", bad: "no default region"},
		{name: "unknown region", kind: pool.Phone, in: "+14155550123", region: "XX", bad: `default region "XX"`},
		{name: "letters", kind: pool.Phone, in: "call me", region: "US", bad: "not a number"},
		{name: "too short", kind: pool.Phone, in: "12", region: "US", bad: "not a valid number for region US"},
		{name: "unassigned country code", kind: pool.Phone, in: "+999 1234 5678", bad: "invalid country code"},
		{name: "empty", kind: pool.Phone, in: "", region: "US", bad: "is empty"},
		{name: "NUL byte", kind: pool.Phone, in: "+1 415\x00 555 0123", bad: "NUL byte"},
		{name: "invalid UTF-8", kind: pool.Phone, in: "+1 415 555 0123\xc3", bad: "not valid UTF-8"},
		{name: "too long", kind: pool.Phone, in: strings.Repeat("1", 10000), region: "US", bad: "the limit is 256"},
		{name: "too long for libphonenumber", kind: pool.Phone, in: "+1 " + strings.Repeat("5", 251), bad: "too long"},
	})
}

func TestNormalizeIdentitySocialCRMDevice(t *testing.T) {
	runIdentityCases(t, []identityCase{
		{name: "wechat open ID", kind: pool.Social, in: "wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M", want: "wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M"},
		{name: "provider lower-cased, id kept", kind: pool.Social, in: " LinkedIn : ACoAABcdEF ", want: "linkedin:ACoAABcdEF"},
		{name: "id with colons", kind: pool.Social, in: "x:urn:li:person:Ab", want: "x:urn:li:person:Ab"},
		{name: "social without provider", kind: pool.Social, in: ":abc", bad: "empty provider"},
		{name: "social without id", kind: pool.Social, in: "wechat:  ", bad: "empty id"},
		{name: "social without colon", kind: pool.Social, in: "o6_bmjrPTlm6", bad: "want provider:id"},
		{name: "provider with space", kind: pool.Social, in: "we chat:abc", bad: "white space"},
		{name: "social NUL", kind: pool.Social, in: "wechat:a\x00b", bad: "NUL byte"},
		{name: "crm", kind: pool.CRM, in: "Salesforce:00Q5e000001AbCdEAK", want: "salesforce:00Q5e000001AbCdEAK"},
		{name: "crm without system", kind: pool.CRM, in: "00Q5e000001AbCdEAK", bad: "want system:id"},
		{name: "crm empty", kind: pool.CRM, in: "", bad: "is empty"},
		{name: "crm too long", kind: pool.CRM, in: "hubspot:" + strings.Repeat("9", 10000), bad: "the limit is 256"},
		{name: "device kept as is", kind: pool.Device, in: "  GA1.2.Ab-Cd.1700000000 ", want: "GA1.2.Ab-Cd.1700000000"},
		{name: "device with inner spaces", kind: pool.Device, in: "a b", want: "a b"},
		{name: "device at the cap", kind: pool.Device, in: strings.Repeat("d", leadkit.MaxIDBytes), want: strings.Repeat("d", leadkit.MaxIDBytes)},
		{name: "device over the cap", kind: pool.Device, in: strings.Repeat("d", leadkit.MaxIDBytes+1), bad: "is 257 bytes, the limit is 256"},
		{name: "device invalid UTF-8", kind: pool.Device, in: "\xfe\xff", bad: "not valid UTF-8"},
	})
}

func TestNormalizeIdentityUnknownKind(t *testing.T) {
	for _, k := range []pool.IdentityKind{"", "fax", "Email", "EMAIL"} {
		got := pool.Normalize(k, " x@example.com ", "US")
		assert.Equal(t, k, got.Kind)
		assert.Equal(t, "x@example.com", got.Value)
		assert.Equal(t, fmt.Sprintf("unknown identity kind %q", k), got.Invalid)
		_, ok := got.Key()
		assert.False(t, ok, "kind %q", k)
	}
}

func TestIdentityKindValid(t *testing.T) {
	for _, k := range []pool.IdentityKind{pool.Email, pool.Phone, pool.Social, pool.Device, pool.CRM} {
		assert.True(t, k.Valid(), k)
	}
	assert.Equal(t, []string{"email", "phone", "social", "device", "crm"},
		[]string{string(pool.Email), string(pool.Phone), string(pool.Social), string(pool.Device), string(pool.CRM)})
	for _, k := range []pool.IdentityKind{"", "fax", "Phone", "cookie"} {
		assert.False(t, k.Valid(), k)
	}
}

func TestIdentityKeyRefusesUnusableIdentities(t *testing.T) {
	for _, id := range []pool.Identity{
		{Kind: pool.Email, Value: "a@b.co", Invalid: "email: flagged"},
		{Kind: "fax", Value: "123"},
		{Kind: pool.Device},
		{},
	} {
		key, ok := id.Key()
		assert.False(t, ok, "%+v", id)
		assert.Empty(t, key)
	}
	key, ok := pool.Identity{Kind: pool.Device, Value: "abc"}.Key()
	assert.True(t, ok)
	assert.Equal(t, "device:abc", key)
}

func TestIdentityKeysOfKindsNeverCollide(t *testing.T) {
	// The same text as two kinds is two keys.
	a, _ := pool.Normalize(pool.Social, "crm:1", "").Key()
	b, _ := pool.Normalize(pool.CRM, "crm:1", "").Key()
	assert.Equal(t, "social:crm:1", a)
	assert.Equal(t, "crm:crm:1", b)
}

func TestValidRegion(t *testing.T) {
	for _, r := range []string{"", "US", "us", "CN", "DE", "GB"} {
		assert.True(t, pool.ValidRegion(r), r)
	}
	for _, r := range []string{"XX", "USA", "001", "ZZ", " US"} {
		assert.False(t, pool.ValidRegion(r), r)
	}
}

func TestIdentityJSONRoundTrip(t *testing.T) {
	for _, id := range []pool.Identity{
		pool.Normalize(pool.Phone, "+86 138 0013 8000", ""),
		pool.Normalize(pool.Email, "not an email", ""),
	} {
		data, err := json.Marshal(id)
		require.NoError(t, err)
		var back pool.Identity
		require.NoError(t, json.Unmarshal(data, &back))
		assert.Equal(t, id, back)
	}
	data, err := json.Marshal(pool.Normalize(pool.Email, "A@B.co", ""))
	require.NoError(t, err)
	assert.JSONEq(t, `{"kind":"email","value":"a@b.co"}`, string(data))
	data, err = json.Marshal(pool.Normalize(pool.Email, "AB.co", ""))
	require.NoError(t, err)
	assert.JSONEq(t, `{"kind":"email","value":"AB.co","invalid":"email: no @"}`, string(data))
}

// identityPieces builds random identity inputs: valid-looking ones often,
// with case, spacing and punctuation varied.
var identityPieces = map[pool.IdentityKind][]string{
	pool.Email:  {"Ana", "li.wei", "x+y", "Jörg", "王", "@", "@", "Example", ".COM", ".cn", ".", " ", "Ⱥ", "İ"},
	pool.Phone:  {"+", "+1 ", "+86 ", "00", "0", "138", "0013", "8000", "(415)", " 555-", "0123", "ext. 7", " ", "A", "tel:"},
	pool.Social: {"WeChat", "linkedin", ":", ":", "o6_bm", "ACoA", " ", "Ab", "-", "::"},
	pool.CRM:    {"Salesforce", "hubspot", ":", "00Q5e", "AbC", " ", "::"},
	pool.Device: {"GA1", ".", "2", " ", "Ab-Cd", "\t", "é"},
}

func TestNormalizeIdentityIsIdempotent(t *testing.T) {
	regions := []string{"", "US", "CN", "DE", "GB", "FR"}
	valid := 0
	for seed := uint64(1); seed <= 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 42))
		for range 2000 {
			kind := []pool.IdentityKind{pool.Email, pool.Phone, pool.Social, pool.CRM, pool.Device}[rng.IntN(5)]
			pieces := identityPieces[kind]
			var sb strings.Builder
			for range 1 + rng.IntN(6) {
				sb.WriteString(pieces[rng.IntN(len(pieces))])
			}
			region := regions[rng.IntN(len(regions))]
			first := pool.Normalize(kind, sb.String(), region)
			again := pool.Normalize(kind, first.Value, region)
			if first.Invalid != "" {
				assert.NotEmpty(t, again.Invalid, "%q: an invalid value stays invalid", sb.String())
				continue
			}
			valid++
			assert.Equal(t, first, again, "%s %q region %q", kind, sb.String(), region)
			// A normalised phone is in international form: any region reads it the same.
			if kind == pool.Phone {
				assert.Equal(t, first, pool.Normalize(kind, first.Value, ""))
			}
		}
	}
	assert.Greater(t, valid, 2000, "the generator yields enough valid values to test")
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []struct{ kind, value, region string }{
		{"email", " Ana.Silva@Example.COM ", ""},
		{"phone", "+86 138 0013 8000", "CN"},
		{"phone", "(415) 555-0123", "US"},
		{"phone", "0049 30 1234567", "DE"},
		{"social", "wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M", ""},
		{"crm", "Salesforce:00Q5e000001AbCdEAK", ""},
		{"device", "GA1.2.3", ""},
		{"subject", "visitor-42", ""},
		{"subject", " visitor-42", ""},
	} {
		f.Add(s.kind, s.value, s.region)
	}
	f.Fuzz(func(t *testing.T, kind, value, region string) {
		id := pool.Normalize(pool.IdentityKind(kind), value, region)
		key, ok := id.Key()
		if id.Invalid != "" {
			if ok || key != "" {
				t.Fatalf("invalid identity %+v has key %q", id, key)
			}
			return
		}
		if !ok || key != kind+":"+id.Value {
			t.Fatalf("valid identity %+v: key %q, %v", id, key, ok)
		}
		if msg := leadkit.CheckText(id.Value, leadkit.MaxIDBytes); msg != "" || id.Value == "" || !utf8.ValidString(id.Value) {
			t.Fatalf("valid identity %+v: value %s", id, msg)
		}
		if again := pool.Normalize(id.Kind, id.Value, region); again != id {
			t.Fatalf("%q normalised to %+v, then to %+v", value, id, again)
		}
	})
}

func ExampleNormalize() {
	for _, id := range []pool.Identity{
		pool.Normalize(pool.Email, "  Ana.Silva@Example.COM ", ""),
		pool.Normalize(pool.Phone, "138 0013 8000", "CN"),
		pool.Normalize(pool.Phone, "(415) 555-0123", "US"),
		pool.Normalize(pool.Social, "WeChat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M", ""),
		pool.Normalize(pool.Phone, "(415) 555-0123", ""),
	} {
		if key, ok := id.Key(); ok {
			fmt.Println(key)
		} else {
			fmt.Printf("kept, not matched: %q (%s)\n", id.Value, id.Invalid)
		}
	}
	// Output:
	// email:ana.silva@example.com
	// phone:+8613800138000
	// phone:+14155550123
	// social:wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M
	// kept, not matched: "(415) 555-0123" (phone: not in international form (+...) and no default region)
}

func TestFreeMailDomainsAreClean(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range pool.FreeMailDomains {
		assert.Equal(t, strings.ToLower(strings.TrimSpace(d)), d, "lower-case, no spaces")
		assert.Contains(t, d, ".", d)
		assert.NotContains(t, d, "@", d)
		assert.False(t, seen[d], "duplicate %s", d)
		seen[d] = true
	}
	for _, d := range []string{"gmail.com", "googlemail.com", "yahoo.com", "outlook.com", "hotmail.com",
		"live.com", "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de",
		"mail.ru", "yandex.ru", "qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "naver.com"} {
		assert.True(t, seen[d], "missing %s", d)
	}
}

func TestIsFreeMail(t *testing.T) {
	for _, c := range []struct {
		email string
		extra []string
		want  bool
	}{
		{"ana@gmail.com", nil, true},
		{" Ana@GMail.COM ", nil, true},
		{"wei@qq.com", nil, true},
		{"wei@163.com", nil, true},
		{"ana@outlook.com.", nil, true},
		{"ana@acme.com", nil, false},
		{"ana@mail.gmail.com", nil, false}, // not a provider's domain
		{"ana@gmail.com.evil.io", nil, false},
		{"ana@acme.com", []string{" @ACME.com "}, true},
		{"ana@acme.com", []string{"acme.co"}, false},
		{"gmail.com", nil, false}, // not an address
		{"", []string{""}, false},
		{"ana@", []string{""}, false},
	} {
		assert.Equal(t, c.want, pool.IsFreeMail(c.email, c.extra), "%q %q", c.email, c.extra)
	}
}

func TestEmailDomain(t *testing.T) {
	for in, want := range map[string]string{
		"ana@Example.COM":   "example.com",
		" li@例子.中国 ":        "例子.中国",
		"ana":               "",
		"":                  "",
		"https://acme.com/": "", // a URL is not an e-mail address
	} {
		assert.Equal(t, want, pool.EmailDomain(in), in)
	}
}

// phoneInputs are numbers as people type them, with their regions.
var phoneInputs = []struct{ in, region string }{
	{"+86 138 0013 8000", "CN"},
	{"(415) 555-0123", "US"},
	{"0049 30 1234567", "DE"},
	{"020 7946 0958", "GB"},
	{"+33 1 42 68 53 00", "FR"},
	{"138-0013-8000", "CN"},
	{"+1 650 253 0000", ""},
	{"1-800-FLOWERS", "US"},
}

// BenchmarkNormalizePhone measures Normalize on phones against a naive
// baseline that only keeps the digits (no region, validation or E.164), in
// the same run.
func BenchmarkNormalizePhone(b *testing.B) {
	b.Run("libphonenumber", func(b *testing.B) {
		i := 0
		for b.Loop() {
			p := phoneInputs[i%len(phoneInputs)]
			if pool.Normalize(pool.Phone, p.in, p.region).Invalid != "" {
				b.Fatal(p.in)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("naive_digits", func(b *testing.B) {
		i := 0
		digits := func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}
		for b.Loop() {
			p := phoneInputs[i%len(phoneInputs)]
			if strings.Map(digits, p.in) == "" {
				b.Fatal(p.in)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}
