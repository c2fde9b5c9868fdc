// Package lang is leadkit's one expression language: the compiler of every
// expression a tenant writes (stage guards, scoring rules and derived
// dimensions, journey funnel steps, pool policies), with one set of names,
// builtins, limits, cost bound and error shape.
//
// A package describes what its expressions may read as a [Schema] of typed
// [Field]s (the standard ones are [LeadFields] and [EventFields]; declared
// custom fields come from [DeclaredFields]; bare names such as stage facts
// read slots of the evaluation [Ctx]) and compiles each expression once with
// [Compile] into a [Program]. Compile
//
//   - parses and type-checks the source with expr against the schema,
//     reporting unknown names with a hint (an old-style name such as
//     Channel names its replacement event.channel; an undeclared attribute
//     says how to declare it);
//   - refuses what the sandbox forbids: builtins outside [SafeBuiltins],
//     variables (let), method calls (their results could depend on the
//     host's time zone), computed field names, predicates nested deeper
//     than [MaxPredicateDepth];
//   - bounds the worst-case work of one evaluation on inputs at the size
//     caps ([Limits]) and refuses expressions above the cost limit;
//   - compiles the expression into typed Go closures that neither box nor
//     allocate, falling back to the expr VM (with a memory budget) for the
//     constructs the closures do not cover (list predicates, ranges, ??).
//
// Errors are *[Error] values with a line and a column counted in runes.
package lang
