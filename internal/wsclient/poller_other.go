//go:build !linux

package wsclient

import (
	"errors"

	"github.com/salamhq/salam/wire"
)

// PollHandler receives what a Poller reads from one Conn (see the Linux
// implementation).
type PollHandler interface {
	OnFrame(f *wire.Frame)
	OnSkip(err error)
	OnEnd(err error)
}

// Poller is only implemented on Linux.
type Poller struct{}

// errNoPoller is returned by NewPoller where epoll does not exist.
var errNoPoller = errors.New("wsclient: poller needs Linux (epoll)")

// NewPoller fails outside Linux: use a goroutine per Conn there.
func NewPoller() (*Poller, error)                  { return nil, errNoPoller }
func (p *Poller) Add(c *Conn, h PollHandler) error { return errNoPoller }
func (p *Poller) Run() error                       { return errNoPoller }
func (p *Poller) Len() int                         { return 0 }
func (p *Poller) Close() error                     { return nil }
