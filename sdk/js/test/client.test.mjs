// The client on Node 20 (the `ws` package injected) against a real salam.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { Client, ErrorCode, SalamError, isCode } from "../dist/index.js";
import { startSalam, freePort, waitFor } from "./salam.mjs";

const tmp = () => mkdtempSync(join(tmpdir(), "salam-js-test-"));

function client(url, token, extra = {}) {
  const c = new Client({ url, token, WebSocket, backoff: { initial: 20, max: 300 }, requestTimeout: 3000, ...extra });
  const got = { messages: [], typing: [], receipts: [], states: [] };
  c.on("message", (m) => got.messages.push(m));
  c.on("typing", (t) => got.typing.push(t));
  c.on("receipt", (r) => got.receipts.push(r));
  c.on("state", (s) => got.states.push(s.state));
  return { c, got };
}

test("chat: publish, receive in order, idempotent retry, history, receipts, typing, presence, typed errors", async (t) => {
  const up = await startSalam(tmp(), "up", "--listen", "127.0.0.1:0");
  t.after(() => up.kill());
  const [aliceTok, bobTok] = [up.token("alice"), up.token("bob")];
  await up.group("lobby", aliceTok, [bobTok, "bob"]);
  const a = client(up.url(), aliceTok), b = client(up.url(), () => bobTok, { typingExpiry: 300 });
  t.after(() => { a.c.close(); b.c.close(); });
  await a.c.connect();
  await b.c.connect();
  assert.equal(a.c.session.user, "alice");
  await a.c.subscribe("lobby");
  await b.c.subscribe("lobby");

  const acks = [];
  for (let i = 1; i <= 5; i++) acks.push(await a.c.sendText("lobby", `salam ${i}`));
  assert.deepEqual(acks.map((x) => x.seq), [1, 2, 3, 4, 5]);
  await waitFor("bob's messages", () => b.got.messages.length === 5);
  assert.deepEqual(b.got.messages.map((m) => [m.seq, m.text, m.from, m.msgId]), acks.map((x, i) => [x.seq, `salam ${i + 1}`, "alice", x.id]));
  assert.equal(b.c.position("lobby"), 5);

  assert.equal((await a.c.publish("lobby", { id: acks[0].id, data: "salam 1" })).seq, 1);
  await assert.rejects(a.c.publish("lobby", { id: acks[0].id, data: "other" }), (err) => err instanceof SalamError && err.code === ErrorCode.Conflict && !err.temporary);

  const page = await b.c.history("lobby", { before: 5, limit: 2 });
  assert.deepEqual([page.messages.map((m) => m.seq), page.more], [[4, 3], true]);
  const back = [];
  for await (const m of b.c.scroll("lobby", { limit: 2 })) back.push(m.seq);
  assert.deepEqual(back, [5, 4, 3, 2, 1]);
  const fwd = [];
  for await (const m of b.c.scroll("lobby", { after: 2, limit: 2 })) fwd.push(m.seq);
  assert.deepEqual(fwd, [3, 4, 5]);

  await b.c.markRead("lobby", 5);
  await waitFor("alice's receipt", () => a.got.receipts.some((r) => r.user === "bob" && r.seq === 5 && r.kind === 2));

  a.c.typing("lobby"); a.c.typing("lobby"); a.c.typing("lobby");
  await waitFor("typing start and expiry", () => b.got.typing.length === 2);
  assert.deepEqual(b.got.typing, [{ channel: "lobby", user: "alice", stop: false }, { channel: "lobby", user: "alice", stop: true }]);

  const ps = await a.c.queryPresence(["bob", "carol"]);
  assert.deepEqual(ps.map((p) => [p.user, p.online]), [["bob", true], ["carol", false]]);
  assert.ok((await a.c.ping()) >= 0);

  await assert.rejects(b.c.subscribe("dm:nope"), (err) => isCode(err, ErrorCode.ChannelNotFound));
  await assert.rejects(b.c.subscribe("bad channel"), (err) => isCode(err, ErrorCode.BadChannel));
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  await assert.rejects(a.c.sendText("lobby", "aborted", { signal: ac.signal }), /stop/);
});

test("resume: the edge the receiver is on is killed and restarted; every acknowledged message arrives once, in order", async (t) => {
  const dir = tmp();
  const up = await startSalam(dir, "up", "--listen", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0");
  t.after(() => up.kill());
  const port = await freePort();
  let edge = await startSalam(dir, "edge", "--listen", port, "--nats", up.nats);
  t.after(() => edge.kill());
  const [aliceTok, bobTok] = [up.token("alice"), up.token("bob")];
  await up.group("stream", aliceTok, [bobTok, "bob"]);
  const a = client(up.url(), aliceTok), b = client(edge.url(), bobTok);
  t.after(() => { a.c.close(); b.c.close(); });
  await a.c.connect();
  await b.c.connect();
  await b.c.subscribe("stream");

  const acks = [];
  const sending = (async () => { for (let i = 0; i < 300; i++) acks.push(await a.c.sendText("stream", `m${i}`)); })();
  await waitFor("the stream to start", () => b.got.messages.length >= 50);
  await edge.kill();
  await new Promise((r) => setTimeout(r, 300));
  edge = await startSalam(dir, "edge", "--listen", port, "--nats", up.nats);
  await sending;
  await waitFor("bob to catch up", () => b.got.messages.length >= 300);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(b.got.messages.map((m) => [m.seq, m.msgId]), acks.map((x) => [x.seq, x.id]));
  assert.ok(b.got.states.filter((s) => s === "connected").length >= 2, "bob reconnected");
});
