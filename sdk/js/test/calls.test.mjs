// Call signaling and rooms on the SFU against a real salam (Node, the `ws` package injected).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { Client, ErrorCode, isCode, CallEventKind, CallEndReason, OfferKind, RoomEventKind, RoomMode, Role } from "../dist/index.js";
import { startSalam, startSalamWith, freePort, waitFor } from "./salam.mjs";

const tmp = () => mkdtempSync(join(tmpdir(), "salam-js-calls-"));

// The offer of PROTOCOL.md's examples: enough for the server's checks.
const SDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
  "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:F7gI\r\na=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\n" +
  "a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\n" +
  "a=setup:actpass\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n";
const CAND = "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host";

function client(url, token) {
  const c = new Client({ url, token, WebSocket, backoff: { initial: 20, max: 300 }, requestTimeout: 3000 });
  const got = { calls: [], signals: [], errors: [] };
  c.on("call", (e) => got.calls.push(e));
  c.on("signal", (s) => got.signals.push(s));
  c.on("error", (e) => got.errors.push(e));
  const event = async (kind) => { await waitFor("call event " + kind, () => got.calls.some((e) => e.kind === kind)); return got.calls.find((e) => e.kind === kind); };
  const signal = async (n) => { await waitFor("signal " + n, () => got.signals.length >= n); return got.signals[n - 1]; };
  return { c, got, event, signal };
}

test("call: create, ringing, accept, offer, answer, candidates relayed, typed refusals, leave, end", async (t) => {
  const up = await startSalam(tmp(), "up", "--listen", "127.0.0.1:0");
  t.after(() => up.kill());
  const [aliceTok, bobTok] = [up.token("alice"), up.token("bob")];
  await up.group("team", aliceTok, [bobTok, "bob"]);
  const a = client(up.url(), aliceTok), b = client(up.url(), bobTok);
  t.after(() => { a.c.close(); b.c.close(); });
  await a.c.connect();
  await b.c.connect();

  const call = await a.c.callCreate("team");
  assert.equal(call.caller, "alice");
  assert.deepEqual(call.participants, ["alice"]);
  const ring = await b.event(CallEventKind.Ringing);
  assert.deepEqual([ring.call, ring.from, ring.channel], [call.id, "alice", "team"]);
  assert.deepEqual((await b.c.callAccept(call.id)).participants, ["alice", "bob"]);
  assert.equal((await a.event(CallEventKind.Accepted)).from, "bob");
  await assert.rejects(a.c.callCancel(call.id), (err) => isCode(err, ErrorCode.WrongState));
  await assert.rejects(a.c.callAnswer(call.id, "bob", SDP), (err) => isCode(err, ErrorCode.NoOffer));

  await b.c.callOffer(call.id, "alice", OfferKind.Initial, SDP);
  assert.deepEqual(await a.signal(1), { kind: "offer", call: call.id, from: "bob", offer: OfferKind.Initial, sdp: SDP });
  await a.c.callAnswer(call.id, "bob", SDP);
  assert.deepEqual(await b.signal(1), { kind: "answer", call: call.id, from: "alice", sdp: SDP });
  await b.c.callCandidate(call.id, "alice", CAND, "0");
  assert.deepEqual(await a.signal(2), { kind: "candidate", call: call.id, from: "bob", candidate: CAND, mid: "0" });
  await b.c.callEndOfCandidates(call.id, "alice");
  assert.deepEqual(await a.signal(3), { kind: "endOfCandidates", call: call.id, from: "bob" });
  await assert.rejects(b.c.callOffer(call.id, "carol", OfferKind.Initial, SDP), (err) => isCode(err, ErrorCode.TargetNotInCall));

  await b.c.callLeave(call.id);
  assert.equal((await a.event(CallEventKind.Left)).from, "bob");
  await assert.rejects(b.c.callCandidate(call.id, "alice", CAND, "0"), (err) => isCode(err, ErrorCode.NotInCall));
  assert.equal((await a.c.callEnd(call.id)).endReason, CallEndReason.Hangup);
  await assert.rejects(a.c.callJoin(call.id), (err) => isCode(err, ErrorCode.CallNotFound));
});

test("call resume: bob's edge is killed and restarted; the SDK re-joins and his ICE restart goes through", async (t) => {
  const dir = tmp();
  const up = await startSalam(dir, "up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0");
  t.after(() => up.kill());
  const port = await freePort();
  let edge = await startSalam(dir, "edge", "--listen", port, "--nats", up.nats);
  t.after(() => edge.kill());
  const [aliceTok, bobTok] = [up.token("alice"), up.token("bob")];
  await up.group("team", aliceTok, [bobTok, "bob"]);
  const a = client(up.url(), aliceTok), b = client(edge.url(), bobTok);
  t.after(() => { a.c.close(); b.c.close(); });
  await a.c.connect();
  await b.c.connect();

  const call = await a.c.callCreate("team");
  await b.event(CallEventKind.Ringing);
  await b.c.callAccept(call.id);
  await b.c.callOffer(call.id, "alice", OfferKind.Initial, SDP);
  await a.signal(1);
  await a.c.callAnswer(call.id, "bob", SDP);
  await b.c.callCandidate(call.id, "alice", CAND, "0");
  await a.signal(2);

  await edge.kill();
  edge = await startSalam(dir, "edge", "--listen", port, "--nats", up.nats);
  const resumed = await b.event(CallEventKind.Resumed);
  assert.deepEqual([resumed.call, resumed.participants], [call.id, ["alice", "bob"]]);
  await b.c.callOffer(call.id, "alice", OfferKind.ICERestart, SDP);
  const restart = await a.signal(3);
  assert.deepEqual([restart.kind, restart.offer, restart.from], ["offer", OfferKind.ICERestart, "bob"]);
  await a.c.callAnswer(call.id, "bob", SDP);
  assert.equal((await b.signal(2)).kind, "answer");
  assert.ok(!a.got.calls.some((e) => e.kind === CallEventKind.Left || e.kind === CallEventKind.Ended), "alice saw bob leave");
  assert.deepEqual(b.got.errors, []);
  await b.c.callLeave(call.id);
});

test("room: a call escalates to salam up's SFU; offer to the SFU, room requests and events, typed refusals", async (t) => {
  const up = await startSalamWith("calls:\n  sfu_threshold: 2\n", tmp(), "up", "--listen", "127.0.0.1:0");
  t.after(() => up.kill());
  const [aliceTok, bobTok, carolTok] = [up.token("alice"), up.token("bob"), up.token("carol")];
  await up.group("team", aliceTok, [bobTok, "bob"], [carolTok, "carol"]);
  const [a, b, c] = [client(up.url(), aliceTok), client(up.url(), bobTok), client(up.url(), carolTok)];
  t.after(() => { a.c.close(); b.c.close(); c.c.close(); });
  for (const p of [a, b, c]) {
    p.got.room = [];
    p.c.on("room", (e) => p.got.room.push(e));
    await p.c.connect();
  }
  const room = async (p, kind, from) => {
    await waitFor(`room event ${kind} from ${from}`, () => p.got.room.some((e) => e.kind === kind && e.from === from));
    return p.got.room.find((e) => e.kind === kind && e.from === from);
  };

  const call = await a.c.callCreate("team");
  await assert.rejects(a.c.roomRaiseHand(call.id), (err) => isCode(err, ErrorCode.WrongState)); // not on the SFU yet
  await b.c.callJoin(call.id);
  assert.equal((await c.c.callJoin(call.id)).sfu, true);
  await assert.rejects(c.c.roomRaiseHand(call.id), (err) => isCode(err, ErrorCode.OutOfOrder)); // before the first offer

  // Each offers to the SFU (no "to"); its answer arrives as a signal from "".
  for (const p of [a, b, c]) {
    await p.c.callOffer(call.id, "", OfferKind.Initial, SDP);
    const answer = p.got.signals.find((s) => s.kind === "answer" && s.from === "");
    assert.ok(answer && answer.call === call.id && /a=fingerprint/.test(answer.sdp), "the SFU's answer");
  }

  await b.c.roomRaiseHand(call.id);
  await room(a, RoomEventKind.HandRaised, "bob");
  await assert.rejects(c.c.roomLowerHand(call.id, "bob"), (err) => isCode(err, ErrorCode.PermissionDenied));
  await a.c.roomMute(call.id, "bob");
  assert.equal((await room(c, RoomEventKind.Muted, "bob")).forced, true);
  await assert.rejects(b.c.roomUnmute(call.id), (err) => isCode(err, ErrorCode.PermissionDenied));
  await a.c.roomUnmute(call.id, "bob");
  await room(c, RoomEventKind.Unmuted, "bob");
  await assert.rejects(c.c.roomUnsubscribe(call.id, "bob", "0"), (err) => isCode(err, ErrorCode.TrackNotFound)); // no media sent
  await assert.rejects(a.c.roomSetMode(call.id, 3), (err) => isCode(err, ErrorCode.BadFrame));
  await a.c.roomSetMode(call.id, RoomMode.Stage);
  assert.equal((await room(b, RoomEventKind.Mode, "alice")).mode, RoomMode.Stage);
  assert.equal((await room(b, RoomEventKind.Role, "carol")).role, Role.Listener);
  await a.c.roomKick(call.id, "carol");
  await room(b, RoomEventKind.Kicked, "carol");
  await waitFor("bob sees carol leave", () => b.got.calls.some((e) => e.kind === CallEventKind.Left && e.from === "carol"));
  assert.deepEqual([...a.got.errors, ...b.got.errors], []);
});
