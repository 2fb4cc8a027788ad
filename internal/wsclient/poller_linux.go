package wsclient

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/salamhq/salam/wire"
)

// PollHandler receives what a Poller reads from one Conn. Its methods run on
// the poller's goroutine, one connection after another: they must not block.
type PollHandler interface {
	// OnFrame is called with each data frame; f is reused after it returns.
	OnFrame(f *wire.Frame)
	// OnSkip is called for a message that did not decode or had the wrong
	// type; the connection stays usable.
	OnSkip(err error)
	// OnEnd is called once when reading failed (a *CloseError when the
	// server closed). The Conn has left the poller; the handler should Close it.
	OnEnd(err error)
}

// Poller reads many Conns from one goroutine, waiting for them with epoll
// instead of parking one goroutine (and its stack) per connection: a load
// generator holding tens of thousands of idle connections then pays only
// for the socket and the Conn. Once added, a Conn's read side belongs to the
// poller: do not call Read, Call or Dispatch on it any more. Send, Close and
// the other write-side methods stay available. Pings are answered from the
// poller's goroutine.
//
// Linux only; NewPoller fails elsewhere.
type Poller struct {
	epfd, wakefd int

	mu     sync.Mutex  // guards items, free and closed
	items  []*pollItem // by epoll token; nil when free
	free   []uint32
	closed bool
}

type pollItem struct {
	c  *Conn
	rc syscall.RawConn
	h  PollHandler
}

const wakeToken int32 = -1 // the eventfd; connection tokens are >= 0

// NewPoller creates a poller; run it with Run and stop it with Close.
func NewPoller() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("wsclient: epoll: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("wsclient: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeToken}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, fmt.Errorf("wsclient: epoll: %w", err)
	}
	return &Poller{epfd: epfd, wakefd: wakefd}, nil
}

// Add hands c's read side to the poller; h receives what arrives. Complete
// messages that c had already received (say, an event right behind the
// subscribe ack) are passed to h before Add returns, on the caller's
// goroutine. An error means c was not added; c is then still the caller's.
func (p *Poller) Add(c *Conn, h PollHandler) error {
	if c.readErr != nil {
		return c.readErr
	}
	if c.rend > c.rpos {
		var f wire.Frame
		for {
			op, payload, ok, err := c.next()
			if err != nil {
				return c.failRead(err)
			}
			if !ok {
				break
			}
			if err := c.decode(op, payload, &f); err != nil {
				h.OnSkip(err)
			} else {
				h.OnFrame(&f)
			}
		}
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return errors.New("wsclient: poller needs a connection with a file descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	var token uint32
	if n := len(p.free); n > 0 {
		token, p.free = p.free[n-1], p.free[:n-1]
	} else {
		token = uint32(len(p.items))
		p.items = append(p.items, nil)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(token)}
	var cerr error
	err = rc.Control(func(fd uintptr) {
		cerr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err = errors.Join(err, cerr); err != nil {
		p.free = append(p.free, token)
		return fmt.Errorf("wsclient: epoll add: %w", err)
	}
	p.items[token] = &pollItem{c: c, rc: rc, h: h}
	return nil
}

// Run waits for input and dispatches it until Close is called. Only one Run
// may be active per Poller.
func (p *Poller) Run() error {
	events := make([]unix.EpollEvent, 256)
	var f wire.Frame
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wsclient: epoll wait: %w", err)
		}
		for _, ev := range events[:n] {
			if ev.Fd == wakeToken {
				p.mu.Lock()
				closed := p.closed
				p.mu.Unlock()
				if closed {
					unix.Close(p.epfd)
					unix.Close(p.wakefd)
					return nil
				}
				continue
			}
			token := uint32(ev.Fd)
			it := p.item(token)
			if it == nil {
				continue
			}
			if err := it.c.readReady(it.rc, &f, it.h); err != nil {
				p.remove(token, it)
				it.h.OnEnd(err)
			}
		}
	}
}

func (p *Poller) item(token uint32) *pollItem {
	p.mu.Lock()
	defer p.mu.Unlock()
	if int(token) < len(p.items) {
		return p.items[token]
	}
	return nil
}

// remove takes token out of the poller. A closed socket has left the epoll
// set already; the delete only matters for one that is still open.
func (p *Poller) remove(token uint32, it *pollItem) {
	_ = it.rc.Control(func(fd uintptr) {
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
	})
	p.mu.Lock()
	if int(token) < len(p.items) { // Close may have dropped the table meanwhile
		p.items[token] = nil
		p.free = append(p.free, token)
	}
	p.mu.Unlock()
}

// Len returns how many connections the poller holds.
func (p *Poller) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items) - len(p.free)
}

// Close stops Run; the connections are neither closed nor told. It is
// idempotent.
func (p *Poller) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	p.items, p.free = nil, nil
	var one [8]byte
	one[0] = 1 // eventfd counters are host-endian; any non-zero value wakes
	_, err := unix.Write(p.wakefd, one[:])
	return err
}

// readReady is called by a Poller when c's socket is readable: one read
// that does not block, then every complete message goes to h. It returns
// the error that ends reading.
func (c *Conn) readReady(rc syscall.RawConn, f *wire.Frame, h PollHandler) error {
	if c.readErr != nil {
		return c.readErr
	}
	rerr := c.readNonblock(rc)
	for {
		op, payload, ok, err := c.next()
		if err != nil {
			return c.failRead(err)
		}
		if !ok {
			break
		}
		if err := c.decode(op, payload, f); err != nil {
			h.OnSkip(err)
		} else {
			h.OnFrame(f)
		}
	}
	if rerr != nil {
		return c.failRead(rerr)
	}
	return nil
}

// readNonblock reads what the socket has, without waiting; no data
// (EAGAIN) is not an error, end of stream is io.EOF.
func (c *Conn) readNonblock(rc syscall.RawConn) error {
	buf, direct := c.readBuf()
	var (
		k    int
		rerr error
	)
	err := rc.Read(func(fd uintptr) bool {
		for {
			k, rerr = unix.Read(int(fd), buf)
			if rerr != unix.EINTR {
				return true // done, data or not: never park this goroutine
			}
		}
	})
	if err != nil {
		return errClosedOr(err)
	}
	switch {
	case rerr == unix.EAGAIN:
		return nil
	case rerr != nil:
		return &net.OpError{Op: "read", Net: "tcp", Err: rerr}
	case k == 0:
		return io.EOF
	}
	c.consumed(k, direct)
	return nil
}

// errClosedOr maps the net package's "use of closed connection" to ErrClosed.
func errClosedOr(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}
