package lifecycle_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/lifecycle"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/stage"
)

// FuzzParseRequalify: any document parses into a policy New accepts or
// refuses with leadkit.ErrInvalid, never a panic.
func FuzzParseRequalify(f *testing.F) {
	f.Add([]byte("reset: [engagement, total]\nmin_touches: 2\ncooldown: 2w\n"))
	f.Add([]byte(`{"stages": ["Recycled"], "touch_types": ["webinar_attended"], "cooldown": "-1d"}`))
	p := newParts(f)
	_ = p.engine(f, lifecycle.Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := lifecycle.ParseRequalify(data)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("parse error without ErrInvalid: %v", err)
			}
			return
		}
		_, err = lifecycle.New(p.pool, p.model, p.machine, p.events, lifecycle.Options{Requalify: r, Facts: map[string]string{"score": "total", "grade": "fit_band"}})
		if err != nil && !errors.Is(err, leadkit.ErrInvalid) {
			t.Fatalf("New error without ErrInvalid: %v", err)
		}
	})
}

// FuzzParseVerifyOptions: any document parses into options Verify runs
// with or refuses with leadkit.ErrInvalid.
func FuzzParseVerifyOptions(f *testing.F) {
	f.Add([]byte("stages: [MQL, SQL]\nlookback: 90d\nkeys: [channel, campaign]\nmarkov_order: 2\n"))
	f.Add([]byte(`{"values": {"Won": {"types": ["deal_won"], "attr": "amount"}}, "functions": {"paid": "ads"}, "buckets": ["30d", "1w"]}`))
	p, _ := verifyFixture(f)
	period := lifecycle.Period{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := lifecycle.ParseVerifyOptions(data)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("parse error without ErrInvalid: %v", err)
			}
			return
		}
		e, err := lifecycle.New(p.pool, p.model, p.machine, p.events, lifecycle.Options{Facts: map[string]string{"score": "total", "grade": "fit_band"}, Verify: o})
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("New error without ErrInvalid: %v", err)
			}
			return
		}
		if _, err := e.Verify(ctx, period); err != nil && !errors.Is(err, leadkit.ErrInvalid) {
			t.Fatalf("verify error without ErrInvalid: %v", err)
		}
	})
}

// FuzzParseDiagnoseOptions: options as a tenant sends them are refused
// with ErrInvalid, or diagnose the fixture's funnel into a result that
// encodes as JSON (no NaN anywhere).
func FuzzParseDiagnoseOptions(f *testing.F) {
	f.Add([]byte("stages: [Raw, MQL, SAL]\nowner: team\nwork: [sdr_call]\nfrom: 2026-03-01T00:00:00Z\n"))
	f.Add([]byte(`{"assigned": {"MQL": "sdr_owner"}, "now": "2026-05-01T00:00:00Z", "owner": "actor"}`))
	f.Add([]byte(`{"stages": ["MQL", "Lost"], "work": ["", "x"], "to": "2025-01-01T00:00:00Z", "from": "2026-01-01T00:00:00Z"}`))
	_, e := verifyFixture(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := lifecycle.ParseDiagnoseOptions(data)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("parse error without ErrInvalid: %v", err)
			}
			return
		}
		d, err := e.Diagnose(ctx, o)
		if err != nil {
			if !errors.Is(err, leadkit.ErrInvalid) {
				t.Fatalf("diagnose error without ErrInvalid: %v", err)
			}
			return
		}
		if _, err := json.Marshal(d); err != nil {
			t.Fatalf("diagnosis does not encode: %v", err)
		}
	})
}

// FuzzIngest: any events, good or bad, leave every stored lead's score
// equal to a full rescore of its stored events and its history in time
// order; bad events are refused with leadkit.ErrInvalid.
func FuzzIngest(f *testing.F) {
	f.Add("v1", "page_view", int64(0), "v1", "download", int64(3600), "v1", "webinar_attended", int64(-60))
	f.Add("", "x", int64(1<<62), "v\x00", "", int64(0), "v2", "unsubscribe", int64(5))
	f.Fuzz(func(t *testing.T, l1, t1 string, d1 int64, l2, t2 string, d2 int64, l3, t3 string, d3 int64) {
		p := newParts(t)
		e := p.engine(t, lifecycle.Options{})
		evs := []leadkit.Event{
			{ID: "a", LeadID: l1, Type: t1, Channel: "web", Time: t0.Add(time.Duration(d1) * time.Second)},
			{ID: "b", LeadID: l2, Type: t2, Channel: "paid", Time: t0.Add(time.Duration(d2) * time.Second)},
			{ID: "c", LeadID: l3, Type: t3, Channel: "web", Time: t0.Add(time.Duration(d3) * time.Second)},
		}
		for round := range 2 {
			_, err := e.Ingest(ctx, evs...)
			var le *lifecycle.LeadError
			switch {
			case err == nil:
			case errors.Is(err, scoring.ErrOutOfOrder):
				t.Fatalf("round %d: the engine fed the model out of order: %v", round, err)
			case errors.As(err, &le) && le.Retry:
				t.Fatalf("round %d: a retryable failure with memory stores: %v", round, err)
			case !errors.Is(err, leadkit.ErrInvalid):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		for _, l := range []string{l1, l2, l3} {
			st, err := p.states.Get(ctx, l)
			if err != nil {
				continue
			}
			stored, err := p.events.Events(ctx, l, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			asOf := now
			full, err := p.model.Score(scoring.Input{Lead: st.Lead, Events: stored, AsOf: asOf})
			if err != nil {
				t.Fatal(err)
			}
			var got scoring.Result
			if err := p.model.ReadState(&got, &st.Score, st.Lead, asOf); err != nil {
				t.Fatal(err)
			}
			for i, d := range full.Dimensions {
				if diff := d.Score - got.Dimensions[i].Score; diff > 1e-9 || diff < -1e-9 {
					t.Fatalf("%s: %s %v, full rescore %v", l, d.Name, got.Dimensions[i].Score, d.Score)
				}
			}
			h, err := p.machine.History(ctx, stage.Lead(l))
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(h); i++ {
				if h[i].At.Before(h[i-1].At) {
					t.Fatalf("%s: history out of order: %+v", l, h)
				}
			}
		}
	})
}
