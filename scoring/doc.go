// Package scoring computes multi-dimensional lead scores from rules that
// marketers write as data.
//
// A model ([ModelSpec], loadable from JSON or YAML with [ParseModel]) holds
// named dimensions such as fit (who the lead is), engagement (what the lead
// did) and interest:<topic>, each with rules, an optional floor and cap, and
// bands (grades A-D, 1-4) that combine into a matrix cell such as "A1".
// [Compile] validates the whole model at once and returns an immutable
// [*Model] that is safe for concurrent use, or an error joining every
// problem as a [*RuleError] with the rule and expression position.
//
// # Rules
//
// Fit rules are boolean expressions in leadkit's one expression language
// (github.com/expr-lang/expr syntax, in a sandbox, compiled by the same
// compiler as stage guards and journey funnel steps) over the lead, with
// points, negative allowed:
//
//	person.seniority in ["vp", "c_level"]          person.email, title, seniority,
//	lower(person.title) contains "marketing"       department, country, region, city,
//	domain(person.email) in ["gmail.com"]          age_band, interests, first_name, last_name
//	company.employees >= 200                       company.name, domain, industry, country,
//	hasAny(company.tech_stack, ["salesforce"])     employees, revenue, tech_stack
//	lead.age_days < 90                             lead.id, account_id, source, age_days,
//	daysSince(person.last_login) <= 30             created_at
//
// Custom fields are declared with a type (number, string, bool, strings or
// time) in ModelSpec.Fields ({name: person.budget, type: number}, a
// [leadkit.FieldSpec]) and then read like built-in ones (person.budget >
// 10000); an unknown field (the error says how to declare it, or names the
// field meant) or a type mismatch is a compile error. Values are converted
// by leadkit's one rule ([leadkit.Number]: Go numbers and json.Number, not
// strings, never NaN or infinities). A custom value of the wrong type fails
// the lead with a *RuleError naming the field, but only in the rules that
// mention the field.
//
// Functions (a whitelist with typed signatures): the safe builtins (lower,
// upper, trim, len, abs, ceil, floor, min, max, count, any, all, filter,
// ...; not split, not now), int and float (which refuse what does not fit),
// domain(s), hasAny(list, items) and has(list, s), which ignore case, and
// daysSince(t): the days from a time value (lead.created_at, event.time, a
// custom time field) to the scoring as-of time, never the wall clock, so
// scores replay exactly; 0 for a missing time. Method calls (such as a
// time's Local()) are refused: results never depend on the host.
//
// Behavior rules are declarative: event types, an optional predicate over
// the event (event.type, channel, campaign, content, id, time, age_days and
// declared event.<attr> fields), points per occurrence (or points from
// the event, PointsExpr: "event.amount / 1000"), a first-occurrence
// bonus, a cap, a frequency limit (at most N per day, week, month or
// ever, in the model's TimeZone, or in any rolling span: "once every 7
// days"), a decay (a hard window such as "30d", a half-life such as "2w",
// or HubSpot-style steps keeping a percentage after N months; durations in
// leadkit's grammar, see [leadkit.ParseDuration]), a recency bonus, and resets
// (a matching reset clears its dimension before the event counts, whatever
// the rule order). A rule with a count ([CountSpec]) is an occurrence
// threshold or range instead (HubSpot's "number of times": points once
// when the lead did it at least N, or between N and M, times in a
// window). A path rule (Sequence: webinar_attended, then download) gives
// its points once when the lead's events hold the types in order, other
// events between allowed: the golden path of journey.GoldenPaths, as a
// scoring rule. Change-score operations (Marketo): a rule with [OpMultiply]
// multiplies what its dimension's other rules counted so far by its
// Factor at each occurrence ("unsubscribed: halve engagement"); a count
// rule with [OpSet] sets the dimension to its points while its count is in
// range ("no activity for 90 days: set to 0"; "subtract 10" is an ordinary
// count rule with -10 points); [OpSet] without a count is a reset with
// the rule's points. The order of application: events in time order,
// each counted by every matching rule (resets first, then adds and
// multiplies in model order, each within its limit); at the as-of time
// each rule's decayed points, capped by the rule's cap, add up; then the
// set rules in range replace the sum (the last in model order wins); then
// the dimension's floor and cap (Min, Max); then derived dimensions.
// A multiply scales what each rule gives at the occurrence's time: its
// points decayed to then, within its cap, the result kept within the
// cap. So a multiply other than x1 forgets points banked above the
// rule's cap (three 10-point downloads under a cap of 10, halved: 5,
// and the 20 above the cap are gone; a boost x2 keeps 10 and forgets
// the 20 too); a factor of 1 changes nothing. A recency bonus is added
// when the score is read, after the multiplies: a multiply does not
// scale it (x0 leaves it). Results and explanations list each op rule
// with what it changed: a set rule its value minus the sum before it; a
// multiply, with the other multiplies of its dimension, what the rules
// give minus what they would give without the multiplies. Each rule's
// own part is what it would give without them (its own points, decayed,
// with its recency bonus, within its cap). A multiply's part is read in
// time order: what its occurrences changed of what the rules showed then
// (within their caps), decaying with the rules. Where the rules it
// scales have no cap, that is exactly its chronological part (the score
// with the multiplies up to it minus with those before it), and with one
// multiply rule its part is the score with it minus without it; a x1 is
// never a part. A cap can undo a multiply later (downloads that bank a
// halved rule back to its cap): the undoing is booked when it happens on
// the multiplies before it whose changes it reverses, in proportion to
// their changes of the rule's decay class, so a halving undone by
// downloads is no part when it is the one multiply before them. Points a
// factor made a rule forget above its cap (a x2 at the cap, a result past
// ±MaxPoints) are that factor's part once they would show (a decaying
// rule would have stayed at its cap longer), shared among such factors
// by the banks they forgot. So with several multiplies and capped rules,
// the split among the multiplies is an apportionment that adds up to
// what they changed together, not each one's counterfactual (which would
// take re-scoring every subset of them). The largest multiply part also
// takes the rounding. Two halvings of a capped rule with nothing after
// are each what they took (10 -> 5 ->
// 2.5: -5 and -2.5). A model with multiply rules has a fingerprint of
// its own per version of this bookkeeping, so a state kept by an
// earlier version is rebuilt (by the lifecycle engine; [Model.StateOf])
// rather than misread. The parts and the
// explanation's clamp add up to the score within the rounding of their
// own sum: (n+2)·2^-52 times the sum of their magnitudes, n parts.
// Active dates ([ActiveSpec], "2025-03-01" to "2025-06-01")
// limit a rule to a campaign's events, as data; in expressions a date is
// written date("2025-01-01"), a literal read when the model is compiled. Each lead keeps a fresh score (with decay) and a
// lifetime score (without). A predicate that reads event.age_days or
// daysSince depends on the as-of time, so its model has no incremental
// state (Apply and Crossings refuse it; Score works).
//
// Derived dimensions are expressions over other dimensions
// ("fit*0.4 + engagement*0.6", $env["interest:ai"] for names that are not
// identifiers), evaluated in dependency order; a cycle is a compile error
// naming it, and a NaN or infinite result is a run-time error naming the
// dimension; a value beyond ±MaxPoints is held there (the
// explanation's clamp shows it).
//
// # Time
//
// A score is a pure function of (model, lead, events, as-of time). Input
// AsOf zero means now, read from Options.Now (time.Now by default). Event
// and as-of times must fall in the years 1900 to 2149: a zero or
// implausible event time is an error for that lead, naming the event.
//
// A score is one lead's: the lead needs an ID (at most
// leadkit.MaxIDBytes), an event whose LeadID names another lead is an error
// (an empty LeadID belongs to the input's lead), and an event ID counts
// once however often it is given, as a store keeps one event per ID (the
// first occurrence in input order counts; events without an ID cannot be
// recognized and count each time). A [State] holds the same: it records
// its lead, refuses another lead's events, and [Model.Apply] skips a
// redelivered event.
//
// # Limits
//
// Rules come from tenants, so their cost is bounded. A model is capped
// ([MaxDimensions], [MaxRules], [MaxFields], [MaxThresholds], [MaxBands],
// [MaxTypesPerRule], [MaxDecaySteps]; names at most leadkit.MaxNameBytes;
// documents at most leadkit.MaxDocumentBytes), and every score stays within
// ±[MaxPoints] (a rule dimension's sum and a derived dimension's value
// are held there, before the floor and cap, so no finite sequence of
// events makes a lead unscorable). Each expression has a node limit and, on the expr VM, a
// memory budget. Values a rule reads are
// capped (Options.MaxStringBytes, default 4096 bytes; Options.MaxListItems,
// default 1000 items): a longer value fails the lead, naming the field.
// Compile estimates each expression's worst-case work on inputs at those
// caps and refuses rules over Options.MaxCost (fit rules and derived
// dimensions, alone and together; default 10^6 units) or
// Options.MaxEventCost (behavior predicates, alone and per event; default
// 2*10^4): in practice rules that compare two lists element by element or
// nest predicates over lists. Lower caps admit more expensive rules.
//
// # Speed
//
// Expressions are type-checked by expr against a typed environment and then
// compiled into Go closures (the expr VM remains the fallback for list
// predicates and the few constructs the closure compiler does not cover),
// so a rule costs a few nanoseconds and boxes nothing. Behavior rules run
// as one fused pass over the lead's events: each event is dispatched by
// type to the rules naming it, and each distinct predicate is evaluated
// once per event. Scoring allocates nothing per lead in the steady state
// ([Model.ScoreInto], [Model.ScoreBatch] with reused results). The
// README's speed table gives the measured figures against hand-written Go
// (BenchmarkRatio in bench_test.go).
//
// # Incremental scoring, replay and analysis
//
// Scoring with an earlier [Input].AsOf replays the past. [State] keeps a
// lead's behavior as compact per-rule counters: [Model.Apply] adds one
// event in O(rules matching it) and [Model.ReadState] decays lazily to any
// later time, equal to a full rescore within float rounding; a State is
// updated in place, so keep snapshots with [State.Clone]. [Compare] scores
// the same leads with two model versions; [Model.Crossings] and
// [Model.NextCrossing] find when a score crosses a threshold (also by decay
// alone); [Model.WhyNot] tells how many points a lead lacks and which
// rules of the dimensions feeding the target could supply them (only the
// behavior rules a lead can still act on, with Target.OnlyBehavior);
// [Model.Explain] breaks a score into rule points, what decay took and
// what the floor or cap changed, adding up to the score; [RollUp]
// builds account scores from contacts.
//
// # Score trajectories
//
// [Model.Trajectory] replays a lead's events and returns its score on one
// dimension after each instant it had events ([ScorePoint]s, leaving out
// unchanged scores): the input of the MQL threshold recommendation for
// an SDR team's capacity, which lives with the other models learned from
// history in package learn
// ([github.com/leadkit/leadkit/scoring/learn.RecommendThreshold]), so
// that this package links no numerical library.
//
// # Late events
//
// Webhooks arrive late. A State counts events in time order: frequency
// limits, resets, first bonuses and decay depend on it, so an event older
// than the latest one applied cannot be added exactly to the counters.
// [Model.Apply] refuses it with [ErrOutOfOrder] and leaves the state as
// it was; the exact rebuild is [Model.StateOf] over the lead's events,
// the late one included, in any order (it sorts them): one pass over the
// lead's history, about as costly as scoring it in full (see the package
// benchmark: a few microseconds for 50 events), and equal to a full
// rescore. The lifecycle engine does this for every late event. Events
// at the same instant count in the order given (as leadkit.SortEvents
// keeps them: a store's order), which matters to rules whose limit takes
// one of them and whose points differ (PointsExpr), to multiply rules
// (a download and an unsubscribe that halves at one instant give 5 when
// the download comes first, 10 when it comes second), to path rules
// (whose steps must come in order) and to resets and set rules without
// a count (which clear what came before them).
//
// # A default model
//
// [Default] is a ready B2B model for teams that start from nothing (fit
// from seniority, department, company size and e-mail domain; engagement
// from page views, pricing pages, forms, downloads, webinars, events,
// e-mail, meetings, research bursts, unsubscribes and inactivity; an MQL
// threshold at 100). [DefaultModelYAML] is the same model as a commented
// file, every rule with its reason: copy it and change the points.
//
// The scoringtest package lets users table-test their own models.
package scoring
