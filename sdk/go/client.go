package salam

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/salamhq/salam/sdk/go/wire"
)

// Version is this SDK's version (semver); ProtocolVersion the wire protocol
// it speaks.
const (
	Version         = "0.3.0"
	ProtocolVersion = "v1"
)

// stableAfter: a connection that lived this long resets the backoff.
const stableAfter = 10 * time.Second

// Client is a connection to Salam that stays up: it reconnects with backoff,
// restores subscriptions from the last delivered sequence and retries
// requests. Its methods are safe for concurrent use; handlers (Config.On*)
// run on one goroutine of the client's own.
type Client struct {
	cfg   Config
	codec wire.Codec
	q     *queue

	ctx     context.Context // ends at Close; bounds the client's own work
	cancel  context.CancelFunc
	closing <-chan struct{}
	once    sync.Once
	wg      sync.WaitGroup // the supervisor, the dispatcher and fillers

	mu       sync.Mutex
	state    State
	cur      *conn         // the connected connection, nil while not
	ready    chan struct{} // closed while cur != nil
	session  Session
	fatalErr error // why the client gave up, once Closed by the server
	token    string
	tokenExp time.Time
	subs     map[string]*subscription
	typed    map[string]time.Time // when Typing last sent a start, per channel
	calls    map[string]*activeCall

	sfu sfuOrder // the SFU's answers before its offers (sfuorder.go)
}

// New starts a client that connects in the background; use WaitConnected to
// wait for the first connection, or Dial to do both.
func New(cfg Config) (*Client, error) {
	cfg.ensureDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, codec: wire.Msgpack, q: newQueue(), ready: make(chan struct{}),
		subs: map[string]*subscription{}, typed: map[string]time.Time{}, calls: map[string]*activeCall{}}
	if cfg.JSON {
		c.codec = wire.JSON
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.closing = c.ctx.Done()
	c.wg.Add(2)
	go c.run()
	go c.dispatch()
	return c, nil
}

// Dial starts a client and waits until it is connected. On error nothing is
// left running.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.WaitConnected(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// WaitConnected waits until the client is connected, ctx ends, or the
// client is closed (ErrClosed, or the server's reason to refuse for good).
func (c *Client) WaitConnected(ctx context.Context) error {
	_, err := c.conn(ctx)
	return err
}

// Close ends the connection (close code 1000) and every goroutine of the
// client, and returns after the last handler returned. It must not be
// called from a handler (use go c.Close()). Calls after the first do nothing.
func (c *Client) Close() error {
	c.once.Do(func() {
		c.cancel()
		c.wg.Wait()
		c.q.close()
		c.mu.Lock()
		c.state = Closed
		c.mu.Unlock()
	})
	return nil
}

// State returns the connection state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Session returns what the server said on the last connect (zero before).
func (c *Client) Session() Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// conn returns the connected connection, waiting for one.
func (c *Client) conn(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		cn, ready, fatalErr := c.cur, c.ready, c.fatalErr
		c.mu.Unlock()
		switch {
		case fatalErr != nil:
			return nil, fatalErr
		case c.ctx.Err() != nil:
			return nil, ErrClosed
		case cn != nil:
			return cn, nil
		}
		select {
		case <-ready:
		case <-c.closing:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

func (c *Client) setState(s State, err error) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
	c.q.push(item{kind: itemState, state: s, err: err})
}

// run is the supervisor: connect, serve, wait, again, until Close.
func (c *Client) run() {
	defer c.wg.Done()
	attempt := 0
	var wait time.Duration
	for {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.closing:
				t.Stop()
				return
			}
		}
		c.setState(Connecting, nil)
		cn, err := c.connect()
		if c.ctx.Err() != nil {
			if cn != nil {
				cn.close()
			}
			return
		}
		if err != nil {
			if fatal(err) {
				c.giveUp(err)
				return
			}
			attempt++
			wait = c.cfg.Backoff.Delay(attempt)
			c.setState(Disconnected, err)
			continue
		}
		began := time.Now()
		err = c.serve(cn)
		if c.ctx.Err() != nil {
			return
		}
		if fatal(err) {
			c.giveUp(err)
			return
		}
		if time.Since(began) > stableAfter {
			attempt = 0
		}
		attempt++
		wait = c.cfg.Backoff.Delay(attempt)
		var ce *CloseError
		switch {
		case cn.after > 0: // the server is draining: come back after its delay, spread out
			wait = cn.after + c.cfg.Backoff.Delay(1)
		case errors.As(err, &ce) && ce.Code == wire.CloseTokenExpired:
			wait = 0
		}
		c.setState(Disconnected, err)
	}
}

// giveUp stops reconnecting: the server refused for good.
func (c *Client) giveUp(err error) {
	c.mu.Lock()
	c.fatalErr = err
	close(c.ready) // wake waiters; conn() reports fatalErr
	c.mu.Unlock()
	c.setState(Closed, err)
}

// connect gets a token and dials; a refused token is forgotten.
func (c *Client) connect() (*conn, error) {
	token, err := c.tokenFor(c.ctx)
	if err != nil {
		return nil, err
	}
	cn, err := c.dial(c.ctx, token)
	var he *HandshakeError
	if errors.As(err, &he) && he.Status == 401 {
		c.forgetToken()
	}
	return cn, err
}

func (c *Client) tokenFor(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok, exp := c.token, c.tokenExp
	c.mu.Unlock()
	if tok != "" && (exp.IsZero() || time.Until(exp) > refreshBefore) {
		return tok, nil
	}
	tok, err := c.cfg.Token(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.token, c.tokenExp = tok, tokenExpiry(tok)
	c.mu.Unlock()
	return tok, nil
}

func (c *Client) forgetToken() {
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
}

// serve runs one connection until it fails or the client closes: restore
// subscriptions, watch liveness. It returns why the connection ended.
func (c *Client) serve(cn *conn) error {
	go cn.readLoop()
	c.mu.Lock()
	c.cur, c.session = cn, cn.session
	close(c.ready)
	c.mu.Unlock()
	c.setState(Connected, nil)
	defer func() {
		c.mu.Lock()
		c.cur, c.ready = nil, make(chan struct{})
		for _, sub := range c.subs {
			sub.on = nil
		}
		c.mu.Unlock()
	}()
	c.wg.Add(2)
	go c.resubscribe(cn)
	go c.rejoin(cn)

	interval := c.cfg.PingInterval
	if interval == 0 && cn.session.Limits.PingInterval > 0 {
		interval = time.Duration(cn.session.Limits.PingInterval) * time.Second
	}
	if interval == 0 {
		interval = 25 * time.Second
	}
	tick := time.NewTicker(interval / 2)
	defer tick.Stop()
	for {
		select {
		case <-cn.done:
			var ce *CloseError
			if errors.As(cn.err, &ce) && ce.Code == wire.CloseTokenExpired {
				c.forgetToken()
			}
			return cn.err
		case <-c.closing:
			cn.closeNormally()
			<-cn.done
			return ErrClosed
		case <-tick.C:
			idle := time.Since(time.Unix(0, cn.lastRead.Load()))
			switch {
			case idle > 2*interval: // silently dead: the server would have answered the ping
				cn.close()
			case idle > interval:
				cn.send(cn.ctx, &wire.Frame{Type: wire.TypePing}) // a failure shows as cn.done
			}
		}
	}
}
