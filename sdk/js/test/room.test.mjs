// Rooms on the SFU without a server: the room requests' frames, the mapping
// of every room event, and the SFU's signaling order, through a fake
// WebSocket that plays the server; connectSFU with a fake peer connection.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Client, wire, RoomEventKind, Role, RoomMode, Layer, OfferKind, ErrorCode, isCode, connectSFU,
} from "../dist/index.js";
import { toRoomEvent } from "../dist/client.js";

const tick = () => new Promise((r) => setTimeout(r, 0));
const hex = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));
const CID = "k7f2q9ab-9c3d1e7f2a4b6c8d";

// FakeServer is the WebSocket the client opens: it answers connect, and
// lets the test see every frame sent and write frames back.
function fakeServer() {
  const srv = { sent: [], ws: undefined, onRequest: undefined };
  srv.WebSocket = class {
    constructor(url, protocols) {
      this.protocol = protocols[0];
      this.binaryType = "";
      srv.ws = this;
      setTimeout(() => this.onopen?.({}), 0);
    }
    send(data) {
      const f = wire.msgpack.decode(data);
      if (f.type === wire.FrameType.Connect) return srv.write({ type: wire.FrameType.Connected, id: f.id, session: "s-1", user: "u-1042" });
      srv.sent.push(f);
      srv.onRequest?.(f);
    }
    close() {}
  };
  srv.write = (f) => srv.ws.onmessage?.({ data: wire.msgpack.encode(f) });
  srv.ack = (f) => srv.write({ type: wire.FrameType.Ack, id: f.id });
  return srv;
}

async function connected(srv) {
  const c = new Client({ url: "ws://fake/v1/ws", token: "t", WebSocket: srv.WebSocket, backoff: { initial: 1, max: 5 }, requestTimeout: 2000 });
  const got = { room: [], signals: [] };
  c.on("room", (e) => got.room.push(e));
  c.on("signal", (s) => got.signals.push(s));
  await c.connect();
  return { c, got };
}

test("room requests: each sends its frame and resolves on the ack or rejects with the typed error", async (t) => {
  const srv = fakeServer();
  const { c } = await connected(srv);
  t.after(() => c.close());
  srv.onRequest = (f) => (f.mid === "7"
    ? srv.write({ type: wire.FrameType.Error, id: f.id, code: ErrorCode.TrackNotFound, reason: "no such track", callId: f.callId })
    : srv.ack(f));
  const cases = [
    [() => c.roomSubscribe(CID, "u-7", "0"), { kind: 1, to: "u-7", mid: "0" }],
    [() => c.roomUnsubscribe(CID, "u-7", "0"), { kind: 2, to: "u-7", mid: "0" }],
    [() => c.roomPause(CID, "u-7", "0"), { kind: 3, to: "u-7", mid: "0" }],
    [() => c.roomResume(CID, "u-7", "0"), { kind: 4, to: "u-7", mid: "0" }],
    [() => c.roomMaxLayer(CID, "u-7", "1", Layer.Medium), { kind: 5, to: "u-7", mid: "1", limit: 1 }],
    [() => c.roomRaiseHand(CID), { kind: 6 }],
    [() => c.roomLowerHand(CID), { kind: 7 }],
    [() => c.roomLowerHand(CID, "u-7"), { kind: 7, to: "u-7" }],
    [() => c.roomMute(CID), { kind: 8 }],
    [() => c.roomMute(CID, "u-12"), { kind: 8, to: "u-12" }],
    [() => c.roomUnmute(CID, "u-12"), { kind: 9, to: "u-12" }],
    [() => c.roomKick(CID, "u-12"), { kind: 10, to: "u-12" }],
    [() => c.roomSetRole(CID, "u-12", Role.Listener), { kind: 11, to: "u-12", limit: 2 }],
    [() => c.roomSetMode(CID, RoomMode.Stage), { kind: 12, limit: 2 }],
  ];
  for (const [call, want] of cases) {
    await call();
    const f = srv.sent.at(-1);
    assert.deepEqual({ type: f.type, callId: f.callId, kind: f.kind, to: f.to, mid: f.mid, limit: f.limit },
      { type: wire.FrameType.Room, callId: CID, to: "", mid: "", limit: 0, ...want });
  }
  // PROTOCOL.md §4, 22's first example, byte for byte (with its request id).
  srv.sent.length = 0;
  srv.onRequest = (f) => srv.ack(f);
  await c.roomUnsubscribe(CID, "u-7", "0");
  const golden = wire.msgpack.decode(hex("86a17416a1693ca16b02a3636964b96b376632713961622d39633364316537663261346236633864a2746fa3752d37a36d6964a130"));
  assert.deepEqual(wire.msgpack.encode({ ...srv.sent[0], id: 60 }), wire.msgpack.encode(golden));
  srv.onRequest = (f) => srv.write({ type: wire.FrameType.Error, id: f.id, code: ErrorCode.TrackNotFound, reason: "no such track", callId: f.callId });
  await assert.rejects(c.roomUnsubscribe(CID, "u-7", "7"), (err) => isCode(err, ErrorCode.TrackNotFound));
  srv.onRequest = (f) => srv.write({ type: wire.FrameType.Error, id: f.id, code: ErrorCode.PermissionDenied, reason: "" });
  await assert.rejects(c.roomKick(CID, "u-1"), (err) => isCode(err, ErrorCode.PermissionDenied));
  // A temporary refusal (no SFU yet) is retried.
  let n = 0;
  srv.onRequest = (f) => (++n < 3 ? srv.write({ type: wire.FrameType.Error, id: f.id, code: ErrorCode.Unavailable }) : srv.ack(f));
  await c.roomRaiseHand(CID);
  assert.equal(n, 3);
});

test("room events: every kind mapped to its fields; unknown kinds ignored", async (t) => {
  // PROTOCOL.md §4, 22's golden event frames.
  const goldens = [
    ["86a17416a166a3752d37a26374a9766964656f2f565038a16b14a3636964b96b376632713961622d39633364316537663261346236633864a36d6964a130",
      { kind: RoomEventKind.TrackPublished, call: CID, from: "u-7", mid: "0", contentType: "video/VP8" }],
    ["84a17416a16b16a2757392a3752d37a6752d31303432a3636964b96b376632713961622d39633364316537663261346236633864",
      { kind: RoomEventKind.ActiveSpeakers, call: CID, from: "", speakers: ["u-7", "u-1042"] }],
    ["85a17416a166a4752d3132a16b19a27374c3a3636964b96b376632713961622d39633364316537663261346236633864",
      { kind: RoomEventKind.Muted, call: CID, from: "u-12", forced: true }],
  ];
  for (const [h, want] of goldens) assert.deepEqual(toRoomEvent(wire.msgpack.decode(hex(h))), want);
  const K = RoomEventKind;
  const f = (init) => wire.newFrame({ type: wire.FrameType.Room, callId: CID, from: "u-7", ...init });
  const cases = [
    [f({ kind: K.TrackUnpublished, mid: "1" }), { kind: K.TrackUnpublished, call: CID, from: "u-7", mid: "1" }],
    [f({ kind: K.HandRaised }), { kind: K.HandRaised, call: CID, from: "u-7" }],
    [f({ kind: K.HandLowered }), { kind: K.HandLowered, call: CID, from: "u-7" }],
    [f({ kind: K.Muted }), { kind: K.Muted, call: CID, from: "u-7", forced: false }],
    [f({ kind: K.Unmuted }), { kind: K.Unmuted, call: CID, from: "u-7" }],
    [f({ kind: K.Kicked }), { kind: K.Kicked, call: CID, from: "u-7" }],
    [f({ kind: K.Role, limit: 2 }), { kind: K.Role, call: CID, from: "u-7", role: Role.Listener }],
    [f({ kind: K.Layer, mid: "1", limit: 2 }), { kind: K.Layer, call: CID, from: "u-7", mid: "1", layer: Layer.High }],
    [f({ kind: K.Mode, limit: 2 }), { kind: K.Mode, call: CID, from: "u-7", mode: RoomMode.Stage }],
  ];
  for (const [frame, want] of cases) assert.deepEqual(toRoomEvent(frame), want);
  assert.equal(toRoomEvent(f({ kind: 31 })), undefined);
  assert.equal(toRoomEvent(f({ kind: 10 })), undefined); // a request kind

  // Through the client: emitted as `room`, unknown kinds dropped.
  const srv = fakeServer();
  const { c, got } = await connected(srv);
  t.after(() => c.close());
  srv.write({ type: wire.FrameType.Room, kind: K.HandRaised, callId: CID, from: "u-9" });
  srv.write({ type: wire.FrameType.Room, kind: 31, callId: CID, from: "u-9" });
  srv.write({ type: wire.FrameType.Room, kind: K.Role, callId: CID, from: "u-9", limit: 1 });
  await tick();
  assert.deepEqual(got.room, [{ kind: K.HandRaised, call: CID, from: "u-9" }, { kind: K.Role, call: CID, from: "u-9", role: Role.Speaker }]);
});

test("SFU signaling: the answer in the reply is a signal, emitted before SFU offers that overtook it", async (t) => {
  const srv = fakeServer();
  const { c, got } = await connected(srv);
  t.after(() => c.close());
  srv.onRequest = (f) => srv.write({ type: wire.FrameType.Call, id: f.id, kind: 5, callId: CID, users: ["u-7", "u-1042"], sfu: true });
  await c.callJoin(CID);
  // The SFU's renegotiation offer arrives before the reply to our offer.
  srv.onRequest = (f) => {
    srv.write({ type: wire.FrameType.Offer, kind: OfferKind.Renegotiate, callId: CID, seq: 1n, data: new TextEncoder().encode("sfu-offer-1") });
    setTimeout(() => srv.write({ type: wire.FrameType.Answer, id: f.id, callId: CID, data: new TextEncoder().encode("sfu-answer") }), 5);
  };
  await c.callOffer(CID, "", OfferKind.Initial, "my-offer");
  const offer = srv.sent.at(-1);
  assert.deepEqual([offer.type, offer.to, offer.kind, offer.seq], [wire.FrameType.Offer, "", OfferKind.Initial, 1n]);
  await tick();
  assert.deepEqual(got.signals, [
    { kind: "answer", call: CID, from: "", sdp: "sfu-answer" },
    { kind: "offer", call: CID, from: "", offer: OfferKind.Renegotiate, sdp: "sfu-offer-1", seq: 1 },
  ]);
  // Answering the SFU: an answer without "to", the next signal sequence.
  srv.onRequest = (f) => srv.ack(f);
  await c.callAnswer(CID, "", "my-answer");
  assert.deepEqual([srv.sent.at(-1).type, srv.sent.at(-1).to, srv.sent.at(-1).seq], [wire.FrameType.Answer, "", 2n]);
  // Glare: the SFU refuses a crossing offer with 304.
  srv.onRequest = (f) => srv.write({ type: wire.FrameType.Error, id: f.id, code: ErrorCode.Glare, reason: "the SFU offered first", callId: CID });
  await assert.rejects(c.callOffer(CID, "", OfferKind.Renegotiate, "o2"), (err) => isCode(err, ErrorCode.Glare));
});

test("connectSFU: offers to the SFU, applies its answer, answers its offers in order, rolls back on glare", async () => {
  const listeners = { signal: new Set(), call: new Set() };
  const sent = [];
  let glare = false;
  const client = {
    on(ev, fn) { listeners[ev].add(fn); return () => listeners[ev].delete(fn); },
    emit(ev, v) { for (const fn of listeners[ev]) fn(v); },
    async callOffer(call, to, kind, sdp) {
      sent.push(["offer", call, to, kind, sdp]);
      if (glare) { const { SalamError } = await import("../dist/index.js"); throw new SalamError(ErrorCode.Glare, ""); }
    },
    async callAnswer(call, to, sdp) { sent.push(["answer", call, to, sdp]); },
    async callCandidate(call, to, cand, mid) { sent.push(["candidate", call, to, cand, mid]); },
    async callEndOfCandidates(call, to) { sent.push(["end", call, to]); },
  };
  let n = 0;
  const pc = {
    signalingState: "stable", localDescription: null, log: [], onnegotiationneeded: null, onicecandidate: null,
    async setLocalDescription() {
      const type = pc.signalingState === "have-remote-offer" ? "answer" : "offer";
      pc.localDescription = { type, sdp: `${type}-${++n}` };
      pc.signalingState = type === "offer" ? "have-local-offer" : "stable";
      pc.log.push("local " + type);
    },
    async setRemoteDescription({ type, sdp }) {
      if (type === "offer" && pc.signalingState === "have-local-offer") pc.log.push("rollback");
      pc.signalingState = type === "offer" ? "have-remote-offer" : "stable";
      pc.log.push(`remote ${type} ${sdp}`);
    },
    async addIceCandidate() {},
    restartIce() { pc.log.push("restart"); },
  };
  const off = connectSFU(client, pc, { call: CID });
  await pc.onnegotiationneeded();
  assert.deepEqual(sent, [["offer", CID, "", OfferKind.Initial, "offer-1"]]);
  client.emit("signal", { kind: "answer", call: CID, from: "", sdp: "A" });
  client.emit("signal", { kind: "offer", call: CID, from: "", offer: OfferKind.Renegotiate, sdp: "O1", seq: 1 });
  client.emit("signal", { kind: "offer", call: CID, from: "u-7", offer: OfferKind.Initial, sdp: "not the SFU's" });
  for (let i = 0; i < 6; i++) await tick();
  assert.deepEqual(pc.log, ["local offer", "remote answer A", "remote offer O1", "local answer"]);
  assert.deepEqual(sent.at(-1), ["answer", CID, "", "answer-2"]);
  // Glare: our renegotiation is refused, the SFU's offer rolls it back and is answered.
  glare = true;
  await pc.onnegotiationneeded();
  assert.deepEqual(sent.at(-1), ["offer", CID, "", OfferKind.Renegotiate, "offer-3"]);
  client.emit("signal", { kind: "offer", call: CID, from: "", offer: OfferKind.Renegotiate, sdp: "O2", seq: 2 });
  for (let i = 0; i < 6; i++) await tick();
  assert.deepEqual(pc.log.slice(-4), ["local offer", "rollback", "remote offer O2", "local answer"]);
  assert.deepEqual(sent.at(-1), ["answer", CID, "", "answer-4"]);
  // After a resume the SFU is not ICE-restarted: the app starts over with a new peer connection.
  client.emit("call", { kind: 100, call: CID });
  await tick();
  assert.ok(!pc.log.includes("restart"));
  off();
  assert.equal(listeners.signal.size + listeners.call.size, 0);
});
