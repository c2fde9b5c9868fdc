// Package leadkit is the shared vocabulary of an embeddable library for B2B
// lead management: the lead lifecycle from anonymous prospect to customer.
//
// The root package holds only the types every other package speaks in and
// imports nothing else of the module:
//
//   - [Event]: something a lead did or that happened to it (a form submitted, a
//     whitepaper downloaded, a webinar attended, an SDR call). Its ID is the
//     idempotency key every store honours.
//   - [Lead], [Person] and [Company]: who a lead is, the input of fit scoring.
//   - [ErrNotFound], [ErrConflict], [ErrInvalid] (and [ErrMismatch] within
//     it): sentinels that every
//     package and store wraps, so callers test conditions with [errors.Is]
//     whatever the backend. Messages read the same way everywhere: the
//     package, what was being done, the sentinel, then what is wrong, as in
//     "attribution: markov: leadkit: invalid input: 1001 channels, at most
//     1000 (MaxChannels)"; not found and conflict are the cause itself and
//     come last (stage: lead "L" in pipeline "p": leadkit: not found).
//   - The value rules every package shares: one duration grammar
//     ([ParseDuration]: "90m", "36h", "14d", "2w", "1d12h"; a bare number is
//     refused) used by every spec's durations in JSON and YAML through
//     [Duration]; one number rule ([Number]) for facts, attributes and
//     custom fields; declared field types ([FieldType], [FieldSpec]); the
//     caps on user input ([MaxIDBytes], [MaxNameBytes], [MaxStringBytes],
//     [MaxListItems], [MaxAttrs], [MaxExprBytes], [MaxDocumentBytes]) and the
//     time range ([ValidTime]), the same on every backend; [SortEvents] and
//     [ValidateEvents].
//
// The work is done by small packages that can be used alone or together:
//
//   - pool: the prospect pool: identities, merges, the lead definition and
//     graduation.
//   - stage: a configurable stage state machine (Raw -> MQL -> SAL -> SQL ...,
//     the SiriusDecisions waterfall, or any custom model) with guarded
//     automatic transitions, hooks, history, SLAs and stage funnels.
//   - scoring: multi-dimensional scoring models (fit, engagement, interest)
//     compiled from rule expressions into one fused pass over a lead's events.
//   - journey: timelines of touches and their analytics: funnels, cycle
//     times, source age and golden conversion paths.
//   - attribution: rule-based, Markov and Shapley credit for conversions.
//
// Stateful packages keep their data behind a small Store interface; the
// default is in memory, and the separate module
// github.com/leadkit/leadkit/postgres provides PostgreSQL stores. The storetest
// package holds the conformance suites every Store must pass.
//
// Configuration is data: stage definitions and scoring models are plain
// structs with JSON tags, validated and compiled once by a constructor into
// immutable values that are safe for concurrent use.
//
// # Specs, results and accumulators
//
// Every spec a user writes (a stage definition, a scoring model, a funnel,
// analysis and attribution options) is a struct with snake_case JSON tags
// and a Parse function (stage.ParseDefinition, scoring.ParseModel,
// journey.ParseFunnelSpec, ...) that reads JSON or YAML and refuses unknown,
// miscased and duplicate keys. Every result type has snake_case JSON tags,
// durations written in the duration grammar ("36h", "2w") and zero times
// omitted, so a result is data that round-trips.
//
// Every mergeable analytic (stage funnels, journey funnels, paths,
// patterns, Markov counts) is an accumulator with one contract, so work can
// be split by shard, by tenant or by day and combined:
//
//   - a constructor New...(spec) validates the spec once;
//   - Add(x) error adds one unit of input (a lead's history, a timeline, a
//     path); input it refuses returns an error wrapping [ErrInvalid] and
//     leaves the accumulator as it was;
//   - Merge(other) error adds everything other holds; accumulators of
//     different specs refuse to merge (an error wrapping [ErrMismatch], which
//     wraps [ErrInvalid]) and
//     nothing changes; other is not modified; nil and the accumulator
//     itself are refused the same way (a self-merge would double it);
//   - Result() returns the analysis of everything added so far, and equals
//     the result of one pass over the same input, however it was sharded;
//     where computing it can fail on a cap (solving a Markov chain, mining
//     patterns) it also returns an error;
//   - the counts Add and Merge sum (leads, touches, paths, the durations
//     behind a median) are capped at 2^53-1 (journey.MaxCount): an Add or
//     a Merge that would take one past it is refused as above, with an
//     error naming the cap, so every count stays exact in float64 and
//     JSON and every state an accumulator reaches has a binary encoding
//     that decodes.
//
// Accumulators are not safe for concurrent use: give each goroutine its own
// and merge them.
//
// Accumulators that report medians of durations (stage and journey
// funnels, journey's work, the pool's metrics) keep them as [Quantiles]
// says: exact up to a threshold of durations (1,024 by default), past it
// in a DDSketch whose medians lie within a relative accuracy (1% by
// default) of the exact ones, so their size does not grow with the
// number of leads; counts, rates and means stay exact, and the result
// depends on the input alone, never on how it was sharded or merged.
//
// Expressions written by tenants (stage guards, scoring rules, funnel steps)
// are one language, compiled by one compiler: an event is event.type,
// event.channel, event.campaign, event.content, event.id, event.time,
// event.age_days and event.<declared attribute>; the lead is person.*,
// company.* and lead.*; stage guards read their declared facts by bare
// name. The compiler is a sandbox: whitelisted pure functions, no clock and
// no methods (results never depend on the host), a node limit, a memory
// budget, a compile-time bound on worst-case work, typed results, and
// errors with line and column.
//
// # Tenants
//
// One program may keep the leads of many companies (a martech
// product, a CRM with many customers). Every store is bound to one tenant:
// what one tenant's store writes, no other tenant's store reads, lists or
// overwrites, even under the same IDs. Single-tenant programs never name
// one: stores made without a tenant are bound to [DefaultTenant].
//
// A tenant ID is 1 to [MaxTenantBytes] bytes of ASCII letters, digits and
// the characters - _ . :, starting with a letter or digit (a slug, a
// number or a UUID): it travels into SQL session settings, URLs and log
// lines, where it needs no quoting. It is case-sensitive ("Acme" and
// "acme" are two tenants); a program that makes file or metric names of
// it should map it to their rules.
package leadkit
