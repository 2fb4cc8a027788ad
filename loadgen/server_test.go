package loadgen

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/salamhq/salam/wire"
)

// fakeServer is a minimal wire v1 server for end-to-end tests of Run:
// connect, subscribe, publish fanned out to every subscriber of the
// channel (the publisher's own subscription included, as the edge does),
// presence frames to the subscribers of a user's channels when its first
// connection opens or its last closes, and the REST calls of a run's setup
// (channels, members, DMs). It records the "sub" claim of every bearer
// token it sees and every source address.
type fakeServer struct {
	ln net.Listener
	wg sync.WaitGroup

	// Faults, set before the run.
	dropEvery    int  // drop every dropEvery-th event delivery (0: none)
	mutePresence bool // send no presence frames
	maxUpgrades  int  // refuse upgrades past this many with 503 (0: no limit)

	mu        sync.Mutex
	upgrades  int
	subs      map[string][]*srvConn
	members   map[string][]string // channel → users
	live      map[string]int      // user → open connections
	seq       uint64
	delivered int
	users     map[string]bool
	remote    map[string]bool // source IPs
}

type srvConn struct {
	nc    net.Conn
	codec wire.Codec
	wmu   sync.Mutex
}

func (c *srvConn) send(f *wire.Frame) {
	op := ws.OpText
	if c.codec.Binary() {
		op = ws.OpBinary
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = wsutil.WriteServerMessage(c.nc, op, c.codec.Append(nil, f))
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln, subs: map[string][]*srvConn{}, members: map[string][]string{}, live: map[string]int{},
		users: map[string]bool{}, remote: map[string]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer nc.Close()
				s.serve(nc)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *fakeServer) url() string { return "ws://" + s.ln.Addr().String() + "/v1/ws" }

func (s *fakeServer) serve(nc net.Conn) {
	var user string
	u := ws.Upgrader{
		Protocol: func(p []byte) bool { _, ok := wire.CodecFor(string(p)); return ok },
		OnHeader: func(k, v []byte) error {
			if strings.EqualFold(string(k), "Authorization") {
				user = jwtSubject(strings.TrimPrefix(string(v), "Bearer "))
			}
			return nil
		},
	}
	br := bufio.NewReader(nc)
	if b, _ := br.Peek(5); string(b) == "POST " {
		s.rest(nc, br)
		return
	}
	s.mu.Lock()
	s.upgrades++
	refuse := s.maxUpgrades > 0 && s.upgrades > s.maxUpgrades
	s.mu.Unlock()
	if refuse {
		nc.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		return
	}
	// The client speaks only after the 101, so br holds nothing past the handshake.
	hs, err := u.Upgrade(struct {
		io.Reader
		io.Writer
	}{br, nc})
	if err != nil {
		return
	}
	s.mu.Lock()
	s.users[user] = true
	s.remote[nc.RemoteAddr().(*net.TCPAddr).IP.String()] = true
	s.mu.Unlock()
	codec, _ := wire.CodecFor(hs.Protocol)
	c := &srvConn{nc: nc, codec: codec}
	connected := false
	defer func() {
		if connected {
			s.presence(user, -1)
		}
	}()
	r := wsutil.NewReader(bufio.NewReaderSize(nc, 512), ws.StateServerSide)
	ch := wsutil.ControlFrameHandler(nc, ws.StateServerSide)
	var f wire.Frame
	for {
		h, err := r.NextFrame()
		if err != nil {
			return
		}
		if h.OpCode.IsControl() {
			if err := ch(h, r); err != nil {
				return
			}
			continue
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		if err := codec.Decode(buf.Bytes(), &f); err != nil {
			return
		}
		switch f.Type {
		case wire.TypeConnect:
			c.send(&wire.Frame{Type: wire.TypeConnected, ID: f.ID, Session: "s", User: user})
			if !connected {
				connected = true
				s.presence(user, +1)
			}
		case wire.TypeSubscribe:
			s.mu.Lock()
			s.subs[f.Channel] = append(s.subs[f.Channel], c)
			s.mu.Unlock()
			c.send(&wire.Frame{Type: wire.TypeAck, ID: f.ID})
		case wire.TypePublish:
			s.mu.Lock()
			s.seq++
			ev := &wire.Frame{Type: wire.TypeEvent, Channel: f.Channel, Seq: s.seq, Data: f.Data, MsgID: f.MsgID, From: user}
			var to []*srvConn
			for _, sc := range s.subs[f.Channel] {
				if s.delivered++; s.dropEvery == 0 || s.delivered%s.dropEvery != 0 {
					to = append(to, sc)
				}
			}
			s.mu.Unlock()
			c.send(&wire.Frame{Type: wire.TypeAck, ID: f.ID, Seq: ev.Seq})
			for _, sc := range to {
				sc.send(ev)
			}
		}
	}
}

// presence counts a connection of user opening (+1) or closing (-1) and
// tells the subscribers of the user's channels when it came online or went
// offline.
func (s *fakeServer) presence(user string, delta int) {
	s.mu.Lock()
	s.live[user] += delta
	n := s.live[user]
	var frames []*wire.Frame
	var to [][]*srvConn
	if (n == 1 && delta > 0 || n == 0) && !s.mutePresence {
		kind := wire.PresenceOnline
		if n == 0 {
			kind = wire.PresenceOffline
		}
		for channel, users := range s.members {
			if slices.Contains(users, user) {
				frames = append(frames, &wire.Frame{Type: wire.TypePresence, Channel: channel, From: user, Kind: kind, Time: time.Now().UnixMilli()})
				to = append(to, slices.Clone(s.subs[channel]))
			}
		}
	}
	s.mu.Unlock()
	for i, f := range frames {
		for _, c := range to[i] {
			c.send(f)
		}
	}
}

// rest answers the setup's REST calls: channels, members and DMs.
func (s *fakeServer) rest(nc net.Conn, br *bufio.Reader) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	user := jwtSubject(strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "))
	var body struct{ ID, User string }
	json.NewDecoder(req.Body).Decode(&body)
	var id string
	s.mu.Lock()
	switch path := req.URL.Path; {
	case path == "/v1/channels":
		id = body.ID
		s.members[id] = []string{user}
	case path == "/v1/dms":
		pair := []string{user, body.User}
		slices.Sort(pair)
		id = "dm:" + strings.Join(pair, "-")
		s.members[id] = pair
	case strings.HasPrefix(path, "/v1/channels/") && strings.HasSuffix(path, "/members"):
		id = strings.TrimSuffix(strings.TrimPrefix(path, "/v1/channels/"), "/members")
		s.members[id] = append(s.members[id], body.User)
	}
	s.mu.Unlock()
	answer, _ := json.Marshal(map[string]string{"id": id})
	resp := &http.Response{StatusCode: http.StatusCreated, ProtoMajor: 1, ProtoMinor: 1, Close: true,
		ContentLength: int64(len(answer)), Body: io.NopCloser(bytes.NewReader(answer)), Header: http.Header{}}
	resp.Write(nc)
}

// jwtSubject returns the unverified "sub" claim of a JWT, or the token.
func jwtSubject(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return tok
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return tok
	}
	var c struct{ Sub string }
	if json.Unmarshal(b, &c) != nil {
		return tok
	}
	return c.Sub
}
