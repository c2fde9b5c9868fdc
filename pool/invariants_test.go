package pool_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
)

var rctx = context.Background()
var rt0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func rpool(t *testing.T, pol pool.Policy) *pool.Pool {
	n := 0
	p, err := pool.New(pool.Options{Policy: pol, Now: func() time.Time { return rt0.Add(365 * 24 * time.Hour) },
		NewID: func() string { n++; return fmt.Sprintf("p%03d", n) }})
	require.NoError(t, err)
	return p
}
func rem(s string) pool.Identity  { return pool.Identity{Kind: pool.Email, Value: s} }
func rcrm(s string) pool.Identity { return pool.Identity{Kind: pool.CRM, Value: s} }

func rup(t *testing.T, p *pool.Pool, id string, at time.Time, ids ...pool.Identity) pool.Prospect {
	pr, _, err := p.Upsert(rctx, pool.Observation{ID: id, At: at, Identities: ids})
	require.NoError(t, err)
	return pr
}

// Found by the outside review: three-way merge where only the absorbed prospects clash.
func TestCRMClashBetweenAbsorbed(t *testing.T) {
	p := rpool(t, pool.Policy{})
	rup(t, p, "o1", rt0, rem("a@x.co"))
	rup(t, p, "o2", rt0.Add(time.Hour), rem("b@x.co"), rcrm("sf:1"))
	rup(t, p, "o3", rt0.Add(2*time.Hour), rem("c@x.co"), rcrm("sf:2"))
	pr, _, err := p.Upsert(rctx, pool.Observation{ID: "o4", At: rt0.Add(3 * time.Hour), Identities: []pool.Identity{rem("a@x.co"), rem("b@x.co"), rem("c@x.co")}})
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "two salesforce IDs must be refused; got %v", pr.Keys())
}

// Found by the outside review: an observation itself brings a second CRM ID of the same system.
func TestCRMClashFromObservation(t *testing.T) {
	p := rpool(t, pool.Policy{})
	rup(t, p, "o1", rt0, rem("a@x.co"), rcrm("sf:1"))
	pr, _, err := p.Upsert(rctx, pool.Observation{ID: "o2", At: rt0, Identities: []pool.Identity{rem("a@x.co"), rcrm("sf:2")}})
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "got %v", pr.Keys())
}

// Found by the outside review: merge drops identities beyond MaxIdentities; they are then held by nobody.
func TestMergeLosesIdentities(t *testing.T) {
	p := rpool(t, pool.Policy{})
	var many []pool.Identity
	for i := range pool.MaxIdentities {
		many = append(many, rem(fmt.Sprintf("a%d@x.co", i)))
	}
	rup(t, p, "o1", rt0, many...)
	rup(t, p, "o2", rt0.Add(time.Hour), rem("b@x.co"), rem("b2@x.co"))
	_, _, err := p.Upsert(rctx, pool.Observation{ID: "o3", At: rt0.Add(2 * time.Hour), Identities: []pool.Identity{rem("a0@x.co"), rem("b@x.co")}})
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "a merge over the identity cap is refused, not truncated")
	found, err := p.Store().Find(rctx, []string{"email:b2@x.co"})
	require.NoError(t, err)
	assert.Len(t, found, 1, "identity b2 is still held")
}

// Found by the outside review: graduated prospect opts out, is recycled: active with opt-out, graduates again.
func TestReenterIgnoresOptOut(t *testing.T) {
	p := rpool(t, pool.Policy{Segments: []pool.Condition{{Name: "all", When: "true"}}})
	pr := rup(t, p, "o1", rt0, rem("a@x.co"))
	_, ok, err := p.Qualify(rctx, pr.ID, rt0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	_, _, err = p.Upsert(rctx, pool.Observation{ID: "o2", At: rt0.Add(2 * time.Hour), Identities: []pool.Identity{rem("a@x.co")}, Consent: &pool.Consent{OptedOut: true}})
	require.NoError(t, err)
	pr, err = p.Reenter(rctx, pr.ID, rt0.Add(3*time.Hour))
	require.NoError(t, err)
	assert.NotEqual(t, pool.StatusActive, pr.Status, "opted-out prospect re-entered as active")
	members, _, _ := p.Segment(rctx, "all", "", 10, rt0.Add(4*time.Hour))
	assert.Empty(t, members, "opted-out prospect selected for nurture")
	_, ok, _ = p.Qualify(rctx, pr.ID, rt0.Add(5*time.Hour))
	assert.False(t, ok, "opted-out prospect graduated")
}

// Found by the outside review: opted-out prospect whose consent was later overwritten is absorbed: survivor stays active.
func TestMergeOfOptedOutKeepsSurvivorActive(t *testing.T) {
	p := rpool(t, pool.Policy{})
	rup(t, p, "o1", rt0, rem("a@x.co"))
	_, _, err := p.Upsert(rctx, pool.Observation{ID: "o2", At: rt0.Add(time.Hour), Identities: []pool.Identity{rem("b@x.co")}, Consent: &pool.Consent{OptedOut: true}})
	require.NoError(t, err)
	_, _, err = p.Upsert(rctx, pool.Observation{ID: "o3", At: rt0.Add(2 * time.Hour), Identities: []pool.Identity{rem("b@x.co")}, Consent: &pool.Consent{OptedIn: true}})
	require.NoError(t, err)
	pr := rup(t, p, "o4", rt0.Add(3*time.Hour), rem("a@x.co"), rem("b@x.co"))
	assert.Equal(t, pool.StatusOptedOut, pr.Status, "absorbed an opted-out prospect: consent %+v", pr.Consent)
}

// Found by the outside review: erasing a survivor leaves the absorbed prospects' personal data.
func TestEraseLeavesAbsorbedData(t *testing.T) {
	p := rpool(t, pool.Policy{})
	a := rup(t, p, "o1", rt0, rem("a@x.co"))
	_, _, err := p.Upsert(rctx, pool.Observation{ID: "o2", At: rt0.Add(time.Hour), Identities: []pool.Identity{rem("b@x.co")}, Person: leadkit.Person{FirstName: "Bob", Phone: "555"}})
	require.NoError(t, err)
	surv := rup(t, p, "o3", rt0.Add(2*time.Hour), rem("a@x.co"), rem("b@x.co"))
	require.Equal(t, a.ID, surv.ID)
	_, err = p.Erase(rctx, surv.ID, rt0.Add(3*time.Hour))
	require.NoError(t, err)
	var left []string
	require.NoError(t, p.Store().Scan(rctx, func(x pool.Prospect) error {
		b, _ := json.Marshal(x)
		if strings.Contains(string(b), "b@x.co") || strings.Contains(string(b), "Bob") {
			left = append(left, string(b))
		}
		return nil
	}))
	assert.Empty(t, left, "personal data survives erasure")
}

// Found by the outside review: invalid identities are stored verbatim: 200 KB values, invalid UTF-8, NUL.
func TestInvalidIdentityStoredVerbatim(t *testing.T) {
	p := rpool(t, pool.Policy{})
	big := strings.Repeat("x", 200<<10)
	_, _, err := p.Upsert(rctx, pool.Observation{ID: "o0", At: rt0, Identities: []pool.Identity{rem("a@x.co")},
		Consent: &pool.Consent{OptedIn: true, How: strings.Repeat("h", 1<<20) + "\x00"}})
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "consent how is checked")
	_, _, err = p.Upsert(rctx, pool.Observation{ID: "o0", At: rt0, Identities: []pool.Identity{rem("a@x.co")},
		Consent: &pool.Consent{OptedIn: true, At: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)}})
	assert.ErrorIs(t, err, leadkit.ErrInvalid, "consent time is checked")
	pr, _, err := p.Upsert(rctx, pool.Observation{ID: "o1", At: rt0, Identities: []pool.Identity{rem("a@x.co"), rem(big), rem("bad\xff@x.co"), rem("n\x00ul@x.co")},
		Consent: &pool.Consent{OptedIn: true, How: "form"}})
	require.NoError(t, err)
	size := 0
	for _, id := range pr.Identities {
		size += len(id.Value)
	}
	assert.Less(t, size, 4096, "stored identity bytes")
	assert.Less(t, len(pr.Consent.How), 4096, "consent.how unchecked")
	assert.True(t, leadkit.ValidTime(pr.Consent.At), "consent.at unchecked: %v", pr.Consent.At)
	b, _ := json.Marshal(pr.Identities[2])
	var back pool.Identity
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, pr.Identities[2].Value, back.Value, "JSON round trip of an invalid-UTF-8 identity")
}

// Found by the outside review: custom fields accumulate past MaxAttrs: the graduation's Lead is invalid.
func TestCustomGrowsPastCaps(t *testing.T) {
	p := rpool(t, pool.Policy{})
	var id string
	for i := range 3 {
		c := map[string]any{}
		for j := range leadkit.MaxAttrs {
			c[fmt.Sprintf("k%d_%d", i, j)] = "v"
		}
		pr, _, err := p.Upsert(rctx, pool.Observation{ID: fmt.Sprint("o", i), At: rt0, Identities: []pool.Identity{rem("a@x.co")}, Person: leadkit.Person{Custom: c}})
		if i > 0 {
			assert.ErrorIs(t, err, leadkit.ErrInvalid, "custom fields over the cap are refused")
			continue
		}
		require.NoError(t, err)
		id = pr.ID
	}
	g, ok, err := p.Qualify(rctx, id, rt0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	assert.NoError(t, g.Lead.Person.Validate(), "graduation hands out a lead no store accepts")
}

// Found by the outside review: policy free_mail_domains are not read like IsFreeMail's extra.
func TestPolicyFreeMailSpelling(t *testing.T) {
	for _, d := range []string{"@corpmail.com", "corpmail.com."} {
		p := rpool(t, pool.Policy{Conditions: []pool.Condition{{Name: "biz", When: "prospect.business_email"}}, FreeMailDomains: []string{d}})
		pr := rup(t, p, "o1", rt0, rem("a@corpmail.com"))
		assert.True(t, pool.IsFreeMail("a@corpmail.com", []string{d}))
		why, err := p.WhyNotYet(rctx, pr.ID, rt0)
		require.NoError(t, err)
		assert.Len(t, why, 1, "%q in the policy does not make corpmail.com free mail", d)
	}
}

// Found by the outside review: as-of leaks: touches after asOf count; never touched reads as 0 days inactive.
func TestAsOf(t *testing.T) {
	p := rpool(t, pool.Policy{Conditions: []pool.Condition{{Name: "engaged", When: "prospect.touches_90d >= 1"}, {Name: "recent", When: "prospect.days_inactive < 30"}}})
	pr, _, err := p.Upsert(rctx, pool.Observation{ID: "o1", At: rt0.Add(100 * 24 * time.Hour), Identities: []pool.Identity{rem("a@x.co")}, Touch: true})
	require.NoError(t, err)
	why, _ := p.WhyNotYet(rctx, pr.ID, rt0.Add(99*24*time.Hour))
	require.Len(t, why, 1, "as of the day before, the touch must not count: %+v", why)
	assert.Equal(t, "engaged", why[0].Condition)
	q := rpool(t, pool.Policy{Conditions: []pool.Condition{{Name: "recent", When: "prospect.days_inactive < 30"}}})
	pr = rup(t, q, "o1", rt0, rem("a@x.co")) // never touched
	why, _ = q.WhyNotYet(rctx, pr.ID, rt0.Add(400*24*time.Hour))
	assert.Len(t, why, 1, "never touched in 400 days reads as 0 days inactive")
}

// Found by the outside review: Upsert/Qualify/Erase write prospects that Metrics.Add refuses.
func TestWritesMetricsRefuse(t *testing.T) {
	p := rpool(t, pool.Policy{})
	rup(t, p, "o1", rt0, rem("a@x.co"))
	b := rup(t, p, "o2", rt0.Add(48*time.Hour), rem("b@x.co"))
	c := rup(t, p, "o3", rt0.Add(48*time.Hour), rem("c@x.co"))
	rup(t, p, "o4", rt0.Add(24*time.Hour), rem("a@x.co"), rem("b@x.co")) // backfilled sighting
	_, _, err := p.Qualify(rctx, c.ID, rt0)                              // qualify as of before it joined
	require.NoError(t, err)
	m, err := pool.NewMetrics(pool.MetricsSpec{From: rt0.AddDate(0, -1, 0), To: rt0.AddDate(0, 1, 0), Bucket: leadkit.PeriodWeek})
	require.NoError(t, err)
	for _, id := range []string{b.ID, c.ID} {
		pr, _ := p.Store().Get(rctx, id)
		assert.NoError(t, m.Add(pr), "%s %s", pr.ID, pr.Status)
	}
}

// Found by the outside review: observation ID reused with different content is silently dropped.
func TestObservationIDReuse(t *testing.T) {
	p := rpool(t, pool.Policy{})
	rup(t, p, "o1", rt0, rem("a@x.co"))
	pr, res, err := p.Upsert(rctx, pool.Observation{ID: "o1", At: rt0, Identities: []pool.Identity{rem("zzz@x.co")}})
	assert.Error(t, err, "different content under a used ID: got %+v %v", res, pr.Keys())
}

// Erasure keeps why a prospect had left: an opt-out erased later still
// counts as an opt-out in the metrics of its period.
func TestErasureKeepsLeaveReason(t *testing.T) {
	p := rpool(t, pool.Policy{})
	pr, _, err := p.Upsert(rctx, pool.Observation{ID: "o1", At: rt0, Identities: []pool.Identity{rem("a@x.co")}, Consent: &pool.Consent{OptedOut: true}})
	require.NoError(t, err)
	_, err = p.Erase(rctx, pr.ID, rt0.Add(60*24*time.Hour))
	require.NoError(t, err)
	got, err := p.Store().Get(rctx, pr.ID)
	require.NoError(t, err)
	assert.Equal(t, pool.StatusErased, got.Status)
	assert.Equal(t, pool.StatusOptedOut, got.LeftAs)
	m, err := pool.NewMetrics(pool.MetricsSpec{From: rt0.AddDate(0, 0, -1), To: rt0.AddDate(0, 1, 0), Bucket: leadkit.PeriodMonth})
	require.NoError(t, err)
	require.NoError(t, m.Add(got))
	r := m.Result()
	assert.Equal(t, 1, r.Totals.Outflow.OptedOut)
	assert.Zero(t, r.Totals.Outflow.Erased)
}
