// Pure units: no server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, newMessageId, storagePositions, SalamError, ErrorCode, wire } from "../dist/index.js";

test("newMessageId: 26 characters of base32, unique", () => {
  const ids = new Set(Array.from({ length: 1000 }, newMessageId));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[A-Z2-7]{26}$/);
});

test("storagePositions keeps numbers in a Web Storage", () => {
  const m = new Map();
  const store = storagePositions({ getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, v) });
  assert.equal(store.get("lobby"), undefined);
  store.set("lobby", 42);
  assert.equal(store.get("lobby"), 42);
});

test("SalamError: code, name, temporary", () => {
  const e = new SalamError(ErrorCode.RateLimited, "slow down");
  assert.ok(e.temporary);
  assert.match(e.message, /RateLimited: slow down/);
  assert.ok(!new SalamError(ErrorCode.NotMember, "").temporary);
});

test("Client refuses a missing WebSocket or a bad URL", () => {
  assert.throws(() => new Client({ url: "http://x", token: "t", WebSocket: class {} }), /ws:\/\//);
  if (!globalThis.WebSocket) assert.throws(() => new Client({ url: "ws://x", token: "t" }), /no WebSocket/);
});

test("validChannel follows PROTOCOL.md §8", () => {
  assert.ok(wire.validChannel("chat:general"));
  assert.ok(!wire.validChannel("a.b") && !wire.validChannel("") && !wire.validChannel("x".repeat(129)));
});
