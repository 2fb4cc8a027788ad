package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/loadgen"
	"github.com/salamhq/salam/wire"
)

// cmdLoadgen runs a load scenario against a running salam, or plans a
// cluster from measured reports:
//
//	salam loadgen SCENARIO --url ws://HOST:PORT/v1/ws --conns N [flags]
//	salam loadgen plan --users N --report FILE [--report FILE ...]
//
// Progress goes to stderr once a second; the report goes to --report (and
// its chart next to it), or to stdout as JSON when --report is not given.
func cmdLoadgen(args []string) error {
	var scenario string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		scenario, args = args[0], args[1:]
	}
	if scenario == "plan" {
		return cmdLoadgenPlan(args)
	}
	var o loadgen.Options
	names := strings.Join(loadgen.Scenarios(), "|")
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: salam loadgen %s --url ws://HOST:PORT/v1/ws --conns N [flags]\n", names)
		fmt.Fprintln(fs.Output(), "       salam loadgen plan --users N --report FILE [--report FILE ...] (plan -h for its flags)")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.URL, "url", "", "WebSocket URL of the edge, ws://HOST:PORT/v1/ws (required)")
	fs.IntVar(&o.Conns, "conns", 0, "connections to open: subscribers (broadcast), users (dm, chat, presence), held connections (idle, reconnect) (required)")
	fs.IntVar(&o.Workers, "workers", 0, fmt.Sprintf("local worker processes (default ceil(conns/%d), at most one per room; 0 with --remote-workers)", loadgen.ConnsPerWorker))
	fs.IntVar(&o.Rate, "rate", 2000, "ramp rate, new connections per second over all workers")
	maxErrors := fs.Float64("max-error-rate", 0.01, "exit with status 1 when more than this fraction of connections (or publishes) failed")
	fs.DurationVar(&o.Hold, "hold", 0, "active phase: idle holds, dm and chat publish, presence churns this long (default 10s)")
	fs.DurationVar(&o.Settle, "settle", 0, "pause after the ramp before the active phase, where the server's RSS is sampled (default 2s)")
	fs.Float64Var(&o.PublishRate, "publish-rate", 0, "messages per second: of the broadcast publisher, per chat room, per dm side (default 2)")
	fs.IntVar(&o.Messages, "messages", 20, "broadcast: messages to publish")
	fs.DurationVar(&o.Interval, "interval", 0, "broadcast: time between publishes (the older form of --publish-rate)")
	fs.IntVar(&o.PayloadSize, "payload", 64, "payload bytes per message (at least 20)")
	fs.StringVar(&o.Channel, "channel", "loadgen", "broadcast: channel to subscribe and publish to")
	fs.IntVar(&o.RoomSize, "room-size", 10, "chat: members per room; presence: users per shared channel")
	fs.Float64Var(&o.Percent, "percent", 0, "presence: % of users reconnecting per second (default 5); reconnect: % of connections dropped at once (default 10)")
	fs.DurationVar(&o.Down, "down", 0, "presence: how long a user stays away in a cycle (default 2s; keep it above the server's presence window)")
	fs.DurationVar(&o.Drain, "drain", 0, "longest wait after the active phase for deliveries, presence changes or reconnections (default 10s)")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", 0, "bound on one connection's dial+connect+subscribe (default 10s)")
	fs.IntVar(&o.TargetPID, "target-pid", 0, "server process to sample for RSS and CPU (0: none)")
	fs.StringVar(&o.Redis, "redis", "", "Redis host:port: report its commands per second during the active phase")
	fs.StringVar(&o.NATS, "nats", "", "NATS URL: report presence messages per second on it during the active phase, and reach --remote-workers")
	fs.IntVar(&o.RemoteWorkers, "remote-workers", 0, "workers on other hosts (salam loadgen-worker --nats URL) to wait for on --nats and give a share of the connections")
	fs.DurationVar(&o.RemoteWait, "remote-wait", 0, "longest wait for --remote-workers to announce themselves (default 30s)")
	fs.StringVar(&o.Token, "token", "", "one token for every connection")
	fs.StringVar(&o.Secret, "secret", "", "HS256 secret: mint a token per connection (user lg-N); default: the dev secret in --data")
	data := fs.String("data", "", "data directory of the salam up under test, whose dev-secret mints the tokens (env SALAM_DATA; default ./salam-data)")
	addrs := fs.String("source-addrs", defaultSourceAddrs, "source IPv4 addresses of local workers: ranges A-B and/or a comma list")
	proto := fs.String("subprotocol", wire.SubprotocolMsgpack, "salam.v1 (msgpack) or salam.v1.json")
	fs.StringVar(&o.ReportFile, "report", "", "write the JSON report to this file (default: stdout)")
	chart := fs.String("chart", "", "write the HTML chart to this file (default: the report's name with .html; none: no chart)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if scenario == "" {
		scenario = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("loadgen: unexpected arguments %q", fs.Args())
	}
	o.Scenario, o.Subprotocol = scenario, *proto
	switch {
	case *chart == "none":
	case *chart != "":
		o.ChartFile = *chart
	case o.ReportFile != "":
		o.ChartFile = loadgen.ChartPath(o.ReportFile)
	}
	var err error
	if o.SourceAddrs, err = loadgen.ParseSourceAddrs(*addrs); err != nil {
		return err
	}
	if o.Token == "" && o.Secret == "" {
		if o.Secret, err = readDevSecret(*data); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadgen.Run(ctx, o, os.Stderr)
	if rep != nil {
		if o.ReportFile == "" {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(rep)
		} else {
			printSummary(rep)
		}
		if err == nil {
			err = verdict(rep, *maxErrors)
		}
	}
	return err
}

// verdict fails a run that lost messages or presence changes, or whose
// connection or publish errors passed the allowed rate, so that scripts and
// CI can rely on the exit status.
func verdict(r *loadgen.Report, maxErrorRate float64) error {
	failed := r.ConnectErrors + r.ConnectionsDropped
	if r.Reconnect != nil {
		failed += r.Reconnect.Failed
	}
	fail := func(format string, a ...any) error {
		return &exitError{code: 1, msg: "loadgen: " + fmt.Sprintf(format, a...)}
	}
	switch {
	case r.MessagesLost > 0:
		return fail("%d deliveries lost", r.MessagesLost)
	case r.Presence != nil && r.Presence.Missed > 0:
		return fail("%d presence changes missed by watchers", r.Presence.Missed)
	case r.ConnectionsRequested > 0 && float64(failed)/float64(r.ConnectionsRequested) > maxErrorRate:
		return fail("%d of %d connections failed, dropped or did not come back (allowed rate %g)",
			failed, r.ConnectionsRequested, maxErrorRate)
	case r.MessagesSent > 0 && float64(r.PublishErrors)/float64(r.MessagesSent) > maxErrorRate:
		return fail("%d of %d publishes failed (allowed rate %g): %v", r.PublishErrors, r.MessagesSent, maxErrorRate, r.PublishErrorsByKind)
	}
	return nil
}

// cmdLoadgenPlan prints a cluster plan derived from measured reports.
func cmdLoadgenPlan(args []string) error {
	var (
		po      loadgen.PlanOptions
		reports []string
	)
	fs := flag.NewFlagSet("loadgen plan", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: salam loadgen plan --users N --report FILE [--report FILE ...] [flags]")
		fs.PrintDefaults()
	}
	fs.IntVar(&po.Users, "users", 0, "concurrent users to serve (required)")
	fs.Func("report", "a loadgen JSON report: idle (memory and CPU per connection), broadcast/fanout/chat/dm (deliveries per CPU second); repeatable", func(s string) error {
		reports = append(reports, s)
		return nil
	})
	fs.Float64Var(&po.Utilisation, "utilisation", loadgen.DefaultUtilisation, "share of a node's memory and CPU the plan fills (headroom for peaks and failover)")
	fs.Float64Var(&po.NodeMemoryGiB, "node-mem-gib", loadgen.DefaultNodeMemoryGiB, "memory of one node, GiB")
	fs.Float64Var(&po.NodeCores, "node-cores", loadgen.DefaultNodeCores, "cores of one node")
	fs.Float64Var(&po.SendsPerUser, "sends-per-user", loadgen.DefaultSendsPerUser, "messages each online user sends per second")
	fs.Float64Var(&po.Recipients, "recipients", loadgen.DefaultRecipients, "online receivers of one message")
	fs.IntVar(&po.DeliveryBytes, "delivery-bytes", loadgen.DefaultDeliveryBytes, "bytes on the wire per delivery (message, envelope, framing)")
	fs.IntVar(&po.MaxConnsPerNode, "max-conns-per-node", 0, "cap on connections per node (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("loadgen plan: unexpected arguments %q", fs.Args())
	}
	var in []loadgen.NamedReport
	for _, path := range reports {
		r, err := loadgen.ReadReport(path)
		if err != nil {
			return err
		}
		in = append(in, loadgen.NamedReport{Name: filepath.Base(path), Report: r})
	}
	return loadgen.Plan(os.Stdout, po, in)
}

// readDevSecret reads the dev secret of a data directory without creating
// it: a load generator must not invent a secret the server does not know.
// With no --data and no SALAM_DATA, a missing ./salam-data is not an error:
// connections then send no token.
func readDevSecret(dir string) (string, error) {
	explicit := dir != ""
	if dir == "" {
		dir = os.Getenv("SALAM_DATA")
		explicit = dir != ""
	}
	if dir == "" {
		dir = "./salam-data"
	}
	b, err := os.ReadFile(filepath.Join(dir, auth.DevSecretFile))
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		fmt.Fprintf(os.Stderr, "loadgen: no %s in %s; connecting without tokens\n", auth.DevSecretFile, dir)
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("loadgen: dev secret: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func printSummary(r *loadgen.Report) {
	fmt.Printf("%s: %d/%d connections opened, %d errors %v, %d dropped, connect p50 %.1f ms p99 %.1f ms\n",
		r.Scenario, r.ConnectionsOpened, r.ConnectionsRequested, r.ConnectErrors, r.ConnectErrorsByKind,
		r.ConnectionsDropped, r.ConnectMs.P50, r.ConnectMs.P99)
	if r.MessagesSent > 0 {
		fmt.Printf("messages: %d/%d acked (%d errors), deliveries %d/%d (lost %d), ack p99 %.1f ms, delivery p50 %.1f ms p99 %.1f ms, last receipt p50 %.1f ms max %.1f ms\n",
			r.MessagesAcked, r.MessagesSent, r.PublishErrors, r.MessagesReceived, r.DeliveriesExpected, r.MessagesLost,
			r.AckMs.P99, r.DeliveryMs.P50, r.DeliveryMs.P99, r.LastReceiptMs.P50, r.LastReceiptMs.Max)
	}
	if p := r.Presence; p != nil {
		fmt.Printf("presence: %d frames, %d changes, %d/%d seen (missed %d), online p50 %.1f ms p99 %.1f ms, offline p50 %.1f ms p99 %.1f ms\n",
			p.EventsReceived, p.Changes, p.Expected-p.Missed, p.Expected, p.Missed,
			p.OnlineMs.P50, p.OnlineMs.P99, p.OfflineMs.P50, p.OfflineMs.P99)
	}
	if c := r.Reconnect; c != nil {
		fmt.Printf("reconnect: %d dropped, %d back, %d not, %d failed attempts %v, recovery p50 %.1f ms p99 %.1f ms max %.1f ms\n",
			c.Dropped, c.Recovered, c.Failed, c.Errors, c.ErrorsByKind, c.RecoveryMs.P50, c.RecoveryMs.P99, c.RecoveryMs.Max)
	}
	if r.RSSBeforeBytes > 0 {
		fmt.Printf("server: rss %d → %d bytes (%d per connection), %.2f cpu s\n",
			r.RSSBeforeBytes, r.RSSAfterBytes, r.RSSPerConnBytes, r.TargetCPUSeconds)
	}
	if r.RedisCommandsPerS != nil {
		fmt.Printf("redis: %.0f commands/s\n", *r.RedisCommandsPerS)
	}
	if r.NATSPresenceMsgsPerS != nil {
		fmt.Printf("nats: %.1f presence reports/s, %.1f presence events/s\n", *r.NATSPresenceMsgsPerS, *r.NATSPresenceEventsPerS)
	}
}

// defaultSourceAddrs suit a target on loopback.
const defaultSourceAddrs = "127.0.0.2-127.0.0.65"

// cmdLoadgenWorker is the worker subprocess that loadgen.Run starts, speaking
// JSON lines on stdin/stdout; with --nats it is a remote worker that serves
// controllers on other hosts over NATS until interrupted:
//
//	salam loadgen-worker --nats nats://HOST:4222 [--name NAME] [--source-addrs LIST]
func cmdLoadgenWorker(args []string) error {
	fs := flag.NewFlagSet("loadgen-worker", flag.ContinueOnError)
	url := fs.String("nats", "", "serve controllers on this NATS URL instead of one over stdin/stdout")
	host, _ := os.Hostname()
	name := fs.String("name", fmt.Sprintf("%s-%d", strings.ReplaceAll(host, ".", "-"), os.Getpid()), "with --nats: the name this worker announces (unique per worker; no dots)")
	addrs := fs.String("source-addrs", defaultSourceAddrs, "with --nats: source IPv4 addresses this worker binds its connections to (this host's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("loadgen-worker: unexpected arguments %q", fs.Args())
	}
	if *url != "" {
		if strings.ContainsAny(*name, ". *>") || *name == "" {
			return fmt.Errorf("loadgen-worker: name %q: want one NATS subject token", *name)
		}
		src, err := loadgen.ParseSourceAddrs(*addrs)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		fmt.Fprintf(os.Stderr, "loadgen-worker %s: serving on %s (%s)\n", *name, *url, loadgen.WorkersSubject)
		return loadgen.RunRemoteWorker(ctx, *url, *name, src)
	}
	// A terminal's Ctrl-C reaches the whole process group; the controller
	// handles it and closes the workers so that they still report.
	signal.Ignore(os.Interrupt)
	return loadgen.RunWorker(context.Background(), os.Stdin, os.Stdout)
}
