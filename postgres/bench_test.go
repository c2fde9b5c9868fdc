package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/stage"
)

func benchEvents(n int) []leadkit.Event {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := make([]leadkit.Event, n)
	for i := range evs {
		evs[i] = leadkit.Event{ID: fmt.Sprintf("e%07d", (i*7919)%n), LeadID: fmt.Sprintf("L%05d", i%5000), Type: "page_view", Channel: "web",
			Time: base.Add(time.Duration(i) * time.Second), Attrs: map[string]any{"page": "/pricing"}}
	}
	return evs
}

// BenchmarkAppend measures events/s into the event table: the bulk path
// (one Append of 20,000 events: COPY into a staging table, then an
// idempotent insert in ID order), chunked inserts (Appends of 1,000),
// single-row Appends, and a raw COPY of the same rows into the same table
// (no staging, no idempotency): the bulk path's ratio to it is
// "bulk/raw-copy".
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	const n = 20000
	evs := benchEvents(n)
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
	var bulk, raw time.Duration
	run := func(name string, count int, fn func(b *testing.B, db *sql.DB, s *postgres.JourneyStore) time.Duration) {
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				db, s := fresh(b)
				b.StartTimer()
				total += fn(b, db, s)
			}
			b.ReportMetric(float64(count)*float64(b.N)/total.Seconds(), "events/s")
			switch name {
			case "bulk":
				bulk = total / time.Duration(b.N)
			case "raw-copy":
				raw = total / time.Duration(b.N)
			}
		})
	}
	run("bulk", n, func(b *testing.B, _ *sql.DB, s *postgres.JourneyStore) time.Duration {
		start := time.Now()
		if _, err := s.Append(ctx, evs...); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	})
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
	run("raw-copy", n, func(b *testing.B, db *sql.DB, _ *postgres.JourneyStore) time.Duration {
		conn, err := db.Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		rows := make([][]any, len(evs))
		for i, e := range evs {
			rows[i] = []any{leadkit.DefaultTenant, e.ID, e.LeadID, e.Type, e.Channel, e.Campaign, e.Content, e.Time, []byte(`{"page":"/pricing"}`), int64(i + 1)}
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
	})
	if bulk > 0 && raw > 0 {
		b.Logf("bulk/raw-copy: %.2f of raw COPY's rate", raw.Seconds()/bulk.Seconds())
	}
}

// BenchmarkWriters measures transitions/s (Start then Fire on distinct
// leads) and graduations/s (Upsert then Qualify of distinct prospects)
// with 1 and 8 concurrent writers, through database/sql and through a pgx
// pool.
func BenchmarkWriters(b *testing.B) {
	ctx := context.Background()
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
				start := time.Now()
				var wg sync.WaitGroup
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range each * b.N {
							l := stage.Lead(fmt.Sprintf("w%d-%d", w, i))
							if _, err := m.Start(ctx, l, stage.StartOptions{}); err != nil {
								b.Error(err)
								return
							}
							if _, _, err := m.Advance(ctx, l, stage.Facts{"score": 150, "grade": "A"}, stage.Request{}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(2*each*writers*b.N)/time.Since(start).Seconds(), "changes/s")
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
				start := time.Now()
				var wg sync.WaitGroup
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range each * b.N {
							id := fmt.Sprintf("w%d-%d", w, i)
							pr, _, err := pl.Upsert(ctx, pool.Observation{ID: "o-" + id, At: time.Now(), Touch: true, Identities: []pool.Identity{{Kind: pool.Subject, Value: id}}})
							if err != nil {
								b.Error(err)
								return
							}
							if _, _, err := pl.Qualify(ctx, pr.ID, time.Time{}); err != nil {
								b.Error(err)
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
