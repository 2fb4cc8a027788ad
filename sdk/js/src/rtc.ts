// Small browser helpers: one RTCPeerConnection with one other participant
// of a call (connectPeer), or with the SFU of an escalated call
// (connectSFU), signaled through the client with perfect negotiation.
import type { Client } from "./client.js";
import { CallEventKind, OfferKind, type Signal } from "./types.js";
import { ErrorCode, isCode } from "./errors.js";

/** What the helper uses of an RTCPeerConnection (a real one fits; tests inject a fake). */
export interface PeerConnectionLike {
  readonly signalingState: string;
  readonly localDescription: { type: string; sdp: string } | null;
  // any: the DOM's handlers take DOM event types
  onnegotiationneeded: ((ev: any) => unknown) | null;
  onicecandidate: ((ev: any) => unknown) | null;
  setLocalDescription(d?: { type: RTCSdpType; sdp?: string }): Promise<void>;
  setRemoteDescription(d: { type: RTCSdpType; sdp?: string }): Promise<void>;
  addIceCandidate(c?: { candidate: string; sdpMid?: string | null }): Promise<void>;
  restartIce(): void;
}

/** The documented glare rule: who joined the call later (later in participants) is polite toward who joined earlier. */
export function isPolite(participants: string[], me: string, peer: string): boolean {
  return participants.indexOf(me) > participants.indexOf(peer);
}

export interface CallPeerOptions {
  call: string;
  /** The other participant's user id ("" for the SFU). */
  peer: string;
  polite: boolean;
  /** Asynchronous failures (a refused signal, a description that did not apply). */
  onError?: (err: unknown) => void;
}

/**
 * connectPeer wires pc to the call: negotiationneeded → offer (initial, then renegotiate; ICE restart after
 * restartIce or when the SDK resumed the call), icecandidate → candidate / end of candidates, and the peer's
 * relayed signals back into pc. Returns a function that unwires it.
 */
export function connectPeer(client: Client, pc: PeerConnectionLike, o: CallPeerOptions): () => void {
  const fail = (err: unknown) => o.onError?.(err);
  let makingOffer = false, ignoreOffer = false, established = false, restarting = false;
  let held: (() => Promise<void>)[] | undefined; // candidates gathered while our offer or answer is on its way

  const sendCandidate = (send: () => Promise<void>) => {
    if (held) held.push(send);
    else send().catch(fail);
  };
  pc.onicecandidate = ({ candidate: c }: { candidate: { candidate: string; sdpMid: string | null } | null }) =>
    sendCandidate(() => c?.candidate
      ? client.callCandidate(o.call, o.peer, c.candidate, c.sdpMid ?? "")
      : client.callEndOfCandidates(o.call, o.peer));
  pc.onnegotiationneeded = async () => {
    const kind = restarting ? OfferKind.ICERestart : established ? OfferKind.Renegotiate : OfferKind.Initial;
    restarting = false;
    held = [];
    try {
      makingOffer = true;
      await pc.setLocalDescription();
      await client.callOffer(o.call, o.peer, kind, pc.localDescription!.sdp);
    } catch (err) {
      if (!isCode(err, ErrorCode.Glare)) fail(err); // glare, polite: their offer arrives, we answer it
    } finally {
      makingOffer = false;
      await flush();
    }
  };
  const flush = async () => {
    const h = held ?? [];
    held = undefined;
    for (const send of h) await send().catch(fail);
  };
  let inbox = Promise.resolve(); // the peer's signals, applied one after the other
  const offSignal = client.on("signal", (s) => {
    if (s.call === o.call && s.from === o.peer) inbox = inbox.then(() => apply(s));
  });
  const apply = async (s: Signal) => {
    try {
      if (s.kind === "offer" || s.kind === "answer") {
        const collision = s.kind === "offer" && (makingOffer || pc.signalingState !== "stable");
        ignoreOffer = !o.polite && collision;
        if (ignoreOffer) return;
        await pc.setRemoteDescription({ type: s.kind, sdp: s.sdp! }); // a polite offer rolls back by itself
        if (s.kind === "offer") {
          held ??= [];
          try {
            await pc.setLocalDescription();
            await client.callAnswer(o.call, o.peer, pc.localDescription!.sdp);
          } finally {
            await flush();
          }
        }
        established = true;
      } else if (s.kind === "candidate") {
        await pc.addIceCandidate({ candidate: s.candidate!, sdpMid: s.mid || null }).catch((err) => { if (!ignoreOffer) throw err; });
      } else {
        await pc.addIceCandidate().catch(() => {}); // end of candidates: optional for browsers
      }
    } catch (err) {
      fail(err);
    }
  };
  const offCall = client.on("call", (ev) => {
    // The SFU is not restarted: after a resume a client starts over with it (connectSFU).
    if (ev.call === o.call && ev.kind === CallEventKind.Resumed && established && o.peer !== "") restartIce();
  });
  const restartIce = () => { restarting = true; pc.restartIce(); };
  return () => {
    offSignal();
    offCall();
    pc.onicecandidate = null;
    pc.onnegotiationneeded = null;
  };
}

export interface SFUOptions {
  call: string;
  /** Asynchronous failures (a refused signal, a description that did not apply). */
  onError?: (err: unknown) => void;
}

/**
 * connectSFU wires pc, the one peer connection of an escalated call (PROTOCOL.md §4, 22), to the call's SFU: add
 * your tracks (or a recvonly transceiver if you publish nothing) and negotiationneeded offers to the SFU (initial,
 * then renegotiation); its answer and its renegotiation offers (answered in order) are applied as they come; the
 * SFU is the impolite side, so an offer of yours that crosses one of its offers is rolled back and the SFU's answered.
 * Received tracks carry the publisher's user id as stream id (escaped: decodeURIComponent gives it back) and its mid
 * as track id. When pc fails, or after the
 * SDK resumed the call (CallEventKind.Resumed), unwire it, close it and connect a new RTCPeerConnection.
 */
export function connectSFU(client: Client, pc: PeerConnectionLike, o: SFUOptions): () => void {
  return connectPeer(client, pc, { call: o.call, peer: "", polite: true, onError: o.onError });
}
