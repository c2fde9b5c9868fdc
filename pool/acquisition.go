package pool

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/leadkit/leadkit"
)

// MaxCostChannels caps the channels a [Costs] may name (Costs.Keys).
const MaxCostChannels = 10_000

// Costs is what [AcquisitionCost] reads. A validated cost table,
// *attribution.Costs (attribution.NewCosts), is one: it knows a
// channel's cost over whole periods of its table that all have a row (a
// month table gives a quarter's cost), and its Missing is the rule of the
// attribution package's ROI report, so that the same table gives the same
// unknowns in both.
type Costs interface {
	// Keys returns the channels with costs. None may be "" or NoSource.
	Keys() []string
	// Cost returns what channel cost over [start, end), and whether that
	// is known.
	Cost(channel string, start, end time.Time) (cost float64, ok bool)
	// Missing reports whether channel's cost over [start, end), a part
	// of the range [from, to) reported on, is missing: the channel has
	// costs in [from, to) but its cost over [start, end) is not known.
	// A channel with costs in the range must have them all: a missing
	// one makes the total over [start, end) unknown, even without
	// prospects joining from the channel.
	Missing(channel string, start, end, from, to time.Time) bool
}

// AcquisitionResult is the pool's acquisition cost over time: per bucket
// of a [MetricsResult] and per source channel, the prospects that joined
// and what they cost. It is data; a cost or cost per prospect that is not
// known is null.
type AcquisitionResult struct {
	// From, To and Bucket are the metrics' spec's.
	From   time.Time      `json:"from,omitzero"`
	To     time.Time      `json:"to,omitzero"`
	Bucket leadkit.Period `json:"bucket"`
	// Buckets follow the metrics' buckets.
	Buckets []AcquisitionBucket `json:"buckets"`
	// Totals is the whole period [From, To) as one bucket.
	Totals AcquisitionBucket `json:"totals"`
}

// AcquisitionBucket is the acquisition cost of one bucket [Start, End).
type AcquisitionBucket struct {
	// Label, Start and End are the metrics bucket's (no label for the
	// totals).
	Label string    `json:"label,omitempty"`
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Sources hold every channel with prospects joining in the bucket,
	// a known cost for it or a missing one (Costs.Missing), sorted by
	// channel; prospects without a source are under NoSource.
	Sources []SourceAcquisition `json:"sources"`
	// All is every source together: the bucket's inflow and the cost of
	// its channels, known when some channel has a known cost for the
	// bucket and none has an unknown one that counts: a channel with
	// inflow, or with costs in the range [From, To) and one missing for
	// the bucket (Costs.Missing). A bucket no cost covers has an unknown
	// cost, never 0. Prospects without a source have no cost of their
	// own: they came through the same spend.
	All SourceAcquisition `json:"all"`
}

// SourceAcquisition is what one source channel's new prospects cost.
type SourceAcquisition struct {
	// Channel is the source channel ("" in AcquisitionBucket.All).
	Channel string `json:"channel,omitempty"`
	// Inflow counts the prospects that joined from the channel.
	Inflow int `json:"inflow"`
	// Cost is the channel's cost over the bucket; nil when not known (no
	// cost row for a period of the bucket, or a bucket that does not start
	// and end on the cost table's periods), and always for NoSource.
	Cost *float64 `json:"cost"`
	// CostPerProspect is Cost / Inflow; nil without inflow or cost.
	CostPerProspect *float64 `json:"cost_per_prospect"`
}

// Source returns the bucket's entry for a channel.
func (b AcquisitionBucket) Source(channel string) (SourceAcquisition, bool) {
	i, ok := slices.BinarySearchFunc(b.Sources, channel, func(s SourceAcquisition, c string) int {
		switch {
		case s.Channel < c:
			return -1
		case s.Channel > c:
			return 1
		}
		return 0
	})
	if !ok {
		return SourceAcquisition{}, false
	}
	return b.Sources[i], true
}

// AcquisitionCost joins the pool's inflow by source channel (a
// [Metrics] result: fill and merge the accumulators, then take its
// Result) with costs per channel: the cost per new prospect per channel
// and bucket, and over the whole period. A channel cost unknown for a
// bucket is no data (nil), never 0; so is a cost per prospect without
// inflow, and the cost of a bucket no cost covers.
//
// Refused with an error wrapping [leadkit.ErrInvalid], every problem at
// once: nil costs (a nil interface, or a nil pointer such as the one a
// failed attribution.NewCosts returns), more than [MaxCostChannels]
// channels, a channel named "" or [NoSource] (the prospects without a
// source, which no channel's spend may be charged to), and costs that
// are negative, NaN or infinite or add up past a float64.
func AcquisitionCost(r MetricsResult, costs Costs) (AcquisitionResult, error) {
	var errs problems
	bad := func(format string, args ...any) {
		if errs.full() {
			errs.more++ // counted, not formatted
			return
		}
		errs.add(fmt.Errorf("pool: acquisition cost: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...)))
	}
	if nilCosts(costs) {
		bad("no costs")
		return AcquisitionResult{}, errs.err()
	}
	channels := costs.Keys()
	if len(channels) > MaxCostChannels {
		bad("%d channels with costs, at most %d (MaxCostChannels)", len(channels), MaxCostChannels)
		return AcquisitionResult{}, errs.err()
	}
	for _, ch := range channels {
		switch ch {
		case "":
			bad("a channel with costs has no name")
		case NoSource:
			bad("channel %q has costs: it is the key of the prospects without a source (NoSource), which no spend is charged to", ch)
		}
	}
	if errs.failed() {
		return AcquisitionResult{}, errs.err()
	}
	bucket := func(b MetricsBucket) AcquisitionBucket {
		a := AcquisitionBucket{Label: b.Label, Start: b.Start, End: b.End}
		inflow := map[string]int{}
		for src, s := range b.BySource {
			if s.Inflow > 0 {
				inflow[src] = s.Inflow
			}
		}
		all := 0.0
		known, covered := true, false
		seen := map[string]bool{}
		add := func(ch string) {
			if seen[ch] {
				return
			}
			seen[ch] = true
			s := SourceAcquisition{Channel: ch, Inflow: inflow[ch]}
			c, ok := 0.0, false
			if ch != NoSource {
				c, ok = costs.Cost(ch, b.Start, b.End)
			}
			switch {
			case ok && (math.IsNaN(c) || math.IsInf(c, 0) || c < 0):
				bad("cost of %q over %s to %s is %v: want a finite amount, not negative",
					clip(ch), b.Start.Format(time.RFC3339), b.End.Format(time.RFC3339), c)
				return
			case ok:
				s.Cost = &c
				s.CostPerProspect = leadkit.Ratio(c, float64(s.Inflow))
				all += c
				covered = true
			case ch == NoSource:
				// No cost of its own: the channels' spend brought it.
			case s.Inflow > 0 || costs.Missing(ch, b.Start, b.End, r.From, r.To):
				known = false
			default:
				return // no inflow, no cost in the range: nothing to say
			}
			a.Sources = append(a.Sources, s)
		}
		for _, ch := range channels {
			add(ch)
		}
		for ch := range inflow {
			add(ch)
		}
		slices.SortFunc(a.Sources, func(x, y SourceAcquisition) int { return strings.Compare(x.Channel, y.Channel) })
		if a.Sources == nil {
			a.Sources = []SourceAcquisition{}
		}
		a.All.Inflow = b.Inflow
		if math.IsInf(all, 0) {
			bad("the costs of %s to %s add up to more than a float64 holds", b.Start.Format(time.RFC3339), b.End.Format(time.RFC3339))
		}
		if known && covered {
			a.All.Cost = &all
			a.All.CostPerProspect = leadkit.Ratio(all, float64(b.Inflow))
		}
		return a
	}
	out := AcquisitionResult{From: r.From, To: r.To, Bucket: r.Bucket, Buckets: make([]AcquisitionBucket, len(r.Buckets))}
	for i, b := range r.Buckets {
		out.Buckets[i] = bucket(b)
	}
	out.Totals = bucket(r.Totals)
	if errs.failed() {
		return AcquisitionResult{}, errs.err()
	}
	return out, nil
}

// nilCosts reports whether costs is nil: a nil interface, or a nil
// pointer in one (the *attribution.Costs of a failed NewCosts).
func nilCosts(costs Costs) bool {
	if costs == nil {
		return true
	}
	v := reflect.ValueOf(costs)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// maxProblems bounds the problems AcquisitionCost reports one by one;
// the rest are counted.
const maxProblems = 20

// problems collects the problems of one call: the first maxProblems,
// then a count.
type problems struct {
	errs []error
	more int
}

func (p *problems) add(err error) {
	if len(p.errs) < maxProblems {
		p.errs = append(p.errs, err)
	} else {
		p.more++
	}
}

func (p *problems) failed() bool { return len(p.errs) > 0 }

// full reports whether the next problem is only counted.
func (p *problems) full() bool { return len(p.errs) >= maxProblems }

// err joins the problems, ending with "N more" when some were only
// counted.
func (p *problems) err() error {
	if p.more == 0 {
		return errors.Join(p.errs...)
	}
	return errors.Join(append(p.errs, fmt.Errorf("pool: acquisition cost: %w: %d more problems", leadkit.ErrInvalid, p.more))...)
}
