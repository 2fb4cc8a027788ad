package loadgen

import (
	"errors"
	"fmt"
)

// aggregate fills rep from the workers' results and the publisher's stats.
// It runs after every worker finished.
func (r *run) aggregate(rep *Report) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	connect, subscribe, delivery, last := newHist(), newHist(), newHist(), newHist()
	rep.ConnectErrors.ByKind = map[string]int64{}
	rep.DropsByKind = map[string]int64{}
	msgLast := make([]int64, r.opt.Messages)
	var errs []error
	for _, w := range r.workers {
		c := w.last // the result's counters when there is a result
		rep.ConnectionsOpened += c.Opened
		rep.ConnectionsDropped += c.Dropped
		rep.ConnectErrors.Total += c.Failed
		rep.DeliveriesReceived += c.Received
		rep.Unexpected += c.Unexpected
		rep.WorkerRSSBytes += w.rss
		if w.result == nil || w.result.Result == nil {
			errs = append(errs, fmt.Errorf("loadgen: worker %d sent no result; its counters are from its last progress line", w.id))
			continue
		}
		res := w.result.Result
		mergeKinds(rep.ConnectErrors.ByKind, res.ErrorsByKind)
		mergeKinds(rep.DropsByKind, res.DropsByKind)
		errs = append(errs,
			mergeEncoded(connect, res.ConnectHist),
			mergeEncoded(subscribe, res.SubscribeHist),
			mergeEncoded(delivery, res.DeliveryHist))
		for i, t := range res.MsgLast {
			if i < len(msgLast) && t > msgLast[i] {
				msgLast[i] = t
			}
		}
	}
	rep.ConnectMs = quantilesOf(connect)
	rep.SubscribeMs = quantilesOf(subscribe)
	rep.DeliveryMs = quantilesOf(delivery)
	rep.RSSPerConnBytes = rssPerConn(rep.RSSBeforeBytes, rep.RSSAfterBytes, rep.ConnectionsOpened)
	if r.pub == nil {
		return errors.Join(errs...)
	}
	st := r.pub
	st.mu.Lock()
	defer st.mu.Unlock()
	rep.MessagesSent, rep.MessagesAcked, rep.PublishErrors = st.sent, st.acked, st.failed
	rep.PublishErrorsByKind = st.errKinds
	rep.AckMs = quantilesOf(st.ackHist)
	for _, d := range lastReceipts(st.sentAt, msgLast) {
		recordDuration(last, d)
	}
	rep.LastReceiptMs = quantilesOf(last)
	rep.DeliveriesExpected = st.acked * rep.ConnectionsOpened
	rep.Lost = lost(rep.DeliveriesExpected, rep.DeliveriesReceived)
	return errors.Join(errs...)
}
