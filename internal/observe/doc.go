// Package observe is what every Salam process (edge, core, and the SFU and
// ingest nodes as they land) runs so that the operations console in core
// (core/console) can see it:
//
//   - Reporter: while a console watches (it publishes on WatchSubject at
//     least every second), the process gathers its own Prometheus registry,
//     the one /metrics serves, into a compact Snapshot and publishes it on
//     StatsSubject once per interval. Nobody watching: nothing is gathered
//     or sent. A new kind of node only builds a Reporter on its registry.
//   - Collectors for the health the console shows: the NATS client (RTT,
//     reconnects), the embedded NATS server (slow consumers), and gauges
//     read from a function (store pools, Redis), registered in the same
//     registry so /metrics and the console agree.
//   - Tracer: message-journey tracing with go.opentelemetry.io/otel. A
//     sampler decides per message with one random draw and no allocation;
//     only sampled messages carry a TraceContext (bus.Request field "tc",
//     NATS header on events) and make spans. Finished spans (names,
//     timestamps and ids, never bodies) are published on SpansSubject,
//     and optionally exported over OTLP.
//
// Goroutines: a Reporter's loop runs only while watched (started by the
// watch handler on nats.go's subscription goroutine, ended when interest
// lapses); Reporter.mu guards its deadline and running flag. The Tracer's
// batch span processor owns one goroutine of the otel SDK.
//
// It must not import core, edge or storage.
package observe
