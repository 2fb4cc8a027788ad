package loadgen

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// The broadcast scenario (first named fanout): every connection subscribes
// to one public broadcast channel; the controller's publisher (user lg-pub,
// the channel's owner) sends Messages messages at PublishRate, and the
// workers count every receipt.

// putPayload fills p (at least payloadHeader bytes) with the send time,
// message index and run id, and the rest with a fixed pattern.
func putPayload(p []byte, sentNanos int64, idx uint32, runID int64) {
	binary.BigEndian.PutUint64(p[0:8], uint64(sentNanos))
	binary.BigEndian.PutUint32(p[8:12], idx)
	binary.BigEndian.PutUint64(p[12:20], uint64(runID))
	for i := payloadHeader; i < len(p); i++ {
		p[i] = 'a' + byte(i%26)
	}
}

// parsePayload reads what putPayload wrote.
func parsePayload(p []byte) (sentNanos int64, idx uint32, runID int64, ok bool) {
	if len(p) < payloadHeader {
		return 0, 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(p[0:8])), binary.BigEndian.Uint32(p[8:12]),
		int64(binary.BigEndian.Uint64(p[12:20])), true
}

// broadcastLoad counts a worker's receipts of the publisher's messages.
type broadcastLoad struct {
	w        *worker
	received atomic.Int64
	count    []atomic.Int64 // receipts per message index
	last     []atomic.Int64 // latest receipt per message index, Unix ns
	delivery *latencies
}

func newBroadcastLoad(w *worker) *broadcastLoad {
	return &broadcastLoad{
		w:        w,
		count:    make([]atomic.Int64, w.cfg.Messages),
		last:     make([]atomic.Int64, w.cfg.Messages),
		delivery: w.newLatencies("delivery_ms", deliveryShards),
	}
}

func (l *broadcastLoad) channel(int) string        { return l.w.cfg.Channel }
func (l *broadcastLoad) connecting(int, time.Time) {}
func (l *broadcastLoad) run(context.Context)       {}

func (l *broadcastLoad) counters(c *counters) { c.Received = l.received.Load() }

// onFrame counts one event of the channel.
func (l *broadcastLoad) onFrame(i int, f *wire.Frame) {
	if f.Type != wire.TypeEvent {
		return
	}
	now := time.Now().UnixNano()
	sent, idx, run, ok := parsePayload(f.Data)
	if f.Channel != l.w.cfg.Channel || !ok || run != l.w.cfg.RunID || idx >= uint32(len(l.count)) {
		l.w.unexpected.Add(1)
		return
	}
	l.received.Add(1)
	l.count[idx].Add(1)
	storeMax(&l.last[idx], now)
	l.delivery.record(i, time.Duration(now-sent))
}

func (l *broadcastLoad) result(res *workerResult) {
	res.MsgCount = make([]int64, len(l.count))
	res.MsgLast = make([]int64, len(l.last))
	for i := range l.count {
		res.MsgCount[i] = l.count[i].Load()
		res.MsgLast[i] = l.last[i].Load()
	}
}

// storeMax raises a to v unless it is already larger.
func storeMax(a *atomic.Int64, v int64) {
	for old := a.Load(); v > old && !a.CompareAndSwap(old, v); old = a.Load() {
	}
}

// publishStats is what the broadcast publisher measured. The controller's
// progress line reads it while publish writes it: mu guards every field.
type publishStats struct {
	mu                  sync.Mutex
	sent, acked, failed int64
	sentAt              []int64 // Unix ns per message index; 0: not sent
	ackHist             *hdr.Histogram
	errKinds            map[string]int64
	onAck               func(time.Duration) // also told every ack latency (the time series)
}

func newPublishStats(messages int, onAck func(time.Duration)) *publishStats {
	return &publishStats{sentAt: make([]int64, messages), ackHist: newHist(), errKinds: map[string]int64{}, onAck: onAck}
}

func (st *publishStats) counts() (sent, acked, failed int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sent, st.acked, st.failed
}

// publish opens the publisher connection and sends opt.Messages publishes
// at opt.PublishRate, each awaited concurrently so that a slow ack does not
// delay the next publish. It returns when every publish was answered or
// timed out.
func publish(ctx context.Context, opt *Options, runID int64, token string, st *publishStats) error {
	dctx, cancel := context.WithTimeout(ctx, opt.ConnectTimeout)
	defer cancel()
	c, err := wsclient.Dial(dctx, opt.URL, wsclient.Options{Token: token, Subprotocol: opt.Subprotocol})
	if err != nil {
		return fmt.Errorf("loadgen: publisher: %w", err)
	}
	defer c.Close()
	if _, err := c.Connect(dctx, ClientName); err != nil {
		return fmt.Errorf("loadgen: publisher connect: %w", err)
	}
	go func() { _ = c.Dispatch(nil) }() // ends when c closes

	var wg sync.WaitGroup
	defer wg.Wait()
	return pace(ctx, time.Now(), opt.PublishRate, opt.Messages, func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rctx, cancel := context.WithTimeout(ctx, opt.ConnectTimeout)
			defer cancel()
			data := make([]byte, opt.PayloadSize)
			t0 := time.Now()
			putPayload(data, t0.UnixNano(), uint32(i), runID)
			f := &wire.Frame{Type: wire.TypePublish, Channel: opt.Channel, Data: data,
				MsgID: fmt.Sprintf("lg-%d-%d", runID, i)}
			st.mu.Lock()
			st.sent++
			st.sentAt[i] = t0.UnixNano()
			st.mu.Unlock()
			_, err := c.Request(rctx, f)
			took := time.Since(t0)
			st.mu.Lock()
			defer st.mu.Unlock()
			if err != nil {
				st.failed++
				st.errKinds[errorKind(phaseError{"publish", err})]++
				return
			}
			st.acked++
			recordDuration(st.ackHist, took)
			if st.onAck != nil {
				st.onAck(took)
			}
		}()
	})
}
