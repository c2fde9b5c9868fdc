package lang

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// journeySchema is the event context of a funnel step: event fields and
// declared attributes, no as-of time.
func journeySchema(t testing.TB, decls ...leadkit.FieldSpec) *Schema {
	fields := EventFields()
	declared, problems := DeclaredFields(decls, fields, "event")
	require.Empty(t, problems)
	return NewSchema(append(fields, declared...), SchemaOptions{
		Declare: declareHint, DeclareScopes: []string{"event"},
		NoAsOf: true, NoAsOfHint: "funnel steps have no as-of time",
	})
}

func TestHints(t *testing.T) {
	sch := journeySchema(t, leadkit.FieldSpec{Name: "event.pages", Type: leadkit.TypeNumber})
	for _, c := range []struct{ src, want string }{
		{`Channel == "webinar"`, "unknown name Channel: the name is now event.channel"},
		{`Type == "download"`, "the name is now event.type"},
		{`Attrs["pages"] > 10`, `event attributes are read as event.pages after declaring them: declare it in fields: {"name": "event.pages"`},
		{`Attrs.topic == "ai"`, `event attributes are read as event.topic after declaring them: declare it in fields: {"name": "event.topic"`},
		{`LeadID == "x"`, "the name is now lead.id, which this expression cannot read: it reads event.*"},
		{`person.title == "x"`, "person.* is not available here: it reads event.*"},
		{`titel == "x"`, "unknown name titel"},
		{`event.topic == "ai"`, `event has no field topic: undeclared field: declare it in fields: {"name": "event.topic", "type": "string"}`},
		{`event.chanel == "web"`, "event has no field chanel: did you mean event.channel?"},
		{`event.Channel == "web"`, "did you mean event.channel?"},
		{`chanel == "web"`, "did you mean event.channel?"},
		{`now() > event.time`, "now is not available: expressions must not read the clock"},
		{`event.age_days < 3`, "event.age_days is not available: funnel steps have no as-of time"},
		{`daysSince(event.time) < 3`, "daysSince is not available: funnel steps have no as-of time"},
		{`split(event.content, "/")[0] == "x"`, "split is not available"},
	} {
		_, err := Compile(c.src, sch, Config{Want: Bool, MaxCost: DefaultMaxEventCost})
		require.NotNil(t, err, c.src)
		assert.Contains(t, err.Message, c.want, c.src)
		assert.Equal(t, 1, err.Line, c.src)
		if strings.HasPrefix(c.src, "event.") {
			assert.Equal(t, 7, err.Column, "%s: points at the field", c.src)
		} else {
			assert.Equal(t, 1, err.Column, c.src)
		}
	}
	// Names of another context say so, and short names are not matched
	// to unrelated fields (title is not event.time).
	for _, c := range []struct {
		sch       *Schema
		src, want string
	}{
		{testSchema(t, false), `Channel == "x"`, "the name is now event.channel, which this expression cannot read: it reads company.*, lead.*, person.*"},
		{testSchema(t, false), `event.channel == "x"`, "event.* is not available here: it reads company.*, lead.*, person.*"},
		{slotSchema(), `Channel > 1`, "the name is now event.channel, which this expression cannot read: it reads its declared facts by bare name"},
		{slotSchema(), `engagment > 1`, "did you mean engagement?"},
	} {
		_, err := Compile(c.src, c.sch, Config{Want: Bool})
		require.NotNil(t, err, c.src)
		assert.Contains(t, err.Message, c.want, c.src)
	}
	_, err := Compile(`title == "x"`, testSchema(t, true), Config{Want: Bool, MaxCost: DefaultMaxEventCost})
	require.NotNil(t, err)
	assert.NotContains(t, err.Message, "event.time")

	// The new names compile and read the event.
	p, err := Compile(`event.channel == "webinar" && event.pages > 10`, sch, Config{Want: Bool})
	require.Nil(t, err)
	ok, rerr := p.Bool(&Ctx{Event: &leadkit.Event{Channel: "webinar", Attrs: map[string]any{"pages": 12}}}, NewRunner(Limits{}))
	require.NoError(t, rerr)
	assert.True(t, ok)

	// A context without declarations lists its fields instead.
	lead := NewSchema(LeadFields(), SchemaOptions{})
	_, err = Compile(`lead.owner == "x"`, lead, Config{Want: Bool})
	require.NotNil(t, err)
	assert.Contains(t, err.Message, "lead has no field owner: lead has lead.account_id, lead.age_days, lead.created_at, lead.id, lead.source")
}

// Columns count runes, not bytes: the error under a non-ASCII prefix
// points at the right character.
func TestColumnsInRunes(t *testing.T) {
	sch := journeySchema(t)
	for _, c := range []struct {
		src string
		col int
	}{
		{`event.content == "héllo wörld" && nope`, 35},
		{`event.content == "日本語" && event.nope == 1`, 33},
		{`"日本" == event.content && let x = 1; x`, 26},
		{"event.type == \"a\" &&\n  \"é\" == Channel", 10},
	} {
		_, err := Compile(c.src, sch, Config{Want: Bool})
		require.NotNil(t, err, c.src)
		runes := []rune(strings.Split(c.src, "\n")[err.Line-1])
		require.LessOrEqual(t, err.Column, len(runes), c.src)
		assert.Equal(t, c.col, err.Column, "%s: %v (at %q)", c.src, err, string(runes[err.Column-1:]))
	}
}

// The attack cases: each was a denial of service before the shared
// compiler reached every package.
func TestAttacksRefused(t *testing.T) {
	long := strings.Repeat("x", 3950)
	facts := NewSchema([]Field{
		{Name: "score", Get: Node{Kind: Num, N: func(c *Ctx) float64 { return c.Nums[0] }}},
		{Name: "tags", Get: Node{Kind: List, L: func(c *Ctx) []string { return c.Lists[0] }}},
	}, SchemaOptions{})
	for _, c := range []struct {
		name, src string
		sch       *Schema
		cfg       Config
		want      string
	}{
		{"split bomb", `len(map(1..300, map(1..300, split("` + long + `" + string(#), "")))) > 0`, facts, Config{Want: Bool}, "split is not available"},
		{"ranges of ranges", `len(map(1..300, map(1..300, string(#) + "` + long + `"))) > 0`, facts, Config{Want: Bool}, "lists of lists are not allowed"},
		{"ranges", `any(1..100000, string(#) + "` + long + `" == "x")`, facts, Config{Want: Bool}, "units of work"},
		{"nested list walk per event", `all(event.tags, all(event.tags, # != "x"))`, testSchema(t, true), Config{Want: Bool, MaxCost: DefaultMaxEventCost, CostName: "Options.MaxEventCost"}, "Options.MaxEventCost"},
		{"nested list walk", `all(tags, all(tags, all(tags, # != "x")))`, facts, Config{Want: Bool}, "nested 3 deep"},
		{"time zone", `lead.created_at.Local().Format("MST") == "JST"`, testSchema(t, false), Config{Want: Bool}, "method calls are not allowed (Local)"},
	} {
		_, err := Compile(c.src, c.sch, c.cfg)
		require.NotNil(t, err, c.name)
		assert.Contains(t, err.Message, c.want, c.name)
	}
}

// int and float refuse what does not fit instead of wrapping: expr's
// int(1e30) is -9.2e18.
func TestIntFloatChecked(t *testing.T) {
	sch := slotSchema()
	r := NewRunner(Limits{})
	for _, force := range []bool{false, true} {
		p, err := Compile(`int(fit * 1e30)`, sch, Config{Want: Num, ForceVM: force})
		require.Nil(t, err)
		_, rerr := p.Float(&Ctx{Nums: []float64{2, 0, 0}}, r)
		assert.ErrorContains(t, rerr, "out of range", "force VM %v", force)
		v, rerr := p.Float(&Ctx{Nums: []float64{1e-30 * 7.9, 0, 0}}, r)
		require.NoError(t, rerr)
		assert.Equal(t, 7.0, v)
	}
	for _, src := range []string{`float("NaN") > 1`, `float("Inf") > 1`, `int("1e3") > 1`} {
		p, err := Compile(src, sch, Config{Want: Bool})
		require.Nil(t, err, src)
		_, rerr := p.Bool(&Ctx{Nums: []float64{0, 0, 0}}, r)
		assert.Error(t, rerr, src)
	}
}

// Integer arithmetic fails on overflow instead of wrapping, on closures and
// on the VM alike: with 2 employees, employees * 2^62 < 0 held and scored.
func TestIntArithmeticChecked(t *testing.T) {
	sch := testSchema(t, false)
	lead := leadkit.Lead{Company: leadkit.Company{Employees: 2}}
	r := NewRunner(Limits{})
	for src, want := range map[string]string{
		`company.employees * 4611686018427387904 < 0`:     "integer overflow: 2 * 4611686018427387904",
		`int("9223372036854775807") + 1 < 0`:              "integer overflow: 9223372036854775807 + 1",
		`-(-9223372036854775807 - 1) < 0`:                 "integer overflow: -(-9223372036854775808)",
		`company.employees - 9223372036854775807 - 9 < 0`: "integer overflow",
		`any(person.interests, len(#) * 9223372036854775807 > 0) || company.employees * 9223372036854775807 > 0`: "integer overflow",
	} {
		for _, force := range []bool{false, true} {
			p, err := Compile(src, sch, Config{Want: Bool, ForceVM: force})
			require.Nil(t, err, src)
			ok, rerr := p.Bool(&Ctx{Lead: &lead}, r)
			require.Error(t, rerr, "%s (VM %v) gave %v", src, force, ok)
			assert.ErrorContains(t, rerr, want, src)
		}
	}
	// In range, integers stay integers and closures still cover them.
	for src, want := range map[string]bool{
		`company.employees * 3 + 1 == 7`:              true,
		`-company.employees - 1 == -3`:                true,
		`company.employees % 2 == 0`:                  true,
		`company.employees * 1000000000 > 1e9`:        true,
		`9223372036854775807 - company.employees > 0`: true,
	} {
		p, err := Compile(src, sch, Config{Want: Bool})
		require.Nil(t, err, src)
		assert.True(t, p.Fast(), "%s on closures", src)
		got, rerr := p.Bool(&Ctx{Lead: &lead}, r)
		require.NoError(t, rerr, src)
		assert.Equal(t, want, got, src)
	}
}

// Results never depend on the host's time zone: times are read in UTC,
// methods are refused, and string(t) formats the UTC time.
func TestNoHostTimeZone(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	sch := testSchema(t, true)
	p, err := Compile(`string(event.time) contains "UTC" && string(lead.created_at) contains "2024-06-01 00:00"`, sch, Config{Want: Bool})
	require.Nil(t, err)
	l := leadkit.Lead{CreatedAt: time.Date(2024, 6, 1, 9, 0, 0, 0, jst)}
	e := leadkit.Event{Time: time.Date(2024, 6, 2, 9, 0, 0, 0, jst)}
	// The host's zone (time.Local, what TZ sets) changes nothing.
	saved := time.Local
	defer func() { time.Local = saved }()
	for _, local := range []*time.Location{time.UTC, jst, time.FixedZone("HST", -10*3600)} {
		time.Local = local
		for _, force := range []bool{false, true} {
			p, err := Compile(p.Source(), sch, Config{Want: Bool, ForceVM: force})
			require.Nil(t, err)
			ok, rerr := p.Bool(&Ctx{Lead: &l, Event: &e}, NewRunner(Limits{}))
			require.NoError(t, rerr)
			assert.True(t, ok, "force VM %v, host zone %s", force, local)
			q, err := Compile(`daysSince(lead.created_at) == 1.5`, sch, Config{Want: Bool, ForceVM: force})
			require.Nil(t, err)
			ok, rerr = q.Bool(&Ctx{Lead: &l, Event: &e, AsOf: l.CreatedAt.Add(36 * time.Hour).In(jst)}, NewRunner(Limits{}))
			require.NoError(t, rerr)
			assert.True(t, ok, "daysSince, force VM %v, host zone %s", force, local)
		}
	}
}

func TestClauses(t *testing.T) {
	facts := NewSchema([]Field{
		{Name: "score", Get: Node{Kind: Num, N: func(c *Ctx) float64 { return c.Nums[0] }}},
		{Name: "grade", Get: Node{Kind: Str, S: func(c *Ctx) string { return c.Texts[0] }}},
		{Name: "tags", Get: Node{Kind: List, L: func(c *Ctx) []string { return c.Lists[0] }}},
	}, SchemaOptions{})
	p, err := Compile(`score >= 100 && (grade in ["A", "B"] || any(tags, # == "vip")) && score < 1000`, facts, Config{Want: Bool, Clauses: true})
	require.Nil(t, err)
	cl := p.Clauses()
	require.NotNil(t, cl)
	assert.Equal(t, "and", cl.Op)
	require.Len(t, cl.Children, 3)
	assert.Equal(t, "or", cl.Children[1].Op)
	assert.Equal(t, []string{"grade", "tags"}, cl.Children[1].Fields)
	assert.Equal(t, `score >= 100`, cl.Children[0].Src)
	r := NewRunner(Limits{})
	ctx := &Ctx{Nums: []float64{150}, Texts: []string{"C"}, Lists: [][]string{{"vip"}}}
	for _, ch := range cl.Children {
		v, err := ch.Eval(ctx, r)
		require.NoError(t, err)
		assert.True(t, v, ch.Src)
	}
	ctx.Lists[0] = nil
	v, err2 := cl.Children[1].Eval(ctx, r)
	require.NoError(t, err2)
	assert.False(t, v)
	whole, err2 := p.Bool(ctx, r)
	require.NoError(t, err2)
	assert.False(t, whole)

	// A 240-leaf "or" is compiled by expr once, not once per leaf.
	var parts []string
	for i := 0; i < 240; i++ {
		parts = append(parts, fmt.Sprintf("score == %d", i))
	}
	before := compiles.Load()
	big, err := Compile(strings.Join(parts, " || "), facts, Config{Want: Bool, Clauses: true})
	require.Nil(t, err)
	require.Len(t, big.Clauses().Children, 240)
	for _, ch := range big.Clauses().Children {
		assert.True(t, ch.ok, ch.Src)
		_, err := ch.Eval(ctx, r)
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), compiles.Load()-before, "one compilation for the guard and all its clauses, evaluated or not")
}

func TestCompileErrors(t *testing.T) {
	facts := NewSchema([]Field{
		{Name: "Score", Get: Node{Kind: Num, N: func(c *Ctx) float64 { return c.Nums[0] }}},
		{Name: "Grade", Get: Node{Kind: Str, S: func(c *Ctx) string { return c.Texts[0] }}},
	}, SchemaOptions{})
	cases := []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"unknown field", "Scor > 1", 1, 1, "unknown name Scor: did you mean Score?"},
		{"wrong type", "Grade > 1", 1, 7, "invalid operation"},
		{"not bool", "Score + 1", 0, 0, "expected bool"},
		{"second line", "Score > 1 &&\n  Grade == 2", 2, 9, "mismatched types"},
		{"syntax", "Score >", 1, 7, "unexpected token"},
		{"empty", "  ", 0, 0, "empty expression"},
		{"too long", strings.Repeat("Score > 1 || ", 400) + "true", 0, 0, "bytes long, the limit is 4096"},
		{"nul", "Score > 1\x00", 0, 0, "NUL"},
		{"too many nodes", strings.Repeat("1+", 900) + "1 > 0", 0, 0, "exceeds maximum allowed nodes"},
	}
	for _, c := range cases {
		_, err := Compile(c.src, facts, Config{Want: Bool})
		require.NotNil(t, err, c.name)
		assert.Contains(t, err.Error(), c.msg, c.name)
		if c.line > 0 {
			assert.Equal(t, c.line, err.Line, c.name)
			assert.Equal(t, c.col, err.Column, c.name)
		}
	}
}

func TestMemoryBudget(t *testing.T) {
	facts := slotSchema()
	p, err := Compile("len(map(1..100000, # * 2)) > 0", facts, Config{Want: Bool, MaxCost: 1e7})
	require.Nil(t, err)
	_, rerr := p.Bool(&Ctx{}, NewRunner(Limits{MemoryBudget: 1000}))
	assert.ErrorContains(t, rerr, "memory budget")
	// The default cost bound refuses it at compile time.
	_, err = Compile("len(map(1..100000, # * 2)) > 0", facts, Config{Want: Bool, MaxCost: DefaultMaxEventCost})
	require.NotNil(t, err)
}

func TestDomain(t *testing.T) {
	for in, want := range map[string]string{
		"a@Acme.com":             "acme.com",
		"https://www.acme.com/x": "www.acme.com",
		"acme.com/path":          "acme.com",
		"":                       "",
	} {
		assert.Equal(t, want, Domain(in), in)
	}
}

func TestDeclaredFieldsProblems(t *testing.T) {
	_, problems := DeclaredFields([]leadkit.FieldSpec{
		{Name: "topic", Type: leadkit.TypeString},
		{Name: "event.1x", Type: leadkit.TypeString},
		{Name: "event.type", Type: leadkit.TypeString},
		{Name: "event.t", Type: "text"},
		{Name: "person.x", Type: leadkit.TypeString},
		{Name: "event.ok", Type: leadkit.TypeTime},
		{Name: "event.ok", Type: leadkit.TypeTime},
	}, EventFields(), "event")
	require.Len(t, problems, 6)
	assert.Contains(t, problems[0], `field 1 "topic": name must be "event.<key>"`)
	assert.Contains(t, problems[1], "not an identifier")
	assert.Contains(t, problems[2], "built-in")
	assert.Contains(t, problems[3], `type "text"`)
	assert.Contains(t, problems[4], `name must be "event.<key>"`)
	assert.Contains(t, problems[5], "declared twice")
}

// Time values (facts, declared attributes, custom fields) follow the time
// range of events: year 300000 was accepted and daysSince saturated.
func TestTimeValuesInRange(t *testing.T) {
	for _, v := range []any{time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), "2999-01-01T00:00:00Z", "1899-12-31T23:59:59Z"} {
		_, msg := Convert(v, Time)
		assert.Contains(t, msg, "is outside years 1900 to 2149", "%v", v)
	}
	for _, v := range []any{time.Time{}, leadkit.MinTime, "2149-12-31T23:59:59Z"} {
		_, msg := Convert(v, Time)
		assert.Empty(t, msg, "%v", v)
	}
}

// person.phone reads Person.Phone (new in the one dialect); a model that
// declared a custom person.phone now reads the built-in field.
func TestPersonPhone(t *testing.T) {
	sch := testSchema(t, false)
	lead := leadkit.Lead{Person: leadkit.Person{Phone: "+14155550123"}}
	for _, force := range []bool{false, true} {
		p, err := Compile(`hasPrefix(person.phone, "+1")`, sch, Config{Want: Bool, ForceVM: force})
		require.Nil(t, err)
		ok, rerr := p.Bool(&Ctx{Lead: &lead}, NewRunner(Limits{}))
		require.NoError(t, rerr)
		assert.True(t, ok)
	}
	_, problems := DeclaredFields([]leadkit.FieldSpec{{Name: "person.phone", Type: leadkit.TypeString}}, LeadFields(), "person")
	assert.NotEmpty(t, problems, "a built-in field cannot be declared again")
}
