// Package stage is a configurable lead-stage state machine: the lead
// lifecycle each company defines for itself.
//
// A stage model is data. A [Definition] lists stages (name, label,
// category, owning team, terminal flag, SLA, sub-statuses) and transitions
// (manual ones fired by name, automatic ones taken when a guard expression
// over caller-supplied facts holds). [New] validates it, compiles every
// guard once in a sandbox, and returns an immutable [*Machine] bound to a
// [Store]; nil Options.Store means an in-memory store.
//
//	m, err := stage.New(stage.Classic(), stage.Options{})
//	rec, err := m.Start(ctx, stage.Lead("L1"), stage.StartOptions{})
//	rec, n, err := m.Advance(ctx, stage.Lead("L1"), stage.Facts{"score": 120}, stage.Request{Actor: "scoring"})
//	rec, err = m.Fire(ctx, stage.Lead("L1"), "accept", stage.Request{Actor: "ana"})
//
// Presets: [Classic] (Raw -> MQL -> SAL -> SQL -> Opportunity -> Won, with
// Lost, Disqualified and Recycled) and [Waterfall] (the 12-stage
// Forrester/SiriusDecisions model with its recycle loops). Custom stages go
// in with [Definition.InsertBetween], e.g. TAL between MQL and SAL, so the
// MQL -> TAL conversion measures the SDR team.
//
// # Guards
//
// Guards are expressions in leadkit's one expression language (the same
// compiler, builtins, limits and error shape as scoring rules and journey
// funnel steps) over the facts declared in Definition.Facts, read by bare
// name: `score >= 100 && grade in ["A","B"]`. Facts are typed (number,
// string, bool, strings, time; see [leadkit.FieldType]) and converted by the
// one rule of [leadkit.Number], so NaN, infinities and the string "5" are
// refused. Guards are typed to bool at compile time: an unknown fact (with
// a "did you mean" or how to declare it) or a type error is a
// *DefinitionError with line and column. They run in a sandbox: pure
// builtins only (no clock, no methods on times, so results never depend on
// the host), a node limit, a memory budget, and a compile-time bound on
// their worst-case work on facts at the size caps, one by one
// (Options.MaxGuardCost) and for all the automatic guards leaving a stage
// together (Options.MaxDecisionCost).
// daysSince(t) measures to the machine's clock. A guard that fails at run
// time is a *TransitionError naming the transition, never a panic.
// [Machine.Explain] and [Machine.WhyNotYet] say which parts of a guard block
// a lead, from the same compilation.
//
// # Limits
//
// Definitions are tenant data: [New] refuses more than [MaxStages] stages,
// [MaxTransitions] transitions, [MaxFacts] facts, [MaxSubStatuses]
// sub-statuses per stage and [MaxReasons] reason codes per transition;
// names and labels over leadkit.MaxNameBytes or not valid text; guards over
// leadkit.MaxExprBytes. [ParseDefinition] reads at most
// leadkit.MaxDocumentBytes and refuses unknown keys. SLAs are durations in
// leadkit's grammar ("48h", "3d", "2w"; a bare number is refused). Stores
// check what they commit with [ValidateCommit], so every backend accepts
// and refuses the same input.
//
// # Changes, versions and history
//
// Every change (start, transition, sub-status) increments the record's
// Version and appends one [Entry] with that version to the history, in one
// Store.Commit. Commits are optimistic: of several writers racing from the
// same version exactly one wins, the rest get an error wrapping
// leadkit.ErrConflict, and nothing is half-written. Entry and exit hooks run
// before the commit and can veto it; Options.OnCommit runs after.
//
// A history is append-only except for [Machine.Rewind], which takes back
// the changes after a version (no hooks run) so that a system deriving
// stages from data can decide them again when older data arrives: the
// lifecycle engine does, for the automatic changes it made itself. The
// versions taken back are used again by the next changes, so hooks and
// OnCommit may see a version twice, with other content; key what they do
// by subject, version, time and stage.
//
// Refused changes return a [*TransitionError] that wraps a condition
// ([ErrUnknownTransition], [ErrNotAllowed], [ErrGuardFailed], [ErrVetoed])
// and the leadkit sentinel it implies (ErrNotFound for an unknown subject,
// ErrConflict for a stale version, ErrInvalid for a bad request).
//
// # Subjects and pipelines
//
// A [Subject] is a lead, contact or account. A Machine runs one pipeline
// (Definition.Name); several machines can share a Store, so one subject can
// be in a new-business and an expansion pipeline at once.
//
// # Analytics
//
// [Machine.Funnel] (and the mergeable [FunnelAccumulator]) computes
// stage-to-stage conversion with mean and median times and entry-date
// cohorts; subjects that skip stages count as having passed them. Its
// medians are exact up to FunnelSpec.Quantiles' threshold of converted
// subjects (1,024 by default) and past it come from a mergeable sketch
// within 1% of the exact ones (see leadkit.Quantiles), so an accumulator's
// size, and its binary encoding ([FunnelAccumulator.MarshalBinary]), stop
// growing with the subjects.
// [Machine.Stays], [Machine.TimeInStage] and [Machine.Overdue] measure time
// in stage and SLA breaches. [Definition.Mermaid] and [Definition.DOT] draw
// the model.
//
// # Owners, targets and gaps
//
// A funnel by owner (FunnelSpec.ByOwner) breaks each step between
// consecutive stages down by who owned the subject in the step's first
// stage: Visit.Owner, taken from the history by [Machine.OwnedVisits] (the
// person who acted on the subject in the stage, or the stage's Team) or
// from an assignment field of yours. Each owner's conversion comes with its
// 95% interval (leadkit.Rate) and flags when it differs from the step's
// rate beyond sampling error, with cycle times and SLA breaches; the
// owners' counts add up to the funnel's. Definition.Targets give each step a
// target rate and cycle time; [Gaps] compares a funnel with them and names
// the step whose shortfall costs the most won deals, carried down the
// funnel.
//
// # Concurrency
//
// A Machine is safe for concurrent use and starts no goroutines. Hooks and
// OnCommit run in the calling goroutine.
package stage
