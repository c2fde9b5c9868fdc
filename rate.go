package leadkit

import "math"

// Rate is a proportion with its 95% confidence interval: Count of Base
// subjects (leads that converted of those that reached a stage, MQLs an
// SDR accepted of those it worked). Every package reports rates with this
// one type, so a funnel by owner, a diagnosis and a report agree on the
// interval and on what "too few to tell" means.
//
// A rate of nothing is no data, not zero: with Base 0, Rate, Low and High
// are nil (JSON null). The interval is Wilson's score interval, which
// stays within [0, 1] and is sound for small counts and for rates near 0
// or 1, where the normal approximation fails.
type Rate struct {
	Count int      `json:"count"`
	Base  int      `json:"base"`
	Rate  *float64 `json:"rate"`
	Low   *float64 `json:"low"`
	High  *float64 `json:"high"`
	// Small marks a base under MinRateBase: the rate is shown but should
	// not be read as a difference from another rate. The interval says
	// how far it can be trusted.
	Small bool `json:"small,omitempty"`
}

// MinRateBase is the least Base at which a Rate is not Small.
const MinRateBase = 30

// rateZ is the normal quantile of a two-sided 95% interval.
const rateZ = 1.959963984540054

// NewRate returns count of base as a Rate. Counts out of range (negative,
// or count above base) are clamped into [0, base], so a caller's bad
// arithmetic shows as a rate of 0 or 1, never as NaN.
func NewRate(count, base int) Rate {
	base = max(base, 0)
	count = min(max(count, 0), base)
	r := Rate{Count: count, Base: base, Small: base < MinRateBase}
	if base == 0 {
		return r
	}
	n, p := float64(base), float64(count)/float64(base)
	z2 := rateZ * rateZ
	centre := (p + z2/(2*n)) / (1 + z2/n)
	half := rateZ / (1 + z2/n) * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	low, high := max(centre-half, 0), min(centre+half, 1)
	if count == 0 {
		low = 0 // exact at the edges: rounding could leave 1e-17
	}
	if count == base {
		high = 1
	}
	r.Rate, r.Low, r.High = &p, &low, &high
	return r
}

// Value returns the rate, or 0 for no data.
func (r Rate) Value() float64 {
	if r.Rate == nil {
		return 0
	}
	return *r.Rate
}

// Below reports whether the whole interval lies under x: the rate is
// lower than x beyond sampling error. No data is never below.
func (r Rate) Below(x float64) bool { return r.High != nil && *r.High < x }

// Above reports whether the whole interval lies over x.
func (r Rate) Above(x float64) bool { return r.Low != nil && *r.Low > x }

// Ratio returns num / den, or nil (no data: JSON null) when den is 0 or
// the quotient is not finite. Results use it for every ratio whose
// denominator can be zero: cost per MQL, ROI, calls per lead.
func Ratio(num, den float64) *float64 {
	if den == 0 {
		return nil
	}
	q := num / den
	if math.IsNaN(q) || math.IsInf(q, 0) {
		return nil
	}
	return &q
}
