package wire

// The adapter to github.com/vmihailenco/msgpack/v5 lives apart from the
// codec so that the Go SDK's copy of the codec (sdk/go/wire) needs no
// third-party module.

import (
	"github.com/valyala/bytebufferpool"
	"github.com/vmihailenco/msgpack/v5"
)

var (
	_ msgpack.CustomEncoder = (*Frame)(nil)
	_ msgpack.CustomDecoder = (*Frame)(nil)
)

// EncodeMsgpack implements msgpack.CustomEncoder: msgpack.Marshal(&f)
// produces exactly the bytes of Msgpack.Append.
func (f *Frame) EncodeMsgpack(enc *msgpack.Encoder) error {
	if f == nil {
		return enc.EncodeNil()
	}
	buf := bytebufferpool.Get()
	buf.B = Msgpack.Append(buf.B[:0], f)
	_, err := enc.Writer().Write(buf.B)
	bytebufferpool.Put(buf)
	return err
}

// DecodeMsgpack implements msgpack.CustomDecoder with the rules of
// Msgpack.Decode; errors wrap ErrMalformed or ErrTooLarge.
func (f *Frame) DecodeMsgpack(dec *msgpack.Decoder) error {
	raw, err := dec.DecodeRaw()
	if err != nil {
		return malformed("msgpack: %v", err)
	}
	return Msgpack.Decode(raw, f)
}
