package loadgen

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

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

// publishStats is what the publisher measured. The controller's progress
// line reads it while publish writes it: mu guards every field.
type publishStats struct {
	mu                  sync.Mutex
	sent, acked, failed int64
	sentAt              []int64 // Unix ns per message index; 0: not sent
	ackHist             *hdr.Histogram
	errKinds            map[string]int64
}

// publish opens the publisher connection and sends opt.Messages publishes,
// one every opt.Interval, each awaited concurrently so that a slow ack does
// not delay the next publish. It returns when every publish was answered or
// timed out.
func newPublishStats(messages int) *publishStats {
	return &publishStats{sentAt: make([]int64, messages), ackHist: newHist(), errKinds: map[string]int64{}}
}

func (st *publishStats) counts() (sent, acked, failed int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sent, st.acked, st.failed
}

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
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for i := range opt.Messages {
		if d := time.Until(start.Add(time.Duration(i) * opt.Interval)); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				wg.Wait()
				return ctx.Err()
			}
		}
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
		}()
	}
	wg.Wait()
	return nil
}
