// The public shapes of events and requests. Sequences are numbers: exact up to
// 2^53, far beyond any channel's life (the wire carries uint64).

export interface Attachment { url: string; mime: string; size: number; name: string }
export interface Reaction { emoji: string; count: number }

/** A chat message: delivered live, replayed on resume, filled in from history after a gap, or from a history page. */
export interface Message {
  channel: string;
  seq: number;
  from: string;
  msgId: string;
  contentType: string; // "" means text/plain
  data: Uint8Array;
  /** data as UTF-8 text (invalid bytes replaced) */
  text: string;
  replyTo: number;
  attachments: Attachment[];
  time: Date;
  /** history only: last edit; undefined = never */
  edited?: Date;
  deleted: boolean;
  pinned: boolean;
  reactions: Reaction[];
}

/** What an update changed (event kinds 1–6 of PROTOCOL.md §4, 8). */
export const UpdateKind = { Edited: 1, Deleted: 2, Reacted: 3, Pinned: 4, Unpinned: 5, MemberLeft: 6 } as const;
export type UpdateKind = (typeof UpdateKind)[keyof typeof UpdateKind];

/** A change to an earlier message of a subscribed channel, or a member leaving it. */
export interface Update {
  channel: string;
  kind: UpdateKind;
  seq: number;
  from: string;
  time: Date;
  contentType: string; // Edited
  data: Uint8Array; // Edited
  reactions: Reaction[]; // Reacted
}

/** A user starting (stop false) or stopping to type. A start not refreshed within typingExpiry is followed by a stop the SDK makes up. */
export interface Typing { channel: string; user: string; stop: boolean }

export const ReceiptKind = { Delivered: 1, Read: 2 } as const;
export type ReceiptKind = (typeof ReceiptKind)[keyof typeof ReceiptKind];
export interface Receipt { channel: string; user: string; seq: number; kind: ReceiptKind }

/** A user coming online or going offline, delivered once even when it arrives on several shared channels. */
export interface PresenceChange { channel: string; user: string; online: boolean; lastSeen?: Date }

/** One user's state, from queryPresence. */
export interface Presence { user: string; online: boolean; lastSeen?: Date; status: string; invisible: boolean }

export type State = "disconnected" | "connecting" | "connected" | "closed";

export interface Session {
  id: string;
  user: string;
  limits: { maxFrame: number; publishRate: number; publishBurst: number; pingInterval: number; maxSubscribed: number };
}

/** A message to publish. */
export interface Publication {
  /** Client message id, the idempotency key (≤ 64 bytes). Empty: the SDK makes one. */
  id?: string;
  data?: Uint8Array | string;
  contentType?: string;
  replyTo?: number;
  attachments?: Attachment[];
}

export interface Ack { id: string; seq: number; time: Date }

/** At most one of before, after, around. No cursor: the newest messages (the first ones with oldest). */
export interface HistoryQuery { before?: number; after?: number; around?: number; limit?: number; oldest?: boolean }
export interface Page { messages: Message[]; more: boolean }

/** Where resume positions live, e.g. storagePositions(sessionStorage) so a reloaded page resumes. */
export interface PositionStore {
  get(channel: string): number | undefined;
  set(channel: string, seq: number): void;
}

/** A PositionStore on Web Storage (localStorage, sessionStorage). */
export function storagePositions(storage: Pick<Storage, "getItem" | "setItem">, prefix = "salam:pos:"): PositionStore {
  return {
    get: (channel) => {
      const v = storage.getItem(prefix + channel);
      return v == null ? undefined : Number(v);
    },
    set: (channel, seq) => storage.setItem(prefix + channel, String(seq)),
  };
}

/** Call event kinds (PROTOCOL.md §4, 17); Resumed is the SDK's own: it re-joined after a reconnect, send ICE restarts. */
export const CallEventKind = {
  Accepted: 2, Declined: 3, Joined: 5, Left: 6, Ended: 7, Ringing: 8, Escalated: 9, RingStopped: 10, Resumed: 100,
} as const;
export type CallEventKind = (typeof CallEventKind)[keyof typeof CallEventKind];

/** Why a call ended. */
export const CallEndReason = { Hangup: 1, Empty: 2, Cancelled: 3, Declined: 4, Missed: 5, Lost: 6 } as const;
export type CallEndReason = (typeof CallEndReason)[keyof typeof CallEndReason] | 0;

/** Why an offer is made. */
export const OfferKind = { Initial: 0, ICERestart: 1, Renegotiate: 2 } as const;
export type OfferKind = (typeof OfferKind)[keyof typeof OfferKind];

/** The frame a relayed signal came in. */
export type SignalKind = "offer" | "answer" | "candidate" | "endOfCandidates";

/** A call as the server described it after an action. */
export interface Call {
  id: string; channel: string; caller: string; created: Date; participants: string[]; sfu: boolean; endReason: CallEndReason;
}

/** A call event (the `call` event). */
export interface CallEvent {
  kind: CallEventKind; call: string; channel: string; from: string; time: Date;
  participants: string[]; sfu: boolean; endReason: CallEndReason;
}

/**
 * WebRTC signaling relayed from another participant (the `signal` event); from "" is the SFU: its answer to your
 * offer (emitted before the promise of callOffer resolves) and its renegotiation offers, in order.
 */
export interface Signal {
  kind: SignalKind; call: string; from: string;
  offer?: OfferKind; sdp?: string; candidate?: string; mid?: string;
  /** The SFU's offers only: its signal sequence toward you, from 1. */
  seq?: number;
}

// ---- rooms on the SFU (PROTOCOL.md §4, 22) ----

/** A participant's role in a room. */
export const Role = { Speaker: 1, Listener: 2 } as const;
export type Role = (typeof Role)[keyof typeof Role];

/** A room's mode: open (everyone speaks) or stage (an audio room: everyone but the moderator listens until given Speaker). */
export const RoomMode = { Open: 1, Stage: 2 } as const;
export type RoomMode = (typeof RoomMode)[keyof typeof RoomMode];

/** A simulcast layer (rid q, h, f). */
export const Layer = { Low: 0, Medium: 1, High: 2 } as const;
export type Layer = (typeof Layer)[keyof typeof Layer];

/** Room event kinds (the `room` event). */
export const RoomEventKind = {
  TrackPublished: 20, TrackUnpublished: 21, ActiveSpeakers: 22, HandRaised: 23, HandLowered: 24, Muted: 25,
  Unmuted: 26, Kicked: 27, Role: 28, Layer: 29, Mode: 30,
} as const;
export type RoomEventKind = (typeof RoomEventKind)[keyof typeof RoomEventKind];

/**
 * A room event (the `room` event) of an escalated call you are in. `from` is the participant concerned (a track's
 * publisher, who raised a hand, was muted, kicked, given a role; for Mode the moderator). Only the fields of its kind
 * are set: mid and contentType (TrackPublished), mid (TrackUnpublished, Layer), speakers (ActiveSpeakers, loudest first,
 * empty: silence), forced (Muted: by the moderator, who alone unmutes), role, layer, mode.
 */
export interface RoomEvent {
  kind: RoomEventKind; call: string; from: string;
  mid?: string; contentType?: string; speakers?: string[]; forced?: boolean; role?: Role; layer?: Layer; mode?: RoomMode;
}
