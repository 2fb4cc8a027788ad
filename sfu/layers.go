package sfu

import "github.com/pion/rtp"

// chooseTarget picks the layer a subscriber should receive: the highest
// layer being received that is at most its requested maximum and, when it
// sent a bandwidth estimate, whose measured bitrate fits in it; the lowest
// available layer when none fits.
func (dt *downTrack) chooseTarget() int {
	if dt.pinned > 0 {
		return int(dt.pinned - 1)
	}
	up := dt.up
	limit := int(dt.maxLayer.Load())
	estimate := dt.estimate.Load()
	lowest := -1
	for idx := 0; idx < maxLayers; idx++ {
		if up.layers[idx].Load() != nil {
			lowest = idx
			break
		}
	}
	if lowest < 0 {
		return 0
	}
	for idx := min(limit, maxLayers-1); idx > lowest; idx-- {
		l := up.layers[idx].Load()
		if l == nil {
			continue
		}
		if estimate == 0 || l.stats.bitrate.Load() <= estimate {
			return idx
		}
	}
	return lowest
}

// rewriter makes one subscriber's stream continuous whichever layer feeds
// it: out = in + offset, the offsets recomputed at each switch so that the
// first packet of the new layer follows the last one sent.
type rewriter struct {
	current, target int // the layer being sent (-1 none yet) and the one wanted
	started         bool
	seqOff          uint16
	tsOff           uint32
	lastSeq         uint16
	lastTS          uint32
	lastAt          int64 // when lastTS was sent, Unix nanoseconds
	out             rtp.Header
	history         epochs // recent switches, to map NACKs back
}

// rewrite returns the header to send for a packet of layer idx, whether
// the stream switched to idx with it, and false when the packet is not
// sent (another layer, or the target layer before its keyframe).
func (w *rewriter) rewrite(idx int, h *rtp.Header, key bool, now int64, clock uint32) (*rtp.Header, bool, bool) {
	switched := false
	if idx != w.current {
		if idx != w.target || !key {
			return nil, false, false
		}
		if w.started {
			elapsed := uint32(uint64(now-w.lastAt) * uint64(clock) / 1e9)
			w.seqOff = w.lastSeq + 1 - h.SequenceNumber
			w.tsOff = w.lastTS + max(elapsed, 1) - h.Timestamp
		}
		w.current, w.started, switched = idx, true, true
		w.history.add(epoch{outStart: h.SequenceNumber + w.seqOff, layer: idx, seqOff: w.seqOff, tsOff: w.tsOff})
	}
	seq := h.SequenceNumber + w.seqOff
	ts := h.Timestamp + w.tsOff
	if switched || int16(seq-w.lastSeq) > 0 {
		w.lastSeq, w.lastTS, w.lastAt = seq, ts, now
	}
	o := &w.out
	o.Version, o.Padding, o.Marker = 2, false, h.Marker
	o.SequenceNumber, o.Timestamp = seq, ts
	o.Extension, o.Extensions, o.CSRC = false, o.Extensions[:0], o.CSRC[:0]
	return o, switched, true
}
