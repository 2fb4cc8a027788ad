// Package loadgen drives a Salam edge with many WebSocket connections and
// reports what it measured.
//
// It owns the load scenarios, the controller that runs them and the worker
// processes that hold the connections, the JSON report with its time series
// and HTML chart, and the capacity plan derived from reports. It talks to
// the server only as a client does — through internal/wsclient (wire
// protocol v1) and the chat REST API — and reads the server process's /proc
// files, Redis INFO and NATS subjects to measure it; it must not import the
// edge or any server package, so what it measures is what a client sees.
//
// Scenarios (scenario.go lists them; each has its file):
//   - idle: ramp to Conns connections (each sends connect and waits for
//     connected), settle, hold for Hold. Reports the connect-time
//     distribution, connect errors by kind, the server's resident memory
//     before the ramp and after the settle (and the difference per opened
//     connection), and the CPU seconds the server used during the hold.
//   - broadcast (first named fanout; both names work): Conns subscribers of
//     one public broadcast channel, created over REST. When every worker is
//     ready, the controller opens one publisher connection and publishes
//     Messages messages at PublishRate. Each payload starts with the send
//     time (Unix nanoseconds, 8 bytes big-endian), the message index (4
//     bytes) and the run id (8 bytes), padded to PayloadSize. Workers count
//     every receipt: publish→receipt latency, publish→last receipt per
//     message, publish→ack, deliveries expected, received and lost.
//   - dm (rooms.go): Conns/2 DM pairs opened over REST; each side publishes
//     at PublishRate for Hold. chat (rooms.go): groups of RoomSize created
//     over REST; a random member of each room publishes at PublishRate.
//     Both measure ack and delivery latency, and count as lost every
//     receipt due for an acked message (each other member of its room) that
//     never came, by room.
//   - presence: groups of RoomSize, every member subscribed, so each
//     watches the others. Percent % of the users a second disconnect, stay
//     away for Down and connect again; each watcher's offline and online
//     frames are timed from the close and from the connect frame. A change
//     not received within Drain by a watcher connected throughout is
//     missed. With Redis and NATS set, the monitor (monitor.go) reports
//     Redis commands and NATS presence messages per second.
//   - reconnect: hold Conns, then close Percent % of them at once and open
//     them again with jittered backoff; the recovery time runs from the
//     drop to connected, and a connection not back within Drain failed.
//
// Processes: a process may open only so many files (20,000 here), so the
// controller ([Run]) starts Workers subprocesses, re-executing its own binary
// as "salam loadgen-worker" ([RunWorker]). The controller writes one JSON
// config line to a worker's stdin, then "start" (scenarios whose active
// phase runs in the workers) and "close"; closing stdin also tells the
// worker to close. The worker writes JSON lines to stdout: "progress" twice
// a second (counters, and HDR histograms of the latencies recorded since
// the previous line, which feed the per-second series), "ready" once its
// ramp is over, "done" when its active phase ended, "result" after
// closing, "fatal" on failure; its stderr is the controller's. Each worker
// binds its connections to its own slice of SourceAddrs (127.0.0.x), with
// IP_BIND_ADDRESS_NO_PORT, so that ephemeral ports never run short. Local
// processes share one host's wall clock, so latencies are computed across
// them (remote workers: see below). In room scenarios a room never spans
// workers: the worker that publishes a message knows who must receive it,
// so loss is counted exactly, per message and member, without shipping
// message ids between processes.
//
// Remote workers (remote.go): "salam loadgen-worker --nats URL --name NAME"
// on another host speaks the same lines over NATS, one line per message and
// an empty message for end of stream. While idle it announces itself every
// second on salam.loadgen.workers ({"name", "capacity", "source_addrs"});
// a controller with RemoteWorkers waits (RemoteWait) for that many names,
// then sends each its config and commands on salam.loadgen.worker.NAME with
// reply subject salam.loadgen.run.RUNID.NAME, where the worker writes its
// lines. Workers 0..Workers-1 are local, the rest remote; all get shares
// of the connections alike, through one workerLink per worker (stdin and
// stdout, pipes, or these subjects), and their lines take the same path.
// Remote workers bind to the source addresses of their own command line
// (the controller's SourceAddrs are split among the local ones only). A
// remote worker serves one run at a time (another controller's config is
// answered "busy"); one silent for remoteSilence (10s; progress comes
// twice a second) has died, and the run fails as for a local worker that
// exited. Latencies across hosts assume synchronised clocks (NTP), and a
// line must fit the NATS server's max_payload (1 MB by default).
//
// Memory: a worker holds up to ~19,000 connections, and a box running a
// million of them has little to spare, so an open connection costs a worker
// only its socket, a wsclient.Conn with a read buffer sized for the
// scenario's events, and a poller entry (about 3 KiB of RSS in all). It has
// no goroutine: wsclient.Pollers (one per processor, epoll) read every open
// connection, answer pings and hand frames to the scenario's workload.
// Room scenarios add 32 bytes per published message until the result.
//
// Concurrency: in a worker, the ramp goroutine starts one short-lived
// goroutine per attempt (token, dial, connect, subscribe), which hands the
// connection to a poller and ends; where there is no poller (not Linux) it
// stays and reads the connection. The active phase runs on one goroutine
// (publishing is paced from it; presence cycles and reconnections take a
// goroutine each while they last) and has ended before the connections are
// closed. Counters and per-message state are atomics; worker.mu guards the
// connection table and error maps; presenceLoad.mu is taken before
// worker.mu, never after; histograms sit behind per-shard mutexes. In the
// controller, one goroutine per worker reads its output and applies each
// line to the run's state under one mutex; the scenario runs on Run's
// goroutine and a ticker goroutine takes the per-second sample and prints
// the status line.
package loadgen
