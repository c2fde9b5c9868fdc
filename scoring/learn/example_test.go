package learn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/leadkit/leadkit"
	"github.com/leadkit/leadkit/scoring"
	"github.com/leadkit/leadkit/scoring/learn"
)

var cutOff = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// history makes n examples of a small business whose conversion
// log-odds are -2.5, plus 0.7 per seniority step (individual, manager,
// director, vp), plus 0.8 at 500 employees or more, plus 0.5 per webinar
// attended (up to 3); e-mail opens and the industry are noise.
func history(n int, seed uint64) []learn.Example {
	r := rand.New(rand.NewPCG(seed, 1))
	seniority := []string{"individual", "manager", "director", "vp"}
	industry := []string{"software", "retail", "finance"}
	out := make([]learn.Example, n)
	for i := range out {
		sen, emp := r.IntN(len(seniority)), 1+r.IntN(2000)
		webinars, emails := r.IntN(4), r.IntN(6)
		lead := leadkit.Lead{
			ID:      "lead-" + strconv.Itoa(i),
			Person:  leadkit.Person{Seniority: seniority[sen]},
			Company: leadkit.Company{Employees: emp, Industry: industry[r.IntN(len(industry))]},
		}
		var events []leadkit.Event
		for k := range webinars + emails {
			typ, channel := leadkit.EventEmailOpened, "email"
			if k < webinars {
				typ, channel = leadkit.EventWebinarAttended, "webinar"
			}
			at := cutOff.Add(-time.Duration(1+r.IntN(90*24)) * time.Hour)
			events = append(events, leadkit.Event{ID: lead.ID + "-" + strconv.Itoa(k), Type: typ, Channel: channel, Time: at})
		}
		eta := -2.5 + 0.7*float64(sen) + 0.5*float64(webinars)
		if emp >= 500 {
			eta += 0.8
		}
		out[i] = learn.Example{Lead: lead, Events: events, CutOff: cutOff, Converted: r.Float64() < 1/(1+math.Exp(-eta))}
	}
	return out
}

// Fit learns a scorecard from 5,000 leads' history, held-out AUC and
// rules included; the spec compiles like any other model.
func ExampleFit() {
	res, err := learn.Fit(history(5000, 1), learn.Options{
		Fields:  []string{"person.seniority", "company.employees", "company.industry"},
		Signals: []learn.Signal{{Name: "webinar", Types: []string{leadkit.EventWebinarAttended}}, {Name: "email", Types: []string{leadkit.EventEmailOpened}}},
		Windows: []time.Duration{0},
		Seed:    1,
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("held-out AUC %.2f on %d examples\n", res.Evaluation.AUC, res.Evaluation.Examples)
	fmt.Printf("base: %g points\n", res.BasePoints)
	for _, f := range res.Features {
		fmt.Printf("%s:", f.Name)
		for _, r := range f.Rules {
			fmt.Printf(" [%s] %+g", r.Bin, r.Points)
		}
		fmt.Println()
	}
	for _, d := range res.Dropped {
		if d.Bin == "" {
			fmt.Printf("dropped %s (%s)\n", d.Feature, d.Reason)
		}
	}
	m, err := scoring.Compile(res.Spec, scoring.Options{})
	if err != nil {
		panic(err)
	}
	vp := leadkit.Lead{ID: "new", Person: leadkit.Person{Seniority: "vp"}, Company: leadkit.Company{Employees: 800}}
	score, err := m.Score(scoring.Input{Lead: vp, AsOf: cutOff})
	if err != nil {
		panic(err)
	}
	s := score.Dimensions[0].Score
	fmt.Printf("a vp at 800 employees, no webinar: %g points, p = %.2f\n", s, res.Scale.Probability(s))
	// Output:
	// held-out AUC 0.74 on 1500 examples
	// base: 100 points
	// person.seniority: ["individual"] -27 ["vp"] +28 ["manager"] -11 ["director"] +10
	// company.employees: [< 202] -16 [202 to < 403] -11 [403 to < 632] -1 [632 to < 1224] +2 [1224 to < 1413] +4 [1413 to < 1810] +6 [>= 1810] +7
	// company.industry: ["software"] +0 ["finance"] +0 ["retail"] +0
	// webinar ever: [0] -21 [1] -3 [2] +3 [3+] +20
	// email ever: [0-3] +1 [4+] -1
	// a vp at 800 employees, no webinar: 110 points, p = 0.57
}

// A score maps to a probability on the scorecard scale: BaseScore is
// the odds BaseOdds, and every PDO points double them.
func ExampleScale_Probability() {
	s := learn.Scale{PDO: 20, Factor: 20 / math.Ln2, BaseScore: 100, BaseOdds: 0.25}
	for _, score := range []float64{80, 100, 120, 140} {
		fmt.Printf("%g points: odds %.3g, p = %.3f\n", score, math.Exp(s.LogOdds(score)), s.Probability(score))
	}
	fmt.Printf("p = 0.5 at %.1f points\n", s.Score(0.5))
	// Output:
	// 80 points: odds 0.125, p = 0.111
	// 100 points: odds 0.25, p = 0.200
	// 120 points: odds 0.5, p = 0.333
	// 140 points: odds 1, p = 0.500
	// p = 0.5 at 140.0 points
}

// AUC counts ties as half: here the converted leads outscore the others
// in 3 of 4 pairs.
func ExampleAUC() {
	auc, err := learn.AUC([]float64{10, 20, 30, 40}, []bool{false, true, false, true})
	if err != nil {
		panic(err)
	}
	fmt.Println(auc)
	// Output: 0.75
}
