// Command salam is the one binary of Salam: `salam up` runs everything in one
// process; `salam edge`, `salam core` and `salam sfu` run the parts
// separately against external NATS; `salam token` mints a development token; `salam loadgen`
// measures a running cluster.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

var commands = map[string]struct {
	run  func(args []string) error
	help string
}{
	"up":             {cmdUp, "run edge + core + an in-process NATS server (the embedded default)"},
	"edge":           {cmdEdge, "run an edge only, against external NATS (--nats)"},
	"core":           {cmdCore, "run core services only, against external NATS (--nats)"},
	"sfu":            {cmdSFU, "run an SFU node only (media host), against external NATS (--nats, --udp-ports, --nat-ips)"},
	"token":          {cmdToken, "print a development token for --user (same --data as salam up)"},
	"streamkey":      {cmdStreamkey, "issue a live stream key for --user: prints the RTMP publish URL and the HLS playback URL"},
	"loadgen":        {cmdLoadgen, "run a load scenario against a running salam (idle, broadcast, chat, dm, presence, reconnect) or plan nodes from reports"},
	"tuning":         {cmdTuning, "check, apply or explain kernel and NIC tuning profiles"},
	"loadgen-worker": {cmdLoadgenWorker, ""},
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]].run == nil {
		usage()
		os.Exit(2)
	}
	err := commands[os.Args[1]].run(os.Args[2:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		fmt.Fprintln(os.Stderr, "salam:", err)
		os.Exit(coded.ExitCode())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "salam:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: salam COMMAND [flags]\n\ncommands:")
	for _, name := range []string{"up", "edge", "core", "sfu", "token", "streamkey", "loadgen", "tuning"} {
		fmt.Fprintf(os.Stderr, "  %-9s %s\n", name, commands[name].help)
	}
	fmt.Fprintln(os.Stderr, "\nrun 'salam COMMAND -h' for its flags")
}
