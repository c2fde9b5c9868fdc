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
// Guards are expr expressions over the facts declared in Definition.Facts,
// such as `score >= 100 && grade in ["A","B"]`. They are typed to bool at
// compile time (an unknown fact or a type error is a *DefinitionError with
// line and column), run with a node limit and a memory budget, and may call
// only side-effect-free builtins. A guard that fails at run time is a
// *TransitionError naming the transition, never a panic. [Machine.Explain]
// and [Machine.WhyNotYet] say which parts of a guard block a lead.
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
// cohorts; subjects that skip stages count as having passed them.
// [Machine.Stays], [Machine.TimeInStage] and [Machine.Overdue] measure time
// in stage and SLA breaches. [Definition.Mermaid] and [Definition.DOT] draw
// the model.
//
// # Concurrency
//
// A Machine is safe for concurrent use and starts no goroutines. Hooks and
// OnCommit run in the calling goroutine.
package stage
