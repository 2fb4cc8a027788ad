package salam

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// Config configures a Client. Only URL and Token are required; every other
// field documents what its zero value means.
type Config struct {
	// URL of the WebSocket endpoint, e.g. "wss://chat.example.com/v1/ws".
	URL string
	// Token returns a JWT for the next connection. It is asked again when the
	// one it gave expires (its exp claim), when the server refuses it (401)
	// and when the server closes with 4001. Use StaticToken for a fixed one.
	Token TokenProvider
	// TokenInQuery sends the token as ?token= instead of an Authorization
	// header, as browsers must. Default false (header).
	TokenInQuery bool
	// Header holds extra upgrade request headers (e.g. Origin).
	Header http.Header
	// HTTPClient performs the upgrade; nil uses http.DefaultClient.
	HTTPClient *http.Client
	// ClientName is sent in connect ("cl"). Default "salam-go/" + Version.
	ClientName string
	// JSON selects the salam.v1.json subprotocol (debugging); default msgpack.
	JSON bool

	// Backoff paces reconnects and retries of failed requests.
	Backoff Backoff
	// DialTimeout bounds the upgrade plus the connect/connected exchange.
	// Default 10s.
	DialTimeout time.Duration
	// RequestTimeout is how long one attempt of a request waits for its
	// reply before it is sent again (requests are idempotent). Default 10s.
	RequestTimeout time.Duration
	// PingInterval: after this long without a frame from the server the
	// client sends a ping, and after twice this long it drops the connection
	// and reconnects. Default: the server's announced l.pi, else 25s.
	PingInterval time.Duration
	// MaxMessageSize bounds one received WebSocket message. Default 16 MiB.
	MaxMessageSize int64
	// TypingInterval: Typing sends at most one start per channel this often
	// (client-side debounce). Default 2s, the server's own interval.
	TypingInterval time.Duration
	// TypingExpiry: a typing start received without a refresh or a stop is
	// ended by a synthesized stop after this long. Default 6s (PROTOCOL.md).
	TypingExpiry time.Duration

	// Handlers receive events. All run on one goroutine, in arrival order;
	// a nil handler drops its events.
	OnMessage  func(Message)        // a new message, exactly once and in sequence order per channel
	OnUpdate   func(Update)         // an edit, delete, reaction, pin or member leaving
	OnTyping   func(Typing)         // a user started or stopped typing
	OnReceipt  func(Receipt)        // a delivered or read cursor moved
	OnPresence func(PresenceChange) // a user came online or went offline (deduplicated across channels)
	OnCall     func(CallEvent)      // a call rings for you, or changed (accepted, joined, left, ended…); CallResumed after a reconnect
	OnSignal   func(Signal)         // WebRTC signaling relayed from another participant of a call you are in, or from the SFU (From "")
	OnRoom     func(RoomEvent)      // a room event of an escalated call you are in (tracks, speakers, hands, mutes, roles, mode)
	OnState    func(State, error)   // the connection state changed; err says why it was lost
	OnError    func(error)          // asynchronous failures: a resubscribe refused, a gap that could not be filled, a call not resumed (*CallError)
}

// Backoff is exponential backoff with full jitter: attempt n waits a random
// duration in [0, min(Max, Initial·Multiplier^n)).
type Backoff struct {
	Initial    time.Duration // default 250ms
	Max        time.Duration // default 30s
	Multiplier float64       // default 2
}

// Delay returns the wait before attempt n (n ≥ 1).
func (b Backoff) Delay(n int) time.Duration {
	ceil := float64(b.Initial)
	for i := 1; i < n && ceil < float64(b.Max); i++ {
		ceil *= b.Multiplier
	}
	ceil = min(ceil, float64(b.Max))
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

func (c *Config) ensureDefaults() {
	if c.ClientName == "" {
		c.ClientName = "salam-go/" + Version
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Backoff.Initial, 250*time.Millisecond)
	def(&c.Backoff.Max, 30*time.Second)
	if c.Backoff.Multiplier < 1 {
		c.Backoff.Multiplier = 2
	}
	def(&c.DialTimeout, 10*time.Second)
	def(&c.RequestTimeout, 10*time.Second)
	def(&c.TypingInterval, 2*time.Second)
	def(&c.TypingExpiry, 6*time.Second)
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 16 << 20
	}
}

// validate names the first bad field.
func (c *Config) validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "":
		return errors.New("salam: Config.URL must be a ws:// or wss:// URL")
	case c.Token == nil:
		return errors.New("salam: Config.Token is required (StaticToken for a fixed token)")
	case c.Backoff.Max < c.Backoff.Initial:
		return errors.New("salam: Config.Backoff.Max is below Backoff.Initial")
	}
	return nil
}
