//go:build unix

package postgres_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/journey"
	"github.com/leadkit/leadkit/pool"
	"github.com/leadkit/leadkit/postgres"
	"github.com/leadkit/leadkit/stage"
)

// The server stopped and restarted mid-run. Writers keep moving leads
// through stages (optimistic versions), appending overlapping event
// batches (idempotent by event ID) and applying pool observations
// (idempotent by observation ID) while a throwaway server of the test's
// own is crashed (pg_ctl stop -m immediate), restarted, stopped cleanly
// (-m fast) and restarted again. During each outage every call fails
// promptly with an error wrapping leadkit.ErrUnavailable; a writer repeats
// a failed call until it has an answer, so a call whose commit was
// acknowledged by the server but whose answer was lost is repeated too,
// and idempotency must make the final state exact (a proxy in front of
// half the writers loses COMMIT answers on purpose, so this happens in
// every run). After each restart every writer makes progress again on the
// same pools (database/sql, and pgxpool), and calls started half a second
// later never fail. At the end: every acknowledged write is stored exactly
// once, stage histories hold exactly the writers' changes in order with no
// version gaps, event IDs are stored once each, and prospects' versions
// count exactly the observations applied to them.
func TestServerRestartMidRun(t *testing.T) {
	for _, driver := range []string{"database/sql", "pgxpool"} {
		t.Run(driver, func(t *testing.T) { serverRestartMidRun(t, driver) })
	}
}

func serverRestartMidRun(t *testing.T, driver string) {
	srv := startOwnServer(t)
	// Half the writers go straight to the server; the others through a
	// proxy that, armed just before each stop, withholds the answer to
	// COMMIT: their transaction is committed, the answer is lost with the
	// connection, and the retry must find the write already there.
	direct := openRestartDB(t, driver, srv.dsn(srv.port))
	proxy := startAckProxy(t, fmt.Sprintf("127.0.0.1:%d", srv.port))
	proxied := openRestartDB(t, driver, srv.dsn(proxy.port()))
	// The server is the test's own: the default table prefix.
	dst, pst := openRestartStores(t, direct, postgres.Options{}), openRestartStores(t, proxied, postgres.Options{SkipMigrate: true})
	on := func(w int) restartStores {
		if w%2 == 1 {
			return pst
		}
		return dst
	}

	r := &restartRun{t: t, st: dst, stop: make(chan struct{}), abort: make(chan struct{})}
	r.setPhase(phUp0)

	const stageWorkers, eventWorkers, poolWorkers = 3, 3, 2
	stagers := make([]*stageWorker, stageWorkers)
	appenders := make([]*eventWorker, eventWorkers)
	observers := make([]*poolWorker, poolWorkers)
	var writers []*workerStats
	var wg sync.WaitGroup
	for w := range stageWorkers {
		m, err := stage.New(stage.Classic(), stage.Options{Store: on(w).stages})
		require.NoError(t, err)
		sw := &stageWorker{r: r, m: m, w: w, stats: &workerStats{name: fmt.Sprintf("stage-%d", w)}}
		stagers[w], writers = sw, append(writers, sw.stats)
		wg.Add(1)
		go func() { defer wg.Done(); sw.run() }()
	}
	for w := range eventWorkers {
		ew := &eventWorker{r: r, w: w, events: on(w).events, stats: &workerStats{name: fmt.Sprintf("events-%d", w)}}
		appenders[w], writers = ew, append(writers, ew.stats)
		wg.Add(1)
		go func() { defer wg.Done(); ew.run() }()
	}
	for w := range poolWorkers {
		pl, err := pool.New(pool.Options{Store: on(w).prospects})
		require.NoError(t, err)
		pw := &poolWorker{r: r, pl: pl, w: w, n: poolWorkers, stats: &workerStats{name: fmt.Sprintf("pool-%d", w)}}
		observers[w], writers = pw, append(writers, pw.stats)
		wg.Add(1)
		go func() { defer wg.Done(); pw.run() }()
	}
	reader := &restartReader{r: r, stageWorkers: stageWorkers}
	wg.Add(1)
	go func() { defer wg.Done(); reader.run() }()

	// However the test ends, the workers end before it: a failed require
	// aborts their retries.
	stopped := false
	defer func() {
		if !stopped {
			close(r.abort)
			close(r.stop)
			proxy.closeAll()
			waitOrDump(t, &wg, 20*time.Second)
		}
	}()

	// progress waits until every writer has succeeded in phase p, then
	// lets them work a little longer.
	progress := func(p int) {
		deadline := time.Now().Add(15 * time.Second)
		for _, w := range writers {
			for w.ok[p].Load() == 0 {
				if time.Now().After(deadline) {
					require.Failf(t, "no recovery", "%s made no progress within 15 s in phase %q (a pool that never recovers?)", w.name, phaseNames[p])
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		time.Sleep(time.Second)
	}
	// outage stops the server with mode, checks calls fail promptly and
	// clearly while it is down, and starts it again.
	outage := func(mode string, armed int) {
		stopping, down, starting, up := armed+1, armed+2, armed+3, armed+4
		r.setPhase(armed)
		proxy.swallow.Store(true)
		time.Sleep(300 * time.Millisecond)
		r.setPhase(stopping)
		t0 := time.Now()
		srv.ctl(t, "stop", "-w", "-t", "30", "-m", mode)
		t.Logf("pg_ctl stop -m %s took %v", mode, time.Since(t0).Round(time.Millisecond))
		r.setPhase(down)
		proxy.swallow.Store(false)
		r.probe(down)
		time.Sleep(time.Second)
		r.setPhase(starting)
		t0 = time.Now()
		srv.ctl(t, "start", "-w", "-t", "30", "-l", filepath.Join(srv.data, "log"), "-o", srv.opts())
		t.Logf("pg_ctl start after -m %s took %v", mode, time.Since(t0).Round(time.Millisecond))
		r.setPhase(up)
		progress(up)
	}

	start := time.Now()
	progress(phUp0)
	outage("immediate", phArmed1)
	outage("fast", phArmed2)
	close(r.stop)
	stopped = true
	waitOrDump(t, &wg, 20*time.Second)
	t.Logf("run with two outages took %v", time.Since(start).Round(time.Millisecond))
	if t.Failed() {
		r.report()
		return
	}

	r.check(writers)
	verifyStages(t, dst, stagers)
	lostEvents := verifyEvents(t, dst, appenders)
	verifyProspects(t, dst, observers)
	r.report()
	// The proxy withheld answers to COMMIT: the writers behind it met
	// lost acknowledgements, which their retries resolved (above).
	t.Logf("COMMIT answers withheld by the proxy: %d", proxy.swallowed.Load())
	r.mu.Lock()
	defer r.mu.Unlock()
	assert.Positive(t, r.lostAck["stage"], "a stage change whose answer was lost was found stored by its retry")
	assert.Positive(t, r.lostAck["pool"], "an observation whose answer was lost was replayed by its retry")
	assert.Positive(t, lostEvents, "events whose Append answer was lost were stored once")
}

// openRestartDB opens a pool of 16 connections to dsn with driver
// ("database/sql" with the pgx driver, or "pgxpool"), closed when the
// test ends.
func openRestartDB(t *testing.T, driver, dsn string) postgres.DB {
	if driver == "pgxpool" {
		cfg, err := pgxpool.ParseConfig(dsn)
		require.NoError(t, err)
		cfg.MaxConns = 16
		p, err := pgxpool.NewWithConfig(context.Background(), cfg)
		require.NoError(t, err)
		t.Cleanup(p.Close)
		return postgres.Pgx(p)
	}
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	db.SetMaxOpenConns(16)
	t.Cleanup(func() { db.Close() })
	return postgres.SQL(db)
}

// A connection lost while a read's rows arrive fails the read with an
// error wrapping leadkit.ErrUnavailable and no partial result, on every
// store's multi-row read.
func TestConnectionLostMidResult(t *testing.T) {
	ctx := context.Background()
	db, prefix := openDB(t)
	o := postgres.Options{TablePrefix: prefix}
	st := openRestartStores(t, postgres.SQL(db), o)
	m, err := stage.New(stage.Classic(), stage.Options{Store: st.stages})
	require.NoError(t, err)
	pl, err := pool.New(pool.Options{Store: st.prospects})
	require.NoError(t, err)
	for i := range 8 { // more rows than the proxy lets through
		lead := stage.Lead(fmt.Sprintf("H%d", i))
		_, err := m.Start(ctx, lead, stage.StartOptions{})
		require.NoError(t, err)
		for range 4 {
			_, err = m.Fire(ctx, lead, "qualify", stage.Request{Facts: stage.Facts{"score": 150, "grade": "A"}})
			require.NoError(t, err)
			_, err = m.Fire(ctx, lead, "recycle", stage.Request{Reason: "not_ready"})
			require.NoError(t, err)
		}
		for j := range 8 {
			_, err := st.events.Append(ctx, leadkit.Event{ID: fmt.Sprintf("e%d-%d", i, j), LeadID: "L1", Type: "page_view", Time: time.Now()})
			require.NoError(t, err)
		}
		_, _, err = pl.Upsert(ctx, pool.Observation{ID: fmt.Sprint("o", i), Identities: []pool.Identity{{Kind: pool.Email, Value: fmt.Sprintf("h%d@acme.test", i)}}})
		require.NoError(t, err)
	}

	// The same server through a proxy that closes a connection at its
	// 6th row.
	cfg, err := pgx.ParseConfig(os.Getenv("LEADKIT_PG_DSN"))
	require.NoError(t, err)
	proxy := &ackProxy{cutAfter: 5}
	startAckProxyOn(t, proxy, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
	cfg.Host, cfg.Port, cfg.TLSConfig, cfg.Fallbacks = "127.0.0.1", uint16(proxy.port()), nil, nil
	cut := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { cut.Close() })
	o.SkipMigrate = true
	c := openRestartStores(t, postgres.SQL(cut), o)
	cs, cj, cp := c.stages, c.events, c.prospects

	h, err := cs.History(ctx, stage.Key{Pipeline: "classic", Subject: stage.Lead("H0")})
	assert.ErrorIs(t, err, leadkit.ErrUnavailable, "History")
	assert.Nil(t, h, "History: no partial history")
	evs, err := cj.Events(ctx, "L1", time.Time{}, time.Time{})
	assert.ErrorIs(t, err, leadkit.ErrUnavailable, "Events")
	assert.Nil(t, evs, "Events: no partial timeline")
	for name, scan := range map[string]func() error{
		"StageStore.Scan": func() error { return cs.Scan(ctx, "classic", func(stage.Record) error { return nil }) },
		"StageStore.ScanHistories": func() error {
			return cs.ScanHistories(ctx, "classic", func(stage.Key, []stage.Entry) error { return nil })
		},
		"JourneyStore.ForEach": func() error { return cj.ForEach(ctx, func(journey.Timeline) error { return nil }) },
		"PoolStore.Scan":       func() error { return cp.Scan(ctx, func(pool.Prospect) error { return nil }) },
	} {
		assert.ErrorIs(t, scan(), leadkit.ErrUnavailable, name)
	}
}

// restartStores are the stores the test writes through.
type restartStores struct {
	stages    *postgres.StageStore
	events    *postgres.JourneyStore
	prospects *postgres.PoolStore
	states    *postgres.LifecycleStore
}

// openRestartStores opens the stores on db with o: the one place these
// tests construct stores.
func openRestartStores(t *testing.T, db postgres.DB, o postgres.Options) restartStores {
	t.Helper()
	ctx := context.Background()
	var s restartStores
	var err error
	s.stages, err = postgres.NewStageStore(ctx, db, o)
	require.NoError(t, err)
	s.events, err = postgres.NewJourneyStore(ctx, db, o)
	require.NoError(t, err)
	s.prospects, err = postgres.NewPoolStore(ctx, db, o)
	require.NoError(t, err)
	s.states, err = postgres.NewLifecycleStore(ctx, db, o)
	require.NoError(t, err)
	return s
}

// The phases of the run. A call that starts and ends in a down phase
// cannot succeed; calls in the stopping and starting phases may go
// either way.
const (
	phUp0 = iota
	phArmed1
	phStopping1
	phDown1
	phStarting1
	phUp1
	phArmed2
	phStopping2
	phDown2
	phStarting2
	phUp2
	numPhases
)

var phaseNames = [numPhases]string{"up", "up, COMMIT answers withheld (crash next)", "stopping (immediate)", "down after crash", "starting after crash", "up after crash",
	"up, COMMIT answers withheld (fast stop next)", "stopping (fast)", "down after fast stop", "starting after fast stop", "up after fast stop"}

func phaseDown(p int) bool { return p == phDown1 || p == phDown2 }
func phaseUp(p int) bool   { return p == phUp0 || p == phUp1 || p == phUp2 }

const (
	callTimeout = 5 * time.Second // a call that takes this long hangs
	// recoveryGrace: calls started this long after the server is ready
	// again must not fail (stale connections are gone by then) unless the
	// next outage ends them.
	recoveryGrace = 500 * time.Millisecond
)

// callKinds tally calls by store.
var callKinds = []string{"stage", "events", "pool", "read"}

type callTally struct {
	ok, unavailable int
	maxFail         time.Duration // slowest failed call
	sample          string        // one error, for the report
}

// restartRun is the shared state of the run: the phase, the tallies and
// the workers' stop and abort signals.
type restartRun struct {
	t     *testing.T
	st    restartStores
	stop  chan struct{} // finish the current call, then return
	abort chan struct{} // give up retrying (the test failed)

	phase   atomic.Int32
	phaseMu sync.Mutex
	phaseAt [numPhases]time.Time

	mu      sync.Mutex
	tally   map[string]*[numPhases][numPhases]callTally // kind, start phase, end phase
	late    []string                                    // failures long after a restart
	probes  []string
	lostAck map[string]int // calls that failed but whose write was stored
}

func (r *restartRun) setPhase(p int) {
	r.phaseMu.Lock()
	r.phaseAt[p] = time.Now()
	r.phaseMu.Unlock()
	r.phase.Store(int32(p))
}

func (r *restartRun) since(p int) time.Duration {
	r.phaseMu.Lock()
	defer r.phaseMu.Unlock()
	return time.Since(r.phaseAt[p])
}

func (r *restartRun) aborted() bool {
	select {
	case <-r.abort:
		return true
	default:
		return false
	}
}

func (r *restartRun) stopping() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// once runs op with a timeout and tallies it. An error that does not wrap
// leadkit.ErrUnavailable is returned as it is for the caller to judge; a
// call that hit the timeout is a hang.
func (r *restartRun) once(kind string, stats *workerStats, op func(context.Context) error) error {
	p0 := int(r.phase.Load())
	lateStart := phaseUp(p0) && p0 != phUp0 && r.since(p0) > recoveryGrace
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t0 := time.Now()
	err := op(ctx)
	d := time.Since(t0)
	cancel()
	p1 := int(r.phase.Load())
	if errors.Is(err, context.DeadlineExceeded) {
		r.t.Errorf("%s call hung: no answer within %v (phases %q to %q): %v", kind, callTimeout, phaseNames[p0], phaseNames[p1], err)
	}
	if phaseDown(p0) && p0 == p1 && err == nil {
		r.t.Errorf("%s call succeeded while the server was down", kind)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tally == nil {
		r.tally = map[string]*[numPhases][numPhases]callTally{}
	}
	if r.tally[kind] == nil {
		r.tally[kind] = &[numPhases][numPhases]callTally{}
	}
	c := &r.tally[kind][p0][p1]
	switch {
	case err == nil:
		c.ok++
		if stats != nil && p0 == p1 {
			stats.ok[p1].Add(1)
		}
	case errors.Is(err, leadkit.ErrUnavailable):
		c.unavailable++
		c.maxFail = max(c.maxFail, d)
		if c.sample == "" {
			c.sample = err.Error()
		}
		if lateStart && p1 == p0 { // not a call the next outage ended
			r.late = append(r.late, fmt.Sprintf("%s call started %v into %q: %v", kind, r.since(p0).Round(time.Millisecond), phaseNames[p0], err))
		}
	}
	return err
}

// retry repeats op until it returns something other than an error
// wrapping leadkit.ErrUnavailable (or the run is aborted); ambiguous
// tells whether an earlier try failed, so that op may have been applied
// already.
func (r *restartRun) retry(kind string, stats *workerStats, op func(context.Context) error) (err error, ambiguous bool) {
	for {
		err = r.once(kind, stats, op)
		if !errors.Is(err, leadkit.ErrUnavailable) || r.aborted() {
			return err, ambiguous
		}
		ambiguous = true
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *restartRun) lost(kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lostAck == nil {
		r.lostAck = map[string]int{}
	}
	r.lostAck[kind]++
}

// probe calls one read of every store while the server is down: each
// fails promptly with an error wrapping leadkit.ErrUnavailable.
func (r *restartRun) probe(p int) {
	calls := map[string]func(context.Context) error{
		"StageStore.Get": func(ctx context.Context) error {
			_, err := r.st.stages.Get(ctx, stage.Key{Pipeline: "classic", Subject: stage.Lead("probe")})
			return err
		},
		"StageStore.History": func(ctx context.Context) error {
			_, err := r.st.stages.History(ctx, stage.Key{Pipeline: "classic", Subject: stage.Lead("probe")})
			return err
		},
		"JourneyStore.Events": func(ctx context.Context) error {
			_, err := r.st.events.Events(ctx, "probe", time.Time{}, time.Time{})
			return err
		},
		"JourneyStore.Append": func(ctx context.Context) error {
			_, err := r.st.events.Append(ctx, leadkit.Event{ID: "probe", LeadID: "probe", Type: "page_view", Time: time.Now()})
			return err
		},
		"PoolStore.Get": func(ctx context.Context) error {
			_, err := r.st.prospects.Get(ctx, "probe")
			return err
		},
		"LifecycleStore.Get": func(ctx context.Context) error {
			_, err := r.st.states.Get(ctx, "probe")
			return err
		},
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range calls {
			if !yield(k) {
				return
			}
		}
	}) {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		t0 := time.Now()
		err := calls[name](ctx)
		d := time.Since(t0)
		cancel()
		if !errors.Is(err, leadkit.ErrUnavailable) {
			r.t.Errorf("%s while the server is %s: want an error wrapping leadkit.ErrUnavailable, got %v", name, phaseNames[p], err)
		}
		if d > 2*time.Second {
			r.t.Errorf("%s while the server is %s took %v", name, phaseNames[p], d)
		}
		r.mu.Lock()
		msg := fmt.Sprint(err)
		if len(msg) > 100 {
			msg = msg[:100] + "..."
		}
		r.probes = append(r.probes, fmt.Sprintf("%-20s %-21s %9v  %s", name, phaseNames[p], d.Round(time.Microsecond), msg))
		r.mu.Unlock()
	}
}

// check asserts what the tallies must show: every store failed during
// both outages, no call failed long after a restart, and failed calls
// during the outages answered promptly.
func (r *restartRun) check(writers []*workerStats) {
	t := r.t
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, kind := range callKinds {
		tl := r.tally[kind]
		if !assert.NotNil(t, tl, "%s calls made", kind) {
			continue
		}
		for _, p := range []int{phDown1, phDown2} {
			c := tl[p][p]
			assert.Positive(t, c.unavailable, "%s calls failed while the server was %s", kind, phaseNames[p])
			assert.Less(t, c.maxFail, 2*time.Second, "%s calls failed promptly while the server was %s", kind, phaseNames[p])
		}
	}
	assert.Empty(t, r.late, "calls started %v or more after a restart succeed", recoveryGrace)
	for _, w := range writers {
		for _, p := range []int{phUp0, phUp1, phUp2} {
			assert.Positive(t, w.ok[p].Load(), "%s made progress in phase %q", w.name, phaseNames[p])
		}
	}
}

func (r *restartRun) report() {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, kind := range callKinds {
		tl := r.tally[kind]
		if tl == nil {
			continue
		}
		for p0 := range numPhases {
			var c callTally
			for p1 := range numPhases {
				e := tl[p0][p1]
				c.ok, c.unavailable, c.maxFail = c.ok+e.ok, c.unavailable+e.unavailable, max(c.maxFail, e.maxFail)
				if c.sample == "" {
					c.sample = e.sample
				}
			}
			if c.ok+c.unavailable == 0 {
				continue
			}
			fmt.Fprintf(&b, "  %-6s %-45s ok %5d  unavailable %4d", kind, phaseNames[p0], c.ok, c.unavailable)
			if c.unavailable > 0 {
				if len(c.sample) > 160 {
					c.sample = c.sample[:160] + "..."
				}
				fmt.Fprintf(&b, "  slowest %v, e.g. %s", c.maxFail.Round(time.Microsecond), c.sample)
			}
			b.WriteString("\n")
		}
	}
	r.t.Logf("calls by the phase they started in:\n%s", b.String())
	r.t.Logf("reads of every store while down (%d):\n  %s", len(r.probes), strings.Join(r.probes, "\n  "))
	r.t.Logf("calls that failed but whose write was stored (lost acknowledgements), by kind: %v", r.lostAck)
}

type workerStats struct {
	name string
	ok   [numPhases]atomic.Int64 // calls that succeeded within one phase
}

// A stageWorker moves leads of its own through the classic pipeline
// (Raw, MQL, SAL, Recycled, MQL, ...), each change with the version it
// read and a note naming it, so that the final histories can be compared
// with what it committed.
type stageWorker struct {
	r     *restartRun
	m     *stage.Machine
	w     int
	stats *workerStats
	leads []*stageLead
}

type stageLead struct {
	id      string
	stage   string
	version int64
	notes   []string // the notes of the committed changes, in order
}

func (sw *stageWorker) run() {
	for i := range 4 {
		sw.leads = append(sw.leads, &stageLead{id: fmt.Sprintf("S%d-%d", sw.w, i)})
	}
	for n := 0; !sw.r.stopping() && !sw.r.aborted(); n++ {
		if !sw.step(sw.leads[n%len(sw.leads)], n) {
			return
		}
	}
}

// step makes the lead's next change; false stops the worker.
func (sw *stageWorker) step(l *stageLead, n int) bool {
	t, r := sw.r.t, sw.r
	note := fmt.Sprintf("w%d-%d", sw.w, n)
	subj := stage.Lead(l.id)
	var rec stage.Record
	var op func(ctx context.Context) error
	if l.version == 0 {
		op = func(ctx context.Context) (err error) {
			rec, err = sw.m.Start(ctx, subj, stage.StartOptions{Actor: "restart", Note: note})
			return err
		}
	} else {
		req := stage.Request{Actor: "restart", Note: note, Version: l.version}
		var name string
		switch l.stage {
		case "Raw", "Recycled":
			name, req.Facts = "qualify", stage.Facts{"score": 150, "grade": "A"}
		case "MQL":
			name = "accept"
		default:
			name, req.Reason = "recycle", "not_ready"
		}
		op = func(ctx context.Context) (err error) {
			rec, err = sw.m.Fire(ctx, subj, name, req)
			return err
		}
	}
	err, ambiguous := r.retry("stage", sw.stats, op)
	switch {
	case err == nil:
		if !assert.Equal(t, l.version+1, rec.Version, "%s: the committed version", l.id) {
			return false
		}
		l.stage, l.version, l.notes = rec.Stage, rec.Version, append(l.notes, note)
		return true
	case ambiguous && errors.Is(err, leadkit.ErrConflict):
		// The lead is this worker's alone: the earlier try was applied
		// though its answer was lost. The history must hold it, once.
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		cur, gerr := r.st.stages.Get(ctx, stage.Key{Pipeline: "classic", Subject: subj})
		h, herr := r.st.stages.History(ctx, stage.Key{Pipeline: "classic", Subject: subj})
		if !assert.NoError(t, gerr) || !assert.NoError(t, herr) {
			return false
		}
		if !assert.Equal(t, l.version+1, cur.Version, "%s: a repeated change after a lost answer conflicts only if the first try was stored (%v)", l.id, err) ||
			!assert.Len(t, h, int(cur.Version)) ||
			!assert.Equal(t, note, h[l.version].Note, "%s: the stored change is the lost one", l.id) {
			return false
		}
		r.lost("stage")
		l.stage, l.version, l.notes = cur.Stage, cur.Version, append(l.notes, note)
		return true
	case r.aborted():
		return false
	default:
		t.Errorf("stage %s (ambiguous %v): %v", l.id, ambiguous, err)
		return false
	}
}

// verifyStages compares every lead's record and history with what its
// worker committed: the same changes in the same order, versions 1..n
// without gaps, the record at version n in the last change's stage.
func verifyStages(t *testing.T, st restartStores, workers []*stageWorker) {
	ctx := context.Background()
	leads := 0
	for _, sw := range workers {
		for _, l := range sw.leads {
			if l.version == 0 {
				continue
			}
			leads++
			key := stage.Key{Pipeline: "classic", Subject: stage.Lead(l.id)}
			rec, err := st.stages.Get(ctx, key)
			require.NoError(t, err)
			h, err := st.stages.History(ctx, key)
			require.NoError(t, err)
			assert.Equal(t, l.version, rec.Version, "%s: the record's version is the last one committed", l.id)
			require.Len(t, h, int(rec.Version), "%s: the record's version is its history's length", l.id)
			var notes []string
			for i, e := range h {
				assert.Equal(t, int64(i+1), e.Version, "%s: versions without gaps", l.id)
				if i > 0 {
					assert.Equal(t, h[i-1].To, e.From, "%s: each change leaves from where the previous one went", l.id)
				}
				notes = append(notes, e.Note)
			}
			assert.Equal(t, l.notes, notes, "%s: the history holds exactly the committed changes, in order", l.id)
			assert.Equal(t, h[len(h)-1].To, rec.Stage, "%s: the record is where its last change went", l.id)
			assert.Equal(t, l.stage, rec.Stage, "%s", l.id)
		}
	}
	stored := 0
	require.NoError(t, st.stages.Scan(ctx, "classic", func(stage.Record) error { stored++; return nil }))
	assert.Equal(t, leads, stored, "no record the workers did not start")
	assert.Positive(t, leads)
}

// An eventWorker appends batches that overlap with the other workers'
// (the k-th batch of every worker shares 6 IDs) plus 3 IDs of its own, in
// a random order, repeating a failed batch until it is stored.
type eventWorker struct {
	r      *restartRun
	w      int
	events *postgres.JourneyStore
	stats  *workerStats
	want   map[string]leadkit.Event // every event of a batch that was stored
	added  int                      // the sum of Append's counts
	// unsure counts events of batches retried after a failure: their
	// first try may have stored them with its count lost.
	unsure int
}

// restartEvent is the event with ID id, the same in every worker.
func restartEvent(id string) leadkit.Event {
	var h uint32
	for _, c := range []byte(id) {
		h = h*31 + uint32(c)
	}
	return leadkit.Event{ID: id, LeadID: fmt.Sprintf("L%02d", h%50), Type: "page_view",
		Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h%1000) * time.Minute)}
}

func (ew *eventWorker) run() {
	t, r := ew.r.t, ew.r
	ew.want = map[string]leadkit.Event{}
	rnd := rand.New(rand.NewPCG(uint64(ew.w), 7))
	for k := 0; !r.stopping() && !r.aborted(); k++ {
		var batch []leadkit.Event
		for j := range 6 {
			batch = append(batch, restartEvent(fmt.Sprintf("s%06d", k*6+j)))
		}
		for j := range 3 {
			batch = append(batch, restartEvent(fmt.Sprintf("u%d-%06d-%d", ew.w, k, j)))
		}
		rnd.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		var n int
		err, ambiguous := r.retry("events", ew.stats, func(ctx context.Context) (err error) {
			n, err = ew.events.Append(ctx, batch...)
			return err
		})
		if err != nil {
			if !r.aborted() {
				t.Errorf("append (ambiguous %v): %v", ambiguous, err)
			}
			return
		}
		ew.added += n
		if ambiguous {
			ew.unsure += len(batch)
		}
		for _, e := range batch {
			ew.want[e.ID] = e
		}
	}
}

// verifyEvents reads every stored event: each ID once, exactly the
// events of the batches that were stored, unchanged; Append's counts add
// up to the stored events but for those of batches whose first try's
// count was lost. It returns how many events were stored uncounted.
func verifyEvents(t *testing.T, st restartStores, workers []*eventWorker) int {
	ctx := context.Background()
	want := map[string]leadkit.Event{}
	added, unsure := 0, 0
	for _, ew := range workers {
		for id, e := range ew.want {
			want[id] = e
		}
		added += ew.added
		unsure += ew.unsure
	}
	got := map[string]leadkit.Event{}
	dups := 0
	require.NoError(t, st.events.ForEach(ctx, func(tl journey.Timeline) error {
		for _, e := range tl.Events {
			if _, ok := got[e.ID]; ok {
				dups++
			}
			got[e.ID] = e
		}
		return nil
	}))
	assert.Zero(t, dups, "every event ID is stored once")
	assert.Equal(t, len(want), len(got), "the stored events are the acknowledged ones")
	missing, extra, changed := 0, 0, 0
	for id, e := range want {
		g, ok := got[id]
		switch {
		case !ok:
			missing++
		case !g.Time.Equal(e.Time) || g.LeadID != e.LeadID || g.Type != e.Type:
			changed++
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			extra++
		}
	}
	assert.Zero(t, missing, "acknowledged events missing")
	assert.Zero(t, extra, "events stored that no acknowledged batch holds")
	assert.Zero(t, changed, "events stored with other data")
	assert.LessOrEqual(t, added, len(got), "Append counted each stored event at most once")
	assert.LessOrEqual(t, len(got)-added, unsure, "only events of retried batches can be stored without being counted")
	t.Logf("events: %d stored, %d counted by Append, %d in batches retried after a failure", len(got), added, unsure)
	return len(got) - added
}

// A poolWorker applies observations (each with an ID of its own, a touch)
// to prospects shared with the other workers, repeating a failed one until
// it is applied.
type poolWorker struct {
	r      *restartRun
	pl     *pool.Pool
	w, n   int
	stats  *workerStats
	counts map[string]int // applied observations by email
}

const restartProspects = 64

func (pw *poolWorker) run() {
	t, r := pw.r.t, pw.r
	pw.counts = map[string]int{}
	for k := 0; !r.stopping() && !r.aborted(); k++ {
		email := fmt.Sprintf("p%03d@acme.test", (k*pw.n+pw.w)%restartProspects)
		obs := pool.Observation{ID: fmt.Sprintf("o%d-%06d", pw.w, k), At: time.Now().UTC(), Touch: true,
			Identities: []pool.Identity{{Kind: pool.Email, Value: email}}}
		var res pool.UpsertResult
		err, ambiguous := r.retry("pool", pw.stats, func(ctx context.Context) (err error) {
			_, res, err = pw.pl.Upsert(ctx, obs)
			return err
		})
		if err != nil {
			if !r.aborted() {
				t.Errorf("upsert %s (ambiguous %v): %v", obs.ID, ambiguous, err)
			}
			return
		}
		if res.Replayed {
			if !ambiguous {
				t.Errorf("upsert %s: replayed on its first try", obs.ID)
				return
			}
			r.lost("pool")
		}
		pw.counts[email]++
	}
}

// verifyProspects: one prospect per email, its version and touches
// counting exactly the observations applied to it.
func verifyProspects(t *testing.T, st restartStores, workers []*poolWorker) {
	ctx := context.Background()
	want := map[string]int{}
	for _, pw := range workers {
		for e, n := range pw.counts {
			want[e] += n
		}
	}
	byEmail := map[string][]pool.Prospect{}
	require.NoError(t, st.prospects.Scan(ctx, func(p pool.Prospect) error {
		for _, id := range p.Identities {
			if id.Kind == pool.Email {
				byEmail[id.Value] = append(byEmail[id.Value], p)
			}
		}
		assert.Equal(t, pool.StatusActive, p.Status, "prospect %s", p.ID)
		return nil
	}))
	assert.Len(t, byEmail, len(want), "a prospect for each email observed, no other")
	for email, n := range want {
		ps := byEmail[email]
		if !assert.Len(t, ps, 1, "%s: one prospect", email) {
			continue
		}
		assert.Equal(t, int64(n), ps[0].Version, "%s: one version per applied observation", email)
		assert.Len(t, ps[0].Touches, min(n, pool.MaxTouches), "%s: one touch per applied observation", email)
	}
}

// restartReader reads while the others write: a history read in one
// query has no gaps, whatever the server does.
type restartReader struct {
	r            *restartRun
	stageWorkers int
}

func (rd *restartReader) run() {
	t, r := rd.r.t, rd.r
	rnd := rand.New(rand.NewPCG(3, 3))
	for !r.stopping() && !r.aborted() {
		key := stage.Key{Pipeline: "classic", Subject: stage.Lead(fmt.Sprintf("S%d-%d", rnd.IntN(rd.stageWorkers), rnd.IntN(4)))}
		err := r.once("read", nil, func(ctx context.Context) error {
			h, err := r.st.stages.History(ctx, key)
			if err != nil {
				return err
			}
			for i, e := range h {
				if e.Version != int64(i+1) {
					return fmt.Errorf("history of %s: version %d at %d", key.ID, e.Version, i)
				}
			}
			if _, err := r.st.events.Events(ctx, fmt.Sprintf("L%02d", rnd.IntN(50)), time.Time{}, time.Time{}); err != nil {
				return err
			}
			_, err = r.st.prospects.Find(ctx, []string{"email:p000@acme.test"})
			return err
		})
		if err != nil && !errors.Is(err, leadkit.ErrUnavailable) {
			t.Errorf("read: %v", err)
			return
		}
		if err != nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// waitOrDump waits for wg, failing with every goroutine's stack when it
// takes longer than d (a worker hangs).
func waitOrDump(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
		t.Fatalf("workers did not stop within %v:\n%s", d, b.String())
	}
}

// ownServer is a throwaway PostgreSQL server of one test's own, which it
// may stop and start: the shared server of LEADKIT_PG_DSN is never
// touched.
type ownServer struct {
	bin, data string
	port      int
	cred      *syscall.Credential // the postgres user's, when the test runs as root
}

// startOwnServer initialises and starts a server with the newest
// binaries under /usr/lib/postgresql (or initdb's on PATH), skipping the
// test without them unless LEADKIT_PG_REQUIRED is set. The server is
// stopped and its directory removed when the test ends.
func startOwnServer(t *testing.T) *ownServer {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("LEADKIT_PG_REQUIRED") != "" {
			t.Fatalf("LEADKIT_PG_REQUIRED is set but "+format, args...)
		}
		t.Skipf(format, args...)
	}
	s := &ownServer{bin: pgBinDir()}
	if s.bin == "" {
		skip("no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on PATH")
	}
	if os.Geteuid() == 0 {
		// initdb and the server refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			skip("running as root and no postgres user to run the server as: %v", err)
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		require.NoError(t, errors.Join(err1, err2))
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		// t.TempDir's parents are root's alone: a directory of its own
		// under the system's temporary directory instead.
		dir, err := os.MkdirTemp("", "leadkit-restart-")
		require.NoError(t, err)
		t.Cleanup(func() { os.RemoveAll(dir) })
		require.NoError(t, os.Chown(dir, int(uid), int(gid)))
		s.data = dir
	} else {
		s.data = t.TempDir()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.port = l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	t0 := time.Now()
	s.run(t, "initdb", "-D", s.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "-N")
	t.Cleanup(func() {
		// A server left running would outlive the test: stop it at once.
		_, _ = s.exec("pg_ctl", "-D", s.data, "stop", "-w", "-t", "30", "-m", "immediate")
	})
	s.ctl(t, "start", "-w", "-t", "30", "-l", filepath.Join(s.data, "log"), "-o", s.opts())
	t.Logf("own server (%s) on port %d ready in %v", s.bin, s.port, time.Since(t0).Round(time.Millisecond))
	return s
}

// opts are the server's options: TCP on 127.0.0.1 only, its socket in
// its data directory.
func (s *ownServer) opts() string {
	return fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s", s.port, s.data)
}

// dsn is the server's address through port: its own or a proxy's.
func (s *ownServer) dsn(port int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=3", port)
}

// ctl runs pg_ctl on the server's data directory.
func (s *ownServer) ctl(t *testing.T, args ...string) {
	t.Helper()
	s.run(t, "pg_ctl", append([]string{"-D", s.data}, args...)...)
}

func (s *ownServer) run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := s.exec(name, args...)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.data, "log"))
		t.Fatalf("%s %s: %v\n%s\nserver log:\n%s", name, strings.Join(args, " "), err, out, log)
	}
}

// exec runs one of the server's programs, as the postgres user when the
// test runs as root.
func (s *ownServer) exec(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Dir = s.data
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd.CombinedOutput()
}

// pgBinDir is the newest /usr/lib/postgresql/<version>/bin holding initdb
// and pg_ctl, or the directory of initdb on PATH, or "".
func pgBinDir() string {
	has := func(dir string) bool {
		for _, n := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
				return false
			}
		}
		return true
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) []int {
		var v []int
		for _, p := range strings.Split(filepath.Base(filepath.Dir(dir)), ".") {
			n, _ := strconv.Atoi(p)
			v = append(v, n)
		}
		return v
	}
	slices.SortFunc(dirs, func(a, b string) int { return slices.Compare(version(b), version(a)) })
	for _, d := range dirs {
		if has(d) {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p)
	}
	return ""
}

// ackProxy forwards connections to a server. While swallow is set, a
// connection's answer to a committing write (CommandComplete "COMMIT", or
// of a write outside an explicit transaction) and all that follows it are
// withheld: the server committed, the client waits, and
// when the server goes away the connection is closed without the answer,
// as when it is lost on the network. With cutAfter set, a connection is
// closed when the server sends its cutAfter+1st row. Clients must not ask
// for TLS.
type ackProxy struct {
	ln        net.Listener
	upstream  string
	cutAfter  int // rows a connection forwards, 0 for no limit; set before use
	swallow   atomic.Bool
	swallowed atomic.Int64
	mu        sync.Mutex
	conns     map[net.Conn]bool
	wg        sync.WaitGroup
}

func startAckProxy(t *testing.T, upstream string) *ackProxy {
	p := &ackProxy{}
	startAckProxyOn(t, p, upstream)
	return p
}

// startAckProxyOn starts p forwarding to upstream until the test ends.
func startAckProxyOn(t *testing.T, p *ackProxy, upstream string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.ln, p.upstream, p.conns = ln, upstream, map[net.Conn]bool{}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.serve(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
}

func (p *ackProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *ackProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false // closed
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

func (p *ackProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// committed reports whether a CommandComplete tag ends a write the server
// commits: COMMIT, or a write outside an explicit transaction (a pipeline
// of the tenant setting and one statement, which commits at its Sync).
func committed(tag string, inTx bool) bool {
	tag = strings.TrimSuffix(tag, "\x00")
	if tag == "COMMIT" {
		return true
	}
	return !inTx && (strings.HasPrefix(tag, "INSERT ") || strings.HasPrefix(tag, "UPDATE ") || strings.HasPrefix(tag, "DELETE "))
}

func (p *ackProxy) serve(client net.Conn) {
	defer client.Close()
	server, err := net.DialTimeout("tcp", p.upstream, 3*time.Second)
	if err != nil {
		return // the client reads EOF, as from a server that went away
	}
	defer server.Close()
	if !p.track(client, server) {
		return
	}
	go func() {
		_, _ = io.Copy(server, client)
		server.Close()
	}()
	// Server to client, message by message: a type byte, a length that
	// counts itself, the body.
	in := bufio.NewReader(server)
	withheld, rows, inTx := false, 0, false
	for {
		head := make([]byte, 5)
		if _, err := io.ReadFull(in, head); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(head[1:]))
		if n < 4 {
			return
		}
		msg := make([]byte, 5+n-4)
		copy(msg, head)
		if _, err := io.ReadFull(in, msg[5:]); err != nil {
			return
		}
		if msg[0] == 'Z' && len(msg) > 5 {
			inTx = msg[5] != 'I'
		}
		if !withheld && p.swallow.Load() && msg[0] == 'C' && committed(string(msg[5:]), inTx) {
			withheld = true
			p.swallowed.Add(1)
		}
		if withheld {
			continue
		}
		if msg[0] == 'D' {
			if rows++; p.cutAfter > 0 && rows > p.cutAfter {
				return
			}
		}
		if _, err := client.Write(msg); err != nil {
			return
		}
	}
}
