// Package lifecycle is the engine that ties leadkit's packages together:
// events in; graduations, scores, threshold crossings, stage changes and
// verified marketing results out. It owns the wiring a CRM would otherwise
// write by hand: scores mapped to stage facts, prospects started as leads
// at their graduation time, stage changes recorded at the time of the
// event that caused them, stage entries attributed as conversions, and
// the rule that keeps a rejected MQL from bouncing back.
//
// # The flow
//
//	events ──> Ingest ──> journey.Store (every event, once per ID)
//	             │
//	             ├─ a prospect's event ──> pool.Upsert ──> pool.Qualify at each event time
//	             │                                           │ graduates
//	             │                        stage.Start at the graduation time <┘
//	             │                        (lead created then; its whole history scored)
//	             │
//	             └─ a lead's event ──> scoring.Model.Apply (incremental state, or a
//	                                   rebuild from the stored history for a late event)
//	                                     │ score at the event's time
//	                                     ├─> threshold crossings
//	                                     └─> Requalify policy ─> stage.Machine.Advance
//	                                         (facts from the score, Request.At = the event's time)
//	Changes: Graduated, Crossed, Staged, Revoked, Late  ──> the CRM (notify sales, create a task)
//
//	Verify(period) ──> stage histories + timelines + lead states ──> new vs old leads,
//	                   first-time vs repeat, cycle times, nurture power, last-touch and
//	                   Markov credit per stage, stage funnel, ROI per channel and function
//
// New takes the compiled parts: a *pool.Pool (or nil: every subject is a
// lead from its first event), a *scoring.Model, a *stage.Machine and a
// journey.Store, and checks that they fit: every fact the stage definition
// declares must be a fact the model gives (scoring.Facts: <dimension>,
// <dimension>_band, cell, reached), under its own name or mapped in
// Options.Facts, with the same type; the pool must name leads after their
// subject. Every mismatch is reported at once, with the names the model
// does give.
//
// # Subjects
//
// Event.LeadID names the subject: the ID the sending system knows the
// person by, the same before and after it becomes a lead. The engine finds
// its prospect by the pool identity {pool.Subject, ID}; the pool's default
// lead naming gives the lead that ID. An event for a subject that is
// neither a lead nor a prospect creates a prospect, or with
// Options.Unknown = UnknownRefuse is refused (leadkit.ErrInvalid) and not
// stored. Options.Observe reads what an event tells about the person:
// identities, person and company fields and consent go into a prospect's
// pool observation, and a lead's person and company fields update its
// profile. Engine.AddLead imports a lead the engine did not see graduate
// (from a CRM, into any stage); Engine.Erase removes a lead's personal
// data from the engine's stores and the pool.
//
// An event counts once, as the journey store keeps it: an ID the store
// already holds for another subject or with other content is reported
// and the stored event is the one that counts. Profile fields keep their
// latest observation by event time (leadkit.Stamps), in the pool and in
// the lead's state, so redeliveries and late events do not overwrite
// newer data; when the pool merges two prospects, the survivor's values
// win where both have one, whatever their times.
//
// # Order of arrival, replays and failures
//
// Ingest is idempotent by event ID: a replayed event changes nothing and
// reports nothing. Scores and timelines never depend on the order events
// arrive in: an event older than the lead's latest applied one rebuilds
// the lead's score state from its stored history (its cost is the
// history's length), and the result equals a full rescore. A prospect
// graduates at the first of its event times at which the lead definition
// holds on what the pool knew then (an e-mail given later does not count
// earlier), however the events were split into calls; its lead is created
// then (not after now) and its whole history scored.
//
// Stage histories do not depend on it either. Stage changes are recorded
// at the time of the event that caused them; an event older than stage
// changes the engine made takes them back (stage.Machine.Rewind) and the
// engine decides them again with that event counted, so the history reads
// as if the events had come in time order. That includes the start: a
// lead without a pool is created at its earliest event, and with a pool
// at the first time at which its events, fed to a what-if copy of the pool
// in time order (pool.Pool.WithStore), meet the lead definition; the live
// pool is told (pool.Pool.Backdate). Fit rules read the profile as it was
// known at each evaluated time (leadkit.Person.AsOf), so profile updates
// carried by events (Options.Observe, which must give the same
// observation for the same event every time) count from their time on.
//
// Ingest reports a taken-back change as Revoked (the removed entry), first
// among the lead's changes, then the changes decided again as Graduated
// and Staged; an entry decided again exactly as it was is reported neither
// way. A CRM that keeps each lead's history by version deletes the
// version a Revoked names and sets the versions the others name (versions
// are used again: the corrected history numbers its entries as the
// time-order one does).
//
// Stage hooks and stage.Options.OnCommit see the machine's commits, not
// the engine's reports: they do not run for a taken-back change, and they
// run again when a change is decided anew, even one decided exactly as
// before (which Ingest does not report). With late events, hooks must be
// idempotent (key them by subject, version, time and stage), and a hook
// that vetoes a change decided anew keeps it out of the history; act on
// Ingest's changes instead where a duplicate costs.
//
// Changes made by others stand: manual transitions and sub-status
// changes. An event older than one of them is reported as a Late change:
// it counts in the score, and in the stages from that change on, where
// processing in time order might have moved the lead differently before
// it. An imported
// lead's start (AddLead) and an erased lead's start stay where they are;
// events before a start count from it. Changes recorded before an erasure
// stand too (they were decided on a profile that is gone): an event older
// than the erasure is Late.
//
// The package's tests deliver simulated events late, shuffled, reversed
// and in one call, with a pool whose lead definition reads touches or an
// e-mail and profile fields, and with other stage definitions (automatic
// moves up and down, the waterfall), and hold every lead to the stage
// history, score, thresholds and timeline of time-order processing.
//
// The cost of order independence falls on late events only: the
// lead's stored history is read and scored again, and the engine's stage
// changes since the late event are taken back and recorded again (an
// unchanged one is not reported). An event at the same instant as a stage
// change counts as late (an instant is decided on all its events), as
// does an event after the engine's clock when changes were recorded at
// the clock's time. A call that mixes redeliveries with new events older
// than the lead's latest one cannot tell which of its events are new, so
// it decides the lead again from its first event; when a change by
// someone else stands, such a call may report a Late it did not need.
//
// Events with equal times count in the order they arrived (a store keeps
// that order).
//
// Ingest stores a call's events before it processes them, then works lead
// by lead. A bad event never costs the good ones: each is an *EventError
// with its index and ID (refused, or stored but not scored). A lead whose
// processing stopped is a *LeadError while the others go on: with Retry
// set (a store failed) ingesting the same events again completes it;
// without, the problem lasts (a guard failing at run time, a hook's veto)
// and the lead went on without that step. Each lead's state is written
// last, so ingesting the same events again after a failure at any step (or
// a crash) converges to the state of a run without it; the tests inject a
// fault at every call of every store, before and after it acts.
//
// Changes are reported at least once: the lead's state records the stage
// version it has reported up to, so the changes a call committed but could
// not finish are reported by the next call for that lead (again, if the
// failed call returned them; recovered ones have no Cause), and two
// engines may both report a graduation they raced on. Deduplicate by lead,
// kind, stage version and time if a duplicate costs (a task created
// twice); a version taken back is used again by the change decided anew.
//
// # Several engines
//
// Several engines may share the stores (in one process with the memory
// stores; across processes with stores every process reaches, such as the
// postgres module's): each lead's state,
// stage record and prospect carry optimistic versions, and a lead whose
// state another engine moved is processed again from the stores (up to 32
// times). An engine that finds stored events its lead's state has not
// counted and its call does not bring (another engine's, not processed
// yet; a failed call's) decides the lead again from its first event (the
// state keeps a digest of the event IDs it counts, LeadState.Digest); one
// that finds a lead whose stage changes another engine took back and has
// not decided again (LeadState.Pending) decides them first. So once every
// call has returned, scores, timelines, graduations and stage histories
// are those of time order whatever the engines and the order; the tests
// run four engines on differently shuffled deliveries of the same events
// concurrently. Reports are at least once (see above).
//
// # Recycling without ping-pong
//
// A Requalify policy decides when a lead in a recycled stage (by default
// every stage of category recycled) may move on automatically again: after
// MinTouches new touches, after a Cooldown, and with the reset dimensions
// read from the events after the recycle only, so the points that made it
// an MQL the first time cannot make it one again at its next page view.
// By default every dimension with behavior rules is reset, with the
// derived dimensions that read it (a total of fit and engagement); Off
// turns the policy off. Manual transitions are not affected.
//
// # Verification
//
// Engine.Verify computes, from the stores, the marketing result
// verification of a period: per stage, the leads that reached it split
// into new and old leads with age buckets and the touch mix before
// converting, first-time and repeat reaches, cycle times from creation,
// the nurture power of each content, last-touch and Markov credit per
// channel and campaign (every entry into the stage in the period is a
// conversion, credited to the touches since the lead's previous entry;
// see attribution.SplitAtStageEntries), with the journeys it could not
// use counted and explained; the stage funnel of the period's cohort; and
// ROI per channel and per function from a cost table, with deal values
// from events. Options.Verify chooses the stages, keys, lookback, Markov
// order and values; the result is JSON. Each stage also carries its content
// grouped by funnel phase and the old leads that converted against those
// that did not, on the nurture they received.
//
// Every per-stage figure is one pass of a mergeable accumulator over the
// leads' journeys (journey.LeadJourney), with the options of
// Engine.VerifyPlan's StagePlan (data, JSON): journey's SourceAge,
// Cycle, Nurture, ContentPhase and OldLeadNurture accumulators and the
// CreditAccumulator of the stage's attribution, which keeps per touch key
// last-touch sums per channel and Markov counts (bounded, not a table of
// the leads' paths) and solves the chain numbered canonically. The beam
// module runs the same accumulators partitioned (beam.VerifyAggregates)
// with the same results.
//
// # Diagnosis and ROI per period
//
// Engine.Diagnose is the funnel diagnosis: each step by the owner who
// worked it (stage.Machine.OwnedVisits, or a CRM assignment field),
// beside its target (stage.Definition.Targets) and the team's rate, with
// how the owner worked its leads (journey.NewWork: calls per lead, time
// to the first call), reading a low rate as screening or follow-up.
// Engine.ROI reports ROI per function (or channel) and calendar period
// from a cost table of spend and people (attribution.CostTable), each
// period credited as Verify credits one.
//
// # Storage and limits
//
// The engine keeps each lead's LeadState (profile, score state, policy
// bookkeeping, the stage record it decided on) in a Store; NewMemoryStore
// is the default, and other backends pass storetest.Lifecycle. A call
// takes at most MaxEventsPerCall events; events follow leadkit's caps
// (leadkit.Event.Validate), the same on every backend.
//
// # Speed
//
// BenchmarkIngest measures events per second through Ingest against the
// sum of its parts called directly in the same run (pool, journey append,
// scoring Apply and read, stage Advance, with states in a map): see the
// README for the figures.
package lifecycle
