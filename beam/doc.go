// Package beam runs leadkit's mergeable analytics as Apache Beam transforms
// (the Go SDK, github.com/apache/beam/sdks/v2), so the same accumulators
// that compute a funnel in one process compute it partitioned, on the
// local Prism runner or on Flink, Spark or Dataflow.
//
// It lives in its own module, github.com/leadkit/leadkit/beam: Beam's
// dependency graph never reaches users of the core module.
//
// No analytic is written twice: each transform wraps the library's own
// accumulator (Add, Merge, Result) in a Beam CombineFn, and the
// accumulators travel between workers in their own binary encoding (for
// the stage funnel, [stage.FunnelAccumulator.MarshalBinary]).
//
// The transforms: [Timelines], a tenant's events grouped into per-lead
// timelines; [JourneyFunnel], journey funnels over them; [StageFunnel],
// the stage funnel of stage.NewFunnel over stage visits; [Paths], each
// lead's attribution path, [PathCounts], identical paths summed per
// tenant, and [Attribute], every path model on the merged counts;
// [MarkovAttribution], the Markov model solved once on merged
// attribution.MarkovCounts; [Journeys], a tenant's events, visits and lead
// records joined by lead, and [VerifyAggregates], lifecycle.Verify's
// per-lead aggregates for lifecycle.Engine.VerifyPlan's stage plans;
// [GoldenPaths], the golden conversion paths of a stage mined once from
// merged pattern supports; [Sequences], the distinct touch sequences per
// tenant; [PoolMetrics], the prospect pool's metrics. Each
// is equal, byte for byte as JSON, to the in-memory library over the same
// data, whatever the runner, workers, bundles and fanout. Inputs that fail
// validation go to dead-letter outputs with the reason.
//
// Sources and sinks: [ReadEvents] reads JSON-lines files of leadkit.Event
// (malformed lines to a [RejectedLine] dead letter with file, line and
// reason; [ScanEventLines] is the same reader outside a pipeline);
// [ReadPostgres] reads one tenant's events from the postgres module's
// tables through its own JourneyStore; [WriteJSON] writes results as
// sorted JSON lines. The runnable program examples/beam puts them
// together and checks the results against the in-memory library.
//
// The package is named beam like its directory; a program that also
// imports Beam's own package beam names one of them, e.g.
//
//	import lkbeam "github.com/leadkit/leadkit/beam"
package beam
