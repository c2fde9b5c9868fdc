// Command quickstart is the shortest useful leadkit program. A handful of
// events go into the lifecycle engine: a visitor gives a business e-mail
// and graduates from the prospect pool into a lead, her score crosses the
// MQL threshold and she becomes an MQL, and an SDR accepts her into TAL by
// hand. A second visitor stays in the pool. Everything is in memory.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// The lead definition: a prospect becomes a lead once it has given a
// business e-mail and touched us twice.
const policy = `
conditions:
  - {name: business email, when: 'prospect.business_email'}
  - {name: engaged, when: 'prospect.touches_90d >= 2'}
`

// The scoring model: who they are (fit) plus what they did (engagement).
// The mql threshold reports the crossing; the stage guard (below) moves
// the lead, so both say 100.
const model = `
name: quickstart
dimensions:
  - name: fit
    bands: [{name: A, min: 30}, {name: B}]
    fit: [{name: senior, when: 'person.seniority in ["vp", "c_level"]', points: 30}]
  - name: engagement
    behavior:
      - {name: page view, types: [page_view], points: 5}
      - {name: whitepaper, types: [whitepaper_download], points: 25}
      - {name: webinar, types: [webinar_attended], points: 40}
  - name: total
    expr: fit + engagement
thresholds: [{name: mql, dimension: total, value: 100}]
`

// at is a fixed time in March 2026 (UTC): the demo never reads the wall clock.
func at(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }

func run(w io.Writer) error {
	ctx := context.Background()
	now := at(2, 9)
	clock := func() time.Time { return now }

	pol, err := pool.ParsePolicy([]byte(policy))
	if err != nil {
		return err
	}
	prospects, err := pool.New(pool.Options{Policy: pol, Now: clock})
	if err != nil {
		return err
	}
	spec, err := scoring.ParseModel([]byte(model))
	if err != nil {
		return err
	}
	scores, err := scoring.Compile(spec, scoring.Options{Now: clock})
	if err != nil {
		return err
	}
	// The classic stages, with TAL between MQL and SAL: the "accept"
	// transition out of MQL now leads to TAL, and "tal_to_sal" on to SAL.
	def, err := stage.Classic().InsertBetween(stage.Stage{Name: "TAL", Label: "Teleprospecting Accepted Lead", Team: "sdr"}, "MQL", "SAL")
	if err != nil {
		return err
	}
	machine, err := stage.New(def, stage.Options{Now: clock})
	if err != nil {
		return err
	}
	engine, err := lifecycle.New(prospects, scores, machine, journey.NewMemoryStore(), lifecycle.Options{
		Now: clock,
		// The Classic stages declare the facts `score` and `grade` (qualify
		// is `score >= 100`): feed them from the model's total and fit band.
		Facts: map[string]string{"score": "total", "grade": "fit_band"},
		// A form fill tells who the visitor is.
		Observe: func(_ context.Context, ev leadkit.Event, obs *pool.Observation) error {
			if email, ok := ev.Attrs["email"].(string); ok {
				obs.Identities = append(obs.Identities, pool.Identity{Kind: pool.Email, Value: email})
			}
			if s, ok := ev.Attrs["seniority"].(string); ok {
				obs.Person.Seniority = s
			}
			return nil
		},
	})
	if err != nil {
		return err
	}

	// Events in, changes out. Each event arrives at its own time; the form
	// fills carry an e-mail (and ana's seniority) in their attributes.
	fmt.Fprintln(w, "== Events in, changes out")
	for _, ev := range []leadkit.Event{
		{ID: "e1", LeadID: "ana", Type: "page_view", Channel: "organic", Time: at(2, 9)},
		{ID: "e2", LeadID: "bo", Type: "page_view", Channel: "paid", Time: at(2, 11)},
		{ID: "e3", LeadID: "ana", Type: "whitepaper_download", Channel: "paid", Content: "scoring-guide", Time: at(3, 14), Attrs: map[string]any{"email": "ana@acme.com", "seniority": "vp"}},
		{ID: "e4", LeadID: "ana", Type: "page_view", Channel: "email", Time: at(4, 10)},
		{ID: "e5", LeadID: "bo", Type: "webinar_attended", Channel: "webinar", Time: at(4, 15), Attrs: map[string]any{"email": "bo@gmail.com"}},
		{ID: "e6", LeadID: "ana", Type: "webinar_attended", Channel: "webinar", Time: at(5, 16)},
	} {
		now = ev.Time
		fmt.Fprintf(w, "%s  %-4s %s\n", ev.Time.Format("Jan 02 15:04"), ev.LeadID, ev.Type)
		changes, err := engine.Ingest(ctx, ev)
		if err != nil {
			return err
		}
		for _, c := range changes {
			fmt.Fprintln(w, "    ->", c)
		}
	}

	// An SDR accepts ana into TAL by hand: a manual transition, fired on
	// the engine's stage machine with who did it.
	now = at(6, 10)
	rec, err := engine.Machine().Fire(ctx, stage.Lead("ana"), "accept", stage.Request{Actor: "sam (SDR)"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s  sam (SDR) accepts ana: now in %s\n", now.Format("Jan 02 15:04"), rec.Stage)

	// bo gave a free-mail address, so he is still a prospect: the pool
	// says why (it knows him by his prospect ID, found by his subject ID).
	key, _ := pool.Normalize(pool.Subject, "bo", "").Key()
	found, err := engine.Pool().Store().Find(ctx, []string{key})
	if err != nil || len(found) != 1 {
		return fmt.Errorf("prospect bo: found %d: %v", len(found), err)
	}
	checks, err := engine.Pool().WhyNotYet(ctx, found[0].ID, now)
	if err != nil {
		return err
	}
	for _, c := range checks {
		var read []string
		for _, k := range slices.Sorted(maps.Keys(c.Values)) {
			read = append(read, fmt.Sprintf("%s = %v", k, c.Values[k]))
		}
		fmt.Fprintf(w, "\nbo stays a prospect: condition %q is false, having read %s\n", c.Condition, strings.Join(read, ", "))
	}

	// ana's timeline: her stage history and her score, explained.
	fmt.Fprintln(w, "\n== ana's stages")
	history, err := engine.Machine().History(ctx, stage.Lead("ana"))
	if err != nil {
		return err
	}
	for _, e := range history {
		fmt.Fprintf(w, "%s  %-3s by %s (%s)\n", e.At.Format("Jan 02 15:04"), e.To, e.Actor, e.Trigger)
	}
	state, err := engine.States().Get(ctx, "ana")
	if err != nil {
		return err
	}
	var score scoring.Result
	if err := engine.Model().ReadState(&score, &state.Score, state.Lead, now); err != nil {
		return err
	}
	total, _ := score.Dimension("total")
	fit, _ := score.Dimension("fit")
	fmt.Fprintf(w, "\n== ana's score on %s: %g (fit band %s, mql reached: %t)\n", now.Format("Jan 02"), total.Score, fit.Band, score.Reached("mql"))
	for _, h := range score.Hits {
		fmt.Fprintf(w, "%-10s %-10s %d x = %g\n", h.Dimension, h.Rule, h.Count, h.Points)
	}
	return nil
}
