package journey

import (
	"fmt"
	"time"

	"github.com/leadkit/leadkit"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday

func day(n float64) time.Time { return t0.Add(time.Duration(n * float64(24*time.Hour))) }

func days(n float64) time.Duration { return time.Duration(n * float64(24*time.Hour)) }

// ldays is days as the result types hold durations.
func ldays(n float64) leadkit.Duration { return leadkit.Duration(days(n)) }

// tl builds a timeline from "type@day" pairs, e.g. tl("l1", "a@0", "b@1.5").
func tl(lead string, specs ...string) Timeline {
	t := Timeline{LeadID: lead}
	for i, s := range specs {
		var typ string
		var d float64
		for j := len(s) - 1; j >= 0; j-- {
			if s[j] == '@' {
				typ = s[:j]
				fmt.Sscanf(s[j+1:], "%g", &d)
				break
			}
		}
		t.Events = append(t.Events, leadkit.Event{
			ID: fmt.Sprintf("%s-%d", lead, i), LeadID: lead, Type: typ, Time: day(d),
		})
	}
	return t
}

func steps(types ...string) []Step {
	out := make([]Step, len(types))
	for i, typ := range types {
		out[i] = Step{Name: fmt.Sprintf("%d:%s", i+1, typ), Types: []string{typ}}
	}
	return out
}

func counts(r FunnelResult) []int {
	out := make([]int, len(r.Steps))
	for i, s := range r.Steps {
		out[i] = s.Count
	}
	return out
}
