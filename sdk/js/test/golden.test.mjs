// The shared conformance vectors (wire/PROTOCOL.md, "Golden vectors"), read
// from the repository: every vector, byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { msgpack, json, MalformedError, TooLargeError } from "../dist/wire.js";

const golden = JSON.parse(readFileSync(new URL("../../../wire/testdata/golden.json", import.meta.url), "utf8"));
const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));
const toHex = (b) => Buffer.from(b).toString("hex");

function expectBoth(codec, input, wantJSON, wantMsgpack) {
  const f = codec.decode(input);
  assert.equal(json.encode(f), wantJSON, "as JSON");
  assert.equal(toHex(msgpack.encode(f)), wantMsgpack, "as msgpack");
}

test("golden.json has every section", () => {
  assert.equal(golden.version, 1);
  assert.ok(golden.canonical.length > 0 && golden.decode_only.length > 0 && golden.invalid.length > 0);
});

for (const v of golden.canonical) {
  test(`canonical/${v.name}`, () => {
    expectBoth(msgpack, hex(v.msgpack), v.json, v.msgpack);
    expectBoth(json, v.json, v.json, v.msgpack);
  });
}

for (const v of golden.decode_only) {
  test(`decode_only/${v.name}`, () => {
    if (v.input_msgpack !== undefined) expectBoth(msgpack, hex(v.input_msgpack), v.json, v.msgpack);
    else expectBoth(json, v.input_json, v.json, v.msgpack);
  });
}

for (const v of golden.invalid) {
  test(`invalid/${v.name}`, () => {
    const run = () => (v.input_msgpack !== undefined ? msgpack.decode(hex(v.input_msgpack)) : json.decode(v.input_json));
    assert.throws(run, v.error === "too_large" ? TooLargeError : MalformedError);
  });
}
