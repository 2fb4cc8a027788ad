package deploy_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/observe"
)

// natsSecrets are the environment of nats-server in the tests, as hub.env
// and leaf.env provide it on hosts.
type natsSecrets struct {
	corePassword, edgePassword string
	leafSeed, leafPublic       string
}

// setNATSEnv sets every variable the NATS configs read, with values in the
// form the docs ask for (passwords: a letter, then hex).
func setNATSEnv(t *testing.T, serverName string) natsSecrets {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	s := natsSecrets{corePassword: "p0123456789abcdef0123456789abcdef0123456789abcd",
		edgePassword: "p9e8d7c6b5a49382716059e8d7c6b5a4938271605", leafSeed: string(seed), leafPublic: pub}
	t.Setenv("NATS_SERVER_NAME", serverName)
	t.Setenv("NATS_CORE_PASSWORD", s.corePassword)
	t.Setenv("NATS_EDGE_PASSWORD", s.edgePassword)
	t.Setenv("NATS_LEAF_NKEY", s.leafPublic)
	t.Setenv("NATS_LEAF_SEED", s.leafSeed)
	return s
}

// natsWorkDir makes a working directory holding tls/ (the configs name
// their certificates relative to it, as nats-*.service's WorkingDirectory)
// and moves the test into it.
func natsWorkDir(t *testing.T, region string) {
	t.Helper()
	dir := t.TempDir()
	writePKI(t, dir, region)
	t.Chdir(dir)
}

func loadNATS(t *testing.T, path string) *server.Options {
	t.Helper()
	o, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("nats-server --config %s: %v", path, err)
	}
	return o
}

// TestNATSConfigsLoad parses every NATS config as nats-server --config
// would, and checks what the topology rests on: three routes per region,
// mutual TLS between routes, a TLS leaf listener, the SALAM account and its
// users, leaf nodes that listen on loopback only and log in by nkey, no
// gateway, no JetStream, and no host of another region.
func TestNATSConfigsLoad(t *testing.T) {
	var seen []string
	for _, r := range regions {
		t.Run(r, func(t *testing.T) {
			sec := setNATSEnv(t, "nats-2")
			natsWorkDir(t, r)
			for _, f := range []string{"cluster.conf", "leaf.conf"} {
				checkResidency(t, "nats/"+r+"/"+f, r, readFile(t, abs("nats/"+r+"/"+f)))
				seen = append(seen, r+"/"+f)
			}
			hub := loadNATS(t, abs("nats/"+r+"/cluster.conf"))
			checkHub(t, r, hub, sec)
			leaf := loadNATS(t, abs("nats/"+r+"/leaf.conf"))
			checkLeaf(t, r, leaf, sec)
		})
	}
	// No config may escape the checks above.
	err := filepath.WalkDir(abs("nats"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".conf") {
			return err
		}
		rel, _ := filepath.Rel(abs("nats"), path)
		if rel != "accounts.conf" && !slices.Contains(seen, filepath.ToSlash(rel)) {
			t.Errorf("nats/%s is not checked by any test", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkHub(t *testing.T, r string, o *server.Options, sec natsSecrets) {
	t.Helper()
	if o.ServerName != "nats-2" {
		t.Errorf("server_name = %q, want NATS_SERVER_NAME", o.ServerName)
	}
	if o.Port != 4222 || o.Cluster.Port != 6222 || o.LeafNode.Port != 7422 {
		t.Errorf("ports client %d, cluster %d, leafnodes %d; want 4222, 6222, 7422", o.Port, o.Cluster.Port, o.LeafNode.Port)
	}
	if o.Cluster.Name != "salam-"+r {
		t.Errorf("cluster name %q, want salam-%s", o.Cluster.Name, r)
	}
	var routes []string
	for _, u := range o.Routes {
		routes = append(routes, u.Host)
	}
	want := []string{"nats-1." + r + ".salam.internal:6222", "nats-2." + r + ".salam.internal:6222", "nats-3." + r + ".salam.internal:6222"}
	if !slices.Equal(routes, want) {
		t.Errorf("routes %v, want %v", routes, want)
	}
	if o.Cluster.TLSConfig == nil || o.Cluster.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Error("cluster routes must use mutual TLS (tls { verify: true })")
	}
	if o.LeafNode.TLSConfig == nil {
		t.Error("leafnodes listener without TLS")
	}
	if o.Gateway.Name != "" || o.Gateway.Port != 0 || len(o.Gateway.Gateways) > 0 {
		t.Error("a gateway is configured: nothing may cross regions (README, data residency)")
	}
	if o.JetStream {
		t.Error("JetStream is on; Salam uses core NATS only")
	}
	users := map[string]*server.User{}
	for _, u := range o.Users {
		users[u.Username] = u
	}
	core, edge := users["core"], users["edge"]
	if core == nil || edge == nil || len(users) != 2 {
		t.Fatalf("users %v, want core and edge", keys(boolSet(users)))
	}
	if core.Password != sec.corePassword || edge.Password != sec.edgePassword {
		t.Error("passwords do not come from NATS_CORE_PASSWORD / NATS_EDGE_PASSWORD as strings")
	}
	if len(o.Nkeys) != 1 || o.Nkeys[0].Nkey != sec.leafPublic {
		t.Fatalf("want one nkey user, the leaf's public key from NATS_LEAF_NKEY")
	}
	leaf := o.Nkeys[0]
	for who, acc := range map[string]*server.Account{"core": core.Account, "edge": edge.Account, "leaf": leaf.Account} {
		if acc == nil || acc.Name != "SALAM" {
			t.Errorf("user %s is not in account SALAM", who)
		}
	}
	if !reflect.DeepEqual(leaf.Permissions, edge.Permissions) {
		t.Error("the leaf user must have the edge's permissions: it carries edge traffic")
	}
	checkPermissions(t, core.Permissions, edge.Permissions)
}

func checkLeaf(t *testing.T, r string, o *server.Options, sec natsSecrets) {
	t.Helper()
	if o.Host != "127.0.0.1" || o.HTTPHost != "127.0.0.1" {
		t.Errorf("leaf listens on %s (monitoring %s); want 127.0.0.1: its client port has no auth", o.Host, o.HTTPHost)
	}
	if o.Port != 4222 {
		t.Errorf("leaf client port %d, want 4222 (edge.env: SALAM_NATS_URL=nats://127.0.0.1:4222)", o.Port)
	}
	if len(o.Users)+len(o.Nkeys) > 0 || o.Cluster.Port != 0 || o.LeafNode.Port != 0 || o.Gateway.Port != 0 {
		t.Error("a leaf of an edge host has no users, routes, leaf listener or gateway")
	}
	if len(o.LeafNode.Remotes) != 1 {
		t.Fatalf("%d leafnode remotes, want 1", len(o.LeafNode.Remotes))
	}
	rm := o.LeafNode.Remotes[0]
	var hosts []string
	for _, u := range rm.URLs {
		if u.Scheme != "tls" {
			t.Errorf("remote %s: want tls://", u)
		}
		hosts = append(hosts, u.Host)
	}
	want := []string{"nats-1." + r + ".salam.internal:7422", "nats-2." + r + ".salam.internal:7422", "nats-3." + r + ".salam.internal:7422"}
	if !slices.Equal(hosts, want) {
		t.Errorf("leaf remotes %v, want the region's three servers %v", hosts, want)
	}
	if rm.Nkey != sec.leafSeed {
		t.Error("leaf remote must log in with NATS_LEAF_SEED")
	}
	if rm.TLSConfig == nil || rm.TLSConfig.RootCAs == nil {
		t.Error("leaf remote must verify the cluster against the region's CA")
	}
}

// checkPermissions holds the users' permissions to the subjects internal/bus
// defines: edges send every request and report and publish typing events;
// core answers them and publishes events and replies; neither may do the
// other's part.
func checkPermissions(t *testing.T, core, edge *server.Permissions) {
	t.Helper()
	inbox := "_INBOX.8Ahy2S0fZk4RtB6a3Yd1Qe.17"
	cases := []struct {
		who    string
		perm   *server.SubjectPermission
		subj   string
		allows bool
	}{
		{"edge publish", edge.Publish, bus.PublishSubject("lobby"), true},
		{"edge publish", edge.Publish, bus.RequestSubject("lobby"), true},
		{"edge publish", edge.Publish, bus.RESTSubject, true},
		{"edge publish", edge.Publish, bus.PresenceSubject, true},
		{"edge publish", edge.Publish, bus.PresenceQuerySubject, true},
		{"edge publish", edge.Publish, bus.EventSubject("lobby"), true}, // typing
		{"edge publish", edge.Publish, "other.app", false},
		{"edge subscribe", edge.Subscribe, bus.EventSubject("lobby"), true},
		{"edge subscribe", edge.Subscribe, inbox, true},
		{"edge subscribe", edge.Subscribe, "_INBOX.8Ahy2S0fZk4RtB6a3Yd1Qe.*", true},
		{"edge subscribe", edge.Subscribe, bus.UserSubject("alice"), true}, // calls
		{"edge subscribe", edge.Subscribe, observe.WatchSubject, true},
		{"edge subscribe", edge.Subscribe, observe.InspectUserSubject, true},
		{"edge subscribe", edge.Subscribe, bus.PublishWildcard, false},
		{"edge subscribe", edge.Subscribe, bus.RESTSubject, false},
		{"core subscribe", core.Subscribe, bus.PublishWildcard, true},
		{"core subscribe", core.Subscribe, bus.RequestWildcard, true},
		{"core subscribe", core.Subscribe, bus.RESTSubject, true},
		{"core subscribe", core.Subscribe, bus.PresenceSubject, true},
		{"core subscribe", core.Subscribe, bus.PresenceQuerySubject, true},
		{"core subscribe", core.Subscribe, "_INBOX.>", false},
		{"core publish", core.Publish, bus.EventSubject("lobby"), true},
		{"core publish", core.Publish, inbox, true},
		{"core publish", core.Publish, bus.UserSubject("alice"), true},
		{"core publish", core.Publish, bus.PushCallSubject, true},
		{"core publish", core.Publish, bus.SFUSignalSubject, true},
		{"core publish", core.Publish, bus.SFUNodeSubject("media1"), true},
		{"core publish", core.Publish, bus.SFUAnnounceSubject, true}, // salam sfu logs in as core
		{"core publish", core.Publish, bus.LiveEventSubject, true},
		{"core publish", core.Publish, observe.WatchSubject, true},
		{"core publish", core.Publish, observe.AuditSubject, true},
		{"core publish", core.Publish, bus.PublishSubject("lobby"), false},
		{"core publish", core.Publish, bus.RESTSubject, false},
	}
	for _, c := range cases {
		if got := allowed(c.perm, c.subj); got != c.allows {
			t.Errorf("%s %s: allowed = %v, want %v", c.who, c.subj, got, c.allows)
		}
	}
	// Subjects internal/bus adds later must be covered too: by default a new
	// subject is a request from edge to core; an event goes core → edge.
	for _, subj := range busSubjects(t) {
		concrete := concreteSubject(subj)
		if strings.HasPrefix(concrete, bus.EventSubject("")) {
			if !allowed(core.Publish, concrete) || !allowed(edge.Subscribe, subj) {
				t.Errorf("event subject %s: core must publish it and edges subscribe to it", subj)
			}
			continue
		}
		if !allowed(edge.Publish, concrete) || !allowed(core.Subscribe, subj) {
			t.Errorf("subject %s of internal/bus: edges must publish it and core subscribe to it (accounts.conf)", subj)
		}
	}
}

// allowed reports whether p lets a client use subject, which may hold
// wildcards (a subscription): it must fall within an allow and touch no deny.
func allowed(p *server.SubjectPermission, subject string) bool {
	if p == nil {
		return true
	}
	ok := len(p.Allow) == 0
	for _, a := range p.Allow {
		ok = ok || subjectWithin(subject, a)
	}
	for _, d := range p.Deny {
		ok = ok && !server.SubjectsCollide(subject, d)
	}
	return ok
}

// subjectWithin reports whether every subject that subject matches is also
// matched by pattern.
func subjectWithin(subject, pattern string) bool {
	s, p := strings.Split(subject, "."), strings.Split(pattern, ".")
	for i, pt := range p {
		if pt == ">" {
			return len(s) > i
		}
		if i >= len(s) || s[i] == ">" || (pt != "*" && pt != s[i]) {
			return false
		}
	}
	return len(s) == len(p)
}

// concreteSubject fills a subject pattern or prefix with a channel name.
func concreteSubject(s string) string {
	if strings.HasSuffix(s, ".") {
		s += "lobby"
	}
	toks := strings.Split(s, ".")
	for i, tok := range toks {
		if tok == "*" || tok == ">" {
			toks[i] = "lobby"
		}
	}
	return strings.Join(toks, ".")
}

// busSubjects evaluates the string constants of internal/bus that are
// subjects (or subject prefixes) under bus.Prefix.
func busSubjects(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, repo("internal/bus"), func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	exprs := map[string]ast.Expr{}
	for _, f := range pkgs["bus"].Files {
		for _, d := range f.Decls {
			if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.CONST {
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							exprs[n.Name] = vs.Values[i]
						}
					}
				}
			}
		}
	}
	var eval func(e ast.Expr) (string, bool)
	eval = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			return stringLit(e)
		case *ast.Ident:
			if x, ok := exprs[e.Name]; ok {
				return eval(x)
			}
		case *ast.ParenExpr:
			return eval(e.X)
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				a, ok1 := eval(e.X)
				b, ok2 := eval(e.Y)
				return a + b, ok1 && ok2
			}
		}
		return "", false
	}
	var out []string
	for name, e := range exprs {
		if s, ok := eval(e); ok && strings.HasPrefix(s, bus.Prefix+".") && name != "QueueCore" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	if !slices.Contains(out, bus.PresenceSubject) || !slices.Contains(out, bus.PublishWildcard) {
		t.Fatalf("internal/bus subjects read from source: %v; has its source changed shape?", out)
	}
	return out
}

// startNATS starts a server from o on loopback only: every listener is
// rewritten to 127.0.0.1 with a free port, monitoring is off.
func startNATS(t *testing.T, o *server.Options) *server.Server {
	t.Helper()
	o.Host, o.Port = "127.0.0.1", server.RANDOM_PORT
	o.HTTPHost, o.HTTPPort = "127.0.0.1", 0
	if o.Cluster.Port != 0 {
		o.Cluster.Host, o.Cluster.Port = "127.0.0.1", server.RANDOM_PORT
	}
	if o.LeafNode.Port != 0 {
		o.LeafNode.Host, o.LeafNode.Port = "127.0.0.1", server.RANDOM_PORT
	}
	for _, u := range o.Routes {
		if u.Hostname() != "127.0.0.1" {
			t.Fatalf("route %s would leave loopback", u)
		}
	}
	for _, rm := range o.LeafNode.Remotes {
		for _, u := range rm.URLs {
			if u.Hostname() != "127.0.0.1" {
				t.Fatalf("leaf remote %s would leave loopback", u)
			}
		}
	}
	o.NoSigs, o.NoLog = true, true
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return s
}

// connect opens a client connection whose asynchronous errors (permission
// violations) arrive on errs.
func connect(t *testing.T, url string, errs chan<- error, opts ...nats.Option) *nats.Conn {
	t.Helper()
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// userURL is s's client URL with a user and password, as in SALAM_NATS_URL.
func userURL(s *server.Server, user, password string) string {
	u, err := url.Parse(s.ClientURL())
	if err != nil {
		panic(err)
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

// busConnect connects like a salam process with SALAM_NATS_URL=natsURL.
func busConnect(t *testing.T, natsURL string) *nats.Conn {
	t.Helper()
	cfg := bus.Config{URLs: strings.Split(natsURL, ",")}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	nc, err := bus.Connect(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func receive(t *testing.T, ch <-chan *nats.Msg, what string) *nats.Msg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(3 * time.Second):
		t.Fatalf("no %s", what)
		return nil
	}
}

// TestNATSLeafTopology runs Bahrain's topology on loopback from the real
// configs: two cluster servers joined by a TLS route, and an edge host's leaf
// node attached to the first over TLS with its nkey. An edge on the leaf and
// core on the second server then do what Salam does on the bus: publish and
// subscribe requests with replies, events, typing, presence and REST, each
// crossing leaf → route → server; and the permissions hold.
func TestNATSLeafTopology(t *testing.T) {
	const r = "bahrain"
	sec := setNATSEnv(t, "nats-1")
	natsWorkDir(t, r)

	o1 := loadNATS(t, abs("nats/"+r+"/cluster.conf"))
	o1.Routes = nil
	s1 := startNATS(t, o1)
	t.Setenv("NATS_SERVER_NAME", "nats-2")
	o2 := loadNATS(t, abs("nats/"+r+"/cluster.conf"))
	o2.Routes = []*url.URL{{Scheme: "nats-route", Host: s1.ClusterAddr().String()}}
	s2 := startNATS(t, o2)
	lo := loadNATS(t, abs("nats/"+r+"/leaf.conf"))
	lo.LeafNode.Remotes[0].URLs = []*url.URL{{Scheme: "tls", Host: fmt.Sprintf("127.0.0.1:%d", o1.LeafNode.Port)}}
	leaf := startNATS(t, lo)
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if s1.NumRoutes() == 0 || s2.NumRoutes() == 0 {
			return errors.New("route between nats-1 and nats-2 not up")
		}
		if s1.NumLeafNodes() != 1 || leaf.NumLeafNodes() != 1 {
			return errors.New("leaf node not connected to nats-1")
		}
		return nil
	})

	errs := make(chan error, 16)
	// core and the leaf's edge connect as salam does, through bus.Connect with
	// SALAM_NATS_URL: credentials in the URL (Secret core-nats-url), none on
	// the edge host's loopback (edge.env). edge2 is a Kubernetes edge pod on
	// nats-1 (Secret edge-nats-url).
	core := busConnect(t, userURL(s2, "core", sec.corePassword))
	edge := busConnect(t, leaf.ClientURL())
	edge2 := connect(t, userURL(s1, "edge", sec.edgePassword), errs)

	reports := make(chan *nats.Msg, 4)
	for _, subj := range []string{bus.PublishWildcard, bus.RequestWildcard, bus.RESTSubject, bus.PresenceQuerySubject} {
		if _, err := core.QueueSubscribe(subj, bus.QueueCore, func(m *nats.Msg) {
			if strings.HasPrefix(m.Subject, bus.PublishSubject("")) {
				core.Publish(bus.EventSubject("lobby"), []byte("event"))
			}
			m.Respond([]byte("reply to " + m.Subject))
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := core.ChanQueueSubscribe(bus.PresenceSubject, bus.QueueCore, reports); err != nil {
		t.Fatal(err)
	}
	core.Flush()
	events, events2 := make(chan *nats.Msg, 256), make(chan *nats.Msg, 256)
	if _, err := edge.ChanSubscribe(bus.EventSubject("lobby"), events); err != nil {
		t.Fatal(err)
	}
	if _, err := edge2.ChanSubscribe(bus.EventSubject("lobby"), events2); err != nil {
		t.Fatal(err)
	}
	edge.Flush()
	edge2.Flush()

	// Interest crosses route and leaf asynchronously: retry the first request.
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		_, err := edge.Request(bus.PublishSubject("lobby"), []byte("publish"), 500*time.Millisecond)
		return err
	})
	// Both edges get core's event once their interest has reached core's
	// server; until then, publish again.
	for _, ch := range []chan *nats.Msg{events, events2} {
		checkFor(t, 3*time.Second, 20*time.Millisecond, func() error {
			for m := next(ch); m != nil; m = next(ch) {
				if string(m.Data) == "event" {
					return nil
				}
			}
			edge.Request(bus.PublishSubject("lobby"), []byte("publish"), 500*time.Millisecond)
			return errors.New("no event from core")
		})
	}
	for _, subj := range []string{bus.RequestSubject("lobby"), bus.RESTSubject, bus.PresenceQuerySubject} {
		m, err := edge.Request(subj, []byte("req"), 2*time.Second)
		if err != nil {
			t.Fatalf("request %s from the leaf: %v", subj, err)
		}
		if string(m.Data) != "reply to "+subj {
			t.Fatalf("request %s from the leaf: reply %q", subj, m.Data)
		}
	}
	edge.Publish(bus.PresenceSubject, []byte("report"))
	if m := receive(t, reports, "presence report at core"); string(m.Data) != "report" {
		t.Fatalf("presence report %q", m.Data)
	}

	// Typing: an edge on the leaf publishes an event that edges elsewhere get.
	edge.Publish(bus.EventSubject("lobby"), []byte("typing"))
	for string(receive(t, events2, "typing event").Data) != "typing" {
	}

	// The leaf connection carries only what an edge may receive: a local
	// process on the edge host cannot listen to other edges' requests.
	// The marker on the same connection and path comes after the denied
	// message, so once it arrives the denied one never will.
	rogue := make(chan *nats.Msg, 256)
	spy := connect(t, leaf.ClientURL(), errs)
	spy.ChanSubscribe(bus.PublishWildcard, rogue)
	spy.ChanSubscribe(bus.EventSubject("marker"), rogue)
	spy.Flush()
	var first *nats.Msg
	checkFor(t, 3*time.Second, 20*time.Millisecond, func() error {
		edge2.Publish(bus.PublishSubject("lobby"), []byte("secret"))
		edge2.Publish(bus.EventSubject("marker"), []byte("marker"))
		edge2.Flush()
		select {
		case first = <-rogue:
			return nil
		case <-time.After(100 * time.Millisecond):
			return errors.New("marker not through the leaf yet")
		}
	})
	for m := first; m != nil; m = next(rogue) {
		if m.Subject != bus.EventSubject("marker") {
			t.Fatalf("leaf delivered %s to a local subscriber: the leaf user's permissions do not hold", m.Subject)
		}
	}

	// Each role is refused the other's part.
	edge2.Subscribe(bus.PublishWildcard, func(*nats.Msg) {})
	expectViolation(t, errs, "edge subscribing to "+bus.PublishWildcard)
	coreErrs := make(chan error, 16)
	connect(t, userURL(s2, "core", sec.corePassword), coreErrs).Publish(bus.PublishSubject("lobby"), nil)
	expectViolation(t, coreErrs, "core publishing to "+bus.PublishSubject("lobby"))
}

// next returns a message already waiting on ch, or nil.
func next(ch chan *nats.Msg) *nats.Msg {
	select {
	case m := <-ch:
		return m
	default:
		return nil
	}
}

var violation = regexp.MustCompile(`(?i)permissions violation`)

// expectViolation waits for a permissions violation on errs, passing over
// other asynchronous errors (a slow consumer of the test's channels).
func expectViolation(t *testing.T, errs <-chan error, what string) {
	t.Helper()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case err := <-errs:
			if violation.MatchString(err.Error()) {
				return
			}
		case <-timeout:
			t.Fatalf("%s was not refused", what)
		}
	}
}

func boolSet[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}
