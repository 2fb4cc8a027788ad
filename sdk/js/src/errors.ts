// Typed errors. A refused request rejects with a SalamError carrying the wire
// code (wire/PROTOCOL.md §6); compare `err.code` with ErrorCode, or use
// isCode(err, ErrorCode.NotMember).

/** Wire v1 error codes. */
export const ErrorCode = {
  Internal: 1, BadFrame: 2, UnknownType: 3, NotConnected: 4, AlreadyConnected: 5, RateLimited: 6, TooLarge: 7,
  PermissionDenied: 8, Unavailable: 9, Timeout: 10, BadChannel: 11, AlreadySubscribed: 12, NotSubscribed: 13,
  TooManySubscriptions: 14, ChannelNotFound: 100, NotMember: 101, Conflict: 102, ChannelFull: 103,
  MessageNotFound: 104, MessageDeleted: 105, Banned: 106, TooManyUsers: 200,
  CallNotFound: 300, NotInCall: 301, TargetNotInCall: 302, NoOffer: 303, Glare: 304, OutOfOrder: 305, Duplicate: 306,
  CallFull: 307, BadSDP: 308, WrongState: 309, PeerReconnecting: 310, SFUMode: 311, TrackNotFound: 312,
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;

const names = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));
const TEMPORARY = new Set<number>([
  ErrorCode.Internal, ErrorCode.RateLimited, ErrorCode.Unavailable, ErrorCode.Timeout, ErrorCode.PeerReconnecting,
]);

/** A request the server refused: the code and reason of its error frame. */
export class SalamError extends Error {
  override readonly name = "SalamError";
  constructor(readonly code: number, readonly reason: string) {
    super(`salam: ${names.get(code) ?? code}${reason ? ": " + reason : ""}`);
  }
  /** Whether the same request may succeed later; the SDK already retried those. */
  get temporary(): boolean { return TEMPORARY.has(this.code); }
}

/** isCode reports whether err is a SalamError with code. */
export const isCode = (err: unknown, code: number): boolean => err instanceof SalamError && err.code === code;

/** The connection ended while a request waited (such requests are retried). */
export class DisconnectedError extends Error { override readonly name = "DisconnectedError"; }
/** The client was closed. */
export class ClosedError extends Error { override readonly name = "ClosedError"; }
/** No reply within requestTimeout on one connection (requests are retried). */
export class RequestTimeoutError extends Error { override readonly name = "RequestTimeoutError"; }

/** How the server closed the connection (§7): 4001 token expired, 4004 slow consumer, 4006 draining… */
export class CloseError extends Error {
  override readonly name = "CloseError";
  constructor(readonly code: number, readonly reason: string) { super(`salam: connection closed: ${code} ${reason}`); }
}

/** Whether a request failing with err may be sent again (same client message id). */
export function retriable(err: unknown): boolean {
  if (err instanceof SalamError) return err.temporary;
  return err instanceof DisconnectedError || err instanceof RequestTimeoutError;
}
