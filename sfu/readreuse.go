package sfu

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// pion's interceptors pass each received packet's attributes in a map,
// created by the first of them for every packet, holding the packet's
// header, parsed into a new rtp.Header: three allocations per received
// packet. Two interceptors around them reuse both per received stream
// (one goroutine reads a stream: its forwarding loop):
//
//   - the outer one (registered last) hands the chain the stream's map;
//   - the inner one (registered first, next to SRTP) parses each packet
//     into the stream's header, already in that map, so that the others'
//     GetRTPHeader finds it.
//
// Nothing keeps a packet's attributes past its read: the forwarding loop
// ignores them, and pion's interceptors (v0.1.51) use the header during
// the read only (TWCC's hands it to its goroutine with the sequence
// number already copied out, and that goroutine does not read it).
type readReuse struct {
	interceptor.NoOp
	outer bool
}

// readReuseFactory makes the outer or the inner interceptor.
type readReuseFactory struct{ outer bool }

func (f readReuseFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &readReuse{outer: f.outer}, nil
}

func (i *readReuse) BindRemoteStream(_ *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if i.outer {
		attrs := make(interceptor.Attributes, 1)
		return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			if a == nil {
				a = attrs
			}
			return reader.Read(b, a)
		})
	}
	var header *rtp.Header // the one in the map, under key (pion's, unexported: found once)
	var key any
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil || a == nil {
			return n, a, err
		}
		if header == nil || a[key] != header { // first packet, or another map
			if h, err := a.GetRTPHeader(b[:n]); err == nil {
				header, key = h, keyOf(a, h)
			}
			return n, a, nil
		}
		if _, err := header.Unmarshal(b[:n]); err != nil {
			delete(a, key) // the others' GetRTPHeader returns the error
		}
		return n, a, nil
	})
}

// keyOf returns the key under which a holds h.
func keyOf(a interceptor.Attributes, h *rtp.Header) any {
	for k, v := range a {
		if v == h {
			return k
		}
	}
	return nil
}
