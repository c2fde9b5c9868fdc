package postgres_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/internal/simpool"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/sim"
	"github.com/leadkit/leadkit/stage"
)

// The benchmarks' data is the simulated business of package sim (seed
// 1): its events, its leads' stage changes and the prospect pool's
// observations of its people.

// benchEvents returns the first n events, in time order, of a simulated
// business of n/4 leads (about 1.8n events over its 12 months): at n =
// 20,000 the first seven months and a bit, 3,080 leads with 6.5 events
// each on average, IDs "lead-<n>-<seq>" arriving in time order, not ID
// order.
func benchEvents(b *testing.B, n int) []leadkit.Event {
	s, err := sim.New(sim.Config{Seed: 1, Leads: max(1, n/4)})
	if err != nil {
		b.Fatal(err)
	}
	evs := make([]leadkit.Event, 0, n)
	for e := range s.Events() {
		if len(evs) == n {
			break
		}
		evs = append(evs, e)
	}
	if len(evs) < n {
		b.Fatalf("the simulated business has %d events, not %d", len(evs), n)
	}
	return evs
}

// benchSimLeads is the size of the simulated business of
// BenchmarkWriters: about 5,900 of its leads reach MQL (histories for 8
// writers of 200 leads at -benchtime 3x, 4,800, without reusing one) and
// 29,600 are seen by the pool.
const benchSimLeads = 30_000

// benchMove is one change of a simulated lead's stage history, as a
// Classic transition ("qualify" is automatic, made by Advance on the
// score fact; the others are fired), with its reason and time.
type benchMove struct {
	transition, reason string
	at                 time.Time
}

// benchHistory is a simulated lead that reached MQL: created at start,
// then its stage changes.
type benchHistory struct {
	start time.Time
	moves []benchMove
}

// benchSalesMoves maps the simulator's stage changes to the Classic
// transitions that make them (as examples/internal/business does).
var benchSalesMoves = map[string]string{
	sim.StageMQL: "qualify", sim.StageSAL: "accept", sim.StageSQL: "qualify_sql", sim.StageOpportunity: "create_opportunity",
	sim.StageWon: "win", sim.StageLost: "lose", sim.StageRecycled: "recycle",
}

// benchSim returns, from the simulated business of benchSimLeads leads,
// the stage histories of the leads that reached MQL (in the order they
// first did) and each person's first observation by the pool's channels
// (in time order), converted field by field to pool.Observation.
func benchSim(b *testing.B) ([]benchHistory, []pool.Observation) {
	s, err := sim.New(sim.Config{Seed: 1, Leads: benchSimLeads})
	if err != nil {
		b.Fatal(err)
	}
	created := map[string]time.Time{}
	index := map[string]int{}
	var hists []benchHistory
	var obs []pool.Observation
	seen := map[string]bool{}
	for r := range s.Records() {
		switch r.Kind {
		case sim.KindLead:
			created[r.Lead.ID] = r.Time
		case sim.KindStage:
			c := r.Stage
			i, ok := index[c.LeadID]
			if !ok {
				i = len(hists)
				index[c.LeadID] = i
				hists = append(hists, benchHistory{start: created[c.LeadID]})
			}
			reason := c.Reason
			if c.To == sim.StageLost && reason == "" {
				reason = "other" // Classic's lose needs a reason; sim gives none
			}
			hists[i].moves = append(hists[i].moves, benchMove{transition: benchSalesMoves[c.To], reason: reason, at: c.At})
		case sim.KindObservation:
			o := r.Observation
			if seen[o.Lead] {
				continue
			}
			seen[o.Lead] = true
			obs = append(obs, simpool.Observation(o))
		}
	}
	return hists, obs
}

// BenchmarkAppend measures events/s into the event table, on 20,000 events
// of the simulated business (benchEvents): the bulk path (one Append of
// 20,000 events: COPY into a staging table, then an idempotent insert in
// ID order), chunked inserts (Appends of 1,000), single-row Appends, and
// a raw COPY of the same rows into the same table (no staging, no
// idempotency). "ratio" runs the bulk path and the raw COPY in turn, each
// on a fresh table, and reports the bulk path's rate as a share of raw
// COPY's ("bulk/raw-copy"): load that changes between the sub-benchmarks
// does not skew it.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	const n = 20000
	evs := benchEvents(b, n)
	var table pgx.Identifier
	fresh := func(b *testing.B) (*sql.DB, *postgres.JourneyStore) {
		db, prefix := openDB(b)
		s, err := postgres.NewJourneyStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		schema, bare, _ := strings.Cut(prefix, ".")
		table = pgx.Identifier{schema, bare + "events"}
		return db, s
	}
	type appendFn = func(b *testing.B, db *sql.DB, s *postgres.JourneyStore) time.Duration
	run := func(name string, count int, fn appendFn) {
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				db, s := fresh(b)
				b.StartTimer()
				total += fn(b, db, s)
			}
			b.ReportMetric(float64(count)*float64(b.N)/total.Seconds(), "events/s")
		})
	}
	bulk := func(b *testing.B, _ *sql.DB, s *postgres.JourneyStore) time.Duration {
		start := time.Now()
		if _, err := s.Append(ctx, evs...); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	run("bulk", n, bulk)
	run("insert-1000", n, func(b *testing.B, _ *sql.DB, s *postgres.JourneyStore) time.Duration {
		start := time.Now()
		for i := 0; i < n; i += 1000 {
			if _, err := s.Append(ctx, evs[i:i+1000]...); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	})
	run("single-row", 2000, func(b *testing.B, _ *sql.DB, s *postgres.JourneyStore) time.Duration {
		start := time.Now()
		for i := range 2000 {
			if _, err := s.Append(ctx, evs[i]); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	})
	raw := func(b *testing.B, db *sql.DB, _ *postgres.JourneyStore) time.Duration {
		conn, err := db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		rows := make([][]any, len(evs))
		for i, e := range evs {
			var attrs any // NULL, as the store writes no attributes
			if len(e.Attrs) > 0 {
				j, err := json.Marshal(leadkit.NormalizeAttrs(e.Attrs))
				if err != nil {
					b.Fatal(err)
				}
				attrs = j
			}
			rows[i] = []any{leadkit.DefaultTenant, e.ID, e.LeadID, e.Type, e.Channel, e.Campaign, e.Content, e.Time, attrs, int64(i + 1)}
		}
		start := time.Now()
		err = conn.Raw(func(dc any) error {
			// The tenant is written, not left to its default (the session
			// setting, which no unit of work sets here).
			_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, table, []string{"tenant", "id", "lead_id", "type", "channel", "campaign", "content", "time", "attrs", "seq"}, pgx.CopyFromRows(rows))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	run("raw-copy", n, raw)
	b.Run("ratio", func(b *testing.B) {
		var took [2]time.Duration
		for b.Loop() {
			for i, fn := range []appendFn{bulk, raw} {
				b.StopTimer()
				db, s := fresh(b)
				b.StartTimer()
				took[i] += fn(b, db, s)
			}
		}
		b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "bulk/raw-copy")
	})
}

// BenchmarkWriters measures changes/s and graduations/s with 1 and 8
// concurrent writers, through database/sql and through a pgx pool, on the
// simulated business (benchSim). Changes: each writer replays 200 leads'
// stage histories per iteration on leads of its own (Start at the lead's
// creation, Advance to MQL on the score fact, the sales decisions fired
// with their reasons, each at its simulated time: about 4.3 changes per
// lead, every one a commit). Graduations: each writer upserts 100
// people's first observations per iteration (their e-mail, phone, device
// and subject identities and profiles, distinct people) and qualifies each
// prospect.
func BenchmarkWriters(b *testing.B) {
	ctx := context.Background()
	hists, obs := benchSim(b)
	qualify := stage.Facts{"score": 150, "grade": "A"}
	for _, drv := range []string{"sql", "pgx"} {
		for _, writers := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/transitions-%d", drv, writers), func(b *testing.B) {
				db, prefix := benchDB(b, drv)
				stages, err := postgres.NewStageStore(ctx, db, postgres.Options{TablePrefix: prefix})
				if err != nil {
					b.Fatal(err)
				}
				m, err := stage.New(stage.Classic(), stage.Options{Store: stages})
				if err != nil {
					b.Fatal(err)
				}
				const each = 200
				var changes atomic.Int64
				start := time.Now()
				var wg sync.WaitGroup
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						n := 0
						defer func() { changes.Add(int64(n)) }()
						for i := range each * b.N {
							h := hists[(w*each*b.N+i)%len(hists)] // distinct histories up to len(hists)
							l := stage.Lead(fmt.Sprintf("w%d-%d", w, i))
							if _, err := m.Start(ctx, l, stage.StartOptions{At: h.start}); err != nil {
								b.Error(err)
								return
							}
							n++
							for _, mv := range h.moves {
								var err error
								if mv.transition == "qualify" {
									_, _, err = m.Advance(ctx, l, qualify, stage.Request{At: mv.at})
								} else {
									_, err = m.Fire(ctx, l, mv.transition, stage.Request{Actor: "sales", Reason: mv.reason, At: mv.at})
								}
								if err != nil {
									b.Error(err)
									return
								}
								n++
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(changes.Load())/time.Since(start).Seconds(), "changes/s")
			})
			b.Run(fmt.Sprintf("%s/graduations-%d", drv, writers), func(b *testing.B) {
				db, prefix := benchDB(b, drv)
				store, err := postgres.NewPoolStore(ctx, db, postgres.Options{TablePrefix: prefix})
				if err != nil {
					b.Fatal(err)
				}
				pl, err := pool.New(pool.Options{Store: store})
				if err != nil {
					b.Fatal(err)
				}
				const each = 100
				if need := each * writers * b.N; need > len(obs) {
					b.Fatalf("%d graduations need %d distinct people, the simulated business has %d", need, need, len(obs))
				}
				start := time.Now()
				var wg sync.WaitGroup
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range each * b.N {
							o := obs[w*each*b.N+i]
							pr, _, err := pl.Upsert(ctx, o)
							if err != nil {
								b.Error(err)
								return
							}
							if _, ok, err := pl.Qualify(ctx, pr.ID, o.At); err != nil || !ok {
								b.Error(pr.ID, ok, err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(each*writers*b.N)/time.Since(start).Seconds(), "graduations/s")
			})
		}
	}
}

// benchDB is a fresh schema on database/sql ("sql") or a pgx pool ("pgx").
func benchDB(b *testing.B, drv string) (postgres.DB, string) {
	if drv == "pgx" {
		p, prefix := openPgx(b)
		return postgres.Pgx(p), prefix
	}
	db, prefix := openDB(b)
	return postgres.SQL(db), prefix
}
