// Package sim generates realistic B2B lead data with a planted truth, for
// tests, benchmarks and demos: a business over months whose effects are
// known, so that estimators can be checked against them.
//
// A [Config] describes the business as data (JSON tags; the zero value is
// a working default): accounts with firmographics, people with profiles
// (some with free-mail addresses, some without a phone, some with a second
// address in some channels), marketing channels that touch leads
// (website, email nurture, social, paid search, content downloads,
// webinars, offline events, purchased lists), an SDR team with a daily
// call capacity, and the sales stages after it (SAL, SQL, Opportunity, Won
// or Lost, with rejections and recycling), deals with amounts and costs per
// channel and month. The SDRs ("sdr-1"...) and sales reps ("ae-1"...) are
// named in the stage changes they make (StageChange.Actor), each with a
// planted skill (Config.SDRSkill, Config.SalesSkill) that Truth reports
// beside the rates they realised, so a funnel by owner can be checked. [New] validates it, listing every problem, each
// wrapping leadkit.ErrInvalid.
//
// # The planted truth
//
// A lead's first journey reaches MQL with probability sigmoid(η), where η
// is the base log-odds plus the log-odds of its seniority, its company's
// size band, each channel that touched it, and the golden path if its
// touches hold it (by default a webinar attended, then a download: odds
// times 5). A channel with log-odds 0 is pure noise: its touch count is
// drawn independently of everything, so it does not change conversion (by
// default purchased_list). A lead qualifies at an age drawn independently
// of the rest, old (at least OldLeadAge) for the planted share, so that
// share of each steady month's first-time MQLs are old leads. [Sim.Truth]
// reports the planted effects and the realised rates computed from the
// very records emitted: conversion with and without the golden path and per
// channel, MQLs per month split by first time, repeat and age, calls and
// waits, deals won and costs. The package's tests check
// journey.GoldenPaths, attribution.Markov and journey.SourceAge against it.
//
// # Output
//
// [Sim.Records] streams everything in time order as an iterator: leads as
// they are created (leadkit.Lead), the prospect pool's [Observation]s (a
// mirror of pool.Observation: sim imports no other leadkit package, so
// callers convert it field by field), leadkit.Events (every one valid,
// with a unique ID) and [StageChange]s in the names of stage.Classic.
// Every entry into MQL (first time or after nurture) comes with the
// lead's hand-raise, an [EventHandRaise] event at the same instant and
// without a channel, so a scoring model can see what qualified the lead.
// Channel paths (WritePaths, attribution by channel) pass over it; a path
// of event types ends with it, so leave it out when asking which touches
// lead to conversion.
// [Sim.Events] streams the events alone. [Sim.WritePaths] writes the
// journeys as a path table in ChannelAttribution's format, which
// attribution.ReadPaths reads.
//
// # Determinism and memory
//
// Randomness comes from seeded PCG streams of math/rand/v2 (one for lead
// creation, one per lead, one per account), never from a global source or
// map order, so the same Config gives the same records on every machine
// and Go version that keeps math/rand/v2's PCG. Every product is rounded
// before it is added (an explicit conversion), so no fused multiply-add
// changes a result on architectures that have one; the digest test holds
// on amd64 (GOAMD64 v1 and v3) and 386. The math package's Exp, Pow and
// Log are the one remaining dependency on the architecture. Leads are generated
// lazily: the stream merges the leads in progress by the time of their
// next step with a heap, so memory holds the journeys in progress, not the
// run; a million leads stream without being held at once. A journey in
// progress takes about 380 bytes, and on a 12-month run about half the
// leads are in progress at once (journeys last up to six months): about
// 190 MB of live heap at a million leads (measured), several GB near
// MaxLeads. The SDR team's
// capacity is the one coupling between leads; it is a calendar cursor
// advanced in time order.
//
// A Sim is immutable and safe for concurrent use; each iteration
// regenerates the data. The package starts no goroutines.
package sim
