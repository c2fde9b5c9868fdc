package learn_test

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring/learn"
	"github.com/stretchr/testify/require"
)

// fuzzReader hands out the fuzzer's bytes, then zeros.
type fuzzReader struct {
	b []byte
	i int
}

func (r *fuzzReader) next() int {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return int(r.b[r.i-1])
}

// fuzzData builds a small data set and options from bytes: 20 to 79
// examples with texts that need quoting, numbers that are missing,
// negative, fractional or huge, custom fields present or not, a few
// events of a few types and channels (some after the cut-off), and
// options from their whole ranges.
func fuzzData(data []byte) ([]learn.Example, learn.Options) {
	r := &fuzzReader{b: data}
	texts := []string{"", "vp", "it", "é", `a"b`, `\`, "x\ny", "ünïcode ✓", strings.Repeat("\u00ad", 90)}
	nums := []float64{0, 1, -1, 0.5, 1e300, -1e300, 123456789, 7}
	opts := learn.Options{
		Fields:      []string{"person.seniority", "company.employees", "company.revenue", "company.industry", "person.score", "person.flag", "company.tier"},
		Declare:     []leadkit.FieldSpec{{Name: "person.score", Type: leadkit.TypeNumber}, {Name: "person.flag", Type: leadkit.TypeBool}, {Name: "company.tier", Type: leadkit.TypeString}, {Name: "event.topic", Type: leadkit.TypeString}},
		MinSupport:  1 + r.next()%8,
		Bins:        2 + r.next()%15,
		Categories:  1 + r.next()%16,
		NonMonotone: r.next()%2 == 1,
		PDO:         float64(1 + r.next()%100),
		L2:          float64(1+r.next()) / 64,
		HoldOut:     0.1 + float64(r.next()%8)/10,
		Seed:        uint64(r.next()),
	}
	base := float64(r.next() - 128)
	opts.BaseScore = &base
	switch r.next() % 3 {
	case 0:
		opts.Windows = []time.Duration{0}
	case 1:
		opts.Windows = []time.Duration{0, 7 * 24 * time.Hour}
	default:
		opts.Windows = []time.Duration{time.Hour}
	}
	if r.next()%2 == 0 {
		opts.Signals = []learn.Signal{
			{Name: "a", Types: []string{"a"}},
			{Name: "x or y", When: `event.channel in ["x", "y"]`},
			{Name: "topic", Types: []string{"a", "b"}, When: `event.topic != ""`},
		}
	}
	n := 20 + r.next()%60
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	ex := make([]learn.Example, n)
	for i := range ex {
		l := leadkit.Lead{ID: "l" + strconv.Itoa(i)}
		if k := r.next(); k%8 == 0 && i > 0 {
			l.ID = ex[i-1].Lead.ID // the same lead at two cut-offs
		} else if k%8 == 1 {
			l.ID = "" // no ID
		}
		l.Person.Seniority = texts[r.next()%len(texts)]
		l.Company.Industry = texts[r.next()%len(texts)]
		l.Company.Employees = r.next() * r.next()
		l.Company.Revenue = nums[r.next()%len(nums)]
		if k := r.next() % 4; k > 0 {
			l.Person.Custom = map[string]any{"score": nums[r.next()%len(nums)], "flag": k == 2}
			if k == 3 {
				l.Person.Custom["score"] = r.next() // an int
			}
		}
		if k := r.next() % 3; k > 0 {
			l.Company.Custom = map[string]any{"tier": texts[r.next()%len(texts)]}
		}
		e := learn.Example{Lead: l, CutOff: at, Converted: r.next()%2 == 1}
		for k := range r.next() % 6 {
			ev := leadkit.Event{
				ID:      l.ID + "-" + strconv.Itoa(i) + "-" + strconv.Itoa(k),
				Type:    []string{"a", "b", "page_view", "channel:x"}[r.next()%4],
				Channel: []string{"", "x", "y"}[r.next()%3],
				Time:    at.Add(-time.Duration(r.next()) * time.Hour),
			}
			if r.next()%7 == 0 {
				ev.Time = at.Add(time.Hour) // after the cut-off
			}
			if r.next()%2 == 0 {
				ev.Attrs = map[string]any{"topic": texts[r.next()%len(texts)]}
			}
			e.Events = append(e.Events, ev)
		}
		ex[i] = e
	}
	return ex, opts
}

// FuzzFit fits random small data sets: Fit never panics, fails only
// with errors wrapping leadkit.ErrInvalid, and every Result it returns
// is clean (finite numbers, integer points, a spec that compiles and
// scores the held-out examples as the fitted bins do).
func FuzzFit(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, opts := fuzzData(data)
		res, err := learn.Fit(ex, opts)
		if err != nil {
			require.ErrorIs(t, err, leadkit.ErrInvalid)
			return
		}
		requireClean(t, res)
		for _, v := range []float64{res.Evaluation.AUC, res.Evaluation.Brier, res.Evaluation.MeanPredicted} {
			require.False(t, math.IsNaN(v) || v < 0 || v > 1, "%v", v)
		}
	})
}
