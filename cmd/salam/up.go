package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/salamhq/salam/core/calls"
	"github.com/salamhq/salam/core/chat"
	"github.com/salamhq/salam/core/console"
	"github.com/salamhq/salam/core/live"
	"github.com/salamhq/salam/core/presence"
	"github.com/salamhq/salam/edge"
	"github.com/salamhq/salam/internal/auth"
	"github.com/salamhq/salam/internal/bus"
	"github.com/salamhq/salam/internal/devturn"
	"github.com/salamhq/salam/internal/observe"
	"github.com/salamhq/salam/sfu"
)

// roles says which components a process runs.
type roles struct{ edge, core, sfu, ingest, embeddedNATS bool }

func cmdUp(args []string) error {
	return run("up", args, roles{edge: true, core: true, sfu: true, ingest: true, embeddedNATS: true})
}
func cmdSFU(args []string) error  { return run("sfu", args, roles{sfu: true}) }
func cmdEdge(args []string) error { return run("edge", args, roles{edge: true}) }
func cmdCore(args []string) error { return run("core", args, roles{core: true}) }

// run wires the components of one process, serves until SIGINT/SIGTERM and
// then shuts down in reverse order: drain the edge, stop core, drain NATS.
func run(name string, args []string, r roles) error {
	cfg, err := parseConfig(name, args)
	if err != nil {
		return err
	}
	log := cfg.logger()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(cfg.gcPercent(r))
	}
	if len(cfg.NATS.URLs) > 0 {
		r.embeddedNATS = false
	} else if !r.embeddedNATS {
		return fmt.Errorf("salam %s needs --nats (or SALAM_NATS_URL)", name)
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var ns *server.Server
	if r.embeddedNATS {
		if ns, err = bus.StartEmbedded(cfg.Embedded, log); err != nil {
			return err
		}
		defer ns.Shutdown()
	}
	cfg.NATS.Name = "salam-" + name
	nc, err := bus.Connect(cfg.NATS, ns, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	reg.MustRegister(observe.NATSClientCollectors(nc)...)
	if ns != nil {
		reg.MustRegister(observe.EmbeddedNATSCollectors(ns)...)
	}
	reporter, err := observe.NewReporter(nc, r.kind(), reg, log)
	if err != nil {
		return err
	}
	if err := reporter.Start(); err != nil {
		return err
	}
	defer reporter.Stop()
	tracer, err := observe.NewTracer(nc, reporter.Node(), cfg.Trace, log)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		tracer.Shutdown(ctx)
		cancel()
	}()

	stopIngest := func() {}
	if r.ingest && cfg.Ingest.Enabled { // before core: the live API hands out its bound URLs
		if _, stopIngest, err = startIngest(cfg, nc, reporter.Node(), log, reg); err != nil {
			return err
		}
		defer stopIngest()
	}
	var core *chat.Service
	var pres *presence.Service
	var callSvc *calls.Service
	var liveSvc *live.Service
	var presenceStore presence.Store
	var callsStore calls.Store
	if r.core {
		store, err := openStore(cfg)
		if err != nil {
			return err
		}
		defer store.Close()
		if core, err = chat.NewService(nc, store, cfg.Chat, log); err != nil {
			return err
		}
		core.SetTracer(tracer)
		registerStoreHealth(reg, store)
		if err := core.Start(); err != nil {
			return err
		}
		pstore, closePresence, err := openPresence(cfg)
		if err != nil {
			return err
		}
		defer closePresence()
		registerRedisHealth(reg, pstore)
		presenceStore = pstore
		pres, err = presence.NewService(nc, pstore, channelsOf{store, cfg.Presence.AnnounceMaxMembers}, cfg.Presence.Service, log)
		if err != nil {
			return err
		}
		if err := pres.Start(); err != nil {
			return err
		}
		defer pres.Stop()
		callsStore = store
		if callSvc, err = calls.NewService(nc, store, store, cfg.Calls, log); err != nil {
			return err
		}
		if cfg.DevTURN.Enabled {
			turn, err := devturn.Start(cfg.DevTURN, cfg.Calls.ICE.TURNSecret)
			if err != nil {
				return err
			}
			defer turn.Close()
			ice := cfg.Calls.ICE
			stun, turnURLs := turn.URLs()
			ice.STUNURLs, ice.TURNURLs = append(stun, ice.STUNURLs...), append(turnURLs, ice.TURNURLs...)
			ice.TURNSecret = turn.Secret
			callSvc.SetICE(ice)
			log.Info("development TURN server", "listen", turn.Addr())
		}
		if err := callSvc.Start(); err != nil {
			return err
		}
		defer callSvc.Stop()
		if liveSvc, err = live.NewService(nc, store, store, cfg.Live, log); err != nil {
			return err
		}
		if err := liveSvc.Start(); err != nil {
			return err
		}
		defer liveSvc.Stop()
	}
	var sfuNode *sfu.Node
	if r.sfu && (name == "sfu" || !cfg.SFU.Disabled) {
		if sfuNode, err = sfu.New(cfg.SFU, nc, log, reg); err != nil {
			return err
		}
		if err := sfuNode.Start(); err != nil {
			return err
		}
		defer sfuNode.Stop()
		log.Info("sfu node", "node", sfuNode.ID(), "loopback", cfg.SFU.Loopback, "udp_ports",
			fmt.Sprintf("%d-%d", cfg.SFU.UDPPortMin, cfg.SFU.UDPPortMax), "nat_1to1_ips", cfg.SFU.NAT1To1IPs)
	}
	var verifier *auth.Verifier
	if r.edge || r.core {
		if verifier, err = cfg.verifier(); err != nil {
			return err
		}
	}
	var srv *edge.Server
	var draining atomic.Bool
	mux := opsHandler(reg, nc, cfg.Pprof, draining.Load)
	if core != nil { // REST /v1 runs in core, with the WebSocket's tokens, here and for every edge over NATS
		authenticate := func(r *http.Request) (string, error) {
			claims, err := verifier.Verify(auth.TokenFromRequest(r.Header.Get("Authorization"), r.URL.RawQuery))
			return claims.UserID, err
		}
		api := http.NewServeMux()
		api.Handle("/v1/", chat.NewAPI(core, authenticate))
		api.Handle("/v1/presence", presence.NewAPI(pres, authenticate))
		api.Handle("/v1/presence/", presence.NewAPI(pres, authenticate))
		callsAPI := calls.NewAPI(callSvc, authenticate)
		for _, route := range calls.Routes() {
			api.Handle(route, callsAPI)
		}
		liveAPI := live.NewAPI(liveSvc, authenticate)
		for _, route := range live.Routes() {
			api.Handle(route, liveAPI)
		}
		mux.Handle("/v1/", restCORS(cfg.Edge.AllowedOrigins, api))
		if !cfg.Console.Disabled {
			audit, _ := core.Store().(console.AuditLog) // both stores keep the audit log (table audit_log)
			con, err := console.New(console.Options{Config: cfg.Console, NATS: nc, Chat: core.Store(), Audit: audit, Presence: presenceStore, Calls: callsStore, Live: liveSvc, REST: api, Logger: log,
				Authenticate: func(r *http.Request) (auth.Claims, error) {
					return verifier.Verify(auth.TokenFromRequest(r.Header.Get("Authorization"), r.URL.RawQuery))
				}})
			if err != nil {
				return err
			}
			if err := con.Start(); err != nil {
				return err
			}
			defer con.Stop()
			h := con.Handler()
			mux.Handle(console.Path, h)
			mux.Handle(console.Path+"/", h)
		}
		if _, err := bus.ServeHTTP(nc, api); err != nil {
			return err
		}
	} else if r.edge { // an SFU alone serves operations only
		mux.Handle("/v1/", restCORS(cfg.Edge.AllowedOrigins, &bus.HTTPForwarder{NC: nc}))
	}
	var httpSrv *http.Server
	if r.edge {
		limiter, closeLimiter, err := openLimiter(cfg)
		if err != nil {
			return err
		}
		defer closeLimiter()
		srv, err = edge.New(edge.Options{Config: cfg.Edge, Verifier: verifier, NATS: nc,
			RequestTimeout: cfg.NATS.RequestTimeout, Logger: log, Registerer: reg, Handler: mux, Limiter: limiter, Tracer: tracer, Node: reporter.Node()})
		if err != nil {
			return err
		}
		if err := srv.Listen(); err != nil {
			return err
		}
		announce(name, srv.Addr().String(), cfg, ns)
	} else { // core alone: REST and operations on a plain HTTP listener
		ln, err := net.Listen("tcp", cfg.Edge.Listen)
		if err != nil {
			return err
		}
		httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: cfg.Edge.HandshakeTimeout}
		go httpSrv.Serve(ln)
		if r.core {
			announce(name, ln.Addr().String(), cfg, ns)
		} else {
			fmt.Fprintf(os.Stderr, "salam %s: listening on %s (health and metrics: /healthz /readyz /metrics); sfu node %s\n",
				name, ln.Addr(), sfuNode.ID())
		}
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	sig := <-stop
	log.Info("shutting down", "signal", sig.String())
	go func() { <-stop; log.Warn("second signal: exiting now"); os.Exit(1) }()

	draining.Store(true)
	stopIngest() // publishers disconnect; their stop events go out before NATS drains
	if srv != nil {
		srv.Drain(context.Background())
		srv.Close()
	}
	if httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		httpSrv.Shutdown(ctx)
		cancel()
	}
	if callSvc != nil { // before NATS drains: its calls end, and the participants are told
		callSvc.Stop()
	}
	if sfuNode != nil { // its rooms close: peer connections end
		sfuNode.Stop()
	}
	if core != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		core.Stop(ctx)
		cancel()
	}
	if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		log.Warn("nats drain", "err", err)
	}
	return nil
}

// opsHandler serves the operations routes: health, readiness, metrics.
func opsHandler(reg *prometheus.Registry, nc *nats.Conn, pprofOn bool, draining func() bool) *http.ServeMux {
	mux := http.NewServeMux()
	if pprofOn {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case draining():
			http.Error(w, "draining", http.StatusServiceUnavailable)
		case !nc.IsConnected():
			http.Error(w, "nats disconnected", http.StatusServiceUnavailable)
		default:
			w.Write([]byte("ready\n"))
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

func announce(name, addr string, cfg *config, ns *server.Server) {
	natsInfo := "external " + fmt.Sprint(cfg.NATS.URLs)
	if ns != nil {
		natsInfo = "embedded (in-process)"
		if cfg.Embedded.Listen != "" {
			natsInfo = "embedded, clients at " + ns.ClientURL()
		}
	}
	store := "sqlite " + cfg.Store.SQLitePath
	if cfg.Store.PostgresURL != "" {
		store = "postgres"
	}
	fmt.Fprintf(os.Stderr, `salam %s: listening on %s
  websocket  ws://%s%s   (subprotocols salam.v1, salam.v1.json)
  rest       http://%s/v1/channels   (same token: Authorization: Bearer)
  health     http://%s/healthz  /readyz  /metrics
  console    http://%s/console   (admin token: salam token --user ops --admin)
  store      %s
  nats       %s
  token      salam token --user alice --data %s
`, name, addr, addr, edge.WebSocketPath, addr, addr, addr, store, natsInfo, cfg.Data)
	slog.Debug("edge config", "config", fmt.Sprintf("%+v", cfg.Edge))
}
