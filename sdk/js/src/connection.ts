// One WebSocket connection: handshake, request/reply by id, liveness.
import * as wire from "./wire.js";
import { CloseError, DisconnectedError, RequestTimeoutError, SalamError } from "./errors.js";
import type { Session } from "./types.js";

/** The part of the WebSocket API the SDK uses: browsers' and Node 22's global, or the `ws` package. */
export interface WebSocketLike {
  binaryType: string;
  readonly protocol: string;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

interface Pending { resolve(f: wire.Frame): void; reject(err: unknown): void; timer: ReturnType<typeof setTimeout> }

export class Connection {
  session!: Session;
  lastRead = Date.now();
  /** the reconnect delay a reconnect frame asked for, ms */
  after = 0;
  /** settles when the connection ends, with why */
  readonly ended: Promise<unknown>;
  private end!: (why: unknown) => void;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private isOpen = false;
  private done = false;

  private constructor(
    private readonly ws: WebSocketLike,
    private readonly codec: wire.Codec,
    private readonly requestTimeout: number,
    private readonly onFrame: (f: wire.Frame) => void,
  ) {
    this.ended = new Promise((resolve) => (this.end = resolve));
  }

  /** open dials and exchanges connect/connected; it rejects with why it failed. */
  static open(
    WS: WebSocketConstructor, url: string, codec: wire.Codec, client: string, timeout: number, requestTimeout: number,
    onFrame: (f: wire.Frame) => void,
  ): Promise<Connection> {
    const ws = new WS(url, [codec.subprotocol]);
    ws.binaryType = "arraybuffer";
    const cn = new Connection(ws, codec, requestTimeout, onFrame);
    ws.onmessage = (ev) => cn.receive(ev.data);
    ws.onclose = (ev) => cn.finish(new CloseError(ev.code, ev.reason));
    ws.onerror = () => {}; // a close event follows
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => cn.close(), timeout);
      cn.ended.then((why) => { clearTimeout(timer); reject(cn.isOpen ? why : Object.assign(why as object, { beforeOpen: true })); });
      ws.onopen = () => {
        cn.isOpen = true;
        if (ws.protocol !== codec.subprotocol) {
          cn.close(1000, "no subprotocol");
          return;
        }
        cn.request({ type: wire.FrameType.Connect, client }).then((f) => {
          clearTimeout(timer);
          const l = f.limits;
          cn.session = { id: f.session, user: f.user, limits: { ...l } };
          resolve(cn);
        }, (err) => { cn.close(); reject(err); });
      };
    });
  }

  private receive(data: unknown): void {
    let f: wire.Frame;
    try {
      f = this.codec.decode(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer));
    } catch (err) {
      this.close(4000, "undecodable frame");
      return;
    }
    this.lastRead = Date.now();
    if (f.id !== 0 && f.type !== wire.FrameType.Event) {
      const p = this.pending.get(f.id);
      if (p) {
        this.pending.delete(f.id);
        clearTimeout(p.timer);
        if (f.type === wire.FrameType.Error) p.reject(new SalamError(f.code, f.reason));
        else p.resolve(f);
      }
      // The SFU answers an offer in its reply: it is also a signal, emitted here in wire order (even late).
      if (f.type === wire.FrameType.Answer) this.onFrame(f);
      return;
    }
    if (f.type === wire.FrameType.Reconnect) {
      this.after = f.after;
      this.close(1000, "reconnect requested");
      return;
    }
    this.onFrame(f);
  }

  /** send writes one frame; it throws DisconnectedError when the socket is gone. */
  send(f: Partial<wire.Frame>): void {
    if (this.done) throw new DisconnectedError("salam: not connected");
    this.ws.send(this.codec.encode(f));
  }

  /** request sends f with a fresh id and waits for its reply or error frame. */
  request(f: Partial<wire.Frame>): Promise<wire.Frame> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.done) return reject(new DisconnectedError("salam: not connected"));
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestTimeoutError("salam: no reply within the request timeout"));
      }, this.requestTimeout);
      this.pending.set(id, { resolve, reject, timer });
      try {
        this.send({ ...f, id });
      } catch (err) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(err);
      }
    });
  }

  close(code = 1000, reason = ""): void {
    if (this.done) return;
    try { this.ws.close(code, reason); } catch { /* already closing */ }
    this.finish(new DisconnectedError("salam: connection closed by the client"));
  }

  private finish(why: unknown): void {
    if (this.done) return;
    this.done = true;
    this.ws.onmessage = this.ws.onclose = this.ws.onopen = null;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new DisconnectedError("salam: disconnected"));
    }
    this.pending.clear();
    this.end(why);
  }
}
