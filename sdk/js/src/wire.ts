// Wire protocol v1 (wire/PROTOCOL.md in the repository): the envelope, its
// codes, and the two codecs. Encoding goes through @msgpack/msgpack, whose
// smallest-form output equals the canonical form of §9 when keys are inserted
// in order. Decoding is a strict reader of its own: the generic decoder
// accepts what §10 tells decoders to reject (duplicate keys, invalid UTF-8,
// nesting deeper than 32, over-long arrays that must be refused before their
// elements are read).

import { Encoder } from "@msgpack/msgpack";

/** Subprotocols offered in Sec-WebSocket-Protocol. */
export const SUBPROTOCOL_MSGPACK = "salam.v1";
export const SUBPROTOCOL_JSON = "salam.v1.json";

/** Frame types (key "t"). */
export const FrameType = {
  Connect: 1, Connected: 2, Subscribe: 3, Unsubscribe: 4, Publish: 5, Ack: 6, Error: 7, Event: 8,
  Ping: 9, Pong: 10, Reconnect: 11, Typing: 12, Receipt: 13, History: 14, Messages: 15, Presence: 16,
  Call: 17, Offer: 18, Answer: 19, Candidate: 20, EndOfCandidates: 21, Room: 22,
} as const;

export interface Limits { maxFrame: number; publishRate: number; publishBurst: number; pingInterval: number; maxSubscribed: number }
export interface WireAttachment { url: string; mime: string; size: bigint; name: string }
export interface WireReaction { emoji: string; count: number }
export interface WireMessage {
  seq: bigint; from: string; msgId: string; contentType: string; data: Uint8Array; replyTo: bigint;
  attachments: WireAttachment[]; time: bigint; edited: bigint; deleted: boolean; pinned: boolean; reactions: WireReaction[];
}
export interface WirePresence { user: string; kind: number; lastSeen: bigint; status: string; invisible: boolean }

/** The envelope. Integers that may pass 2^53 are bigint; absent keys are zero values. */
export interface Frame {
  type: number; id: number; channel: string; data: Uint8Array; seq: bigint; msgId: string; from: string;
  time: bigint; code: number; reason: string; session: string; user: string; client: string; after: number;
  limits: Limits; contentType: string; replyTo: bigint; attachments: WireAttachment[]; kind: number; stop: boolean;
  before: bigint; since: bigint; around: bigint; limit: number; oldest: boolean; more: boolean;
  messages: WireMessage[]; reactions: WireReaction[]; users: string[]; presences: WirePresence[];
  /** Calls (types 17–22): call id, signaling target (room: the participant a request is about), candidate sdpMid (room: a track's media section), SFU mode, end reason. */
  callId: string; to: string; mid: string; sfu: boolean; endReason: number;
}

const EMPTY = new Uint8Array(0);

export function newFrame(init: Partial<Frame> = {}): Frame {
  return {
    type: 0, id: 0, channel: "", data: EMPTY, seq: 0n, msgId: "", from: "", time: 0n, code: 0, reason: "",
    session: "", user: "", client: "", after: 0,
    limits: { maxFrame: 0, publishRate: 0, publishBurst: 0, pingInterval: 0, maxSubscribed: 0 },
    contentType: "", replyTo: 0n, attachments: [], kind: 0, stop: false, before: 0n, since: 0n, around: 0n,
    limit: 0, oldest: false, more: false, messages: [], reactions: [], users: [], presences: [],
    callId: "", to: "", mid: "", sfu: false, endReason: 0, ...init,
  };
}

/** Decoding failures, as PROTOCOL.md §10 classes them. */
export class MalformedError extends Error { readonly kind = "malformed" }
export class TooLargeError extends Error { readonly kind = "too_large" }

// Decoder bounds of §10.
const MAX_KEYS = 64, MAX_DEPTH = 32, MAX_MESSAGES = 1000, MAX_ATTACHMENTS = 32, MAX_REACTIONS = 64, MAX_USERS = 1000;

// ---- schema: keys in canonical order, with their types ----

type Kind =
  | { k: "u"; max: bigint; nonzero?: boolean } | { k: "i64" } | { k: "str" } | { k: "bytes" } | { k: "bool" }
  | { k: "map"; schema: Schema } | { k: "arr"; of: Schema | "str"; max: number };
interface Field { key: string; name: string; kind: Kind }
type Schema = Field[];

const U8 = { k: "u", max: 0xffn } as const, U16 = { k: "u", max: 0xffffn } as const;
const U32 = { k: "u", max: 0xffffffffn } as const, U64 = { k: "u", max: 0xffffffffffffffffn } as const;
const I64 = { k: "i64" } as const, STR = { k: "str" } as const, BYTES = { k: "bytes" } as const, BOOL = { k: "bool" } as const;
const f = (key: string, name: string, kind: Kind): Field => ({ key, name, kind });

const ATTACHMENT: Schema = [f("url", "url", STR), f("mime", "mime", STR), f("size", "size", I64), f("name", "name", STR)];
const REACTION: Schema = [f("e", "emoji", STR), f("n", "count", U32)];
const PRESENCE: Schema = [f("u", "user", STR), f("k", "kind", U8), f("ts", "lastSeen", I64), f("tx", "status", STR), f("iv", "invisible", BOOL)];
const LIMITS: Schema = [f("mf", "maxFrame", U32), f("pr", "publishRate", U32), f("pb", "publishBurst", U32), f("pi", "pingInterval", U32), f("ms", "maxSubscribed", U32)];
const MESSAGE: Schema = [
  f("s", "seq", U64), f("f", "from", STR), f("m", "msgId", STR), f("ct", "contentType", STR), f("d", "data", BYTES),
  f("rt", "replyTo", U64), f("at", "attachments", { k: "arr", of: ATTACHMENT, max: MAX_ATTACHMENTS }), f("ts", "time", I64),
  f("et", "edited", I64), f("x", "deleted", BOOL), f("p", "pinned", BOOL), f("rx", "reactions", { k: "arr", of: REACTION, max: MAX_REACTIONS }),
];
const ENVELOPE: Schema = [
  f("t", "type", { k: "u", max: 0xffn, nonzero: true }), f("i", "id", U32), f("c", "channel", STR), f("d", "data", BYTES),
  f("s", "seq", U64), f("m", "msgId", STR), f("f", "from", STR), f("ts", "time", I64), f("e", "code", U16), f("r", "reason", STR),
  f("sid", "session", STR), f("u", "user", STR), f("cl", "client", STR), f("a", "after", U32), f("l", "limits", { k: "map", schema: LIMITS }),
  f("ct", "contentType", STR), f("rt", "replyTo", U64), f("at", "attachments", { k: "arr", of: ATTACHMENT, max: MAX_ATTACHMENTS }),
  f("k", "kind", U8), f("st", "stop", BOOL), f("hb", "before", U64), f("ha", "since", U64), f("hr", "around", U64), f("n", "limit", U16),
  f("o", "oldest", BOOL), f("mo", "more", BOOL), f("ms", "messages", { k: "arr", of: MESSAGE, max: MAX_MESSAGES }),
  f("rx", "reactions", { k: "arr", of: REACTION, max: MAX_REACTIONS }), f("us", "users", { k: "arr", of: "str", max: MAX_USERS }),
  f("ps", "presences", { k: "arr", of: PRESENCE, max: MAX_USERS }),
  f("cid", "callId", STR), f("to", "to", STR), f("mid", "mid", STR), f("sf", "sfu", BOOL), f("er", "endReason", U8),
];

const zeroOf = (kind: Kind): unknown => {
  switch (kind.k) {
    case "u": return kind.max > 0xffffffffn ? 0n : 0;
    case "i64": return 0n;
    case "str": return "";
    case "bytes": return EMPTY;
    case "bool": return false;
    case "map": return Object.fromEntries(kind.schema.map((x) => [x.name, zeroOf(x.kind)]));
    case "arr": return [];
  }
};
const isZero = (v: unknown): boolean =>
  v === 0 || v === 0n || v === "" || v === false || v == null ||
  (v instanceof Uint8Array || Array.isArray(v) ? v.length === 0 : typeof v === "object" && Object.values(v as object).every(isZero));

function zeroed(schema: Schema): Record<string, unknown> {
  return Object.fromEntries(schema.map((x) => [x.name, zeroOf(x.kind)]));
}

// ---- generic values, read by both decoders ----

type Val =
  | { t: "nil" } | { t: "bool"; v: boolean } | { t: "int"; v: bigint } | { t: "float" } | { t: "str"; v: string; raw?: Uint8Array }
  | { t: "bin"; v: Uint8Array } | { t: "arr"; v: Val[] } | { t: "map"; v: [Val, Val][] } | { t: "other" };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8enc = new TextEncoder();
function malformed(why: string): never { throw new MalformedError("wire: malformed frame: " + why); }
function tooLarge(why: string): never { throw new TooLargeError("wire: frame too large: " + why); }

/** Which array bound applies to the value of key in a map of schema (§10). */
function arrayBound(schema: Schema | undefined, key: Val): { max: number; of?: Schema } | undefined {
  if (!schema || key.t !== "str") return undefined;
  const fl = schema.find((x) => x.key === key.v);
  if (fl?.kind.k === "arr") return { max: fl.kind.max, of: fl.kind.of === "str" ? undefined : fl.kind.of };
  if (fl?.kind.k === "map") return { max: -1, of: fl.kind.schema };
  return undefined;
}

class MsgpackReader {
  private p = 0;
  private readonly v: DataView;
  constructor(private readonly b: Uint8Array) { this.v = new DataView(b.buffer, b.byteOffset, b.byteLength); }

  done(): boolean { return this.p === this.b.length; }
  private need(n: number): void { if (n > this.b.length - this.p) malformed("value beyond the input"); }
  private u8(): number { this.need(1); return this.b[this.p++]!; }
  private uN(n: number): number {
    this.need(n);
    const p = this.p; this.p += n;
    return n === 1 ? this.v.getUint8(p) : n === 2 ? this.v.getUint16(p) : this.v.getUint32(p);
  }
  private bytes(n: number): Uint8Array { this.need(n); const s = this.b.subarray(this.p, this.p + n); this.p += n; return s; }

  /** value reads one value at depth; schema says which map it is, if known. */
  value(depth: number, schema?: Schema, bound?: { max: number; of?: Schema }): Val {
    if (depth > MAX_DEPTH) malformed("nested too deep");
    const c = this.u8();
    if (c <= 0x7f) return { t: "int", v: BigInt(c) };
    if (c >= 0xe0) return { t: "int", v: BigInt(c - 0x100) };
    if ((c & 0xf0) === 0x80) return this.map(c & 0x0f, depth, schema);
    if ((c & 0xf0) === 0x90) return this.array(c & 0x0f, depth, bound);
    if ((c & 0xe0) === 0xa0) return this.str(c & 0x1f);
    switch (c) {
      case 0xc0: return { t: "nil" };
      case 0xc2: return { t: "bool", v: false };
      case 0xc3: return { t: "bool", v: true };
      case 0xc4: return { t: "bin", v: this.bytes(this.uN(1)) };
      case 0xc5: return { t: "bin", v: this.bytes(this.uN(2)) };
      case 0xc6: return { t: "bin", v: this.bytes(this.uN(4)) };
      case 0xc7: case 0xc8: case 0xc9: { // ext: skipped as an unknown value
        const n = this.uN(c === 0xc7 ? 1 : c === 0xc8 ? 2 : 4); this.bytes(n + 1); return { t: "other" };
      }
      case 0xca: this.bytes(4); return { t: "float" };
      case 0xcb: this.bytes(8); return { t: "float" };
      case 0xcc: return { t: "int", v: BigInt(this.uN(1)) };
      case 0xcd: return { t: "int", v: BigInt(this.uN(2)) };
      case 0xce: return { t: "int", v: BigInt(this.uN(4)) };
      case 0xcf: this.need(8); { const x = this.v.getBigUint64(this.p); this.p += 8; return { t: "int", v: x }; }
      case 0xd0: this.need(1); { const x = this.v.getInt8(this.p); this.p += 1; return { t: "int", v: BigInt(x) }; }
      case 0xd1: this.need(2); { const x = this.v.getInt16(this.p); this.p += 2; return { t: "int", v: BigInt(x) }; }
      case 0xd2: this.need(4); { const x = this.v.getInt32(this.p); this.p += 4; return { t: "int", v: BigInt(x) }; }
      case 0xd3: this.need(8); { const x = this.v.getBigInt64(this.p); this.p += 8; return { t: "int", v: x }; }
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: this.bytes(1 + (1 << (c - 0xd4))); return { t: "other" };
      case 0xd9: return this.str(this.uN(1));
      case 0xda: return this.str(this.uN(2));
      case 0xdb: return this.str(this.uN(4));
      case 0xdc: return this.array(this.uN(2), depth, bound);
      case 0xdd: return this.array(this.uN(4), depth, bound);
      case 0xde: return this.map(this.uN(2), depth, schema);
      case 0xdf: return this.map(this.uN(4), depth, schema);
    }
    return malformed("never-used format code");
  }
  private str(n: number): Val {
    const raw = this.bytes(n);
    try { return { t: "str", v: utf8.decode(raw), raw }; } catch { return malformed("invalid UTF-8"); }
  }
  private array(n: number, depth: number, bound?: { max: number; of?: Schema }): Val {
    if (bound && bound.max >= 0 && n > bound.max) tooLarge(`array of ${n}`);
    if (n > this.b.length - this.p) malformed("array beyond the input");
    const out: Val[] = [];
    for (let i = 0; i < n; i++) out.push(this.value(depth + 1, bound?.of));
    return { t: "arr", v: out };
  }
  private map(n: number, depth: number, schema?: Schema): Val {
    // A map of the schema is refused on its declared size, as the reference
    // decoder does; an unknown value being skipped first on the input left.
    if (!schema && 2 * n > this.b.length - this.p) malformed("map beyond the input");
    if (n > MAX_KEYS) tooLarge(`map of ${n}`);
    if (2 * n > this.b.length - this.p) malformed("map beyond the input");
    const out: [Val, Val][] = [];
    for (let i = 0; i < n; i++) {
      const k = this.value(depth + 1);
      const bound = arrayBound(schema, k);
      out.push([k, this.value(depth + 1, bound?.max === -1 ? bound.of : undefined, bound)]);
    }
    return { t: "map", v: out };
  }
}

const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

// An escaped lone surrogate has no UTF-8 form (String.isWellFormed, before Node 20).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

class JSONReader {
  private p = 0;
  constructor(private readonly s: string) {}
  done(): boolean { this.ws(); return this.p === this.s.length; }
  private ws(): void { while (this.p < this.s.length && " \t\n\r".includes(this.s[this.p]!)) this.p++; }
  private eat(c: string): boolean { this.ws(); if (this.s[this.p] === c) { this.p++; return true; } return false; }

  value(depth: number, schema?: Schema, bound?: { max: number; of?: Schema }): Val {
    if (depth > MAX_DEPTH) malformed("nested too deep");
    this.ws();
    const c = this.s[this.p];
    if (c === "{") return this.object(depth, schema);
    if (c === "[") return this.array(depth, bound);
    if (c === '"') return { t: "str", v: this.string() };
    for (const [word, val] of [["null", { t: "nil" }], ["true", { t: "bool", v: true }], ["false", { t: "bool", v: false }]] as const) {
      if (this.s.startsWith(word, this.p)) { this.p += word.length; return val as Val; }
    }
    NUMBER.lastIndex = this.p;
    const m = NUMBER.exec(this.s);
    if (!m) return malformed("unexpected character");
    this.p += m[0].length;
    return m[2] || m[3] ? { t: "float" } : { t: "int", v: BigInt(m[0]) };
  }
  private string(): string {
    STRING.lastIndex = this.p;
    const m = STRING.exec(this.s);
    if (!m) return malformed("bad string");
    this.p += m[0].length;
    const v = JSON.parse(m[0]) as string;
    if (LONE_SURROGATE.test(v)) malformed("invalid UTF-8");
    return v;
  }
  private array(depth: number, bound?: { max: number; of?: Schema }): Val {
    this.p++;
    const out: Val[] = [];
    if (this.eat("]")) return { t: "arr", v: out };
    do {
      if (bound && bound.max >= 0 && out.length === bound.max) tooLarge("array too long");
      out.push(this.value(depth + 1, bound?.of));
    } while (this.eat(","));
    if (!this.eat("]")) malformed("expected ]");
    return { t: "arr", v: out };
  }
  private object(depth: number, schema?: Schema): Val {
    this.p++;
    const out: [Val, Val][] = [];
    if (this.eat("}")) return { t: "map", v: out };
    do {
      if (out.length === MAX_KEYS) tooLarge("too many keys");
      this.ws();
      if (this.s[this.p] !== '"') malformed("key is not a string");
      const k: Val = { t: "str", v: this.string() };
      if (!this.eat(":")) malformed("expected :");
      const bound = arrayBound(schema, k);
      out.push([k, this.value(depth + 1, bound?.max === -1 ? bound.of : undefined, bound)]);
    } while (this.eat(","));
    if (!this.eat("}")) malformed("expected }");
    return { t: "map", v: out };
  }
}

// ---- mapping generic values onto the schema ----

function fromBase64(s: string): Uint8Array {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) malformed("d64 is not padded base64");
  const bin = atob(s);
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

function typed(v: Val, kind: Kind, json: boolean): unknown {
  if (v.t === "nil") return zeroOf(kind);
  switch (kind.k) {
    case "u":
      if (v.t !== "int" || v.v < 0n || v.v > kind.max) malformed("not an unsigned integer in range");
      return kind.max > 0xffffffffn ? v.v : Number(v.v);
    case "i64":
      if (v.t !== "int" || v.v < -(1n << 63n) || v.v >= 1n << 63n) malformed("not an int64");
      return v.v;
    case "str":
      if (v.t !== "str") malformed("not a string");
      return v.v;
    case "bytes":
      if (v.t === "bin" && !json) return v.v.slice();
      if (v.t === "str") return v.raw ? v.raw.slice() : utf8enc.encode(v.v);
      return malformed("not data");
    case "bool":
      if (v.t !== "bool") malformed("not a boolean");
      return v.v;
    case "map":
      if (v.t !== "map") malformed("not a map");
      return record(v, kind.schema, json);
    case "arr":
      if (v.t !== "arr") malformed("not an array");
      return v.v.map((e) => {
        if (kind.of === "str") {
          if (e.t !== "str") malformed("array element is not a string");
          return e.v;
        }
        if (e.t !== "map") malformed("array element is not a map");
        return record(e, kind.of, json);
      });
  }
}

function record(m: Val & { t: "map" }, schema: Schema, json: boolean): Record<string, unknown> {
  const out = zeroed(schema);
  const seen = new Set<string>();
  for (const [k, v] of m.v) {
    if (k.t !== "str") malformed("key is not a string");
    let key = k.v;
    if (json && key === "d64" && schema.some((x) => x.key === "d")) {
      if (v.t !== "str" && v.t !== "nil") malformed("d64 is not a string");
      key = "d";
      if (seen.has(key)) malformed("both d and d64");
      seen.add(key);
      out.data = v.t === "nil" ? EMPTY : fromBase64(v.v);
      continue;
    }
    const fl = schema.find((x) => x.key === key);
    if (!fl) continue; // unknown keys are skipped, whatever they hold
    if (seen.has(key)) malformed(`duplicate key ${key}` + (key === "d" ? " (or d and d64)" : ""));
    seen.add(key);
    out[fl.name] = typed(v, fl.kind, json);
  }
  return out;
}

function toFrame(v: Val, json: boolean): Frame {
  if (v.t !== "map") malformed("not a map");
  const fr = record(v, ENVELOPE, json) as unknown as Frame;
  if (fr.type === 0) malformed("t missing or 0");
  return fr;
}

// ---- encoders ----

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
// §9 wants the smallest int form: @msgpack/msgpack writes numbers below 2^32
// that way and bigints as 64-bit, so each integer goes as the one that fits.
const intValue = (v: bigint | number): bigint | number => {
  const b = BigInt(v);
  return b >= 0x100000000n || b < -0x80000000n ? b : Number(b);
};

/** canonical builds the §9 form of rec: an object whose keys are inserted in
 * canonical order, zero values left out, integers in the type that fits. */
function canonical(rec: Record<string, unknown>, schema: Schema, json: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const fl of schema) {
    const v = rec[fl.name];
    if (isZero(v)) continue;
    const kind = fl.kind;
    switch (kind.k) {
      case "u": case "i64": out[fl.key] = intValue(v as bigint | number); break;
      case "map": out[fl.key] = canonical(v as Record<string, unknown>, kind.schema, json); break;
      case "arr": {
        const of = kind.of;
        out[fl.key] = (v as unknown[]).map((e) => (of === "str" ? e : canonical(e as Record<string, unknown>, of, json)));
        break;
      }
      case "bytes": {
        const b = v as Uint8Array;
        if (!json) out[fl.key] = b;
        else try { out[fl.key] = utf8.decode(b); } catch { out.d64 = btoa(Array.from(b, (x) => String.fromCharCode(x)).join("")); }
        break;
      }
      default: out[fl.key] = v;
    }
  }
  return out;
}

const encoder = new Encoder({ useBigInt64: true });

function jsonString(s: string): string {
  return '"' + s.replace(/["\\\u0000-\u001f]/g, (c) => (c === '"' ? '\\"' : c === "\\" ? "\\\\" : "\\u00" + c.charCodeAt(0).toString(16).padStart(2, "0"))) + '"';
}
function jsonValue(v: unknown): string {
  switch (typeof v) {
    case "string": return jsonString(v);
    case "bigint": case "number": return String(v);
    case "boolean": return String(v);
  }
  if (Array.isArray(v)) return "[" + v.map(jsonValue).join(",") + "]";
  return "{" + Object.entries(v as object).map(([k, x]) => jsonString(k) + ":" + jsonValue(x)).join(",") + "}";
}

/** A codec of one subprotocol. */
export interface Codec {
  readonly subprotocol: string;
  readonly binary: boolean;
  encode(f: Partial<Frame>): Uint8Array | string;
  decode(data: Uint8Array | string): Frame;
}

export const msgpack: Codec = {
  subprotocol: SUBPROTOCOL_MSGPACK,
  binary: true,
  encode(fr) {
    return encoder.encode(canonical(newFrame(fr) as unknown as Record<string, unknown>, ENVELOPE, false));
  },
  decode(data) {
    const b = typeof data === "string" ? utf8enc.encode(data) : data;
    const r = new MsgpackReader(b);
    const v = r.value(0, ENVELOPE);
    if (!r.done()) malformed("bytes after the envelope");
    return toFrame(v, false);
  },
};

export const json: Codec = {
  subprotocol: SUBPROTOCOL_JSON,
  binary: false,
  encode(fr) {
    return jsonValue(canonical(newFrame(fr) as unknown as Record<string, unknown>, ENVELOPE, true));
  },
  decode(data) {
    const s = typeof data === "string" ? data : utf8.decode(data);
    const r = new JSONReader(s);
    const v = r.value(0, ENVELOPE);
    if (!r.done()) malformed("bytes after the envelope");
    return toFrame(v, true);
  },
};

/** Channel names: 1–128 bytes of ASCII letters, digits and _-:@=+ (§8). */
export const validChannel = (name: string): boolean => /^[A-Za-z0-9_\-:@=+]{1,128}$/.test(name);
