// Package pool is the prospect pool: the buffer above the funnel where
// followers, subscribers, webinar viewers, visitors and purchased or
// enriched names wait, known but not yet leads, until they meet the
// company's lead definition and graduate.
//
// # Prospects and identities
//
// A [Prospect] gathers every way it was seen ([Identity]: email, phone,
// social open ID such as WeChat or LinkedIn, cookie or device ID, CRM ID),
// partial person and company fields (leadkit.Person and leadkit.Company),
// its source, tags, consent, activity and status. [Pool.Upsert] applies an
// [Observation]: it normalises the identities ([Normalize]: emails trimmed
// and lower-cased, phones to E.164 with the pool's default region), finds
// the prospect by any of them, creates one when none matches, and merges
// prospects when one observation shows they are one person (into the
// older, by the rules documented on Upsert; both histories are kept and
// the absorbed one points to the survivor). Replaying an observation (same
// ID) changes nothing. An identity that cannot be normalised is kept and
// flagged, never matched, and never a crash; merges that cannot be right
// (two different CRM IDs of one system, two graduated leads) are refused
// and reported, not guessed.
//
// # The lead definition and graduation
//
// A [Policy] (data: [ParsePolicy] reads JSON or YAML and refuses unknown
// keys) lists named conditions in leadkit's one expression language over
// person.*, company.*, lead.* and prospect.* (tags, source, score,
// identities present, business email, touches in the last 7, 30 or 90
// days, days inactive; see Policy). [New] compiles them with the shared
// compiler: a bad condition fails with its name, line and column.
// [Pool.WhyNotYet] names the conditions a prospect fails, with the values
// they read. [Pool.Qualify] graduates a prospect that meets every
// condition: it marks it graduated and returns a [Graduation] record (the
// new lead's ID, time, the conditions met, and the leadkit.Lead to create),
// exactly once even when several callers qualify the same prospect at the
// same time. Opted-out prospects never graduate.
//
// # Nurture, consent and erasure
//
// Segments are named conditions of the Policy in the same language
// ([Pool.Segment] lists members a page at a time, [Pool.SegmentCounts]
// counts them); [Pool.Dormant] lists prospects idle for a duration, per
// segment, for reactivation. An opt-out is for good: an opted-out prospect
// is never selected and never graduates. [Pool.Erase] removes a prospect's
// personal data, and that of the prospects merged with it, keeping only
// anonymous facts (source channel, times, why it left) for metrics; seen
// again, its identities make a new prospect. [Pool.Reenter] brings a
// recycled lead back into the pool with its history.
//
// # Metrics
//
// [Metrics] is an accumulator (the contract of package leadkit): per
// calendar bucket, pool size, inflow by source, outflow by reason
// (graduated, opted out, erased, merged), graduation rate and median time
// to graduate per source, and the dormant share; shards merge exactly,
// and its binary encoding ([Metrics.MarshalBinary]) carries a shard
// between processes. Medians of up to MetricsSpec.Quantiles' threshold of
// graduations (1,024 by default) are exact, larger ones come from a
// mergeable sketch within 1% (see leadkit.Quantiles).
// [AcquisitionCost] joins its inflow with a cost table: the cost per new
// prospect per source channel and bucket.
//
// # Storage
//
// A [Store] keeps prospects, the identity index and the applied
// observations, with optimistic versions: concurrent upserts of one
// identity make one prospect, concurrent merges lose no identity, and
// concurrent qualifications graduate once. [NewMemoryStore] is the
// in-memory default.
package pool
