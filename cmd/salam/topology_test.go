package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// topology is issue 9's production shape on loopback: a NATS cluster of
// three servers (in this test process, so that one can be restarted), two
// `salam core` processes on Postgres and Redis, and three `salam edge`
// processes. Postgres and Redis are reached through proxies that a test
// can cut, as a network partition or a restart would.
type topology struct {
	t      *testing.T
	data   string
	config string
	nats   []*natsNode
	pg     *proxy
	redis  *proxy
	cores  []*proc
	edges  []*proc
}

// faultConfig lifts the per-connection rate limits (one publisher sends
// for many users here) and shortens what a test would otherwise wait for.
const faultConfig = `edge:
  publish_rate: 100000
  publish_burst: 100000
  user_publish_rate: 100000
  user_publish_burst: 100000
  frame_rate: 100000
  frame_burst: 100000
  presence_beat: 1s
nats:
  request_timeout: 2s
`

func startTopology(t *testing.T) *topology {
	pgURL, redisAddr := testServer(t, "SALAM_TEST_POSTGRES"), testServer(t, "SALAM_TEST_REDIS")
	if testing.Short() {
		t.Skip("starts a NATS cluster and five salam processes")
	}
	top := &topology{t: t, data: t.TempDir()}
	top.config = filepath.Join(top.data, "salam.yaml")
	if err := os.WriteFile(top.config, []byte(faultConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	top.nats = startNATSCluster(t, 3)
	var urls []string
	for _, n := range top.nats {
		urls = append(urls, n.url())
	}
	top.pg = startProxy(t, hostPort(t, pgURL))
	top.redis = startProxy(t, redisAddr)
	pgVia := strings.Replace(pgURL, hostPort(t, pgURL), top.pg.addr, 1)
	common := []string{"--nats", strings.Join(urls, ","), "--redis", top.redis.addr, "--data", top.data, "--config", top.config}
	for i := 0; i < 2; i++ {
		top.cores = append(top.cores, start(t, append([]string{"core", "--listen", "127.0.0.1:0", "--postgres", pgVia}, common...)...))
	}
	for i := 0; i < 3; i++ {
		top.edges = append(top.edges, start(t, append([]string{"edge", "--listen", "127.0.0.1:0"}, common...)...))
	}
	return top
}

// kill ends p with SIGKILL: no drain, no flush.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	err := <-p.done
	p.done <- err // for the cleanup's receive
}

func hostPort(t *testing.T, rawURL string) string {
	rest := rawURL[strings.Index(rawURL, "@")+1:]
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	if _, _, err := net.SplitHostPort(rest); err != nil {
		t.Fatalf("no host:port in %q", rawURL)
	}
	return rest
}

// natsNode is one server of an in-process NATS cluster on loopback, which
// a test can stop and start again on the same ports.
type natsNode struct {
	t      *testing.T
	port   int
	routes string // the cluster's route URLs
	route  int    // its own cluster port
	mu     sync.Mutex
	srv    *server.Server
}

func startNATSCluster(t *testing.T, n int) []*natsNode {
	nodes := make([]*natsNode, n)
	var routes []string
	for i := range nodes {
		nodes[i] = &natsNode{t: t, port: freePort(t), route: freePort(t)}
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", nodes[i].route))
	}
	for _, nd := range nodes {
		nd.routes = strings.Join(routes, ",")
		nd.start()
		t.Cleanup(nd.stop)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, nd := range nodes {
		for nd.srv.NumRoutes() < n-1 {
			if time.Now().After(deadline) {
				t.Fatalf("NATS cluster did not form: %d routes", nd.srv.NumRoutes())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nodes
}

func (nd *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", nd.port) }

func (nd *natsNode) start() {
	opts := &server.Options{ServerName: fmt.Sprintf("n%d", nd.port), Host: "127.0.0.1", Port: nd.port,
		NoLog: true, NoSigs: true, Cluster: server.ClusterOpts{Name: "salam-faults", Host: "127.0.0.1", Port: nd.route},
		Routes: server.RoutesFromStr(nd.routes)}
	s, err := server.NewServer(opts)
	if err != nil {
		nd.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		nd.t.Fatal("NATS server not ready")
	}
	nd.mu.Lock()
	nd.srv = s
	nd.mu.Unlock()
}

func (nd *natsNode) stop() {
	nd.mu.Lock()
	s := nd.srv
	nd.mu.Unlock()
	s.Shutdown()
	s.WaitForShutdown()
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proxy forwards TCP connections to a server. cut closes every connection
// and refuses new ones, as a partition or a server restart does; restore
// accepts again on the same address.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), target: target, conns: map[net.Conn]struct{}{}}
	p.restore()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *proxy) pipe(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, s) {
		return
	}
	go func() { io.Copy(s, c); s.Close() }()
	io.Copy(c, s)
	c.Close()
}

// track registers a connection pair unless the proxy was cut meanwhile.
func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}
