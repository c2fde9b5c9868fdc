// Package attribution turns journeys into credit per channel (or campaign,
// or content): which touches earned the MQLs, SQLs and deals.
//
// # Inputs
//
// Path-based models read aggregated paths ([Path]: a channel sequence with
// its conversions, conversion value and non-converting count), the
// ChannelAttribution table format read by [ReadPaths]. Event-level journeys
// ([journey.Timeline]) reduce to paths with [PathsFromTimelines], which cuts
// each timeline at its conversion event with an optional lookback window
// (see [Conversion] for the exact rules; with a lookback, every model's
// "first touch" is the first touch inside the window). Milestone and time-decay models
// ([TimelineModel]) use the timelines themselves, because they need touch
// times and milestones.
//
// # Models
//
// Every path model implements [Model] and every timeline model
// [TimelineModel]; all conserve credit: the credit sums to the total
// conversions and the total value of their input.
//
//   - Rules: [FirstTouch], [LastTouch], [LastNonDirect], [Linear] (per
//     touch), [PositionBased] (40/20/40 by default).
//   - [Markov]: removal effects of Anderl et al. of order 1 to [MaxMarkovOrder], computed by
//     solving the absorbing chain (no simulation): directly for small
//     chains, beyond that iteratively to a proven error bound of 1e-14
//     relative (or the float64 rounding level); counting is a
//     [MarkovCounts] accumulator that can be filled per shard and merged.
//     Consecutive repeated states are merged by default, as in
//     ChannelAttribution. A channel seen only on paths that never convert
//     can still be credited when its states lie on the chain's routes to
//     conversion, as in every implementation of the model.
//   - [Shapley]: the simplified Shapley value (each conversion split equally
//     over the distinct channels of its path); [ExactShapley] computes exact
//     Shapley values of any coalition game over a small player set, for
//     example the game of a path table ([Coalitions]).
//   - Timeline models: [TimeDecay] (continuous half-life decay), the B2B
//     milestone models [UShaped], [WShaped], [FullPath] and [CustomRoles]
//     (roles on the same touch add up; absent roles are re-normalised, see
//     [RoleWeights]).
//
// [NewROIReport] joins credit with spend per channel or campaign: cost per
// MQL or SQL, return on spend.
//
// # Bad input and caps
//
// Models validate every path ([ValidatePaths]) and compute nothing for a
// table with a bad one: an empty path, a bad channel name, a negative,
// NaN or infinite count is an error naming the path's index
// (*[PathError]). [ReadPaths] names the line and column (*[CSVError]) and
// still returns the good rows. Timelines that cannot be used are reported
// per lead (*[TimelineError]) while the others are still credited. Every
// such error wraps [leadkit.ErrInvalid]. Numbers follow leadkit's one
// number rule ([leadkit.Number]: a conversion value stored as the string
// "5" is an error, as in every package), and durations its one grammar
// ("14d", "2w").
//
// # Specs are data
//
// Every spec a user writes (the options of a model, a [Conversion], the
// options of [ReadPaths] and [NewROIReport]: see [Spec]) reads from JSON
// or YAML with [Parse], which refuses unknown, miscased and duplicate keys
// and durations written as bare numbers.
//
// Input is untrusted, so everything is capped, and input over a cap is
// refused, never truncated: a table holds at most [MaxPaths] paths of at
// most [MaxPathTouches] touches, each a channel name of at most
// [leadkit.MaxNameBytes] of valid UTF-8 without NUL bytes; a count or
// value is at most [MaxPathCount], so that every total stays finite and
// every model checks that it does (an error, never +Inf or an empty
// result); a CSV row is at most [MaxRowBytes]. The Markov solve costs more
// than linear time, so a chain has at most [MaxChannels] channels and
// [MaxMarkovStates] states, an order of at most [MaxMarkovOrder] and a
// budget of [MaxMarkovWork] solver steps. The other models are linear in
// their input.
//
// # ROI
//
// [NewROIReport] joins credit with one cost per key; [NewPeriodROIReport]
// joins credit per calendar period with a cost table ([CostTable]: spend
// and people, headcount x loaded cost, per key or function and period,
// read from CSV by [ReadCosts] or from JSON/YAML) and reports per key or
// function and period the cost, credited conversions and value, cost per
// conversion, ROI and output per head. A missing cost row makes a cost
// unknown, never 0 ([Costs.Missing] is the one rule).
//
// # Concurrency and scale
//
// Models are plain values and safe for concurrent use; the package starts
// no goroutines. A [MarkovCounts] is an accumulator (the contract of the
// package leadkit documentation, "Specs, results and accumulators"): build
// one per shard (or per worker) with [NewMarkovCounts], Merge them, then
// call its Result. Rule-based models are linear in the paths, so per-shard
// Results can be summed key by key (and tables over [MaxPaths] must be
// split so).
package attribution
