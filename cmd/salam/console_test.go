package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// chromiumPath is Debian's chromium, which .ci/deps installs.
const chromiumPath = "/usr/bin/chromium"

// adminToken mints a token with the admin role claim, as an operator would.
func adminToken(t testing.TB, data, user string) string {
	t.Helper()
	out, err := exec.Command(salamBin, "token", "--user", user, "--admin", "--data", data).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// artifactsDir is where screenshots go: $SALAM_ARTIFACTS when set (CI keeps
// it), else the test's temporary directory.
func artifactsDir(t *testing.T) string {
	if d := os.Getenv("SALAM_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// The console end to end in headless Chromium against a real salam up: the
// page opens with an admin token, the connection count rises when two test
// clients connect, the page creates a channel and sends a message, every
// hop of its journey renders with a duration, and the receipts of the
// recipient arrive (as events on the page and as hops of the journey).
func TestConsoleInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing: .ci/deps installs chromium", chromiumPath)
		}
		t.Skipf("%s missing (apt-get install chromium)", chromiumPath)
	}
	data := t.TempDir()
	up := start(t, "up", "--listen", "127.0.0.1:0", "--data", data)
	opsTok, aliceTok, bobTok := adminToken(t, data, "ops"), devToken(t, data, "alice"), devToken(t, data, "bob")
	art := artifactsDir(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, chromedp.Flag("headless", true), chromedp.WindowSize(1400, 1300),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	shot := func(name string) {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(art, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	text := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	waitFor := func(what string, timeout time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !ok() {
			if time.Now().After(deadline) {
				shot("console-failed.png")
				t.Fatalf("timed out waiting for %s; page status %q, send %q, journey %q", what, text("#status"),
					text("#send-status"), text("#journey-status"))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate("http://"+up.addr+"/console/#token="+opsTok),
		chromedp.WaitVisible(chromedp.CSS("#app")),
	); err != nil {
		t.Fatal(err)
	}
	// The live overview: the node shows up, then two clients connect.
	waitFor("the node in the overview", 15*time.Second, func() bool {
		return strings.Contains(text("#nodes tbody"), "edge+core")
	})
	before, _ := strconv.Atoi(text("#conn-total"))
	cctx, ccancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer ccancel()
	alice, bob := connect(t, up.addr, aliceTok), connect(t, up.addr, bobTok)
	waitFor("the connection count to rise by 2", 15*time.Second, func() bool {
		n, _ := strconv.Atoi(text("#conn-total"))
		return n >= before+2
	})
	shot("console-overview.png")

	// The journey: the page creates a channel with alice and bob in it,
	// subscribes over its own WebSocket and sends a traced message.
	const channel = "console-e2e"
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#channel"), channel),
		chromedp.SetValue(chromedp.CSS("#members"), "alice,bob"),
		chromedp.Click(chromedp.CSS("#create")),
	); err != nil {
		t.Fatal(err)
	}
	waitFor("the channel to be created", 10*time.Second, func() bool {
		return strings.Contains(text("#journey-status"), "created")
	})
	for _, c := range []*wsclient.Conn{alice, bob} {
		if err := c.Subscribe(cctx, channel); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#send"))); err != nil {
		t.Fatal(err)
	}
	waitFor("the send's ack", 20*time.Second, func() bool { return strings.Contains(text("#send-status"), "sent #1 ") })
	// Bob receives it, then says so: delivered, then read.
	var ev wire.Frame
	bob.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
	for ev.Type != wire.TypeEvent || ev.Seq != 1 {
		if err := bob.Read(&ev); err != nil {
			t.Fatalf("bob's event: %v", err)
		}
	}
	if ev.From != "ops" {
		t.Fatalf("bob's event %+v", ev)
	}
	bob.NetConn().SetReadDeadline(time.Time{})
	for _, kind := range []uint8{wire.ReceiptDelivered, wire.ReceiptRead} {
		if _, err := bob.Call(cctx, &wire.Frame{Type: wire.TypeReceipt, Channel: channel, Seq: 1, Kind: kind}, func(*wire.Frame) {}); err != nil {
			t.Fatal(err)
		}
	}
	hops := []string{"edge received", "bus → core", "core: access check", "core: batch wait",
		"store: de-dup, sequence, commit", "core: event published", "bus → edge", "edge fan-out (delivered)",
		"core: ack sent", "receipt: delivered", "receipt: read"}
	var rendered []string
	waitFor("every hop of the journey", 20*time.Second, func() bool {
		rows, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#journey .hop")].map(r =>
			r.querySelector(".hop-name").textContent + "|" + r.querySelector(".hop-dur").textContent)`))
		rendered = rows
		for _, h := range hops {
			found := false
			for _, r := range rows {
				name, dur, _ := strings.Cut(r, "|")
				found = found || name == h && strings.HasSuffix(dur, " ms")
			}
			if !found {
				return false
			}
		}
		return true
	})
	t.Logf("journey: %s", strings.Join(rendered, "; "))
	waitFor("the read receipt on the page", 10*time.Second, func() bool {
		return strings.Contains(text("#receipts"), "read up to #1 by bob")
	})
	shot("console-journey.png")

	// The audit log recorded the console's opening, the channel's creation,
	// the send and the journey view, and its hash chain holds.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#audit-refresh"))); err != nil {
		t.Fatal(err)
	}
	waitFor("the audit log", 10*time.Second, func() bool {
		table := text("#audit tbody")
		return strings.Contains(table, "console.open") && strings.Contains(table, "view.journey") &&
			strings.Contains(table, "action.create_channel") && strings.Contains(table, "action.send") &&
			text("#audit-chain") == "chain: ok"
	})
	shot("console-audit.png")

	// Inspect: the channel's subscribers on this edge (alice, bob, the
	// page), and alice's connection with her presence.
	// An edge that answers after the gathering window is missing from one
	// answer: ask again, as an operator would.
	inspect := func(what, form string, ok func(string) bool) {
		t.Helper()
		lastClick := time.Time{}
		waitFor(what, 15*time.Second, func() bool {
			if time.Since(lastClick) > 2*time.Second {
				lastClick = time.Now()
				if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(form+" button"))); err != nil {
					t.Fatal(err)
				}
			}
			return ok(text("#inspect"))
		})
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#inspect-id"), channel),
		chromedp.SetValue(chromedp.CSS("#inspect-user"), "alice")); err != nil {
		t.Fatal(err)
	}
	inspect("the channel inspection", "#inspect-form", func(s string) bool {
		return strings.Contains(s, `"subscribers": 3`) && strings.Contains(s, `"last_seq": 1`)
	})
	inspect("the user inspection", "#inspect-user-form", func(s string) bool {
		return strings.Contains(s, `"online": true`) && strings.Contains(s, `"protocol": "salam.v1"`)
	})
	shot("console-inspect.png")

	// Calls & live: the in-process SFU node answers the rooms view (no
	// room), and the streams view answers (no stream live).
	for _, v := range []struct{ button, status, want string }{
		{"#rooms-refresh", "#rooms-status", "1 SFU node(s), 0 room(s)"},
		{"#streams-refresh", "#streams-status", "0 stream(s)"},
	} {
		lastClick := time.Time{}
		waitFor(v.status, 15*time.Second, func() bool {
			if time.Since(lastClick) > 2*time.Second {
				lastClick = time.Now()
				if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(v.button))); err != nil {
					t.Fatal(err)
				}
			}
			return strings.HasPrefix(text(v.status), v.want)
		})
	}
	shot("console-media.png")
}

// An ordinary client's message is traced when sampled (here
// trace.sample_rate 1), and its journey never carries the body.
func TestJourneyOfSampledClientMessage(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(data, "salam.yaml")
	if err := os.WriteFile(cfg, []byte("trace:\n  sample_rate: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	up := start(t, "up", "--listen", "127.0.0.1:0", "--data", data, "--config", cfg)
	opsTok, aliceTok := adminToken(t, data, "ops"), devToken(t, data, "alice")
	if code := rest(t, up.addr, aliceTok, "POST", "/v1/channels", map[string]any{"id": "sampled", "name": "s", "kind": "group"}, nil); code != 201 {
		t.Fatalf("create channel: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice := connect(t, up.addr, aliceTok)
	if err := alice.Subscribe(ctx, "sampled"); err != nil {
		t.Fatal(err)
	}
	const secret = "a body nobody may see"
	if _, err := alice.Call(ctx, &wire.Frame{Type: wire.TypePublish, Channel: "sampled", MsgID: "m1", Data: []byte(secret)}, func(*wire.Frame) {}); err != nil {
		t.Fatal(err)
	}
	var j struct {
		Spans []struct {
			Name  string
			Attrs map[string]string
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		j.Spans = nil
		code := rest(t, up.addr, opsTok, "GET", "/console/api/journeys?channel=sampled&msg_id=m1", nil, &j)
		names := map[string]bool{}
		for _, s := range j.Spans {
			names[s.Name] = true
			for k, v := range s.Attrs {
				if strings.Contains(v, secret) || strings.Contains(k, "body") {
					t.Fatalf("span %s carries the body: %s=%s", s.Name, k, v)
				}
			}
		}
		if code == 200 && names["edge received"] && names["edge fan-out (delivered)"] && names["store: de-dup, sequence, commit"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journey of a sampled message: %d %+v", code, j)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A non-admin gets 403 on the same route.
	if code := rest(t, up.addr, aliceTok, "GET", "/console/api/journeys?channel=sampled&msg_id=m1", nil, nil); code != 403 {
		t.Fatalf("alice on the console API: %d, want 403", code)
	}
}

// Split deployment: a separate `salam edge` reports to the console of the
// salam up it shares NATS with, and a journey holds one fan-out per edge.
func TestConsoleAcrossEdges(t *testing.T) {
	data := t.TempDir()
	up := start(t, "up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0", "--data", data)
	edge := start(t, "edge", "--listen", "127.0.0.1:0", "--nats", up.nats, "--data", data)
	opsTok, aliceTok, bobTok := adminToken(t, data, "ops"), devToken(t, data, "alice"), devToken(t, data, "bob")
	if code := rest(t, up.addr, opsTok, "POST", "/v1/channels", map[string]any{"id": "split", "name": "s", "kind": "group"}, nil); code != 201 {
		t.Fatalf("create channel: %d", code)
	}
	for _, u := range []string{"alice", "bob"} {
		if code := rest(t, up.addr, opsTok, "POST", "/v1/channels/split/members", map[string]any{"user": u}, nil); code != 201 {
			t.Fatalf("add %s: %d", u, code)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, bob := connect(t, up.addr, aliceTok), connect(t, edge.addr, bobTok)
	for _, c := range []*wsclient.Conn{alice, bob} {
		if err := c.Subscribe(ctx, "split"); err != nil {
			t.Fatal(err)
		}
	}
	// The overview lists both processes (only while asked: the request
	// itself announces interest).
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ov struct {
			Nodes []struct {
				Kind        string
				Connections float64
			}
		}
		rest(t, up.addr, opsTok, "GET", "/console/api/overview", nil, &ov)
		kinds := map[string]float64{}
		for _, n := range ov.Nodes {
			kinds[n.Kind] = n.Connections
		}
		if kinds["edge"] == 1 && kinds["edge+core+sfu+ingest"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("overview nodes %+v", ov.Nodes)
		}
	}
	// An admin's publish is always traced: both edges fan it out.
	ops := connect(t, edge.addr, opsTok)
	if _, err := ops.Call(ctx, &wire.Frame{Type: wire.TypePublish, Channel: "split", MsgID: "s1", Data: []byte("x")}, func(*wire.Frame) {}); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		var j struct {
			Spans []struct{ Name, Node string }
		}
		rest(t, up.addr, opsTok, "GET", "/console/api/journeys?channel=split&msg_id=s1", nil, &j)
		fanouts := map[string]bool{}
		for _, s := range j.Spans {
			if s.Name == "edge fan-out (delivered)" {
				fanouts[s.Node] = true
			}
		}
		if len(fanouts) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journey spans %+v", j.Spans)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
