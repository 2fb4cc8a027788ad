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

// cmdLoadgen runs a load scenario against a running salam:
//
//	salam loadgen idle|fanout --url ws://HOST:PORT/v1/ws --conns N [flags]
//
// Progress goes to stderr once a second; the report goes to --report, or to
// stdout as JSON when --report is not given.
func cmdLoadgen(args []string) error {
	var scenario string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		scenario, args = args[0], args[1:]
	}
	var o loadgen.Options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: salam loadgen idle|fanout --url ws://HOST:PORT/v1/ws --conns N [flags]")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.URL, "url", "", "WebSocket URL of the edge, ws://HOST:PORT/v1/ws (required)")
	fs.IntVar(&o.Conns, "conns", 0, "connections to open; fanout: subscribers (required)")
	fs.IntVar(&o.Workers, "workers", 0, fmt.Sprintf("worker processes (default ceil(conns/%d))", loadgen.ConnsPerWorker))
	fs.IntVar(&o.Rate, "rate", 2000, "ramp rate, new connections per second over all workers")
	maxErrors := fs.Float64("max-error-rate", 0.01, "exit with status 1 when more than this fraction of connections failed or dropped")
	fs.DurationVar(&o.Hold, "hold", 0, "idle: how long to hold the connections after the settle (default 10s)")
	fs.DurationVar(&o.Settle, "settle", 0, "pause after the ramp before sampling the server's RSS (default 2s)")
	fs.IntVar(&o.Messages, "messages", 20, "fanout: messages to publish")
	fs.DurationVar(&o.Interval, "interval", 0, "fanout: time between publishes (default 500ms)")
	fs.IntVar(&o.PayloadSize, "payload", 64, "fanout: payload bytes per message (at least 20)")
	fs.StringVar(&o.Channel, "channel", "loadgen", "fanout: channel to subscribe and publish to")
	fs.DurationVar(&o.Drain, "drain", 0, "fanout: longest wait for deliveries after the last ack (default 10s)")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", 0, "bound on one connection's dial+connect+subscribe (default 10s)")
	fs.IntVar(&o.TargetPID, "target-pid", 0, "server process to sample for RSS and CPU (0: none)")
	fs.StringVar(&o.Token, "token", "", "one token for every connection")
	fs.StringVar(&o.Secret, "secret", "", "HS256 secret: mint a token per connection (user lg-N); default: the dev secret in --data")
	data := fs.String("data", "", "data directory of the salam up under test, whose dev-secret mints the tokens (env SALAM_DATA; default ./salam-data)")
	addrs := fs.String("source-addrs", "127.0.0.2-127.0.0.65", "source IPv4 addresses: ranges A-B and/or a comma list")
	proto := fs.String("subprotocol", wire.SubprotocolMsgpack, "salam.v1 (msgpack) or salam.v1.json")
	fs.StringVar(&o.ReportFile, "report", "", "write the JSON report to this file (default: stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if scenario == "" {
		scenario = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("loadgen: unexpected arguments %q", fs.Args())
	}
	o.Scenario, o.Subprotocol = scenario, *proto
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

// verdict fails a run that lost messages or whose connection errors passed
// the allowed rate, so that scripts and CI can rely on the exit status.
func verdict(r *loadgen.Report, maxErrorRate float64) error {
	failed := r.ConnectErrors.Total + r.ConnectionsDropped
	switch {
	case r.Lost > 0:
		return &exitError{code: 1, msg: fmt.Sprintf("loadgen: %d deliveries lost", r.Lost)}
	case r.ConnectionsRequested > 0 && float64(failed)/float64(r.ConnectionsRequested) > maxErrorRate:
		return &exitError{code: 1, msg: fmt.Sprintf("loadgen: %d of %d connections failed or dropped (allowed rate %g)",
			failed, r.ConnectionsRequested, maxErrorRate)}
	}
	return nil
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
		r.Scenario, r.ConnectionsOpened, r.ConnectionsRequested, r.ConnectErrors.Total, r.ConnectErrors.ByKind,
		r.ConnectionsDropped, r.ConnectMs.P50, r.ConnectMs.P99)
	if r.Scenario == loadgen.ScenarioFanout {
		fmt.Printf("fanout: %d/%d acked, deliveries %d/%d (lost %d), delivery p50 %.1f ms p99 %.1f ms, last receipt p50 %.1f ms max %.1f ms\n",
			r.MessagesAcked, r.MessagesSent, r.DeliveriesReceived, r.DeliveriesExpected, r.Lost,
			r.DeliveryMs.P50, r.DeliveryMs.P99, r.LastReceiptMs.P50, r.LastReceiptMs.Max)
	}
	if r.RSSBeforeBytes > 0 {
		fmt.Printf("server: rss %d → %d bytes (%d per connection), %.2f cpu s\n",
			r.RSSBeforeBytes, r.RSSAfterBytes, r.RSSPerConnBytes, r.TargetCPUSeconds)
	}
}

// cmdLoadgenWorker is the worker subprocess that loadgen.Run starts; it
// speaks JSON lines on stdin/stdout and is not meant to be run by hand.
func cmdLoadgenWorker(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("loadgen-worker: unexpected arguments %q", args)
	}
	// A terminal's Ctrl-C reaches the whole process group; the controller
	// handles it and closes the workers so that they still report.
	signal.Ignore(os.Interrupt)
	return loadgen.RunWorker(context.Background(), os.Stdin, os.Stdout)
}
