package stage_test

import (
	"context"
	"fmt"
	"github.com/leadkit/leadkit"
	"sync"
	"testing"
	"time"

	"github.com/leadkit/leadkit/stage"
)

// The benchmarks compare the Machine (validation, optimistic versions,
// history, hooks) with the plain map-based state machine a developer would
// write by hand, in the same run. Run with:
//
//	go test ./stage -run XXX -bench . -benchmem

const benchLeads = 1024

func pingPong() stage.Definition {
	return stage.Definition{
		Name: "bench", Initial: "A",
		Facts:  map[string]leadkit.FieldType{"score": leadkit.TypeNumber, "grade": leadkit.TypeString},
		Stages: []stage.Stage{{Name: "A"}, {Name: "B"}},
		Transitions: []stage.Transition{
			{Name: "next", From: []string{"A"}, To: "B"},
			{Name: "back", From: []string{"B"}, To: "A"},
			{Name: "up", From: []string{"A"}, To: "B", Auto: true, Guard: `score >= 100 && grade in ["A", "B"]`},
			{Name: "down", From: []string{"B"}, To: "A", Auto: true, Guard: `score < 100`},
		},
	}
}

func benchMachine(b *testing.B) (*stage.Machine, []stage.Subject) {
	m, err := stage.New(pingPong(), stage.Options{Now: func() time.Time { return time.Unix(1e9, 0) }})
	if err != nil {
		b.Fatal(err)
	}
	subs := make([]stage.Subject, benchLeads)
	for i := range subs {
		subs[i] = stage.Lead(fmt.Sprint("L", i))
		if _, err := m.Start(context.Background(), subs[i], stage.StartOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return m, subs
}

// mapMachine is the baseline: a mutex, a map of current stages and a
// history slice per lead; transitions looked up in a nested map.
type mapMachine struct {
	mu      sync.Mutex
	allowed map[string]map[string]string // from -> transition -> to
	cur     map[string]string
	ver     map[string]int64
	hist    map[string][]stage.Entry
}

func newMapMachine() *mapMachine {
	mm := &mapMachine{
		allowed: map[string]map[string]string{"A": {"next": "B"}, "B": {"back": "A"}},
		cur:     map[string]string{}, ver: map[string]int64{}, hist: map[string][]stage.Entry{},
	}
	for i := range benchLeads {
		id := fmt.Sprint("L", i)
		mm.cur[id], mm.ver[id] = "A", 1
	}
	return mm
}

func (mm *mapMachine) fire(id, tr string) error {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	from := mm.cur[id]
	to, ok := mm.allowed[from][tr]
	if !ok {
		return fmt.Errorf("not allowed")
	}
	mm.cur[id] = to
	mm.ver[id]++
	mm.hist[id] = append(mm.hist[id], stage.Entry{From: from, To: to, Transition: tr, Version: mm.ver[id], At: time.Unix(1e9, 0)})
	return nil
}

func BenchmarkFire(b *testing.B) {
	ctx := context.Background()
	names := [2]string{"next", "back"}
	b.Run("leadkit", func(b *testing.B) {
		m, subs := benchMachine(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i > 0 && i%(benchLeads*64) == 0 { // keep histories bounded
				b.StopTimer()
				m, subs = benchMachine(b)
				b.StartTimer()
			}
			l := i % benchLeads
			round := (i % (benchLeads * 64)) / benchLeads
			if _, err := m.Fire(ctx, subs[l], names[round%2], stage.Request{Actor: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
	})
	b.Run("map-baseline", func(b *testing.B) {
		mm := newMapMachine()
		ids := make([]string, benchLeads)
		for i := range ids {
			ids[i] = fmt.Sprint("L", i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i > 0 && i%(benchLeads*64) == 0 {
				b.StopTimer()
				mm = newMapMachine()
				b.StartTimer()
			}
			round := (i % (benchLeads * 64)) / benchLeads
			if err := mm.fire(ids[i%benchLeads], names[round%2]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
	})
}

// BenchmarkAdvance: one guarded automatic transition per call; the facts
// alternate so that every call moves the lead (A -> B, then B -> A).
func BenchmarkAdvance(b *testing.B) {
	ctx := context.Background()
	facts := [2]stage.Facts{{"score": 120, "grade": "A"}, {"score": 40, "grade": "A"}}
	b.Run("leadkit", func(b *testing.B) {
		m, subs := benchMachine(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i > 0 && i%(benchLeads*64) == 0 {
				b.StopTimer()
				m, subs = benchMachine(b)
				b.StartTimer()
			}
			round := (i % (benchLeads * 64)) / benchLeads
			if _, n, err := m.Advance(ctx, subs[i%benchLeads], facts[round%2], stage.Request{}); err != nil || n != 1 {
				b.Fatal(n, err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
	})
	b.Run("map-baseline", func(b *testing.B) {
		mm := newMapMachine()
		ids := make([]string, benchLeads)
		for i := range ids {
			ids[i] = fmt.Sprint("L", i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i > 0 && i%(benchLeads*64) == 0 {
				b.StopTimer()
				mm = newMapMachine()
				b.StartTimer()
			}
			round := (i % (benchLeads * 64)) / benchLeads
			f := facts[round%2]
			// The guard, hand-written.
			score, _ := f["score"].(int)
			grade, _ := f["grade"].(string)
			tr := "back"
			if score >= 100 && (grade == "A" || grade == "B") {
				tr = "next"
			}
			if err := mm.fire(ids[i%benchLeads], tr); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
	})
}

// BenchmarkExplain measures "why not yet" on a three-clause guard.
func BenchmarkExplain(b *testing.B) {
	def := stage.Classic()
	def.Transitions[0].Guard = `score >= 100 && grade in ["A","B"] && (fit > 50 || engaged)`
	def.Facts["fit"], def.Facts["engaged"] = leadkit.TypeNumber, leadkit.TypeBool
	m, err := stage.New(def, stage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	f := stage.Facts{"score": 120, "grade": "C", "fit": 10, "engaged": false}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := m.Explain("Raw", f); err != nil {
			b.Fatal(err)
		}
	}
}
