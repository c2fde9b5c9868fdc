package postgres_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/stage"
)

const (
	procEvents    = 1200 // distinct event IDs the processes append, overlapping
	procLeads     = 40   // leads they move through stages
	procProspects = 40   // prospects they graduate
)

// procEvent is the event with ID i, the same in every process.
func procEvent(i int) leadkit.Event {
	return leadkit.Event{ID: fmt.Sprintf("e%05d", i), LeadID: fmt.Sprintf("L%03d", i%97), Type: "page_view",
		Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i%50) * time.Hour)}
}

// Four OS processes, each with four goroutines, append overlapping event
// batches in random orders, move the same leads through stages and
// graduate the same prospects: nothing is lost or duplicated, no deadlock
// reaches a caller, stage versions have no gaps, and each prospect
// graduates once.
func TestSeveralProcesses(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	require.NoError(t, postgres.Migrate(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix}))
	var out bytes.Buffer
	var mu sync.Mutex
	var wg sync.WaitGroup
	for p := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSeveralProcessesChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "LEADKIT_CHILD_PREFIX="+prefix, "LEADKIT_CHILD_SEED="+strconv.Itoa(p))
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := cmd.CombinedOutput()
			mu.Lock()
			defer mu.Unlock()
			out.Write(b)
			assert.NoError(t, err, "process %d:\n%s", p, b)
		}()
	}
	wg.Wait()

	// Graduations: each prospect once.
	grads := map[string]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "GRADUATED" {
			grads[f[1]]++
		}
	}
	prospects, err := postgres.NewPoolStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix, SkipMigrate: true})
	require.NoError(t, err)
	graduated := 0
	require.NoError(t, prospects.Scan(ctx, func(p pool.Prospect) error {
		if p.Status == pool.StatusGraduated {
			graduated++
			assert.Equal(t, 1, grads[p.ID], "prospect %s graduated once", p.ID)
		}
		return nil
	}))
	assert.Equal(t, procProspects, graduated)
	assert.Len(t, grads, procProspects)

	// Events: every ID once, none lost.
	events, err := postgres.NewJourneyStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix, SkipMigrate: true})
	require.NoError(t, err)
	seen := map[string]bool{}
	for l := range 97 {
		evs, err := events.Events(ctx, fmt.Sprintf("L%03d", l), time.Time{}, time.Time{})
		require.NoError(t, err)
		for _, e := range evs {
			assert.False(t, seen[e.ID], "event %s stored once", e.ID)
			seen[e.ID] = true
		}
	}
	assert.Len(t, seen, procEvents, "every event the processes appended is stored")

	// Stages: versions without gaps, the record agreeing with its history.
	stages, err := postgres.NewStageStore(ctx, postgres.SQL(db), postgres.Options{TablePrefix: prefix, SkipMigrate: true})
	require.NoError(t, err)
	moved := 0
	for l := range procLeads {
		key := stage.Key{Pipeline: "classic", Subject: stage.Lead(fmt.Sprintf("L%03d", l))}
		rec, err := stages.Get(ctx, key)
		require.NoError(t, err)
		h, err := stages.History(ctx, key)
		require.NoError(t, err)
		require.Len(t, h, int(rec.Version))
		for i, e := range h {
			assert.Equal(t, int64(i+1), e.Version)
			if i > 0 {
				assert.Equal(t, h[i-1].To, e.From, "each change leaves from where the previous one went")
			}
		}
		moved += len(h) - 1
	}
	assert.Greater(t, moved, procLeads, "the processes moved the leads")
}

// TestSeveralProcessesChild is one process of TestSeveralProcesses.
func TestSeveralProcessesChild(t *testing.T) {
	prefix := os.Getenv("LEADKIT_CHILD_PREFIX")
	if prefix == "" {
		t.Skip("run by TestSeveralProcesses")
	}
	seed, _ := strconv.Atoi(os.Getenv("LEADKIT_CHILD_SEED"))
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("LEADKIT_PG_DSN"))
	require.NoError(t, err)
	defer db.Close()
	o := postgres.Options{TablePrefix: prefix}
	events, err := postgres.NewJourneyStore(ctx, postgres.SQL(db), o)
	require.NoError(t, err)
	stages, err := postgres.NewStageStore(ctx, postgres.SQL(db), o)
	require.NoError(t, err)
	prospects, err := postgres.NewPoolStore(ctx, postgres.SQL(db), o)
	require.NoError(t, err)
	m, err := stage.New(stage.Classic(), stage.Options{Store: stages})
	require.NoError(t, err)
	pl, err := pool.New(pool.Options{Store: prospects})
	require.NoError(t, err)

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(seed), uint64(g)))
			// Overlapping batches of events in random orders; the first
			// goroutine of the first process covers every ID.
			for range 3 {
				perm := r.Perm(procEvents)[:400]
				if seed == 0 && g == 0 {
					perm = r.Perm(procEvents)
				}
				batch := make([]leadkit.Event, len(perm))
				for i, j := range perm {
					batch[i] = procEvent(j)
				}
				_, err := events.Append(ctx, batch...)
				assert.NoError(t, err, "no deadlock reaches a caller")
			}
			// The same leads moved by everyone: start, then back and forth.
			for range 60 {
				l := stage.Lead(fmt.Sprintf("L%03d", r.IntN(procLeads)))
				if _, err := m.Start(ctx, l, stage.StartOptions{}); err != nil && !errors.Is(err, leadkit.ErrConflict) {
					assert.NoError(t, err)
				}
				rec, err := m.Get(ctx, l)
				if !assert.NoError(t, err) {
					continue
				}
				var name string
				req := stage.Request{Actor: fmt.Sprintf("p%d", seed), Version: rec.Version}
				switch rec.Stage {
				case "Raw", "Recycled":
					name = "qualify"
					req.Facts = stage.Facts{"score": 150, "grade": "A"}
				case "MQL":
					name = "accept"
				default:
					name, req.Reason = "recycle", "not_ready"
				}
				if _, err := m.Fire(ctx, l, name, req); err != nil && !errors.Is(err, leadkit.ErrConflict) {
					assert.NoError(t, err)
				}
			}
			// The same prospects observed by everyone, then qualified.
			for i := range procProspects {
				id := fmt.Sprintf("S%03d", (i+g*7+seed*3)%procProspects)
				pr, _, err := pl.Upsert(ctx, pool.Observation{ID: fmt.Sprintf("o-%s-%d-%d", id, seed, g), At: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Touch: true,
					Identities: []pool.Identity{{Kind: pool.Subject, Value: id}, {Kind: pool.Email, Value: strings.ToLower(id) + "@acme.com"}}})
				if !assert.NoError(t, err) {
					continue
				}
				gr, ok, err := pl.Qualify(ctx, pr.ID, time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC))
				assert.NoError(t, err)
				if ok {
					fmt.Println("GRADUATED", gr.ProspectID)
				}
			}
		}()
	}
	wg.Wait()
}
