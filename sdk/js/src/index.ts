/**
 * Salam's JavaScript/TypeScript SDK: a client of wire protocol v1 that
 * reconnects, resumes every subscription without losing or repeating a
 * message, and sends idempotently. See README.md for the API.
 * @packageDocumentation
 */
export { Client, VERSION, PROTOCOL_VERSION, newMessageId } from "./client.js";
export type { ClientOptions, ClientEvents, CallOptions, Backoff, TokenProvider } from "./client.js";
export type { WebSocketLike, WebSocketConstructor } from "./connection.js";
export {
  SalamError, ErrorCode, isCode, CloseError, ClosedError, DisconnectedError, RequestTimeoutError,
} from "./errors.js";
export {
  UpdateKind, ReceiptKind, storagePositions, CallEventKind, CallEndReason, OfferKind, RoomEventKind, Role, RoomMode, Layer,
} from "./types.js";
export { connectPeer, connectSFU, isPolite } from "./rtc.js";
export type { PeerConnectionLike, CallPeerOptions, SFUOptions } from "./rtc.js";
export type {
  Ack, Attachment, HistoryQuery, Message, Page, PositionStore, Presence, PresenceChange, Publication, Reaction,
  Receipt, Session, State, Typing, Update, Call, CallEvent, Signal, SignalKind, RoomEvent,
} from "./types.js";
export * as wire from "./wire.js";
