// Package loadgen drives a Salam edge with many WebSocket connections and
// reports what it measured.
//
// It owns the load scenarios, the controller that runs them and the worker
// processes that hold the connections, and the JSON report. It talks to the
// server only through internal/wsclient (wire protocol v1) and reads the
// server process's /proc files to measure it; it must not import the edge or
// any server package, so what it measures is what a client sees.
//
// Scenarios:
//   - idle: ramp to Conns connections (each sends connect and waits for
//     connected), let the server settle for 2 s, then hold for Hold. Reports
//     the connect-time distribution, connect errors by kind, the server's
//     resident memory before the ramp and after the settle (and the
//     difference per opened connection), and the CPU seconds the server used
//     during the hold.
//   - fanout: Conns subscribers join Channel. When every worker reports
//     ready, the controller opens one publisher connection and publishes
//     Messages messages, one every Interval. Each payload starts with the
//     send time (Unix nanoseconds, 8 bytes big-endian), the message index
//     (4 bytes) and the run id (8 bytes), padded to PayloadSize. Workers
//     record every receipt; the report gives the publish→receipt latency of
//     all deliveries, the publish→last-receipt latency per message, the
//     publish→ack latency, and deliveries expected, received and lost.
//
// Processes: a process may open only so many files (20,000 here), so the
// controller ([Run]) starts Workers subprocesses, re-executing its own binary
// as "salam loadgen-worker" ([RunWorker]). The controller writes one JSON
// config line to a worker's stdin, later a "close" command; closing stdin
// also tells the worker to close. The worker writes JSON lines to stdout:
// "progress" twice a second, "ready" once its ramp is over, "result" after
// closing, "fatal" on failure; its stderr is the controller's. Each worker
// binds its connections to its own slice of SourceAddrs (127.0.0.x), with
// IP_BIND_ADDRESS_NO_PORT, so that ephemeral ports never run short. All
// processes run on one host, so their wall clocks are comparable and
// latencies are computed across them.
//
// Memory: a worker holds up to ~19,000 connections, and a box running a
// million of them has little to spare, so an open connection costs a worker
// only its socket, a wsclient.Conn with a read buffer sized for the
// scenario's events, and a poller entry (about 3 KiB of RSS in all). It has
// no goroutine: wsclient.Pollers (one per processor, epoll) read every open
// connection, answer pings and count events.
//
// Concurrency: in a worker, the ramp goroutine starts one short-lived
// goroutine per attempt (token, dial, connect, subscribe), which hands the
// connection to a poller and ends; where there is no poller (not Linux) it
// stays and reads the connection. Counters are atomics; histograms sit
// behind mutexes (delivery latencies in shards). In the controller, one
// goroutine per worker reads its output and applies each line to the run's
// state under one mutex; the scenario runs on Run's goroutine and a ticker
// goroutine prints the status line.
package loadgen
