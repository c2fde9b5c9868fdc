// Package journey stores lead timelines and analyses them: funnels, cycle
// times, source age, nurture power of content and golden conversion paths.
// The stage funnel lives in package stage (stage.Funnel), beside the
// histories it reads; the analyses here read the same stage.Visit values.
//
// # Timelines and the Store
//
// A [Timeline] is one lead's [leadkit.Event]s in time order. A [Store] keeps
// them: Append is idempotent by event ID, and a bad event in a call is
// reported without costing the valid ones; Events reads a lead's events in a
// time range; ForEach walks every lead.
// [NewMemoryStore] is the in-memory default; other backends must pass the
// storetest.Journey conformance suite.
//
// # Funnels
//
// [Funnel] follows PostHog's semantics so that numbers are comparable: it
// is a port of PostHog's funnel UDF (one pass per lead, linear in its
// events). A [FunnelSpec] lists [Step]s (event types plus an optional When
// predicate), a conversion window measured from step 1 and inclusive (14
// days by default) and an [Order] (Ordered, Strict or Unordered). A lead
// counts once, at its best attempt; same-time events are taken in step
// order.
//
// A When predicate is written in leadkit's one expression language, the
// language of stage guards, scoring rules and pool policies, over the event
// being tested: event.type, event.channel, event.campaign, event.content,
// event.id, event.time, and the attributes the funnel declares in
// FunnelSpec.Fields, read as event.<key>:
//
//	steps:
//	  - {name: webinar, types: [webinar_attended], when: 'event.minutes > 30'}
//	  - {name: meeting, types: [meeting], when: 'event.channel != "paid"'}
//	fields:
//	  - {name: event.minutes, type: number}
//	window: 2w
//
// [CompileFunnel] compiles every predicate once, with the same names,
// builtins, sandbox, error positions and cost bound as everywhere in
// leadkit: the predicates one event runs may do at most [MaxEventCost] of
// work on inputs at the size caps. A funnel has no as-of time, so
// event.age_days and daysSince are refused. At run time, a lead with an
// event that fails validation, whose attribute has the wrong type or
// exceeds a size cap, is left out whole and reported; the other leads
// still count. [ParseFunnelSpec], [ParsePatternOptions] and
// [ParsePathOptions] read specs from JSON or YAML, refusing unknown keys;
// durations of specs and options (FunnelSpec.Window, PatternOptions.MaxGap,
// SourceAgeOptions.Buckets and OldAge, NurtureOptions.Window,
// CycleOptions.Instant, OldLeadNurtureOptions.OldAge and Lookback) are
// written in leadkit's duration grammar ("90m", "36h", "14d", "2w"; see
// [leadkit.ParseDuration]), and results write theirs the same way.
//
// # Stage entries
//
// The analyses that ask about a stage ([TouchMix], [CycleTimes],
// [SourceAge], [NurturePower], [ConversionPaths]) read stage.Visit values:
// one per stage change (stage.Visits converts a history). A lead reached a
// stage when it entered it or skipped it on the way to a later stage of the
// funnel order; pass the visits through stage.Reach for that meaning, which
// adds an implied visit only for a stage the lead skipped, and the stage
// funnel, the touch mix, cycle times and source age then agree on who
// reached a stage and when.
//
// # Nurture analytics
//
// [FirstTouch], [LastTouch] and [CountTouches] describe one lead;
// [TouchMix] tells what the leads that reached a stage did before
// converting; [CycleTimes] measures the time from first touch (or creation)
// to a stage; [SourceAge] splits a period's converters into new and old
// leads; [NurturePower] rates content by the conversions that followed it.
// [NewWork] measures how leads were worked while they sat in a stage, per
// owner: the share worked, work touches (SDR calls, follow-ups) per stay
// and the time to the first one, over the stays the stage funnel counts.
//
// Four small reports answer the questions a B2B team asks of these, with
// the same definitions, so the same input gives the same answer:
//
//   - Which channels bring new leads and which revive old ones:
//     SourceAgeResult.Channels credits each new lead (SourceAge's New) to
//     its source, the channel of its first touch with a channel, and each
//     old one (Earlier: created before the period, or more than
//     SourceAgeOptions.OldAge before it) to the channel of its last touch
//     with a channel before it converted, with each channel's new-lead
//     share.
//   - Cycle time without the leads that convert at registration:
//     [CycleTimes] counts the leads that reached the stage within
//     CycleOptions.Instant of their start ([DefaultInstant], one hour:
//     the demo request that creates and qualifies a lead in one go, plus
//     a sync's delay) in Instants and leaves them out of WithoutInstant;
//     Overall keeps them, so that it still agrees with the stage funnel.
//     With the split off (a negative Instant) Instants has no data.
//   - Content by the funnel phase it serves: [ContentPhases] places every
//     touch by where its lead stood: at or before its creation,
//     acquisition; before the conversion stage, or outside the funnel
//     order (recycled), nurture; at it or after, sales enablement; with
//     touches, leads and the conversions that followed, per content.
//   - Old leads that converted against those that did not:
//     [OldLeadNurture] compares them on the touches each received in the
//     same-length window before its conversion (or the period's end):
//     the share touched and touches per lead, overall, per type and per
//     channel. An old lead is one of SourceAge's Earlier leads with the
//     same OldAge; the leads that already converted, and with
//     OldLeadNurtureOptions.Closed those that ended the period in a stage
//     that ends their chances (Disqualified, Lost), are no candidates.
//
// Their rates are [leadkit.Rate] values (a Wilson interval, a Small flag)
// and their ratios [leadkit.Ratio] pointers: a group without leads reads
// as no data (JSON null), never NaN. [SourceAge], [ContentPhases],
// [OldLeadNurture], [CycleTimes] and [NurturePower] are also accumulators
// ([SourceAgeAccumulator], [ContentPhaseAccumulator],
// [OldLeadNurtureAccumulator], [CycleAccumulator], [NurtureAccumulator])
// that add one
// [LeadJourney] (a lead's events, stage visits and creation time) at a
// time, refusing a journey with bad records (each event is validated);
// [Journeys] groups the inputs of the function forms that way, leaving
// out and naming the bad records, so a function form is one pass of its
// accumulator over Journeys. The type lists of the reports are capped at
// [MaxTouchTypes], the age buckets of SourceAge at [MaxAgeBuckets], and
// every time of their options must be in leadkit's time range; the keys
// of NurturePower at [MaxNurtureKeys].
//
// # Golden paths
//
// [MinePatterns] is PrefixSpan sequential pattern mining over paths (see
// [Sequence] and [ConversionPaths]); [GoldenPaths] compares converters with
// the rest and ranks patterns by lift.
//
// # Scale
//
// The calculators are pure (no context, no goroutines). Funnels, paths,
// patterns and the per-lead reports above are also accumulators under the
// contract of package leadkit ([FunnelAccumulator], [PathAccumulator],
// [PatternAccumulator], [SourceAgeAccumulator], ...): shard
// the leads (all events of a lead in one shard, e.g. by a hash of LeadID),
// fill one accumulator per shard or goroutine, Merge them, and read the
// result, which equals a single pass. Funnel and work accumulators keep the
// per-lead durations up to their spec's Quantiles threshold (1,024 by
// default; cycle time accumulators, and so CycleTimes, at the default), so medians stay exact, and past it a mergeable sketch whose
// medians and percentiles lie within 1% of the exact ones (see
// leadkit.Quantiles): their size stops growing with the leads, and the
// result still does not depend on the sharding. Pattern accumulators keep the distinct
// sequences with counts and mine once after merging, because pattern
// support is not additive across shards.
package journey
