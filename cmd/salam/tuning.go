package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/salamhq/salam/tuning"
)

const tuningUsage = `usage: salam tuning COMMAND

  list                            the profiles and what each is for
  check PROFILE                   compare this host with a profile (read-only);
                                  exit 0 if it satisfies it, 3 if not
  apply PROFILE [--dry-run]       write the profile's sysctls (root); the rest is advice
  explain KEY                     why each profile wants what it wants for KEY`

// exitError is an error that asks main to exit with a given status rather
// than 1: 2 for usage errors, 3 when `salam tuning check` finds the host
// short of the profile. msg is printed like any error.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// ExitCode is the process exit status main should use.
func (e *exitError) ExitCode() int { return e.code }

// cmdTuning runs `salam tuning list|check|apply|explain`; the logic is in
// package tuning.
func cmdTuning(args []string) error {
	if len(args) == 0 {
		return &exitError{code: 2, msg: tuningUsage}
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "list":
		if len(rest) != 0 {
			return &exitError{code: 2, msg: "usage: salam tuning list"}
		}
		return tuning.WriteList(os.Stdout)
	case "check":
		return tuningCheck(rest)
	case "apply":
		return tuningApply(rest)
	case "explain":
		if len(rest) != 1 {
			return &exitError{code: 2, msg: "usage: salam tuning explain KEY (a sysctl such as net.core.somaxconn, nofile, LimitNOFILE, rings)"}
		}
		es, err := tuning.Explain(rest[0])
		if err != nil {
			return err
		}
		return tuning.WriteExplain(os.Stdout, es)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(os.Stderr, tuningUsage)
		return flag.ErrHelp
	default:
		return &exitError{code: 2, msg: fmt.Sprintf("tuning: unknown command %q\n%s", sub, tuningUsage)}
	}
}

func tuningCheck(args []string) error {
	fs := flag.NewFlagSet("tuning check", flag.ContinueOnError)
	procSys := fs.String("proc-sys", "", "read sysctls from this tree instead of /proc/sys")
	name, err := parseProfileArgs(fs, "usage: salam tuning check PROFILE", args)
	if err != nil {
		return err
	}
	p, err := tuning.Load(name)
	if err != nil {
		return err
	}
	rs := tuning.Check(p, tuning.System{ProcSys: *procSys})
	if err := tuning.WriteCheck(os.Stdout, p, rs); err != nil {
		return err
	}
	if n := tuning.Failing(rs); n > 0 {
		return &exitError{code: 3, msg: fmt.Sprintf("tuning check %s: %d settings fall short or cannot be read", name, n)}
	}
	return nil
}

func tuningApply(args []string) error {
	fs := flag.NewFlagSet("tuning apply", flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, "print what would be written; write nothing")
	procSys := fs.String("proc-sys", "", "write sysctls into this tree instead of /proc/sys")
	name, err := parseProfileArgs(fs, "usage: salam tuning apply PROFILE [--dry-run]", args)
	if err != nil {
		return err
	}
	p, err := tuning.Load(name)
	if err != nil {
		return err
	}
	if !*dryRun && *procSys == "" && os.Geteuid() != 0 {
		return &exitError{code: 1, msg: "tuning apply: writing /proc/sys needs root: run it with sudo, or add --dry-run to see what it would write"}
	}
	cs, err := tuning.Apply(p, tuning.System{ProcSys: *procSys}, *dryRun)
	if werr := tuning.WriteChanges(os.Stdout, cs, *dryRun); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if !*dryRun {
		fmt.Fprintln(os.Stderr, "salam: sysctls written to /proc/sys last until reboot; run `salam tuning apply "+name+"` at boot (see tuning/README.md) and act on the manual lines")
	}
	return nil
}

// parseProfileArgs accepts the profile before or after the flags.
func parseProfileArgs(fs *flag.FlagSet, usage string, args []string) (string, error) {
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	rest := fs.Args()
	if name == "" && len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	if name == "" || len(rest) > 0 {
		return "", &exitError{code: 2, msg: fmt.Sprintf("%s\nprofiles: %s", usage, strings.Join(tuning.Names(), ", "))}
	}
	return name, nil
}
