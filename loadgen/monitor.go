package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/salamhq/salam/wire"
)

// Subjects the monitor counts. They mirror internal/bus (a test keeps them
// equal); loadgen does not import the server's packages.
const (
	presenceSubject = "salam.presence" // edge → core presence reports
	eventWildcard   = "salam.ev.>"     // core → edges channel events, presence frames among them
)

// monitor measures the target's backends over the active phase: Redis
// commands (INFO stats) and NATS messages spent on presence.
type monitor struct {
	redisAddr   string
	redisBefore int64
	nc          *nats.Conn
	reports     atomic.Int64 // messages on presenceSubject
	events      atomic.Int64 // presence frames on eventWildcard
	started     time.Time
}

// startMonitor takes the first samples; with neither addr nor URL it
// measures nothing.
func startMonitor(ctx context.Context, redisAddr, natsURL string) (*monitor, error) {
	m := &monitor{redisAddr: redisAddr}
	if redisAddr != "" {
		n, err := redisCommandsProcessed(ctx, redisAddr)
		if err != nil {
			return nil, err
		}
		m.redisBefore = n
	}
	if natsURL != "" {
		nc, err := nats.Connect(natsURL, nats.Name("salam-loadgen monitor"), nats.Timeout(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("loadgen: nats %s: %w", natsURL, err)
		}
		m.nc = nc
		var f wire.Frame // the event subscription's callbacks run one at a time
		_, err1 := nc.Subscribe(presenceSubject, func(*nats.Msg) { m.reports.Add(1) })
		_, err2 := nc.Subscribe(eventWildcard, func(msg *nats.Msg) {
			if wire.Msgpack.Decode(msg.Data, &f) == nil && f.Type == wire.TypePresence {
				m.events.Add(1)
			}
		})
		if err := errors.Join(err1, err2, nc.Flush()); err != nil {
			nc.Close()
			return nil, fmt.Errorf("loadgen: nats subscribe: %w", err)
		}
	}
	m.started = time.Now()
	return m, nil
}

// stop takes the last samples and writes the rates into rep.
func (m *monitor) stop(ctx context.Context, rep *Report) error {
	secs := time.Since(m.started).Seconds()
	var err error
	if m.nc != nil {
		err = m.nc.Flush()
		m.nc.Close()
		reports, events := float64(m.reports.Load())/secs, float64(m.events.Load())/secs
		rep.NATSPresenceMsgsPerS, rep.NATSPresenceEventsPerS = &reports, &events
	}
	if m.redisAddr != "" {
		n, rerr := redisCommandsProcessed(ctx, m.redisAddr)
		if rerr != nil {
			return errors.Join(err, rerr)
		}
		// The INFO that took the first sample is counted in the second.
		rate := float64(max(n-m.redisBefore-1, 0)) / secs
		rep.RedisCommandsPerS = &rate
	}
	return err
}

// redisCommandsProcessed reads total_commands_processed from the INFO
// stats of the Redis server at addr, speaking RESP directly (one command
// needs no client library).
func redisCommandsProcessed(ctx context.Context, addr string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("loadgen: redis %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, "*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n"); err != nil {
		return 0, fmt.Errorf("loadgen: redis %s: %w", addr, err)
	}
	info, err := readBulk(bufio.NewReader(conn))
	if err != nil {
		return 0, fmt.Errorf("loadgen: redis %s: INFO: %w", addr, err)
	}
	return parseCommandsProcessed(info)
}

// readBulk reads one RESP bulk string (RESP2 "$", RESP3 verbatim "=").
func readBulk(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" || (line[0] != '$' && line[0] != '=') {
		return "", fmt.Errorf("unexpected reply %.80q", line)
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 || n > 1<<20 {
		return "", fmt.Errorf("bad bulk length %q", line)
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(br, b); err != nil {
		return "", err
	}
	return string(b[:n]), nil
}

// parseCommandsProcessed extracts total_commands_processed from INFO text.
func parseCommandsProcessed(info string) (int64, error) {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("loadgen: no total_commands_processed in INFO stats")
}
