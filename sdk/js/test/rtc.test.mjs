// connectPeer's frame mapping, with a fake client and a fake RTCPeerConnection.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectPeer, isPolite, CallEventKind, OfferKind, SalamError, ErrorCode } from "../dist/index.js";

const tick = () => new Promise((r) => setTimeout(r, 0));

// fakeClient records what the helper sends; emit delivers events to it.
function fakeClient({ glare = false } = {}) {
  const listeners = { signal: new Set(), call: new Set() };
  const sent = [];
  let release;
  const c = {
    sent, listeners,
    hold() { return new Promise((r) => { release = r; }); },
    on(ev, fn) { listeners[ev].add(fn); return () => listeners[ev].delete(fn); },
    emit(ev, v) { for (const fn of listeners[ev]) fn(v); },
    async callOffer(call, to, kind, sdp) {
      sent.push(["offer", call, to, kind, sdp]);
      if (c.gate) await c.gate;
      if (glare) throw new SalamError(ErrorCode.Glare, "they offered first");
    },
    async callAnswer(call, to, sdp) { sent.push(["answer", call, to, sdp]); if (c.gate) await c.gate; },
    async callCandidate(call, to, cand, mid) { sent.push(["candidate", call, to, cand, mid]); },
    async callEndOfCandidates(call, to) { sent.push(["end", call, to]); },
  };
  return c;
}

// fakePC follows the JSEP states the helper relies on.
function fakePC() {
  let n = 0;
  const pc = {
    signalingState: "stable", localDescription: null, log: [], restarts: 0,
    onnegotiationneeded: null, onicecandidate: null,
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
    async addIceCandidate(c) { pc.log.push(c ? `candidate ${c.candidate} ${c.sdpMid}` : "end"); },
    restartIce() { pc.restarts++; pc.onnegotiationneeded?.(); },
  };
  return pc;
}

test("isPolite: who joined later is polite", () => {
  assert.equal(isPolite(["alice", "bob", "carol"], "bob", "alice"), true);
  assert.equal(isPolite(["alice", "bob", "carol"], "bob", "carol"), false);
});

test("negotiationneeded → offer; candidates held until it is sent, then candidate and end of candidates", async () => {
  const c = fakeClient(), pc = fakePC();
  connectPeer(c, pc, { call: "k1", peer: "alice", polite: true });
  let open;
  c.gate = new Promise((r) => { open = r; });
  const negotiating = pc.onnegotiationneeded();
  await tick();
  pc.onicecandidate({ candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", sdpMid: "0" } });
  pc.onicecandidate({ candidate: null });
  assert.deepEqual(c.sent, [["offer", "k1", "alice", OfferKind.Initial, "offer-1"]]);
  open();
  await negotiating;
  assert.deepEqual(c.sent.slice(1), [
    ["candidate", "k1", "alice", "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "0"], ["end", "k1", "alice"],
  ]);
  c.gate = undefined;
  c.emit("signal", { kind: "answer", call: "k1", from: "alice", sdp: "A" });
  c.emit("signal", { kind: "candidate", call: "k1", from: "alice", candidate: "candidate:2", mid: "0" });
  c.emit("signal", { kind: "endOfCandidates", call: "k1", from: "alice" });
  c.emit("signal", { kind: "answer", call: "other", from: "alice", sdp: "X" }); // another call: ignored
  await tick(); await tick(); await tick();
  assert.deepEqual(pc.log, ["local offer", "remote answer A", "candidate candidate:2 0", "end"]);
  await pc.onnegotiationneeded(); // tracks changed on an established pair
  assert.deepEqual(c.sent.at(-1), ["offer", "k1", "alice", OfferKind.Renegotiate, "offer-2"]);
});

test("an offer from the peer is answered; candidates follow the answer", async () => {
  const c = fakeClient(), pc = fakePC();
  connectPeer(c, pc, { call: "k1", peer: "bob", polite: false });
  let open;
  c.gate = new Promise((r) => { open = r; });
  c.emit("signal", { kind: "offer", call: "k1", from: "bob", offer: OfferKind.Initial, sdp: "O" });
  await tick(); await tick(); await tick();
  pc.onicecandidate({ candidate: { candidate: "candidate:3", sdpMid: "0" } });
  assert.deepEqual(pc.log, ["remote offer O", "local answer"]);
  assert.deepEqual(c.sent, [["answer", "k1", "bob", "answer-1"]]);
  open();
  await tick(); await tick();
  assert.deepEqual(c.sent.at(-1), ["candidate", "k1", "bob", "candidate:3", "0"]);
});

test("glare, polite side: its refused offer (304) is not an error; it rolls back and answers", async () => {
  const c = fakeClient({ glare: true }), pc = fakePC(), errors = [];
  connectPeer(c, pc, { call: "k1", peer: "alice", polite: true, onError: (e) => errors.push(e) });
  await pc.onnegotiationneeded();
  c.emit("signal", { kind: "offer", call: "k1", from: "alice", offer: OfferKind.Initial, sdp: "O" });
  await tick(); await tick(); await tick();
  assert.deepEqual(pc.log, ["local offer", "rollback", "remote offer O", "local answer"]);
  assert.deepEqual(c.sent.at(-1), ["answer", "k1", "alice", "answer-2"]);
  assert.deepEqual(errors, []);
});

test("glare, impolite side: the colliding offer is ignored", async () => {
  const c = fakeClient(), pc = fakePC();
  connectPeer(c, pc, { call: "k1", peer: "bob", polite: false });
  await pc.onnegotiationneeded();
  c.emit("signal", { kind: "offer", call: "k1", from: "bob", offer: OfferKind.Initial, sdp: "O" });
  await tick(); await tick();
  assert.deepEqual(pc.log, ["local offer"]);
  assert.equal(c.sent.length, 1);
});

test("after the SDK resumed the call: ICE restart offer; unwiring stops everything", async () => {
  const c = fakeClient(), pc = fakePC();
  const off = connectPeer(c, pc, { call: "k1", peer: "alice", polite: true });
  await pc.onnegotiationneeded();
  c.emit("signal", { kind: "answer", call: "k1", from: "alice", sdp: "A" });
  await tick(); await tick();
  c.emit("call", { kind: CallEventKind.Resumed, call: "k1" });
  await tick(); await tick();
  assert.equal(pc.restarts, 1);
  assert.deepEqual(c.sent.at(-1), ["offer", "k1", "alice", OfferKind.ICERestart, "offer-2"]);
  off();
  assert.equal(pc.onicecandidate, null);
  assert.equal(c.listeners.signal.size + c.listeners.call.size, 0);
});
