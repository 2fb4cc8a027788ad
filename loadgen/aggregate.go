package loadgen

import (
	"errors"
	"fmt"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// aggregate fills rep from the workers' results and the publisher's stats.
// It runs after every worker finished.
func (r *run) aggregate(rep *Report) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	hists := map[string]*hdr.Histogram{}
	hist := func(name string) *hdr.Histogram {
		if hists[name] == nil {
			hists[name] = newHist()
		}
		return hists[name]
	}
	rep.ConnectErrorsByKind, rep.DropsByKind = map[string]int64{}, map[string]int64{}
	pubKinds, reconnKinds := map[string]int64{}, map[string]int64{}
	var (
		c         counters
		pres      presenceResult
		recovered int64
		failed    int64
		errs      []error
		msgLast   = make([]int64, r.opt.Messages)
	)
	for _, w := range r.workers {
		c.add(&w.last) // the result's counters when there is a result
		rep.WorkerRSSBytes += w.rss
		if w.result == nil || w.result.Result == nil {
			errs = append(errs, fmt.Errorf("loadgen: worker %s sent no result; its counters are from its last progress line", w.name))
			continue
		}
		res := w.result.Result
		mergeKinds(rep.ConnectErrorsByKind, res.ErrorsByKind)
		mergeKinds(rep.DropsByKind, res.DropsByKind)
		mergeKinds(pubKinds, res.PublishErrorsByKind)
		mergeKinds(reconnKinds, res.ReconnectErrorsByKind)
		for name, s := range res.Hists {
			errs = append(errs, mergeEncoded(hist(name), s))
		}
		for i, t := range res.MsgLast {
			if i < len(msgLast) && t > msgLast[i] {
				msgLast[i] = t
			}
		}
		rep.DeliveriesExpected += res.Expected
		rep.MessagesLost += res.Lost
		rep.RoomsWithLoss += res.LossRooms
		for room, n := range res.LostByRoom {
			if rep.LostByRoom == nil {
				rep.LostByRoom = map[string]int64{}
			}
			rep.LostByRoom[room] += n
		}
		if p := res.Presence; p != nil {
			pres.add(p)
		}
		recovered += res.Recovered
		failed += res.Unrecovered
	}
	rep.ConnectionsOpened, rep.ConnectionsDropped, rep.ConnectErrors = c.Opened, c.Dropped, c.Failed
	rep.MessagesSent, rep.MessagesAcked, rep.PublishErrors = c.Sent, c.Acked, c.PubFailed
	rep.MessagesReceived, rep.UnexpectedFrames = c.Received, c.Unexpected
	if len(pubKinds) > 0 {
		rep.PublishErrorsByKind = pubKinds
	}
	rep.ConnectMs = quantilesOf(hists["connect_ms"])
	rep.SubscribeMs = quantilesOf(hists["subscribe_ms"])
	rep.AckMs = quantilesOf(hists["ack_ms"])
	rep.DeliveryMs = quantilesOf(hists["delivery_ms"])
	rep.RSSPerConnBytes = rssPerConn(rep.RSSBeforeBytes, rep.RSSAfterBytes, rep.ConnectionsOpened)
	switch r.opt.Scenario {
	case ScenarioPresence:
		rep.Presence = &PresenceStats{
			EventsReceived: c.Presence, OnlineReceived: pres.Online, OfflineReceived: pres.Offline,
			Changes: pres.Transitions, Expected: pres.Expected, Missed: pres.Missed, Late: pres.Late,
			Duplicates: pres.Duplicates, Cycles: c.Closed, Reconnections: c.Reopened,
			ReconnectErrors: sumKinds(reconnKinds), ReconnectErrorsByKind: reconnKinds,
			OnlineMs: quantilesOf(hists["presence_online_ms"]), OfflineMs: quantilesOf(hists["presence_offline_ms"]),
		}
	case ScenarioReconnect:
		rep.Reconnect = &ReconnectStats{Dropped: c.Closed, Recovered: recovered, Failed: failed,
			Errors: sumKinds(reconnKinds), ErrorsByKind: reconnKinds, RecoveryMs: quantilesOf(hists["recovery_ms"])}
	}
	if r.pub != nil {
		r.aggregatePublisher(rep, msgLast, hist("last_receipt_ms"))
	}
	rep.LastReceiptMs = quantilesOf(hists["last_receipt_ms"])
	return errors.Join(errs...)
}

// aggregatePublisher adds the broadcast publisher's figures; msgLast is the
// latest receipt of each message over all workers.
func (r *run) aggregatePublisher(rep *Report, msgLast []int64, last *hdr.Histogram) {
	st := r.pub
	st.mu.Lock()
	defer st.mu.Unlock()
	rep.MessagesSent, rep.MessagesAcked, rep.PublishErrors = st.sent, st.acked, st.failed
	if len(st.errKinds) > 0 {
		rep.PublishErrorsByKind = st.errKinds
	}
	rep.AckMs = quantilesOf(st.ackHist)
	for _, d := range lastReceipts(st.sentAt, msgLast) {
		recordDuration(last, d)
	}
	rep.DeliveriesExpected = st.acked * rep.ConnectionsOpened
	rep.MessagesLost = lost(rep.DeliveriesExpected, rep.MessagesReceived)
}

func (p *presenceResult) add(o *presenceResult) {
	p.Online += o.Online
	p.Offline += o.Offline
	p.Transitions += o.Transitions
	p.Expected += o.Expected
	p.Missed += o.Missed
	p.Late += o.Late
	p.Duplicates += o.Duplicates
}

func sumKinds(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
