package sfu

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// headerReader is an interceptor between the two readReuses that reads
// each packet's header as pion's do, and records its sequence number.
type headerReader struct {
	interceptor.NoOp
	seqs []uint16
}

func (h *headerReader) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		if a == nil {
			a = make(interceptor.Attributes)
		}
		n, a, err := r.Read(b, a)
		if err != nil {
			return n, a, err
		}
		hdr, err := a.GetRTPHeader(b[:n])
		if err != nil {
			return n, a, err
		}
		h.seqs = append(h.seqs, hdr.SequenceNumber)
		return n, a, nil
	})
}

// Every packet's header is its own, parsed into the stream's one header
// and map: no allocation per packet after the first; a malformed packet
// is the others' error, not a stale header.
func TestReadReuse(t *testing.T) {
	inner, _ := readReuseFactory{}.NewInterceptor("")
	outer, _ := readReuseFactory{outer: true}.NewInterceptor("")
	rec := &headerReader{seqs: make([]uint16, 0, 1024)}
	chain := interceptor.NewChain([]interceptor.Interceptor{inner, rec, outer})
	next := uint16(0)
	packet := func(seq uint16) []byte {
		p := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, SSRC: 1}, Payload: []byte{1, 2, 3}}
		raw, _ := p.Marshal()
		return raw
	}
	src := make([][]byte, 0, 8)
	for _, seq := range []uint16{10, 11, 12} {
		src = append(src, packet(seq))
	}
	src = append(src, []byte{0x80}, packet(13)) // a malformed packet, then a good one
	reader := chain.BindRemoteStream(&interceptor.StreamInfo{}, interceptor.RTPReaderFunc(
		func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			p := src[next%uint16(len(src))]
			next++
			return copy(b, p), a, nil
		}))
	buf := make([]byte, 1500)
	var errs int
	for range src {
		if _, _, err := reader.Read(buf, nil); err != nil {
			errs++
		}
	}
	if want := []uint16{10, 11, 12, 13}; len(rec.seqs) != len(want) || rec.seqs[3] != 13 || rec.seqs[0] != 10 || errs != 1 {
		t.Fatalf("sequence numbers read: %v, errors %d; want %v and 1", rec.seqs, errs, want)
	}
	src, next = src[:3], 0
	rec.seqs = rec.seqs[:0]
	if n := testing.AllocsPerRun(100, func() { _, _, _ = reader.Read(buf, nil) }); n != 0 {
		t.Errorf("%.1f allocations per packet read", n)
	}
}
