// Call signaling against a real salam (Node, the `ws` package injected).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { Client, ErrorCode, isCode, CallEventKind, CallEndReason, OfferKind } from "../dist/index.js";
import { startSalam, freePort, waitFor } from "./salam.mjs";

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
