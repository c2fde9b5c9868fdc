package lifecycle_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	// now is after every event of the tests.
	now = t0.AddDate(1, 0, 0)
)

// testModel scores fit on seniority and engagement on touches; total is
// what the stage guards read as "score".
const testModel = `
name: b2b
dimensions:
  - name: fit
    bands: [{name: A, min: 20}, {name: B, min: 10}, {name: C}]
    fit:
      - {name: senior, when: 'person.seniority in ["vp", "c_level"]', points: 25}
  - name: engagement
    decay: {half_life: 30d}
    behavior:
      - {name: visit, types: [page_view], points: 5}
      - {name: webinar, types: [webinar_attended], points: 40}
      - {name: paper, types: [download], points: 30}
      - {name: unsubscribe, types: [unsubscribe], points: -50}
  - name: total
    expr: fit + engagement
thresholds:
  - {name: mql, dimension: total, value: 100}
`

// testPolicy graduates a prospect after two touches.
const testPolicy = `
conditions:
  - {name: engaged, when: 'prospect.touches_90d >= 2'}
`

func compileModel(t testing.TB) *scoring.Model {
	t.Helper()
	spec, err := scoring.ParseModel([]byte(testModel))
	require.NoError(t, err)
	m, err := scoring.Compile(spec, scoring.Options{})
	require.NoError(t, err)
	return m
}

// parts are the compiled parts of an engine, over shared stores.
type parts struct {
	pool    *pool.Pool
	model   *scoring.Model
	machine *stage.Machine
	events  journey.Store
	states  lifecycle.Store
	stages  stage.Store
	pstore  pool.Store
}

func newParts(t testing.TB) *parts {
	t.Helper()
	return &parts{events: journey.NewMemoryStore(), states: lifecycle.NewMemoryStore(), stages: stage.NewMemoryStore(), pstore: pool.NewMemoryStore(), model: compileModel(t)}
}

// engine builds an engine over the parts' stores (a new one per call, as a
// second process would).
func (p *parts) engine(t testing.TB, o lifecycle.Options) *lifecycle.Engine {
	t.Helper()
	pol, err := pool.ParsePolicy([]byte(testPolicy))
	require.NoError(t, err)
	n := 0
	pl, err := pool.New(pool.Options{Store: p.pstore, Policy: pol, Now: func() time.Time { return now },
		NewID: func() string { n++; return fmt.Sprintf("p%p-%d", &n, n) }})
	require.NoError(t, err)
	m, err := stage.New(stage.Classic(), stage.Options{Store: p.stages, Now: func() time.Time { return now }})
	require.NoError(t, err)
	p.pool, p.machine = pl, m
	if o.States == nil {
		o.States = p.states
	}
	if o.Now == nil {
		o.Now = func() time.Time { return now }
	}
	if o.Facts == nil {
		o.Facts = map[string]string{"score": "total", "grade": "fit_band"}
	}
	e, err := lifecycle.New(pl, p.model, m, p.events, o)
	require.NoError(t, err)
	return e
}

func ev(id, lead, typ string, at time.Time) leadkit.Event {
	return leadkit.Event{ID: id, LeadID: lead, Type: typ, Channel: channelOf(typ), Time: at}
}

func channelOf(typ string) string {
	switch typ {
	case "webinar_attended":
		return "webinar"
	case "download":
		return "content"
	}
	return "web"
}

func hours(n int) time.Duration { return time.Duration(n) * time.Hour }

func kinds(cs []lifecycle.Change) []string {
	var out []string
	for _, c := range cs {
		s := string(c.Kind)
		switch {
		case c.Stage != nil && c.Kind == lifecycle.Staged:
			s += ":" + c.Stage.To
		case c.Crossing != nil:
			s += ":" + c.Crossing.Threshold
			if !c.Crossing.Up {
				s += "-down"
			}
		}
		out = append(out, s)
	}
	return out
}
