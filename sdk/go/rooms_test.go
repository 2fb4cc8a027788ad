package salam

import (
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/salamhq/salam/sdk/go/wire"
)

// Every server→client room kind decodes into its meaningful fields; the
// first cases are PROTOCOL.md §4, 22's examples (msgpack hex).
func TestRoomEventOf(t *testing.T) {
	const cid = "k7f2q9ab-9c3d1e7f2a4b6c8d"
	frame := func(f wire.Frame) wire.Frame { f.Type, f.CallID = wire.TypeRoom, cid; return f }
	tests := []struct {
		name string
		hex  string     // a golden frame, or
		f    wire.Frame // a frame
		want RoomEvent
		ok   bool
	}{
		{name: "track_published (golden)", ok: true,
			hex:  "86a17416a166a3752d37a26374a9766964656f2f565038a16b14a3636964b96b376632713961622d39633364316537663261346236633864a36d6964a130",
			want: RoomEvent{Kind: RoomTrackPublished, Call: cid, From: "u-7", Mid: "0", ContentType: "video/VP8"}},
		{name: "active_speakers (golden)", ok: true,
			hex:  "84a17416a16b16a2757392a3752d37a6752d31303432a3636964b96b376632713961622d39633364316537663261346236633864",
			want: RoomEvent{Kind: RoomActiveSpeakers, Call: cid, Speakers: []string{"u-7", "u-1042"}}},
		{name: "muted, forced (golden)", ok: true,
			hex:  "85a17416a166a4752d3132a16b19a27374c3a3636964b96b376632713961622d39633364316537663261346236633864",
			want: RoomEvent{Kind: RoomMuted, Call: cid, From: "u-12", Forced: true}},
		{name: "track_unpublished", ok: true, f: frame(wire.Frame{Kind: wire.RoomTrackUnpublished, From: "u-7", Mid: "1", ContentType: "x"}),
			want: RoomEvent{Kind: RoomTrackUnpublished, Call: cid, From: "u-7", Mid: "1"}},
		{name: "hand_raised", ok: true, f: frame(wire.Frame{Kind: wire.RoomHandRaised, From: "u-7"}),
			want: RoomEvent{Kind: RoomHandRaised, Call: cid, From: "u-7"}},
		{name: "hand_lowered", ok: true, f: frame(wire.Frame{Kind: wire.RoomHandLowered, From: "u-7"}),
			want: RoomEvent{Kind: RoomHandLowered, Call: cid, From: "u-7"}},
		{name: "muted by oneself", ok: true, f: frame(wire.Frame{Kind: wire.RoomMuted, From: "u-7"}),
			want: RoomEvent{Kind: RoomMuted, Call: cid, From: "u-7"}},
		{name: "unmuted", ok: true, f: frame(wire.Frame{Kind: wire.RoomUnmuted, From: "u-7"}),
			want: RoomEvent{Kind: RoomUnmuted, Call: cid, From: "u-7"}},
		{name: "kicked", ok: true, f: frame(wire.Frame{Kind: wire.RoomKicked, From: "u-7"}),
			want: RoomEvent{Kind: RoomKicked, Call: cid, From: "u-7"}},
		{name: "role", ok: true, f: frame(wire.Frame{Kind: wire.RoomRole, From: "u-7", Limit: wire.RoleListener}),
			want: RoomEvent{Kind: RoomRoleChanged, Call: cid, From: "u-7", Role: RoleListener}},
		{name: "layer", ok: true, f: frame(wire.Frame{Kind: wire.RoomLayer, From: "u-7", Mid: "1", Limit: 2}),
			want: RoomEvent{Kind: RoomLayerChanged, Call: cid, From: "u-7", Mid: "1", Layer: LayerHigh}},
		{name: "mode", ok: true, f: frame(wire.Frame{Kind: wire.RoomMode, From: "u-1042", Limit: wire.ModeStage}),
			want: RoomEvent{Kind: RoomModeChanged, Call: cid, From: "u-1042", Mode: ModeStage}},
		{name: "a request kind is no event", f: frame(wire.Frame{Kind: wire.RoomKick, To: "u-7"})},
		{name: "a kind newer than this SDK", f: frame(wire.Frame{Kind: 31, From: "u-7"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			if tt.hex != "" {
				b, err := hex.DecodeString(tt.hex)
				if err != nil {
					t.Fatal(err)
				}
				if err := wire.Msgpack.Decode(b, &f); err != nil {
					t.Fatal(err)
				}
			}
			got, ok := roomEventOf(&f)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("roomEventOf = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
			if it := itemOf(&f); (it.kind == itemRoom) != tt.ok {
				t.Fatalf("itemOf kind %d", it.kind)
			}
		})
	}
}

// While an offer to a call's SFU waits for its reply, the SFU's offers of
// that call are held and queued after it; other calls and peers pass.
func TestSFUOrder(t *testing.T) {
	var o sfuOrder
	q := newQueue()
	offer := func(call, from string, seq uint64) item {
		return item{kind: itemSignal, signal: Signal{Kind: SignalOffer, Call: call, From: from, Seq: seq}}
	}
	answer := item{kind: itemSignal, signal: Signal{Kind: SignalAnswer, Call: "k1"}}
	o.begin("k1")
	o.push(offer("k1", "", 1), q)    // held
	o.push(offer("k2", "", 1), q)    // another call
	o.push(offer("k1", "u-7", 3), q) // a peer's
	q.push(answer)                   // the read loop queues the reply's answer
	o.push(offer("k1", "", 2), q)    // held
	o.end("k1", q)                   // the offer request returned
	o.push(offer("k1", "", 3), q)    // nothing waits: passes
	var got []string
	for _, it := range q.take(nil) {
		s := it.signal
		got = append(got, s.Call+"/"+s.From+"/"+map[SignalKind]string{SignalOffer: "offer", SignalAnswer: "answer"}[s.Kind]+"/"+string(rune('0'+s.Seq)))
	}
	want := []string{"k2//offer/1", "k1/u-7/offer/3", "k1//answer/0", "k1//offer/1", "k1//offer/2", "k1//offer/3"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("queued %q, want %q", got, want)
	}
}
