package edge

import (
	"bytes"
	"testing"
	"time"

	"github.com/salamhq/salam/internal/wsclient"
	"github.com/salamhq/salam/wire"
)

// RFC 6455 violations, each closed with the right code before any payload
// is buffered; after each, the server still serves a well-behaved client.
func TestRFC6455Violations(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxMessageBytes = 1024 })
	connect := (&wire.Frame{Type: wire.TypeConnect, ID: 1})
	connectFrame := maskedFrame(0x82, wire.Msgpack.Append(nil, connect))
	tests := []struct {
		name string
		send []byte
		want uint16
	}{
		{"unmasked frame", []byte{0x82, 0x01, 0x00}, wire.CloseProtocolError},
		{"RSV1 without extension", maskedFrame(0xc2, []byte{1}), wire.CloseProtocolError},
		{"RSV3 without extension", maskedFrame(0x92, []byte{1}), wire.CloseProtocolError},
		{"reserved opcode", maskedFrame(0x83, []byte{1}), wire.CloseProtocolError},
		{"64-bit length with top bit", []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, wire.CloseProtocolError},
		{"control frame over 125 bytes", maskedFrame(0x89, bytes.Repeat([]byte{1}, 126)), wire.CloseProtocolError},
		{"fragmented control frame", maskedFrame(0x09, []byte{1}), wire.CloseProtocolError},
		{"continuation without a message", maskedFrame(0x80, []byte{1}), wire.CloseProtocolError},
		{"new message inside a fragmented one", append(maskedFrame(0x02, []byte{1}), maskedFrame(0x82, []byte{1})...), wire.CloseProtocolError},
		// Declares 1 GiB and sends nothing more: refused from the header alone.
		{"declared length over the limit", []byte{0x82, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4}, wire.CloseTooBig},
		{"fragments adding up over the limit", append(maskedFrame(0x02, make([]byte, 800)), maskedFrame(0x80, make([]byte, 800))...), wire.CloseTooBig},
		{"text frame on salam.v1", maskedFrame(0x81, []byte("{}")), wire.CloseUnsupportedData},
		{"invalid msgpack", maskedFrame(0x82, []byte{0xc1, 0xff}), wire.CloseBadFrame},
		{"close with 1-byte payload", maskedFrame(0x88, []byte{3}), wire.CloseProtocolError},
		{"close with reserved code 1005", maskedFrame(0x88, []byte{0x03, 0xed}), wire.CloseProtocolError},
		{"close with invalid UTF-8 reason", maskedFrame(0x88, []byte{0x03, 0xe8, 0xff}), wire.CloseInvalidPayload},
		{"clean close is echoed", maskedFrame(0x88, []byte{0x03, 0xe8}), wire.CloseNormal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, br := f.rawUpgrade("mallory")
			conn.Write(connectFrame)
			conn.Write(tt.send)
			if got := readClose(t, conn, br); got != tt.want {
				t.Fatalf("close %d, want %d", got, tt.want)
			}
			f.client("alice", wsclient.Options{}) // everyone else is still served
		})
	}
}

func TestInvalidUTF8OnJSON(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client("alice", wsclient.Options{Subprotocol: wire.SubprotocolJSON})
	c.NetConn().Write(maskedFrame(0x81, []byte{'{', 0xff, '}'}))
	expectClose(t, c, wire.CloseInvalidPayload)
}

func TestBinaryFrameOnJSON(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client("alice", wsclient.Options{Subprotocol: wire.SubprotocolJSON})
	c.NetConn().Write(maskedFrame(0x82, []byte("{}")))
	expectClose(t, c, wire.CloseUnsupportedData)
}

// A message split across many TCP writes and WebSocket fragments, with a
// ping between fragments, is reassembled.
func TestFragmentedAndSplitMessage(t *testing.T) {
	f := newFixture(t, nil)
	conn, br := f.rawUpgrade("alice")
	msg := wire.Msgpack.Append(nil, &wire.Frame{Type: wire.TypeConnect, ID: 9, Client: "fragmented"})
	var stream []byte
	stream = append(stream, maskedFrame(0x02, msg[:3])...)
	stream = append(stream, maskedFrame(0x89, []byte("hi"))...)
	stream = append(stream, maskedFrame(0x80, msg[3:])...)
	for _, b := range stream { // one byte per write
		conn.Write([]byte{b})
		time.Sleep(100 * time.Microsecond)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	sawPong, sawConnected := false, false
	for !sawPong || !sawConnected {
		hdr := make([]byte, 2)
		if _, err := br.Read(hdr[:1]); err != nil {
			t.Fatal(err)
		}
		br.Read(hdr[1:])
		payload := make([]byte, hdr[1]&0x7f)
		if _, err := fullRead(br, payload); err != nil {
			t.Fatal(err)
		}
		switch hdr[0] & 0x0f {
		case 0xa:
			sawPong = string(payload) == "hi"
		case 0x2:
			var fr wire.Frame
			if err := wire.Msgpack.Decode(payload, &fr); err != nil || fr.Type != wire.TypeConnected || fr.ID != 9 {
				t.Fatalf("got %+v %v", fr, err)
			}
			sawConnected = true
		}
	}
}
