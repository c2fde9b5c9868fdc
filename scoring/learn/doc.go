// Package learn learns a lead scoring model from history and emits it as
// rules: a [scoring.ModelSpec] that marketers can read, edit, store and
// compile like one written by hand, with integer points on a scorecard
// scale whose score maps to a probability of conversion.
//
// From the same kind of history it also recommends the MQL threshold of
// an existing model for the SDR team's capacity ([RecommendThreshold]).
//
// # Input
//
// [Fit] takes [Example]s: a lead as known at a cut-off (its profile and
// its events up to then) and whether it converted to the stage of the
// caller's choosing within the caller's horizon. Choosing the stage, the
// horizon and the cut-offs is the caller's; so is giving the profile as
// it was at the cut-off ([leadkit.Person.AsOf] helps). Events after a
// cut-off are ignored. An event that is the conversion itself (a demo
// request that makes the lead an MQL) must be left out, or its signal
// will be dropped as a leak.
//
// # The model
//
// Every feature is binned, as in credit scorecards:
//
//   - a profile field ([Options].Fields, by default [DefaultFields]):
//     texts and bools by value, the most frequent values with enough
//     support as bins of their own, the rest in "other", the empty value
//     in "missing"; numbers by quantiles, adjacent bins merged until each
//     has [Options].MinSupport training examples and the conversion rate
//     rises or falls monotonically (pool adjacent violators); a number 0
//     is missing;
//   - a signal ([Signal]: event types and an optional predicate, by
//     default one per event type and one per channel seen) counted in
//     each of [Options].Windows (by default ever and in the last 30 days:
//     a short window is how recency is learnt), binned like numbers into
//     count ranges (0, 1, 2-3, 4+);
//   - a path: an ordered pair of event types (A, B), A != B, of the
//     [Options].Paths most frequent types (by default, with the default
//     signals, [DefaultPathTypes] = 8 types: 56 pairs; at most
//     [MaxPathTypes]), binned "0" or "1" by whether the lead's events
//     hold A, then B (other events between allowed). A path is an
//     interaction no count can express: a golden path (a webinar
//     attended, then a download) that the counts of the two types carry
//     only in part.
//
// Each bin gets its weight of evidence (WoE: the log of its share of the
// converted over its share of the others). An L2-regularised logistic
// regression of the outcome on the features' WoE is fitted with gonum's
// Newton method (gonum.org/v1/gonum/optimize, exact Hessians built with
// gonum/mat); a feature whose coefficient comes out negative (against
// its own evidence: collinear with others) is dropped and the model
// refitted (the most negative first; path features that come out
// negative all at once), as is a feature whose bins duplicate another's (a channel
// with one event type and that type). A bin's points are round(Factor * coefficient * WoE), with
// Factor = PDO / ln 2; the intercept goes into a "base" rule that every
// lead gets. Each bin becomes one rule: a fit rule with a condition on
// the field (company.employees >= 50 && company.employees < 250) or a
// behavior rule with a count range ([scoring.CountSpec]: {min: 2, max:
// 3, window: 30d}) or, for a path held, a path rule
// ([scoring.BehaviorRule].Sequence: {sequence: [webinar_attended,
// download]}). No rule can match a path not held, so the points of a
// path's "0" bin go into the base rule and its path rule gives the "1"
// bin's points minus them ([Rule].InBase). Bins are exclusive, so a lead
// gets exactly one rule's points per feature (none for a bin dropped for
// lack of data; for a path, its "0" bin's through the base).
//
// # The scale
//
// The dimension's score S means log-odds ln(BaseOdds) + (S - BaseScore)
// / Factor ([Scale]): by default 100 points is the training examples'
// average odds and every 20 points (PDO) double the odds.
// [Scale.Probability] maps a score to a probability. Points are rounded
// to integers, so the mapping is exact to within the rounding of each
// rule (half a point per feature).
//
// # Evidence and evaluation
//
// The [Result] holds, per feature, its coefficient with a 95% Wald
// interval (from the inverse of the penalised Hessian) and its
// information value, and per rule its support, conversions, rate, WoE,
// points and effect on the log-odds with a 95% interval (delta method);
// the bins and features dropped ([Dropped]: too little support,
// constant, a leak of the outcome, a duplicate of another feature, a
// reversed sign) and the warnings
// ([Warning]: constant fields, bins that separate the outcome, leaks).
//
// The evaluation compiles the emitted spec with [scoring.Compile] and
// scores the held-out examples ([Options].HoldOut, split by lead and
// stratified by outcome, see [Split]) at their cut-offs with
// [scoring.Model.Score], so it measures exactly the rules a team would
// ship: AUC ([AUC]: Mann-Whitney, ties counting half), lift and
// calibration (predicted against observed conversion) by score decile,
// and the Brier score. Given the team's current model
// ([Options].Current), it measures that model on the same examples, its
// score mapped to a probability by a logistic fit on the training
// examples (Platt scaling), so the two can be compared before
// switching.
//
// # Bad input
//
// Fit refuses, with errors wrapping [leadkit.ErrInvalid] that name the
// example or option: fewer than [MinExamples] examples, examples without
// both outcomes (also after the split), invalid cut-offs or profiles,
// custom fields of the wrong type, signals that do not compile, and
// options out of range (every problem at once). Data problems it can
// work around are warnings: a constant field, a bin in which everyone
// (or no one) converted (its WoE is smoothed by half an example, so its
// points stay finite), a feature that predicts the outcome almost
// perfectly on its own (AUC >= [LeakAUC]: dropped as a leak). Every
// number in a Result is finite and every emitted spec compiles; the fuzz
// test holds Fit to both on random small data sets.
//
// # SDR capacity and the MQL threshold
//
// The MQL threshold should follow what the SDRs can work.
// [RecommendThreshold] (or a [CapacityAccumulator], filled per shard and
// merged) reads each lead's score trajectory ([scoring.Model.Trajectory])
// and outcome (worked, and when it reached SQL) over a history window,
// with the team's [SDRCapacity], and returns the trade-off curve for
// every candidate threshold (MQLs per working day, capacity used,
// expected SQLs per day with capacity applied) and the threshold with the
// most expected SQLs within a utilisation target. Leads under the
// threshold in force were never worked, so their SQL rate is not
// observed: each score band says whether its rate is observed or
// estimated (a logistic fit over the observed bands with gonum's Newton
// method, its slope held at zero or above), every curve point that rests
// on an estimate is marked, and CapacitySpec.RequireObserved recommends
// from observed rates alone. Missing data (no working days, no capacity,
// no rate) is null or an explained "no recommendation", never NaN. Its
// inputs are capped ([MaxThresholdCandidates], [MaxTrajectoryPoints],
// [MaxScoreBins]), so memory stays bounded whatever the history; a
// CapacityAccumulator is not safe for concurrent use.
//
// # Limits, determinism and speed
//
// Inputs are capped ([MaxExamples], [MaxFields], [MaxSignals],
// [MaxWindows], [MaxSignalFeatures], [MaxPathTypes], [MaxBins],
// [MaxCategories]) so that
// a model stays within scoring's rule limit. The same examples (in the
// same order) and options give the same Result, byte for byte in JSON,
// whatever Options.Workers: nothing depends on map order or timing.
//
// Signal counts and paths come from one scoring pass over the examples
// with a probe model (one counting rule per signal and window, one path
// rule of 1 point per path), so a count or a path held means exactly
// what the emitted rule will count. That pass
// dominates the cost without paths: the regression works on a few dozen
// columns. On 100,000 leads with 50 events each, Fit with Paths: -1
// takes 1.4 to 1.7 times one scoring pass over the same data with the
// learned model (the README's speed table; BenchmarkFit). The default
// path features (56 candidates) double the regression's columns and add
// refits (path candidates that come out negative are dropped together,
// in one refit): there Fit takes about 4 times as long as without them,
// about 5 scoring passes (BenchmarkFit on a 2-CPU machine: 14 s against
// 3.7 s).
//
// Fit is synchronous and safe for concurrent use. It starts goroutines
// only for Options.Workers > 1 (scoring) and inside gonum's optimiser,
// which runs its own for the duration of each call.
package learn
