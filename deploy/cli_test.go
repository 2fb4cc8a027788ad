package deploy_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/salamhq/salam/tuning"
)

// salamCLI is what the salam binary accepts, read from the source of
// cmd/salam so that a manifest or unit using a subcommand, flag or SALAM_*
// variable the binary does not know fails here rather than at deploy time.
type salamCLI struct {
	commands map[string]bool            // main.go: the commands map
	flags    map[string]map[string]bool // command (or "tuning apply") → flag → is boolean
	tuning   map[string]bool            // cmdTuning's subcommands
	env      map[string]bool            // SALAM_* names config.go reads or documents
	ops      map[string]bool            // paths of the operations mux (up.go: "GET /healthz")
}

var (
	cliOnce sync.Once
	cli     salamCLI
	cliErr  error
)

func loadCLI(t *testing.T) salamCLI {
	t.Helper()
	cliOnce.Do(func() { cli, cliErr = parseCLI() })
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cli
}

func parseCLI() (salamCLI, error) {
	c := salamCLI{commands: map[string]bool{}, flags: map[string]map[string]bool{},
		tuning: map[string]bool{}, env: map[string]bool{}, ops: map[string]bool{}}
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	for _, name := range []string{"main.go", "config.go", "tuning.go", "up.go"} {
		f, err := parser.ParseFile(fset, repo("cmd/salam/"+name), nil, parser.SkipObjectResolution)
		if err != nil {
			return c, err
		}
		files[name] = f
	}
	// commands: the keys of `var commands = map[string]…{"up": …}`.
	ast.Inspect(files["main.go"], func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && vs.Names[0].Name == "commands" {
			for _, elt := range vs.Values[0].(*ast.CompositeLit).Elts {
				if s, ok := stringLit(elt.(*ast.KeyValueExpr).Key); ok {
					c.commands[s] = true
				}
			}
		}
		return true
	})
	shared := flagsOf(funcDecl(files["config.go"], "parseConfig"))
	for _, cmd := range []string{"up", "edge", "core"} {
		c.flags[cmd] = shared
	}
	c.flags["tuning apply"] = flagsOf(funcDecl(files["tuning.go"], "tuningApply"))
	c.flags["tuning check"] = flagsOf(funcDecl(files["tuning.go"], "tuningCheck"))
	ast.Inspect(funcDecl(files["tuning.go"], "cmdTuning"), func(n ast.Node) bool {
		if cc, ok := n.(*ast.CaseClause); ok {
			for _, e := range cc.List {
				if s, ok := stringLit(e); ok && !strings.HasPrefix(s, "-") && s != "help" {
					c.tuning[s] = true
				}
			}
		}
		return true
	})
	envRe := regexp.MustCompile(`SALAM_[A-Z0-9_]+`)
	ast.Inspect(files["config.go"], func(n ast.Node) bool {
		if s, ok := stringLit(n); ok {
			for _, name := range envRe.FindAllString(s, -1) {
				c.env[name] = true
			}
		}
		return true
	})
	ast.Inspect(files["up.go"], func(n ast.Node) bool {
		if s, ok := stringLit(n); ok {
			if path, ok := strings.CutPrefix(s, "GET /"); ok && !strings.ContainsAny(path, " \n") {
				c.ops["/"+path] = true
			}
		}
		return true
	})
	for what, m := range map[string]map[string]bool{"commands": c.commands, "parseConfig flags": shared,
		"tuning subcommands": c.tuning, "SALAM_ variables": c.env, "operations paths": c.ops} {
		if len(m) == 0 {
			return c, fmt.Errorf("found no %s in cmd/salam: has its source changed shape?", what)
		}
	}
	return c, nil
}

func funcDecl(f *ast.File, name string) *ast.FuncDecl {
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name {
			return fd
		}
	}
	return &ast.FuncDecl{Name: ast.NewIdent(name), Type: &ast.FuncType{}, Body: &ast.BlockStmt{}}
}

// flagsOf collects the flags a function defines on a flag.FlagSet:
// fs.String("name", …), fs.BoolVar(&v, "name", …) and the like.
func flagsOf(fd *ast.FuncDecl) map[string]bool {
	flags := map[string]bool{}
	ast.Inspect(fd, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		method := sel.Sel.Name
		arg := 0
		if strings.HasSuffix(method, "Var") {
			arg = 1
		}
		switch strings.TrimSuffix(method, "Var") {
		case "String", "Bool", "Int", "Int64", "Uint", "Uint64", "Float64", "Duration", "Func", "":
		default:
			return true
		}
		if len(call.Args) > arg {
			if name, ok := stringLit(call.Args[arg]); ok {
				flags[name] = strings.HasPrefix(method, "Bool")
			}
		}
		return true
	})
	return flags
}

func stringLit(n ast.Node) (string, bool) {
	lit, ok := n.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// invocation is a parsed salam command line.
type invocation struct {
	command string            // "edge", "core", "tuning apply", …
	flags   map[string]string // flag → value ("true" for a boolean given alone)
	args    []string          // positional arguments
}

// parse checks args (without the program name) against the binary: a known
// command, known flags with values where they need one, and for tuning a
// known subcommand and profile.
func (c salamCLI) parse(args []string) (invocation, error) {
	var inv invocation
	if len(args) == 0 {
		return inv, fmt.Errorf("no salam command")
	}
	inv.command, args = args[0], args[1:]
	if !c.commands[inv.command] {
		return inv, fmt.Errorf("salam %s: no such command (main.go has %v)", inv.command, keys(c.commands))
	}
	if inv.command == "tuning" {
		if len(args) == 0 || !c.tuning[args[0]] {
			return inv, fmt.Errorf("salam tuning %v: want one of %v", args, keys(c.tuning))
		}
		inv.command += " " + args[0]
		args = args[1:]
	}
	known := c.flags[inv.command]
	inv.flags = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			inv.args = append(inv.args, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		isBool, ok := known[name]
		if !ok {
			return inv, fmt.Errorf("salam %s: unknown flag %s (cmd/salam defines %v)", inv.command, a, keys(known))
		}
		switch {
		case hasValue:
		case isBool:
			value = "true"
		case i+1 < len(args):
			i++
			value = args[i]
		default:
			return inv, fmt.Errorf("salam %s: flag %s needs a value", inv.command, a)
		}
		inv.flags[name] = value
	}
	switch inv.command {
	case "tuning apply", "tuning check":
		if len(inv.args) != 1 || !slices.Contains(tuning.Names(), inv.args[0]) {
			return inv, fmt.Errorf("salam %s %v: want one profile of %v", inv.command, inv.args, tuning.Names())
		}
	case "edge", "core", "up":
		if len(inv.args) != 0 {
			return inv, fmt.Errorf("salam %s: unexpected arguments %v", inv.command, inv.args)
		}
	}
	return inv, nil
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestCLIFromSource keeps the source reading above honest: it must find what
// the README documents.
func TestCLIFromSource(t *testing.T) {
	c := loadCLI(t)
	for _, cmd := range []string{"up", "edge", "core", "tuning"} {
		if !c.commands[cmd] {
			t.Errorf("command %q not found", cmd)
		}
	}
	for _, f := range []string{"config", "listen", "nats", "postgres", "redis", "auth-secret"} {
		if _, ok := c.flags["edge"][f]; !ok {
			t.Errorf("flag --%s not found", f)
		}
	}
	if !c.flags["edge"]["pprof"] {
		t.Error("--pprof should be boolean")
	}
	for _, e := range []string{"SALAM_NATS_URL", "SALAM_AUTH_SECRET", "SALAM_POSTGRES_URL", "SALAM_REDIS_ADDR"} {
		if !c.env[e] {
			t.Errorf("%s not found", e)
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if !c.ops[p] {
			t.Errorf("operations path %s not found", p)
		}
	}
	for _, bad := range [][]string{{"nope"}, {"edge", "--nope"}, {"edge", "--config"}, {"tuning", "apply", "edge-2m"}, {"tuning", "fix", "edge-50k"}} {
		if _, err := c.parse(bad); err == nil {
			t.Errorf("salam %v accepted", bad)
		}
	}
	if _, err := c.parse([]string{"edge", "--config=/etc/salam/salam.yaml", "--pprof"}); err != nil {
		t.Error(err)
	}
}
