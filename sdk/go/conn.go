package salam

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/salamhq/salam/sdk/go/wire"
)

// conn is one WebSocket connection and its requests. Its read loop runs on
// its own goroutine (started by serve); writes are serialised by wmu.
type conn struct {
	c       *Client
	ws      *websocket.Conn
	ctx     context.Context // ends when the connection is closed
	cancel  context.CancelFunc
	session Session

	wmu  sync.Mutex
	wbuf []byte
	rbuf []byte // owned by the one reader

	nextID   atomic.Uint32
	lastRead atomic.Int64 // unix nanos of the last frame or ping received

	pmu     sync.Mutex
	pending map[uint32]chan *wire.Frame
	err     error         // why the read loop ended; set before done closes
	done    chan struct{} // closed when the read loop ends
	after   time.Duration // reconnect delay a reconnect frame asked for
}

var errNoConn = fmt.Errorf("%w: not connected", ErrDisconnected)

// dial upgrades and exchanges connect/connected.
func (c *Client) dial(ctx context.Context, token string) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	u, header := c.cfg.URL, c.cfg.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if c.cfg.TokenInQuery {
		pu, _ := url.Parse(u)
		q := pu.Query()
		q.Set("token", token)
		pu.RawQuery = q.Encode()
		u = pu.String()
	} else {
		header.Set("Authorization", "Bearer "+token)
	}
	cn := &conn{c: c, pending: map[uint32]chan *wire.Frame{}, done: make(chan struct{})}
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient: c.cfg.HTTPClient, HTTPHeader: header, Subprotocols: []string{c.codec.Subprotocol()},
		OnPingReceived: func(context.Context, []byte) bool { cn.touch(); return true },
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			var body []byte
			if resp.Body != nil {
				body, _ = io.ReadAll(resp.Body)
			}
			return nil, &HandshakeError{Status: resp.StatusCode, Body: string(bytes.TrimSpace(body))}
		}
		return nil, err
	}
	if ws.Subprotocol() != c.codec.Subprotocol() {
		ws.CloseNow()
		return nil, &HandshakeError{Status: 400, Body: "server selected no subprotocol"}
	}
	ws.SetReadLimit(c.cfg.MaxMessageSize)
	cn.ws = ws
	cn.ctx, cn.cancel = context.WithCancel(context.Background())
	cn.touch()
	if err := cn.send(ctx, &wire.Frame{Type: wire.TypeConnect, ID: 1, Client: c.cfg.ClientName}); err != nil {
		cn.close()
		return nil, err
	}
	var f wire.Frame
	for f.Type != wire.TypeConnected {
		if err := cn.read(ctx, &f); err != nil {
			cn.close()
			return nil, err
		}
		if f.Type == wire.TypeError {
			cn.close()
			return nil, &Error{Code: f.Code, Reason: f.Reason}
		}
	}
	cn.session = Session{ID: f.Session, User: f.User, Limits: f.Limits}
	return cn, nil
}

func (cn *conn) touch() { cn.lastRead.Store(time.Now().UnixNano()) }

// close ends the connection at once; the read loop then fails.
func (cn *conn) close() {
	cn.cancel()
	cn.ws.CloseNow()
}

// closeNormally says goodbye with 1000 (bounded: the server may be gone).
func (cn *conn) closeNormally() {
	done := make(chan struct{})
	go func() {
		cn.ws.Close(websocket.StatusNormalClosure, "")
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	cn.close()
	<-done
}

// read reads and decodes one frame into f. Only one goroutine reads: dial,
// then the read loop.
func (cn *conn) read(ctx context.Context, f *wire.Frame) error {
	_, r, err := cn.ws.Reader(ctx)
	if err != nil {
		return closeErr(err)
	}
	b := cn.rbuf[:0]
	for err == nil {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		var n int
		n, err = r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
	}
	if err != io.EOF {
		return closeErr(err)
	}
	if cap(b) <= 1<<20 { // do not pin one huge page forever
		cn.rbuf = b
	}
	cn.touch()
	return cn.c.codec.Decode(b, f)
}

// closeErr turns a close frame into a *CloseError.
func closeErr(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: uint16(ce.Code), Reason: ce.Reason}
	}
	return fmt.Errorf("%w: %w", ErrDisconnected, err)
}

// send encodes and writes f.
func (cn *conn) send(ctx context.Context, f *wire.Frame) error {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	cn.wbuf = cn.c.codec.Append(cn.wbuf[:0], f)
	typ := websocket.MessageBinary
	if !cn.c.codec.Binary() {
		typ = websocket.MessageText
	}
	ctx, cancel := context.WithTimeout(ctx, cn.c.cfg.RequestTimeout)
	defer cancel()
	if err := cn.ws.Write(ctx, typ, cn.wbuf); err != nil {
		cn.close() // a write cut short leaves a broken frame behind
		return fmt.Errorf("%w: %w", ErrDisconnected, err)
	}
	return nil
}

// readLoop reads until the connection fails, answering requests and
// handing everything else to the dispatcher.
func (cn *conn) readLoop() {
	var f wire.Frame
	var err error
	for {
		if err = cn.read(cn.ctx, &f); err != nil {
			break
		}
		switch {
		case f.ID != 0 && f.Type != wire.TypeEvent:
			cn.pmu.Lock()
			ch := cn.pending[f.ID]
			delete(cn.pending, f.ID)
			cn.pmu.Unlock()
			if ch != nil {
				g := f
				g.Data = bytes.Clone(f.Data)
				ch <- &g // buffered
			}
			if f.Type == wire.TypeAnswer {
				// The SFU answers an offer in the reply: handed to OnSignal
				// here, in wire order, ahead of the SFU's next offer (and
				// even when the request stopped waiting).
				cn.c.q.push(itemOf(&f))
			}
		case f.Type == wire.TypeReconnect:
			cn.after = time.Duration(f.After) * time.Millisecond
			err = &CloseError{Code: wire.CloseShutdown, Reason: f.Reason}
		case f.Type == wire.TypeError:
			cn.c.q.push(item{kind: itemError, err: &Error{Code: f.Code, Reason: f.Reason}})
		default:
			cn.c.sfu.push(itemOf(&f), cn.c.q)
		}
		if cn.after > 0 {
			break
		}
	}
	if cn.ctx.Err() != nil && !errors.As(err, new(*CloseError)) {
		err = errNoConn
	}
	cn.close()
	cn.pmu.Lock()
	cn.err = err
	for id, ch := range cn.pending {
		close(ch)
		delete(cn.pending, id)
	}
	cn.pmu.Unlock()
	close(cn.done)
}

// request sends f with a fresh ID and waits for its reply (ack, messages,
// presence, pong) or error, at most Config.RequestTimeout.
func (cn *conn) request(ctx context.Context, f *wire.Frame) (*wire.Frame, error) {
	id := cn.nextID.Add(1) + 1 // 1 was connect's
	f.ID = id
	ch := make(chan *wire.Frame, 1)
	cn.pmu.Lock()
	if cn.err != nil {
		cn.pmu.Unlock()
		return nil, errNoConn
	}
	cn.pending[id] = ch
	cn.pmu.Unlock()
	forget := func() {
		cn.pmu.Lock()
		delete(cn.pending, id)
		cn.pmu.Unlock()
	}
	if err := cn.send(ctx, f); err != nil {
		forget()
		return nil, err
	}
	timer := time.NewTimer(cn.c.cfg.RequestTimeout)
	defer timer.Stop()
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, errNoConn
		}
		if r.Type == wire.TypeError {
			return r, &Error{Code: r.Code, Reason: r.Reason}
		}
		return r, nil
	case <-timer.C:
		forget()
		return nil, ErrRequestTimeout
	case <-ctx.Done():
		forget()
		return nil, context.Cause(ctx)
	}
}
