package deploy_test

import (
	"bufio"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/salamhq/salam/tuning"
)

// unitFile is a parsed systemd unit: section → key → values in order.
type unitFile map[string]map[string][]string

func loadUnit(t *testing.T, name string) unitFile {
	t.Helper()
	f, err := os.Open(abs("systemd/" + name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opts, err := unit.DeserializeOptions(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	u := unitFile{}
	for _, o := range opts {
		if u[o.Section] == nil {
			u[o.Section] = map[string][]string{}
		}
		u[o.Section][o.Name] = append(u[o.Section][o.Name], o.Value)
	}
	return u
}

func (u unitFile) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// readEnvFile reads KEY=VALUE lines (an EnvironmentFile= or its example).
func readEnvFile(t *testing.T, name string) map[string]string {
	t.Helper()
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(readFile(t, name)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s: %q is not KEY=VALUE", name, line)
		}
		env[k] = v
	}
	return env
}

// hardening is the sandbox every unit carries.
var hardening = map[string]string{
	"NoNewPrivileges":         "yes",
	"CapabilityBoundingSet":   "",
	"ProtectSystem":           "strict",
	"ProtectHome":             "yes",
	"PrivateTmp":              "yes",
	"PrivateDevices":          "yes",
	"ProtectKernelTunables":   "yes",
	"ProtectKernelModules":    "yes",
	"ProtectControlGroups":    "yes",
	"RestrictNamespaces":      "yes",
	"RestrictSUIDSGID":        "yes",
	"SystemCallArchitectures": "native",
}

// TestSystemdUnits parses every unit as systemd would and checks that it
// runs a real salam subcommand with real flags (or nats-server on a config of
// deploy/nats), reads its secrets from an EnvironmentFile whose example
// declares every variable used, restarts, is sandboxed, and gives the edge
// the file limit of the edge-50k profile.
func TestSystemdUnits(t *testing.T) {
	cli := loadCLI(t)
	units, err := filepath.Glob(abs("systemd/*.service"))
	if err != nil || len(units) == 0 {
		t.Fatalf("no units: %v", err)
	}
	want := []string{"nats-hub.service", "nats-leaf.service", "salam-core.service", "salam-edge.service"}
	var names []string
	for _, p := range units {
		names = append(names, filepath.Base(p))
	}
	if !slices.Equal(names, want) {
		t.Errorf("units %v, want %v", names, want)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			u := loadUnit(t, name)
			for _, s := range []string{"Unit", "Service", "Install"} {
				if u[s] == nil {
					t.Errorf("no [%s]", s)
				}
			}
			svc := "Service"
			for k, v := range hardening {
				if got := u.get(svc, k); got != v || len(u[svc][k]) == 0 {
					t.Errorf("%s=%q, want %q", k, got, v)
				}
			}
			if r := u.get(svc, "Restart"); r != "always" && r != "on-failure" {
				t.Errorf("Restart=%q", r)
			}
			if u.get(svc, "User") == "" || u.get(svc, "User") == "root" {
				t.Error("runs as root")
			}
			if _, err := strconv.Atoi(u.get(svc, "LimitNOFILE")); err != nil {
				t.Errorf("LimitNOFILE=%q", u.get(svc, "LimitNOFILE"))
			}
			envFile := u.get(svc, "EnvironmentFile")
			if !path.IsAbs(envFile) {
				t.Fatalf("EnvironmentFile=%q: secrets come from an absolute-path file", envFile)
			}
			example := abs("systemd/" + path.Base(envFile) + ".example")
			env := readEnvFile(t, example)
			execs := append(slices.Clone(u[svc]["ExecStartPre"]), u[svc]["ExecStart"]...)
			if len(u[svc]["ExecStart"]) != 1 {
				t.Fatalf("ExecStart %v", u[svc]["ExecStart"])
			}
			for _, line := range execs {
				checkExec(t, strings.TrimLeft(line, "+-@:!"), env, cli)
			}
			if strings.HasPrefix(name, "salam-") {
				for k := range env {
					if !cli.env[k] {
						t.Errorf("%s: %s is no variable of cmd/salam/config.go", example, k)
					}
				}
				if stop, err := time.ParseDuration(u.get(svc, "TimeoutStopSec")); err != nil || stop != stopGrace {
					t.Errorf("TimeoutStopSec=%s, want %v (drain_timeout + margin)", u.get(svc, "TimeoutStopSec"), stopGrace)
				}
			}
		})
	}

	// The edge-50k profile's systemd entries name our units; each must meet them.
	p := edgeProfile(t)
	nrOpen := profileEntry(t, p, tuning.Sysctl, "fs.nr_open")
	nofile := profileEntry(t, p, tuning.Ulimit, "nofile")
	found := false
	for _, e := range p.Entries {
		if e.Kind != tuning.Systemd {
			continue
		}
		found = true
		v := loadUnit(t, e.Unit).get("Service", e.Key)
		if ok, err := e.Rule.Satisfied(v, e.Value); err != nil || !ok {
			t.Errorf("%s %s=%s does not meet edge-50k %s %s", e.Unit, e.Key, v, e.Rule, e.Value)
		}
		if ok, _ := nofile.Rule.Satisfied(v, nofile.Value); !ok {
			t.Errorf("%s %s=%s is under edge-50k's nofile %s", e.Unit, e.Key, v, nofile.Value)
		}
		// Above fs.nr_open the unit would not start; the profile guarantees only its value.
		if ok, _ := tuning.AtLeast.Satisfied(nrOpen.Value, v); !ok {
			t.Errorf("%s %s=%s is above the fs.nr_open edge-50k guarantees (%s)", e.Unit, e.Key, v, nrOpen.Value)
		}
	}
	if !found {
		t.Error("edge-50k has no systemd entry to check the units against")
	}
}

var confVar = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)`)

// checkExec checks one command line of a unit: salam with a real command and
// flags, or nats-server --config on a file of deploy/nats whose variables the
// environment file sets.
func checkExec(t *testing.T, line string, env map[string]string, cli salamCLI) {
	t.Helper()
	fields := strings.Fields(line)
	switch fields[0] {
	case "/usr/local/bin/salam":
		inv, err := cli.parse(fields[1:])
		if err != nil {
			t.Error(err)
			return
		}
		if c := inv.flags["config"]; c != "" && c != "/etc/salam/salam.yaml" {
			t.Errorf("--config %s; the region's salam.yaml installs as /etc/salam/salam.yaml", c)
		}
		if inv.command == "edge" || inv.command == "core" {
			if inv.flags["config"] == "" {
				t.Errorf("salam %s without --config", inv.command)
			}
			for _, k := range []string{"SALAM_AUTH_SECRET", "SALAM_NATS_URL", "SALAM_REDIS_ADDR"} {
				if env[k] == "" {
					t.Errorf("salam %s: the environment file sets no %s", inv.command, k)
				}
			}
		}
		if inv.command == "core" && env["SALAM_POSTGRES_URL"] == "" {
			t.Error("salam core: the environment file sets no SALAM_POSTGRES_URL")
		}
	case "/usr/local/bin/nats-server":
		if len(fields) != 3 || fields[1] != "--config" {
			t.Fatalf("nats-server %v: want --config FILE", fields[1:])
		}
		if !slices.Contains(regions, env["NATS_REGION"]) {
			t.Errorf("NATS_REGION=%q, want one of %v", env["NATS_REGION"], regions)
		}
		for _, r := range regions {
			conf := strings.ReplaceAll(fields[2], "${NATS_REGION}", r)
			rel, ok := strings.CutPrefix(conf, "/etc/nats/")
			if !ok {
				t.Fatalf("--config %s: deploy/nats installs as /etc/nats", conf)
			}
			text := readFile(t, abs("nats/"+rel))
			if strings.Contains(text, "include ../accounts.conf") {
				text += readFile(t, abs("nats/accounts.conf"))
			}
			for _, v := range envVars(text) {
				if _, ok := env[v]; !ok {
					t.Errorf("%s reads $%s, which the environment file does not set", conf, v)
				}
			}
		}
	default:
		t.Errorf("ExecStart of %s: only salam and nats-server are expected", fields[0])
	}
}

// envVars lists the $VARIABLES a NATS config takes from the environment:
// those it does not define itself (NAME: { … } blocks such as permissions).
func envVars(conf string) []string {
	var lines []string
	for _, l := range strings.Split(conf, "\n") {
		l, _, _ = strings.Cut(l, "#")
		lines = append(lines, l)
	}
	text := strings.Join(lines, "\n")
	var out []string
	for _, m := range confVar.FindAllStringSubmatch(text, -1) {
		name := m[1]
		defined := regexp.MustCompile(`(?m)^\s*` + name + `\s*[:=]`).MatchString(text)
		if !defined && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}
