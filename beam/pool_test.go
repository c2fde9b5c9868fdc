package beam_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	lkbeam "github.com/leadkit/leadkit/beam"
	"github.com/leadkit/leadkit/internal/simpool"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/sim"
)

func init() {
	register.Function1x2(tenantPoolMetricsJSON)
	register.Function1x2(rejectedProspectJSON)
}

func tenantPoolMetricsJSON(v lkbeam.TenantPoolMetrics) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func rejectedProspectJSON(v lkbeam.RejectedProspect) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// simProspects feeds a simulated business's observations, in time order,
// to a real pool (policy: a company name), qualifying every fifth
// observation's prospect then (observations the pool refuses, which
// would merge two graduated prospects, are skipped), opting out every 41st and erasing every
// 97th, and returns the pool's prospects as a store scan lists them:
// active, graduated, merged, opted out and erased.
func simProspects(t *testing.T, seed uint64, leads int) []pool.Prospect {
	t.Helper()
	p := feedPool(t, nil, seed, leads)
	var out []pool.Prospect
	require.NoError(t, p.Store().Scan(context.Background(), func(pr pool.Prospect) error {
		out = append(out, pr)
		return nil
	}))
	return out
}

// feedPool is simProspects' pool over the store st (nil: in memory).
func feedPool(t *testing.T, st pool.Store, seed uint64, leads int) *pool.Pool {
	t.Helper()
	ctx := context.Background()
	s, err := sim.New(sim.Config{Seed: seed, Leads: leads})
	require.NoError(t, err)
	var now time.Time
	n := 0
	p, err := pool.New(pool.Options{
		Policy: pool.Policy{Conditions: []pool.Condition{{Name: "company", When: `company.name != ""`}}},
		Now:    func() time.Time { return now },
		Store:  st,
		NewID:  func() string { n++; return fmt.Sprintf("p%06d", n) },
	})
	require.NoError(t, err)
	i := 0
	for r := range s.Records() {
		if r.Kind != sim.KindObservation {
			continue
		}
		i++
		obs := simpool.Observation(r.Observation)
		now = obs.At
		pr, _, err := p.Upsert(ctx, obs)
		if errors.Is(err, leadkit.ErrInvalid) {
			continue // two graduated prospects the observation would merge: the pool refuses it
		}
		require.NoError(t, err)
		switch {
		case i%97 == 0:
			_, err = p.Erase(ctx, pr.ID, now.Add(time.Hour))
		case i%41 == 0:
			_, _, err = p.Upsert(ctx, pool.Observation{ID: obs.ID + "-out", At: now.Add(time.Minute), Identities: obs.Identities,
				Consent: &pool.Consent{OptedOut: true, At: now.Add(time.Minute), How: "email link"}})
		case i%5 == 0:
			_, _, err = p.Qualify(ctx, pr.ID, now.Add(2*time.Hour))
		}
		require.NoError(t, err)
	}
	return p
}

// TestProspectJSONRoundTrip: the pool's prospects, the coder's JSON, come
// back equal (times to the nanosecond, UTC), so pool.Metrics reads on a
// worker what the pool holds.
func TestProspectJSONRoundTrip(t *testing.T) {
	prospects := simProspects(t, 5, 300)
	for _, p := range prospects {
		b, err := json.Marshal(p)
		require.NoError(t, err)
		var back pool.Prospect
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, p, back, "prospect %s", p.ID)
	}
	// Times keep their instant to the nanosecond.
	at := time.Date(2026, 3, 1, 10, 11, 12, 123456789, time.UTC)
	p := pool.Prospect{ID: "x", Status: pool.StatusGraduated, JoinedAt: at, LastActivityAt: at.Add(time.Nanosecond),
		GraduatedAt: at.Add(2), LeftAt: at.Add(3), Touches: []time.Time{at, at.Add(1)}, ReenteredAt: at.Add(4)}
	b, err := json.Marshal(p)
	require.NoError(t, err)
	var back pool.Prospect
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, p, back)
}

// TestPoolMetricsOnPrism measures a real pool's prospects (fed a
// simulated business's observations) on Prism, shuffled and dealt over 1
// and several sources, with a fanout of 1 and 16, by month and by week
// (with medians past a small exact threshold, from the sketch), and
// checks each result equals one pool.Metrics over every prospect in one
// process, byte for byte as JSON; malformed prospects are the dead
// letters.
func TestPoolMetricsOnPrism(t *testing.T) {
	prospects := simProspects(t, 2, 2000)
	statuses := map[pool.Status]int{}
	first, last := prospects[0].JoinedAt, prospects[0].JoinedAt
	for _, p := range prospects {
		statuses[p.Status]++
		if p.JoinedAt.Before(first) {
			first = p.JoinedAt
		}
		if p.JoinedAt.After(last) {
			last = p.JoinedAt
		}
	}
	for _, st := range []pool.Status{pool.StatusActive, pool.StatusGraduated, pool.StatusMerged, pool.StatusOptedOut, pool.StatusErased} {
		require.Positive(t, statuses[st], "%s prospects in %v", st, statuses)
	}
	from := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0) // some joined before
	to := time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, time.UTC)                      // some join after
	at := from.AddDate(0, 1, 0)
	bad := []pool.Prospect{
		{Status: pool.StatusActive, JoinedAt: at},
		{ID: "odd-status", Status: "asleep", JoinedAt: at},
		{ID: "never-joined", Status: pool.StatusActive},
		{ID: "left-first", Status: pool.StatusOptedOut, JoinedAt: at, LeftAt: at.Add(-time.Hour)},
	}
	specs := []pool.MetricsSpec{
		{From: from, To: to, Bucket: leadkit.PeriodMonth},
		{From: from, To: to, Bucket: leadkit.PeriodWeek, Dormant: 30 * leadkit.Day, Quantiles: leadkit.Quantiles{Exact: 4}},
	}
	want := make([]string, len(specs))
	for i, spec := range specs {
		m, err := pool.NewMetrics(spec)
		require.NoError(t, err)
		for _, p := range prospects {
			require.NoError(t, m.Add(p))
		}
		for _, p := range bad {
			require.ErrorIs(t, m.Add(p), leadkit.ErrInvalid)
		}
		r := m.Result()
		require.Positive(t, r.Totals.Outflow.Graduated)
		require.NotZero(t, r.Totals.MedianTimeToGraduate)
		line, err := json.Marshal(lkbeam.TenantPoolMetrics{Tenant: "acme", Result: r})
		require.NoError(t, err)
		want[i] = string(line)
	}

	for _, c := range []struct{ sources, fanout int }{{1, 1}, {6, 16}} {
		t.Run(fmt.Sprintf("%d sources, fanout %d", c.sources, c.fanout), func(t *testing.T) {
			dir := t.TempDir()
			p, s := beam.NewPipelineWithRoot()
			all := slices.Concat(prospects, bad)
			rng := rand.New(rand.NewPCG(9, uint64(c.sources)))
			rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			input := split(s, all, c.sources)
			for i, spec := range specs {
				result, rejected, err := lkbeam.PoolMetrics(s, "acme", spec, input, lkbeam.FunnelOptions{Fanout: c.fanout})
				require.NoError(t, err)
				textio.Write(s, filepath.Join(dir, fmt.Sprintf("result%d.jsonl", i)), beam.ParDo(s, tenantPoolMetricsJSON, result))
				textio.Write(s, filepath.Join(dir, fmt.Sprintf("rejected%d.jsonl", i)), beam.ParDo(s, rejectedProspectJSON, rejected))
			}
			require.NoError(t, ptest.Run(p))

			for i := range specs {
				assert.Equal(t, []string{want[i]}, readLines(t, filepath.Join(dir, fmt.Sprintf("result%d.jsonl", i))),
					"spec %d: one pool.Metrics over every prospect, byte for byte", i)
				dead := readLines(t, filepath.Join(dir, fmt.Sprintf("rejected%d.jsonl", i)))
				require.Len(t, dead, len(bad))
				var ids []string
				for _, line := range dead {
					var r lkbeam.RejectedProspect
					require.NoError(t, json.Unmarshal([]byte(line), &r))
					assert.Equal(t, "acme", r.Tenant)
					assert.ErrorContains(t, fmt.Errorf("%s", r.Reason), "pool: metrics")
					ids = append(ids, r.Prospect.ID)
				}
				slices.Sort(ids)
				assert.Equal(t, []string{"", "left-first", "never-joined", "odd-status"}, ids)
			}
		})
	}
}

// TestPoolMetricsRefusesBadInput: a bad tenant or a spec NewMetrics
// refuses is an error at construction.
func TestPoolMetricsRefusesBadInput(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	prospects := beam.CreateList(s, []pool.Prospect{})
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	good := pool.MetricsSpec{From: from, To: from.AddDate(1, 0, 0), Bucket: leadkit.PeriodMonth}
	for name, c := range map[string]struct {
		tenant string
		spec   pool.MetricsSpec
	}{
		"no tenant":        {"", good},
		"blank tenant":     {"  ", good},
		"tenant with NUL":  {"a\x00b", good},
		"no from":          {"acme", pool.MetricsSpec{To: good.To, Bucket: leadkit.PeriodMonth}},
		"to before from":   {"acme", pool.MetricsSpec{From: good.To, To: from, Bucket: leadkit.PeriodMonth}},
		"no bucket":        {"acme", pool.MetricsSpec{From: from, To: good.To}},
		"negative dormant": {"acme", pool.MetricsSpec{From: from, To: good.To, Bucket: leadkit.PeriodMonth, Dormant: -time.Hour}},
		"too many buckets": {"acme", pool.MetricsSpec{From: from, To: from.AddDate(10, 0, 0), Bucket: leadkit.PeriodDay}},
		"bad quantiles":    {"acme", pool.MetricsSpec{From: from, To: good.To, Bucket: leadkit.PeriodMonth, Quantiles: leadkit.Quantiles{Exact: -1}}},
	} {
		_, _, err := lkbeam.PoolMetrics(s, c.tenant, c.spec, prospects, lkbeam.FunnelOptions{})
		assert.ErrorIs(t, err, leadkit.ErrInvalid, name)
	}
	_, _, err := lkbeam.PoolMetrics(s, "acme", good, prospects, lkbeam.FunnelOptions{})
	assert.NoError(t, err)
}

// TestTenantPoolMetricsJSON: the result types round-trip through JSON,
// byte for byte.
func TestTenantPoolMetricsJSON(t *testing.T) {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := pool.NewMetrics(pool.MetricsSpec{From: from, To: from.AddDate(0, 3, 0), Bucket: leadkit.PeriodMonth})
	require.NoError(t, err)
	require.NoError(t, m.Add(pool.Prospect{ID: "a", Status: pool.StatusGraduated, JoinedAt: from.Add(time.Hour), GraduatedAt: from.AddDate(0, 1, 3), LeftAt: from.AddDate(0, 1, 3), Source: pool.Source{Channel: "webinar"}}))
	require.NoError(t, m.Add(pool.Prospect{ID: "b", Status: pool.StatusActive, JoinedAt: from.Add(-time.Hour)}))
	for _, v := range []any{
		lkbeam.TenantPoolMetrics{Tenant: "acme", Result: m.Result()},
		lkbeam.RejectedProspect{Tenant: "acme", Prospect: pool.Prospect{ID: "x", Status: "asleep", JoinedAt: from}, Reason: "pool: metrics: bad"},
	} {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		back := reflectNew(v)
		require.NoError(t, json.Unmarshal(b, back))
		b2, err := json.Marshal(back)
		require.NoError(t, err)
		assert.Equal(t, string(b), string(b2))
	}
}

func reflectNew(v any) any {
	switch v.(type) {
	case lkbeam.TenantPoolMetrics:
		return new(lkbeam.TenantPoolMetrics)
	case lkbeam.RejectedProspect:
		return new(lkbeam.RejectedProspect)
	}
	panic("unknown type")
}
