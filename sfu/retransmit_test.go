package sfu

import (
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// recordWriter keeps what a down-track writes.
type recordWriter struct {
	seqs     []uint16
	payloads [][]byte
}

func (w *recordWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.seqs = append(w.seqs, h.SequenceNumber)
	w.payloads = append(w.payloads, append([]byte(nil), payload...))
	return len(payload), nil
}

func (w *recordWriter) Write(b []byte) (int, error) { return len(b), nil }

// TestNackRetransmit: NACKed outgoing sequence numbers are resent from the
// layer that fed them, across a layer switch, with the numbers the
// subscriber knows; packets no longer cached are not.
func TestNackRetransmit(t *testing.T) {
	up := fanout(0)
	up.layers[0].Load().cache = new(packetCache)
	up.layers[1].Store(&layer{idx: 1, cache: new(packetCache)})
	dt := newDownTrack(up, &participant{room: up.pub.room, user: "sub"})
	w := &recordWriter{}
	dt.bound.Store(&binding{ssrc: 7, pt: 96, clock: 90000, w: w})
	dt.target = 0
	send := func(layer int, seq uint16, key bool) {
		p := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: 42},
			Payload: []byte{0x10, 0x01, byte(layer), byte(seq)}}
		if key {
			p.Payload[1] = 0x00
		}
		raw, _ := p.Marshal()
		up.layers[layer].Load().cache.put(seq, raw)
		dt.write(layer, &p.Header, p.Payload, key, int64(seq)*1e6)
	}
	for seq := uint16(1000); seq < 1010; seq++ {
		send(0, seq, seq == 1000)
	}
	dt.retarget() // chooses layer 1 now that it exists
	for seq := uint16(5000); seq < 5010; seq++ {
		send(1, seq, seq == 5003) // switches on 5003
		send(0, seq-3990, false)  // the old layer goes on: not sent
	}
	if len(w.seqs) != 20 {
		t.Fatalf("sent %d packets, want 13 of layer 0 (until layer 1's keyframe) and 7 of layer 1", len(w.seqs))
	}
	for i := 1; i < len(w.seqs); i++ {
		if w.seqs[i] != w.seqs[i-1]+1 {
			t.Fatalf("outgoing sequence not continuous: %v", w.seqs)
		}
	}
	first := w.seqs[0]
	w.seqs, w.payloads = nil, nil
	nack := &rtcp.TransportLayerNack{Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{first + 2, first + 15, first + 40})}
	if n := dt.onNack(nack); n != 2 {
		t.Fatalf("resent %d, want 2 (the third was never sent)", n)
	}
	if w.seqs[0] != first+2 || w.payloads[0][2] != 0 || w.payloads[0][3] != byte(1002&0xff) {
		t.Errorf("first resend: seq %d payload %v, want %d from layer 0 packet 1002", w.seqs[0], w.payloads[0], first+2)
	}
	if w.seqs[1] != first+15 || w.payloads[1][2] != 1 || w.payloads[1][3] != byte(5005&0xff) {
		t.Errorf("second resend: seq %d payload %v, want %d from layer 1 packet 5005", w.seqs[1], w.payloads[1], first+15)
	}
}

// TestPauseResumeContinuous: after a pause, the stream resumes at the next
// keyframe with the next sequence number, timestamps advanced by the pause.
func TestPauseResumeContinuous(t *testing.T) {
	up := fanout(0)
	dt := newDownTrack(up, &participant{room: up.pub.room, user: "sub"})
	w := &recordWriter{}
	dt.bound.Store(&binding{ssrc: 7, pt: 96, clock: 90000, w: w})
	var ts []uint32
	send := func(seq uint16, key bool) {
		h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000}
		payload := []byte{0x10, 0x01}
		if key {
			payload[1] = 0
		}
		if dt.write(0, &h, payload, key, int64(seq)*33_333_333) {
			ts = append(ts, dt.out.Timestamp)
		}
	}
	for seq := uint16(0); seq < 10; seq++ {
		send(seq, seq == 0)
	}
	dt.paused.Store(true)
	for seq := uint16(10); seq < 40; seq++ {
		send(seq, false)
	}
	dt.rebase()
	dt.paused.Store(false)
	for seq := uint16(40); seq < 50; seq++ {
		send(seq, seq == 45)
	}
	if len(w.seqs) != 15 {
		t.Fatalf("sent %d, want 10 before the pause and 5 from the keyframe on", len(w.seqs))
	}
	for i := 1; i < len(w.seqs); i++ {
		if w.seqs[i] != w.seqs[i-1]+1 {
			t.Fatalf("sequence gap after the resume: %v", w.seqs)
		}
	}
	if gap := ts[10] - ts[9]; gap < 30*3000 || gap > 40*3000 {
		t.Errorf("timestamp advanced %d over the pause of 35 frames, want about %d", gap, 35*3000)
	}
}
