// Client: a connection to Salam that stays up. The same behaviour and names
// as the Go SDK (sdk/go), in JavaScript's terms: promises and AbortSignal for
// context.Context, an emitter for the handlers.
import * as wire from "./wire.js";
import { Emitter } from "./emitter.js";
import { Connection, type WebSocketConstructor } from "./connection.js";
import { ClosedError, CloseError, DisconnectedError, RequestTimeoutError, SalamError, ErrorCode, isCode, retriable } from "./errors.js";
import { CallEventKind, OfferKind, RoomEventKind } from "./types.js";
import type {
  Ack, Attachment, Call, CallEndReason, CallEvent, Layer, Role, RoomEvent, RoomMode, Signal, SignalKind, HistoryQuery, Message, Page, PositionStore, Presence, PresenceChange, Publication, Receipt,
  ReceiptKind, Session, State, Typing, Update, UpdateKind,
} from "./types.js";

export const VERSION = "0.3.0";
export const PROTOCOL_VERSION = "v1";

/** Returns a JWT for the next connection; asked again when it expires and after a refusal. */
export type TokenProvider = () => string | Promise<string>;

/** Exponential backoff with full jitter: attempt n waits random [0, min(max, initial·multiplier^(n-1))) ms. */
export interface Backoff { initial: number; max: number; multiplier: number }

export interface ClientOptions {
  /** WebSocket endpoint, e.g. "wss://chat.example.com/v1/ws". */
  url: string;
  /** A token or a provider of tokens (sent as ?token=, as browsers must). */
  token: string | TokenProvider;
  /** WebSocket implementation; default globalThis.WebSocket (browsers, Node ≥ 22). On Node 20 pass `ws`. */
  WebSocket?: WebSocketConstructor;
  /** Sent in connect; default "salam-js/" + VERSION. */
  clientName?: string;
  /** Use salam.v1.json (debugging); default msgpack. */
  json?: boolean;
  /** Reconnect and retry pacing; default { initial: 250, max: 30000, multiplier: 2 }. */
  backoff?: Partial<Backoff>;
  /** Upgrade plus connect/connected, ms; default 10000. */
  dialTimeout?: number;
  /** One attempt of a request waits this long before it is sent again, ms; default 10000. */
  requestTimeout?: number;
  /** Ping after this long without a frame, drop the connection after twice it, ms; default the server's l.pi, else 25000. */
  pingInterval?: number;
  /** At most one typing start per channel this often, ms; default 2000. */
  typingInterval?: number;
  /** A received typing start ends by itself after this long, ms; default 6000. */
  typingExpiry?: number;
  /** Where subscriptions keep their positions; e.g. storagePositions(sessionStorage) to resume after a reload. */
  positions?: PositionStore;
}

export interface ClientEvents extends Record<string, unknown> {
  message: Message;
  update: Update;
  typing: Typing;
  receipt: Receipt;
  presence: PresenceChange;
  call: CallEvent;
  signal: Signal;
  room: RoomEvent;
  state: { state: State; error?: unknown };
  error: unknown;
}

/** Options of every request: an AbortSignal bounds it, retries included. */
export interface CallOptions { signal?: AbortSignal }

interface Sub {
  channel: string;
  position: number;
  ready: boolean; // subscribed once: reconnects restore it
  on?: Connection;
  filling: boolean;
  held: wire.Frame[];
  giveUp: boolean;
}

/** A call this client takes part in: its signal sequence, the connection it is joined on, and its signals in order. */
interface ActiveCall { seq: number; on?: Connection; chain: Promise<unknown> }

const SIGNALS: Record<number, SignalKind> = { 18: "offer", 19: "answer", 20: "candidate", 21: "endOfCandidates" };

const dec = new TextDecoder();
const enc = new TextEncoder();
const ms = (v: bigint): Date | undefined => (v === 0n ? undefined : new Date(Number(v)));
const bytes = (d: Uint8Array | string | undefined): Uint8Array => (typeof d === "string" ? enc.encode(d) : d ?? new Uint8Array(0));
const fatalClose = (err: unknown): boolean => err instanceof CloseError && err.code === 1008;

/** A random client message id (26 characters of base32). */
export function newMessageId(): string {
  const b = new Uint8Array(16);
  if (globalThis.crypto?.getRandomValues) globalThis.crypto.getRandomValues(b);
  else for (let i = 0; i < b.length; i++) b[i] = Math.floor(Math.random() * 256); // Node 18: unique enough for an id
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let s = "";
  for (let i = 0; i < 26; i++) s += abc[(b[(i * 5) >> 3]! << 8 | (b[((i * 5) >> 3) + 1] ?? 0)) >> (11 - ((i * 5) & 7)) & 31];
  return s;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => { signal?.removeEventListener("abort", abort); resolve(); }, ms);
    const abort = () => { clearTimeout(t); reject(signal!.reason); };
    signal?.addEventListener("abort", abort, { once: true });
  });
}

function tokenExpiry(token: string): number {
  try {
    const p = token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(p + "=".repeat((4 - (p.length % 4)) % 4))).exp;
    return typeof exp === "number" ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}

export function toMessage(channel: string, m: wire.WireMessage): Message {
  return {
    channel, seq: Number(m.seq), from: m.from, msgId: m.msgId, contentType: m.contentType, data: m.data,
    text: dec.decode(m.data), replyTo: Number(m.replyTo), attachments: m.attachments.map(toAttachment),
    time: ms(m.time) ?? new Date(0), edited: ms(m.edited), deleted: m.deleted, pinned: m.pinned, reactions: m.reactions,
  };
}
const toCall = (f: wire.Frame): Call => ({
  id: f.callId, channel: f.channel, caller: f.from, created: ms(f.time) ?? new Date(0), participants: [...f.users],
  sfu: f.sfu, endReason: f.endReason as CallEndReason,
});
const toCallEvent = (f: wire.Frame): CallEvent => ({
  kind: f.kind as CallEventKind, call: f.callId, channel: f.channel, from: f.from, time: ms(f.time) ?? new Date(0),
  participants: [...f.users], sfu: f.sfu, endReason: f.endReason as CallEndReason,
});
/** toRoomEvent maps a room frame (type 22) from the server; undefined for a kind this SDK does not know. */
export function toRoomEvent(f: wire.Frame): RoomEvent | undefined {
  const K = RoomEventKind;
  const ev: RoomEvent = { kind: f.kind as RoomEventKind, call: f.callId, from: f.from };
  switch (f.kind) {
    case K.TrackPublished: ev.mid = f.mid; ev.contentType = f.contentType; break;
    case K.TrackUnpublished: ev.mid = f.mid; break;
    case K.ActiveSpeakers: ev.speakers = [...f.users]; break;
    case K.Muted: ev.forced = f.stop; break;
    case K.Role: ev.role = f.limit as Role; break;
    case K.Layer: ev.mid = f.mid; ev.layer = f.limit as Layer; break;
    case K.Mode: ev.mode = f.limit as RoomMode; break;
    case K.HandRaised: case K.HandLowered: case K.Unmuted: case K.Kicked: break;
    default: return undefined; // newer than this SDK: ignored, as PROTOCOL.md asks
  }
  return ev;
}
const toAttachment = (a: wire.WireAttachment): Attachment => ({ ...a, size: Number(a.size) });
const fromAttachment = (a: Attachment): wire.WireAttachment => ({ ...a, size: BigInt(a.size) });

/** Client keeps one WebSocket to Salam up: reconnects, resumes, retries. */
export class Client extends Emitter<ClientEvents> {
  private readonly opts: Required<Omit<ClientOptions, "positions" | "WebSocket" | "backoff">> & { backoff: Backoff };
  private readonly WS: WebSocketConstructor;
  private readonly codec: wire.Codec;
  private readonly life = new AbortController(); // aborted by close()
  private cur?: Connection;
  private waiters = new Set<() => void>();
  private subs = new Map<string, Sub>();
  private token = "";
  private tokenExp = 0;
  private fatal?: unknown;
  private started = false;
  private typed = new Map<string, number>();
  private typers = new Map<string, ReturnType<typeof setTimeout>>();
  private presence = new Map<string, PresenceChange>();
  private calls = new Map<string, ActiveCall>();
  // The SFU answers an offer in the reply but sends its own offers as deliveries, which can overtake that reply:
  // while an offer to a call's SFU waits, the SFU's offers of that call are held, then emitted after its answer.
  private sfuOffering = new Map<string, number>();
  private sfuHeld = new Map<string, wire.Frame[]>();
  private _state: State = "disconnected";
  private _session?: Session;

  constructor(private readonly options: ClientOptions) {
    super();
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new TypeError("salam: no WebSocket: pass options.WebSocket (e.g. the ws package on Node 20)");
    if (!/^wss?:\/\//.test(options.url)) throw new TypeError("salam: options.url must be a ws:// or wss:// URL");
    this.WS = WS;
    this.codec = options.json ? wire.json : wire.msgpack;
    this.opts = {
      url: options.url, token: options.token, clientName: options.clientName ?? "salam-js/" + VERSION,
      json: options.json ?? false, backoff: { initial: 250, max: 30000, multiplier: 2, ...options.backoff },
      dialTimeout: options.dialTimeout ?? 10000, requestTimeout: options.requestTimeout ?? 10000,
      pingInterval: options.pingInterval ?? 0, typingInterval: options.typingInterval ?? 2000,
      typingExpiry: options.typingExpiry ?? 6000,
    };
  }

  get state(): State { return this._state; }
  /** What the server said on the last connect. */
  get session(): Session | undefined { return this._session; }

  /** connect starts the client (once) and resolves when it is connected. */
  async connect(opts: CallOptions = {}): Promise<void> {
    if (!this.started) {
      this.started = true;
      void this.run();
    }
    await this.connection(opts.signal);
  }

  /** close ends the connection and every timer; nothing is emitted afterwards. */
  close(): void {
    if (this.life.signal.aborted) return;
    this.life.abort(new ClosedError("salam: client closed"));
    this.cur?.close(1000, "");
    for (const t of this.typers.values()) clearTimeout(t);
    this.typers.clear();
    this.setState("closed");
    this.wake();
  }

  // ---- connection lifecycle ----

  private setState(state: State, error?: unknown): void {
    if (this._state === "closed") return;
    this._state = state;
    this.emit("state", { state, error });
  }

  private wake(): void {
    for (const w of this.waiters) w();
    this.waiters.clear();
  }

  /** connection resolves with the connected connection, waiting for one. */
  private async connection(signal?: AbortSignal): Promise<Connection> {
    for (;;) {
      if (this.fatal) throw this.fatal;
      if (this.life.signal.aborted) throw this.life.signal.reason;
      signal?.throwIfAborted();
      if (this.cur) return this.cur;
      await new Promise<void>((resolve, reject) => {
        const abort = () => { this.waiters.delete(done); reject(signal!.reason); };
        const done = () => { signal?.removeEventListener("abort", abort); resolve(); };
        this.waiters.add(done);
        signal?.addEventListener("abort", abort, { once: true });
      });
    }
  }

  private backoff(attempt: number): number {
    const b = this.opts.backoff;
    const ceil = Math.min(b.max, b.initial * b.multiplier ** Math.max(0, attempt - 1));
    return Math.random() * ceil;
  }

  private async tokenFor(): Promise<string> {
    if (this.token && (this.tokenExp === 0 || this.tokenExp - Date.now() > 10000)) return this.token;
    const t = this.opts.token;
    this.token = typeof t === "string" ? t : await t();
    this.tokenExp = tokenExpiry(this.token);
    return this.token;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let failedBeforeOpen = 0;
    let wait = 0;
    while (!this.life.signal.aborted) {
      if (wait > 0) {
        try { await sleep(wait, this.life.signal); } catch { return; }
      }
      this.setState("connecting");
      let cn: Connection;
      try {
        const url = new URL(this.opts.url);
        url.searchParams.set("token", await this.tokenFor());
        cn = await Connection.open(this.WS, url.toString(), this.codec, this.opts.clientName, this.opts.dialTimeout,
          this.opts.requestTimeout, (f) => this.onFrame(f));
      } catch (err) {
        if (this.life.signal.aborted) return;
        // Browsers hide the upgrade's status (a refused token looks like any
        // failure), so a token that keeps failing is asked for again.
        if ((err as { beforeOpen?: boolean }).beforeOpen && ++failedBeforeOpen >= 2) this.token = "";
        attempt++;
        wait = this.backoff(attempt);
        this.setState("disconnected", err);
        continue;
      }
      if (this.life.signal.aborted) { cn.close(); return; }
      failedBeforeOpen = 0;
      const began = Date.now();
      const why = await this.serve(cn);
      if (this.life.signal.aborted) return;
      if (fatalClose(why)) {
        this.fatal = why;
        this.setState("closed", why);
        this.wake();
        return;
      }
      attempt = Date.now() - began > 10000 ? 1 : attempt + 1;
      wait = this.backoff(attempt);
      if (cn.after > 0) wait = cn.after + this.backoff(1);
      if (why instanceof CloseError && why.code === 4001) { this.token = ""; wait = 0; }
      this.setState("disconnected", why);
    }
  }

  private async serve(cn: Connection): Promise<unknown> {
    this.cur = cn;
    this._session = cn.session;
    this.setState("connected");
    this.wake();
    void this.resubscribe(cn);
    void this.rejoin(cn);
    const interval = this.opts.pingInterval || (cn.session.limits.pingInterval * 1000) || 25000;
    const tick = setInterval(() => {
      const idle = Date.now() - cn.lastRead;
      if (idle > 2 * interval) cn.close(4000, "no reply to ping");
      else if (idle > interval) { try { cn.send({ type: wire.FrameType.Ping }); } catch { /* ended */ } }
    }, interval / 2);
    const why = await cn.ended;
    clearInterval(tick);
    this.cur = undefined;
    for (const sub of this.subs.values()) sub.on = undefined;
    return why;
  }

  // ---- requests ----

  /** call sends a request and retries it until answered, refused for good, or aborted (every request is idempotent). */
  private async call(f: Partial<wire.Frame>, signal?: AbortSignal): Promise<wire.Frame> {
    for (let attempt = 1; ; attempt++) {
      const cn = await this.connection(signal);
      try {
        return await cn.request(f);
      } catch (err) {
        if (!retriable(err)) throw err;
        signal?.throwIfAborted();
        if (err instanceof SalamError) await sleep(this.backoff(attempt), signal);
      }
    }
  }

  /** publish stores a message and resolves with its sequence; retries reuse the same client message id, so it is stored once. */
  async publish(channel: string, p: Publication, opts: CallOptions = {}): Promise<Ack> {
    const id = p.id || newMessageId();
    this.stopTyping(channel);
    const r = await this.call({
      type: wire.FrameType.Publish, channel, data: bytes(p.data), msgId: id, contentType: p.contentType ?? "",
      replyTo: BigInt(p.replyTo ?? 0), attachments: (p.attachments ?? []).map(fromAttachment),
    }, opts.signal);
    return { id, seq: Number(r.seq), time: ms(r.time) ?? new Date(0) };
  }

  /** sendText publishes a text/plain message. */
  sendText(channel: string, text: string, opts: CallOptions = {}): Promise<Ack> {
    return this.publish(channel, { data: text }, opts);
  }

  /** history returns one page of a channel's messages. */
  async history(channel: string, q: HistoryQuery = {}, opts: CallOptions = {}): Promise<Page> {
    const r = await this.call({
      type: wire.FrameType.History, channel, before: BigInt(q.before ?? 0), since: BigInt(q.after ?? 0),
      around: BigInt(q.around ?? 0), limit: q.limit ?? 0, oldest: q.oldest ?? false,
    }, opts.signal);
    return { more: r.more, messages: r.messages.map((m) => toMessage(channel, m)) };
  }

  /** scroll walks history page after page in q's direction (back from before or the newest; forward from after, or the start with oldest), in the order of travel. */
  async *scroll(channel: string, q: HistoryQuery = {}, opts: CallOptions = {}): AsyncGenerator<Message> {
    if (q.around) throw new SalamError(ErrorCode.BadFrame, "around cannot be scrolled");
    const forward = !!q.after || (!q.before && !!q.oldest);
    const query = { ...q, oldest: forward };
    for (;;) {
      const page = await this.history(channel, query, opts);
      yield* page.messages;
      const last = page.messages.at(-1);
      if (!page.more || !last) return;
      if (forward) query.after = last.seq;
      else query.before = last.seq;
    }
  }

  /** typing says you are typing; call it on every keystroke, it sends at most one start per typingInterval. Not retried. */
  typing(channel: string): void {
    const now = Date.now();
    if (now - (this.typed.get(channel) ?? -Infinity) < this.opts.typingInterval) return;
    this.typed.set(channel, now);
    try { this.cur?.send({ type: wire.FrameType.Typing, channel }); } catch { /* ephemeral */ }
  }

  /** stopTyping ends your typing indicator, if typing started one. */
  stopTyping(channel: string): void {
    if (!this.typed.delete(channel)) return;
    try { this.cur?.send({ type: wire.FrameType.Typing, channel, stop: true }); } catch { /* ephemeral */ }
  }

  /** markRead moves your read cursor forward to seq. */
  async markRead(channel: string, seq: number, opts: CallOptions = {}): Promise<void> {
    await this.receipt(channel, seq, 2, opts);
  }

  /** markDelivered moves your delivered cursor forward to seq. */
  async markDelivered(channel: string, seq: number, opts: CallOptions = {}): Promise<void> {
    await this.receipt(channel, seq, 1, opts);
  }

  private receipt(channel: string, seq: number, kind: number, opts: CallOptions): Promise<wire.Frame> {
    return this.call({ type: wire.FrameType.Receipt, channel, seq: BigInt(seq), kind }, opts.signal);
  }

  /** queryPresence returns one entry per distinct user, in the order asked. */
  async queryPresence(users: string[], opts: CallOptions = {}): Promise<Presence[]> {
    const r = await this.call({ type: wire.FrameType.Presence, users }, opts.signal);
    return r.presences.map((p) => ({ user: p.user, online: p.kind === 1, lastSeen: ms(p.lastSeen), status: p.status, invisible: p.invisible }));
  }

  /** ping resolves with the round trip in ms. */
  async ping(opts: CallOptions = {}): Promise<number> {
    const start = performance.now();
    await this.call({ type: wire.FrameType.Ping }, opts.signal);
    return performance.now() - start;
  }

  // ---- subscriptions ----

  /**
   * subscribe delivers the channel's events and keeps doing so across
   * reconnects, each message once and in order. `after` resumes after that
   * sequence (0: from the first message; default: the positions store's,
   * else from now).
   */
  async subscribe(channel: string, o: { after?: number } & CallOptions = {}): Promise<void> {
    if (!wire.validChannel(channel)) throw new SalamError(ErrorCode.BadChannel, "invalid channel name");
    if (this.subs.has(channel)) return;
    const after = o.after ?? this.options.positions?.get(channel);
    const sub: Sub = { channel, position: after ?? 0, ready: false, filling: false, held: [], giveUp: false };
    this.subs.set(channel, sub);
    try {
      if (after === undefined) {
        // Resuming from the newest sequence lets a reconnect before the
        // first message lose nothing.
        const head = await this.history(channel, { limit: 1 }, o);
        this.setPosition(sub, head.messages[0]?.seq ?? 0);
      }
      for (;;) {
        const cn = await this.connection(o.signal);
        try {
          await this.subscribeOn(cn, sub);
          return;
        } catch (err) {
          if (!(err instanceof DisconnectedError)) throw err;
        }
      }
    } catch (err) {
      if (this.subs.get(channel) === sub) this.subs.delete(channel);
      throw err;
    }
  }

  private async subscribeOn(cn: Connection, sub: Sub): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await cn.request({ type: wire.FrameType.Subscribe, channel: sub.channel, seq: BigInt(sub.position) });
        sub.on = cn;
        sub.ready = true;
        // After the replayed events, which came first: the rest of a replay
        // cut short, or, from position 0 (which the server cannot resume
        // from), whatever came before the subscription took hold.
        if (ack.more || sub.position === 0) this.startFill(sub);
        return;
      } catch (err) {
        if (isCode(err, ErrorCode.AlreadySubscribed)) { sub.on = cn; sub.ready = true; return; }
        if (!retriable(err) || err instanceof DisconnectedError) throw err;
        await sleep(this.backoff(attempt), this.life.signal);
      }
    }
  }

  private async resubscribe(cn: Connection): Promise<void> {
    for (const sub of [...this.subs.values()]) {
      if (!sub.ready || sub.on === cn) continue;
      try {
        await this.subscribeOn(cn, sub);
      } catch (err) {
        if (this.cur !== cn || !(err instanceof SalamError)) { cn.close(); return; } // the next connection tries again
        this.subs.delete(sub.channel);
        this.emit("error", Object.assign(err, { channel: sub.channel }));
      }
    }
  }

  /** unsubscribe stops the channel's events. */
  async unsubscribe(channel: string, opts: CallOptions = {}): Promise<void> {
    if (!this.subs.delete(channel) || !this.cur) return;
    try {
      await this.cur.request({ type: wire.FrameType.Unsubscribe, channel });
    } catch (err) {
      if (!isCode(err, ErrorCode.NotSubscribed) && !(err instanceof DisconnectedError)) throw err;
    }
    opts.signal?.throwIfAborted();
  }

  /** position is the sequence of the last message delivered in channel (or its start point). */
  position(channel: string): number | undefined {
    return this.subs.get(channel)?.position;
  }

  private setPosition(sub: Sub, seq: number): void {
    sub.position = seq;
    this.options.positions?.set(sub.channel, seq);
  }


  // ---- calls ----

  /** callCreate starts a call in channel and rings its other members (not retried after a lost reply: that would start a second call). */
  callCreate(channel: string, opts: CallOptions = {}): Promise<Call> { return this.callAction(1, { channel }, opts); }
  /** callAccept answers a call ringing for you and joins it; then offer to every other participant. */
  callAccept(call: string, opts: CallOptions = {}): Promise<Call> { return this.callAction(2, { callId: call }, opts); }
  /** callDecline refuses a call ringing for you. */
  callDecline(call: string, opts: CallOptions = {}): Promise<Call> { return this.callAction(3, { callId: call }, opts); }
  /** callCancel ends your call before anyone answered. */
  callCancel(call: string, opts: CallOptions = {}): Promise<Call> { return this.callAction(4, { callId: call }, opts); }
  /** callJoin joins an active call; after a reconnect the SDK re-joins by itself (CallEventKind.Resumed). */
  callJoin(call: string, opts: CallOptions = {}): Promise<Call> { return this.callAction(5, { callId: call }, opts); }
  /** callLeave leaves a call; the last one leaving ends it. */
  callLeave(call: string, opts: CallOptions = {}): Promise<Call> { return this.callAction(6, { callId: call }, opts); }
  /** callEnd ends your call for everyone. */
  callEnd(call: string, opts: CallOptions = {}): Promise<Call> { return this.callAction(7, { callId: call }, opts); }

  /** callAction retries temporary refusals; a lost reply only for join, the one action safe to repeat. */
  private async callAction(kind: number, f: Partial<wire.Frame>, opts: CallOptions): Promise<Call> {
    for (let attempt = 1; ; attempt++) {
      const cn = await this.connection(opts.signal);
      try {
        const r = await cn.request({ ...f, type: wire.FrameType.Call, kind });
        this.tookPart(r.callId, kind, Number(r.seq), cn);
        return toCall(r);
      } catch (err) {
        if (!retriable(err) || (!(err instanceof SalamError) && kind !== 5)) {
          if (isCode(err, ErrorCode.CallNotFound)) this.calls.delete(f.callId ?? "");
          throw err;
        }
        opts.signal?.throwIfAborted();
        if (err instanceof SalamError) await sleep(this.backoff(attempt), opts.signal);
      }
    }
  }

  private tookPart(call: string, kind: number, seq: number, cn: Connection): void {
    if (kind === 1 || kind === 2 || kind === 5) {
      const ac = this.calls.get(call) ?? { seq: 0, chain: Promise.resolve() };
      ac.seq = seq; // the server's last sequence from us: a resume continues after it
      ac.on = cn;
      this.calls.set(call, ac);
    } else if (kind === 4 || kind === 6 || kind === 7) this.calls.delete(call);
  }

  /**
   * callOffer sends an SDP offer to participant to. With to "" it offers to the SFU of an escalated call: its answer
   * is emitted as a `signal` (kind "answer", from "") before the promise resolves, and before any later SFU offer.
   */
  callOffer(call: string, to: string, kind: OfferKind, sdp: string, opts: CallOptions = {}): Promise<void> {
    return this.signal(call, { type: wire.FrameType.Offer, to, kind, data: enc.encode(sdp) }, opts);
  }
  /** callAnswer answers to's outstanding offer. */
  callAnswer(call: string, to: string, sdp: string, opts: CallOptions = {}): Promise<void> {
    return this.signal(call, { type: wire.FrameType.Answer, to, data: enc.encode(sdp) }, opts);
  }
  /** callCandidate sends a trickle ICE candidate (RTCIceCandidate.candidate) with its sdpMid. */
  callCandidate(call: string, to: string, candidate: string, mid: string, opts: CallOptions = {}): Promise<void> {
    return this.signal(call, { type: wire.FrameType.Candidate, to, data: enc.encode(candidate), mid }, opts);
  }
  /** callEndOfCandidates says you gathered all your candidates for to. */
  callEndOfCandidates(call: string, to: string, opts: CallOptions = {}): Promise<void> {
    return this.signal(call, { type: wire.FrameType.EndOfCandidates, to }, opts);
  }

  /**
   * signal sends a frame with the call's next signal sequence, after the call's earlier signals. A lost ack is
   * retried with the same sequence (306 duplicate means the server took it); rate limiting with the next one (a
   * refused frame uses up its number). Not carried over a reconnect: DisconnectedError until the call is resumed.
   */
  private signal(call: string, f: Partial<wire.Frame>, opts: CallOptions): Promise<void> {
    const ac = this.calls.get(call);
    if (!ac) return Promise.reject(new SalamError(ErrorCode.NotInCall, "not in call " + call + " on this client"));
    const toSFU = f.type === wire.FrameType.Offer && !f.to;
    const run = async () => {
      const cn = this.cur;
      if (!cn || ac.on !== cn) throw new DisconnectedError("salam: call not resumed on this connection yet");
      ac.seq++;
      if (toSFU) this.sfuOffering.set(call, (this.sfuOffering.get(call) ?? 0) + 1);
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            await cn.request({ ...f, callId: call, seq: BigInt(ac.seq) });
            return;
          } catch (err) {
            if (isCode(err, ErrorCode.Duplicate)) return;
            if (err instanceof RequestTimeoutError) continue;
            if (!(err instanceof SalamError) || !err.temporary || err.code === ErrorCode.PeerReconnecting) throw err;
            await sleep(this.backoff(attempt), opts.signal);
            ac.seq++;
          }
        }
      } finally {
        if (toSFU) this.sfuDone(call);
      }
    };
    const p = ac.chain.then(run, run);
    ac.chain = p.catch(() => {});
    return p;
  }

  /** sfuDone ends one offer to call's SFU and emits the SFU offers held meanwhile, once none waits. */
  private sfuDone(call: string): void {
    const n = (this.sfuOffering.get(call) ?? 1) - 1;
    if (n > 0) { this.sfuOffering.set(call, n); return; }
    this.sfuOffering.delete(call);
    const held = this.sfuHeld.get(call) ?? [];
    this.sfuHeld.delete(call);
    for (const f of held) this.onFrame(f);
  }

  // ---- rooms on the SFU (PROTOCOL.md §4, 22): a track is named by its publisher and the publisher's mid ----

  /** roomSubscribe receives a track again after roomUnsubscribe (every track is received by default). */
  roomSubscribe(call: string, publisher: string, mid: string, opts: CallOptions = {}): Promise<void> {
    return this.roomRequest(1, { callId: call, to: publisher, mid }, opts);
  }
  /** roomUnsubscribe stops receiving a track: the SFU removes it with a renegotiation offer. TrackNotFound: no such track. */
  roomUnsubscribe(call: string, publisher: string, mid: string, opts: CallOptions = {}): Promise<void> {
    return this.roomRequest(2, { callId: call, to: publisher, mid }, opts);
  }
  /** roomPause keeps a track you receive negotiated but stops its packets. */
  roomPause(call: string, publisher: string, mid: string, opts: CallOptions = {}): Promise<void> {
    return this.roomRequest(3, { callId: call, to: publisher, mid }, opts);
  }
  /** roomResume sends a paused track's packets again, from its next keyframe. */
  roomResume(call: string, publisher: string, mid: string, opts: CallOptions = {}): Promise<void> {
    return this.roomRequest(4, { callId: call, to: publisher, mid }, opts);
  }
  /** roomMaxLayer caps the simulcast layer you receive of a track (a `room` event of kind Layer says which you get). */
  roomMaxLayer(call: string, publisher: string, mid: string, layer: Layer, opts: CallOptions = {}): Promise<void> {
    return this.roomRequest(5, { callId: call, to: publisher, mid, limit: layer }, opts);
  }
  /** roomRaiseHand raises your hand: everyone gets HandRaised. */
  roomRaiseHand(call: string, opts: CallOptions = {}): Promise<void> { return this.roomRequest(6, { callId: call }, opts); }
  /** roomLowerHand lowers user's hand ("" yours; another's as the moderator, the call's owner). */
  roomLowerHand(call: string, user = "", opts: CallOptions = {}): Promise<void> {
    return this.roomRequest(7, { callId: call, to: user }, opts);
  }
  /** roomMute stops forwarding user's audio ("" yours; another's as the moderator: a forced mute only the moderator lifts). */
  roomMute(call: string, user = "", opts: CallOptions = {}): Promise<void> {
    return this.roomRequest(8, { callId: call, to: user }, opts);
  }
  /** roomUnmute forwards user's audio again ("" yours); after a forced mute only the moderator may (PermissionDenied). */
  roomUnmute(call: string, user = "", opts: CallOptions = {}): Promise<void> {
    return this.roomRequest(9, { callId: call, to: user }, opts);
  }
  /** roomKick removes user from the room and the call (moderator only); not retried after a lost reply. */
  roomKick(call: string, user: string, opts: CallOptions = {}): Promise<void> {
    return this.roomRequest(10, { callId: call, to: user }, opts);
  }
  /** roomSetRole makes user a speaker or a listener (moderator only). */
  roomSetRole(call: string, user: string, role: Role, opts: CallOptions = {}): Promise<void> {
    return this.roomRequest(11, { callId: call, to: user, limit: role }, opts);
  }
  /** roomSetMode opens the room or makes it a stage (moderator only). */
  roomSetMode(call: string, mode: RoomMode, opts: CallOptions = {}): Promise<void> {
    return this.roomRequest(12, { callId: call, limit: mode }, opts);
  }

  /**
   * roomRequest waits for the ack or rejects with the SalamError (TrackNotFound, TargetNotInCall, PermissionDenied,
   * BadFrame, OutOfOrder before your first offer to the SFU, WrongState before the call escalated, CallNotFound,
   * NotInCall). Temporary refusals (Unavailable: no SFU yet) are retried with backoff, a lost reply too except for a kick.
   */
  private async roomRequest(kind: number, f: Partial<wire.Frame>, opts: CallOptions): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const cn = await this.connection(opts.signal);
      try {
        await cn.request({ ...f, type: wire.FrameType.Room, kind });
        return;
      } catch (err) {
        if (!retriable(err) || (!(err instanceof SalamError) && kind === 10)) throw err;
        opts.signal?.throwIfAborted();
        if (err instanceof SalamError) await sleep(this.backoff(attempt), opts.signal);
      }
    }
  }

  /** rejoin resumes every call of this client on a new connection. */
  private async rejoin(cn: Connection): Promise<void> {
    for (const [id, ac] of [...this.calls]) {
      if (ac.on === cn) continue;
      for (let attempt = 1; ; attempt++) {
        try {
          const r = await cn.request({ type: wire.FrameType.Call, kind: 5, callId: id });
          this.tookPart(id, 5, Number(r.seq), cn);
          this.emit("call", { ...toCallEvent(r), kind: CallEventKind.Resumed });
          break;
        } catch (err) {
          if (this.cur !== cn || err instanceof DisconnectedError) return; // the next connection tries again
          if (retriable(err)) {
            try { await sleep(this.backoff(attempt), this.life.signal); } catch { return; }
            continue;
          }
          this.calls.delete(id);
          this.emit("error", Object.assign(err as object, { call: id }));
          break;
        }
      }
    }
  }

  // ---- incoming events ----

  private onFrame(f: wire.Frame): void {
    if (this.life.signal.aborted) return;
    switch (f.type) {
      case wire.FrameType.Event: {
        const sub = this.subs.get(f.channel);
        if (sub && f.kind <= 6) this.sequence(sub, f);
        break;
      }
      case wire.FrameType.Typing: this.onTyping({ channel: f.channel, user: f.from, stop: f.stop }); break;
      case wire.FrameType.Receipt:
        this.emit("receipt", { channel: f.channel, user: f.from, seq: Number(f.seq), kind: f.kind as ReceiptKind });
        break;
      case wire.FrameType.Presence: {
        const p: PresenceChange = { channel: f.channel, user: f.from, online: f.kind === 1, lastSeen: ms(f.time) };
        const last = this.presence.get(p.user);
        if (last && last.online === p.online && last.lastSeen?.getTime() === p.lastSeen?.getTime()) return;
        this.presence.set(p.user, p);
        this.emit("presence", p);
        break;
      }
      case wire.FrameType.Call: {
        if (f.kind < 2 || f.kind > 10) return;
        const ev = toCallEvent(f);
        // Over, or resumed on another connection of yours (left with sid).
        if (ev.kind === CallEventKind.Ended || (ev.kind === CallEventKind.Left && f.session && ev.from === this._session?.user)) {
          this.calls.delete(ev.call);
        }
        this.emit("call", ev);
        break;
      }
      case wire.FrameType.Offer: case wire.FrameType.Answer: case wire.FrameType.Candidate: case wire.FrameType.EndOfCandidates: {
        const fromSFU = f.from === "" && f.type === wire.FrameType.Offer;
        if (fromSFU && (this.sfuOffering.get(f.callId) ?? 0) > 0) {
          const held = this.sfuHeld.get(f.callId) ?? [];
          held.push(f);
          this.sfuHeld.set(f.callId, held);
          return;
        }
        const sg: Signal = { kind: SIGNALS[f.type]!, call: f.callId, from: f.from };
        if (f.type === wire.FrameType.Offer) sg.offer = f.kind as OfferKind;
        if (fromSFU) sg.seq = Number(f.seq);
        if (f.type === wire.FrameType.Offer || f.type === wire.FrameType.Answer) sg.sdp = dec.decode(bytes(f.data));
        if (f.type === wire.FrameType.Candidate) { sg.candidate = dec.decode(bytes(f.data)); sg.mid = f.mid; }
        this.emit("signal", sg);
        break;
      }
      case wire.FrameType.Room: {
        const ev = toRoomEvent(f);
        if (ev) this.emit("room", ev);
        break;
      }
      case wire.FrameType.Error: this.emit("error", new SalamError(f.code, f.reason)); break;
    }
  }

  /** sequence delivers messages exactly once, in order, holding everything behind a gap until history fills it. */
  private sequence(sub: Sub, f: wire.Frame): void {
    if (sub.filling) { sub.held.push(f); return; }
    if (f.kind !== 0) {
      if (f.kind === 6 && f.from === this._session?.user) this.subs.delete(sub.channel); // the server ended it
      this.emit("update", {
        channel: f.channel, kind: f.kind as UpdateKind, seq: Number(f.seq), from: f.from, time: ms(f.time) ?? new Date(0),
        contentType: f.contentType, data: f.data, reactions: f.reactions,
      });
      return;
    }
    const s = Number(f.seq);
    if (s <= sub.position) return;
    if (s > sub.position + 1 && !sub.giveUp) {
      sub.held.push(f);
      this.startFill(sub);
      return;
    }
    sub.giveUp = false;
    this.setPosition(sub, s);
    this.emit("message", toMessage(f.channel, { ...f, edited: 0n, deleted: false, pinned: false }));
  }

  private startFill(sub: Sub): void {
    if (sub.filling) return;
    sub.filling = true;
    this.history(sub.channel, { after: sub.position, limit: 200, oldest: true }, { signal: this.life.signal }).then(
      (page) => this.filled(sub, page),
      (err) => {
        if (this.life.signal.aborted) return;
        this.emit("error", err);
        this.filled(sub, { messages: [], more: false });
      },
    );
  }

  private filled(sub: Sub, page: Page): void {
    if (this.subs.get(sub.channel) !== sub || this.life.signal.aborted) return;
    sub.filling = false;
    let progress = false;
    for (const m of page.messages) {
      if (m.seq <= sub.position) continue;
      this.setPosition(sub, m.seq);
      progress = true;
      this.emit("message", m);
    }
    if (progress && page.more) { this.startFill(sub); return; }
    sub.giveUp = !progress;
    const held = sub.held;
    sub.held = [];
    for (const f of held) this.sequence(sub, f);
  }

  private onTyping(t: Typing): void {
    const key = t.channel + "\u0000" + t.user;
    clearTimeout(this.typers.get(key));
    this.typers.delete(key);
    if (!t.stop) {
      this.typers.set(key, setTimeout(() => {
        this.typers.delete(key);
        this.emit("typing", { ...t, stop: true });
      }, this.opts.typingExpiry));
    }
    this.emit("typing", t);
  }
}
