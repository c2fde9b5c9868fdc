package pool

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/leadkit/leadkit"
)

// MaxCostChannels caps the channels a [Costs] may name (Costs.Keys).
const MaxCostChannels = 10_000

// Costs is what [AcquisitionCost] reads: the channels with costs, and
// what a channel cost over [start, end), with whether that is known. A
// validated cost table, *attribution.Costs (attribution.NewCosts), is
// one: it knows a channel's cost over whole periods of its table that all
// have a row (a month table gives a quarter's cost).
type Costs interface {
	Keys() []string
	Cost(channel string, start, end time.Time) (cost float64, ok bool)
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
	// Sources hold every channel with prospects joining in the bucket or
	// a known cost for it, sorted by channel; prospects without a source
	// are under NoSource.
	Sources []SourceAcquisition `json:"sources"`
	// All is every source together: the bucket's inflow and the cost of
	// its channels, known when every channel with inflow has a known cost
	// (prospects without a source have none of their own: they came
	// through the same spend).
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
	// and end on the cost table's periods).
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
// inflow. Costs that are negative, NaN or infinite, more than
// [MaxCostChannels] channels or a nil costs are refused with an error
// wrapping [leadkit.ErrInvalid].
func AcquisitionCost(r MetricsResult, costs Costs) (AcquisitionResult, error) {
	bad := func(format string, args ...any) (AcquisitionResult, error) {
		return AcquisitionResult{}, fmt.Errorf("pool: acquisition cost: %w: %s", leadkit.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if costs == nil {
		return bad("no costs")
	}
	channels := costs.Keys()
	if len(channels) > MaxCostChannels {
		return bad("%d channels with costs, at most %d (MaxCostChannels)", len(channels), MaxCostChannels)
	}
	out := AcquisitionResult{From: r.From, To: r.To, Bucket: r.Bucket, Buckets: make([]AcquisitionBucket, len(r.Buckets))}
	var err error
	bucket := func(b MetricsBucket) (AcquisitionBucket, error) {
		a := AcquisitionBucket{Label: b.Label, Start: b.Start, End: b.End}
		inflow := map[string]int{}
		for src, s := range b.BySource {
			if s.Inflow > 0 {
				inflow[src] = s.Inflow
			}
		}
		all := 0.0
		known := true
		seen := map[string]bool{}
		add := func(ch string) error {
			if seen[ch] {
				return nil
			}
			seen[ch] = true
			s := SourceAcquisition{Channel: ch, Inflow: inflow[ch]}
			if c, ok := costs.Cost(ch, b.Start, b.End); ok {
				if math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
					return fmt.Errorf("pool: acquisition cost: %w: cost of %q over %s to %s is %v: want a finite amount, not negative",
						leadkit.ErrInvalid, clip(ch), b.Start.Format(time.RFC3339), b.End.Format(time.RFC3339), c)
				}
				s.Cost = &c
				s.CostPerProspect = leadkit.Ratio(c, float64(s.Inflow))
				all += c
			} else if s.Inflow == 0 {
				return nil // neither inflow nor a known cost: nothing to say
			} else if ch != NoSource {
				known = false
			}
			a.Sources = append(a.Sources, s)
			return nil
		}
		for _, ch := range channels {
			if err := add(ch); err != nil {
				return a, err
			}
		}
		for ch := range inflow {
			if err := add(ch); err != nil {
				return a, err
			}
		}
		slices.SortFunc(a.Sources, func(x, y SourceAcquisition) int {
			switch {
			case x.Channel < y.Channel:
				return -1
			case x.Channel > y.Channel:
				return 1
			}
			return 0
		})
		if a.Sources == nil {
			a.Sources = []SourceAcquisition{}
		}
		a.All.Inflow = b.Inflow
		if math.IsInf(all, 0) {
			return a, fmt.Errorf("pool: acquisition cost: %w: the costs of %s to %s add up to more than a float64 holds",
				leadkit.ErrInvalid, b.Start.Format(time.RFC3339), b.End.Format(time.RFC3339))
		}
		if known {
			a.All.Cost = &all
			a.All.CostPerProspect = leadkit.Ratio(all, float64(b.Inflow))
		}
		return a, nil
	}
	for i, b := range r.Buckets {
		if out.Buckets[i], err = bucket(b); err != nil {
			return AcquisitionResult{}, err
		}
	}
	if out.Totals, err = bucket(r.Totals); err != nil {
		return AcquisitionResult{}, err
	}
	return out, nil
}
