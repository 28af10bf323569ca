/**
 * WebSocket close codes of Smelt's realtime sockets and what a client does about each.
 *
 * @module
 */

/** What a client does after a close: see {@link closeAction}. */
export type CloseAction =
  /** The smelt finished and everything was sent: stop. */
  | 'finished'
  /** Reconnect (after a backoff) and resume with `after_seq`. */
  | 'resume'
  /** Do not reconnect: the server will refuse again. */
  | 'stop'
  /** Not a code the server chose (a dropped network, a proxy): reconnect and resume. */
  | 'retry';

/**
 * The close codes the server sends. 1000 finishes; 4000–4499 ask the client to reconnect and
 * resume with `after_seq`; 4500–4999 are terminal.
 */
export const CloseCode = Object.freeze({
  /** The smelt finished (completed, failed or cancelled) and everything was sent. */
  Finished: 1000,
  /** The client sent a data frame; clients cannot publish. */
  ProtocolError: 1002,
  /** The client sent a frame larger than the server accepts. */
  MessageTooBig: 1009,
  /** Slow consumer: the socket's outbound queue overflowed. */
  SlowConsumer: 4000,
  /** The server is shutting down. */
  ShuttingDown: 4001,
  /** The client answered no pings (three intervals). */
  HeartbeatTimeout: 4002,
  /** A server-side read failed. */
  ServerError: 4003,
  /** A subscribe on the multiplexed socket over the address's rate limit (a channel error). */
  RateLimited: 4429,
  /** Bad request, e.g. `after_seq` is not a number. */
  BadRequest: 4500,
  /** No valid token, or the key or session behind it was revoked, expired or logged out. */
  Unauthorized: 4501,
  /** The token is for another smelt. */
  Forbidden: 4503,
  /** No such smelt (or not the caller's). */
  NotFound: 4504,
} as const);

/** One of the codes in {@link CloseCode}. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** What a close code means and what to do about it. */
export interface CloseCodeInfo {
  /** The code. */
  code: number;
  /** Its name in {@link CloseCode}, or `Resume`/`Terminal`/`Other` for unlisted codes. */
  name: string;
  /** One sentence. */
  meaning: string;
  /** What the client does. */
  action: CloseAction;
  /** Whether the client reconnects (`resume` and `retry`). */
  reconnect: boolean;
}

function info(code: number, name: string, meaning: string, action: CloseAction): CloseCodeInfo {
  return Object.freeze({ code, name, meaning, action, reconnect: action === 'resume' || action === 'retry' });
}

/** Every code in {@link CloseCode} with its meaning and action, as in the server's table. */
export const CLOSE_CODES: Readonly<Record<CloseCode, CloseCodeInfo>> = Object.freeze({
  1000: info(1000, 'Finished', 'the smelt finished and everything was sent', 'finished'),
  1002: info(1002, 'ProtocolError', 'the client sent a data frame (clients cannot publish)', 'stop'),
  1009: info(1009, 'MessageTooBig', 'the client sent a frame that is too big', 'stop'),
  4000: info(4000, 'SlowConsumer', "slow consumer: the socket's queue overflowed", 'resume'),
  4001: info(4001, 'ShuttingDown', 'the server is shutting down', 'resume'),
  4002: info(4002, 'HeartbeatTimeout', 'no answer to pings', 'resume'),
  4003: info(4003, 'ServerError', 'a server-side read failed', 'resume'),
  4429: info(4429, 'RateLimited', 'too many subscribes from this address', 'resume'),
  4500: info(4500, 'BadRequest', 'bad request (e.g. after_seq is not a number)', 'stop'),
  4501: info(4501, 'Unauthorized', 'no valid token, or its key or session is gone', 'stop'),
  4503: info(4503, 'Forbidden', 'the token is for another smelt', 'stop'),
  4504: info(4504, 'NotFound', 'no such smelt (or not yours)', 'stop'),
});

/**
 * What any close code means: the listed ones as in {@link CLOSE_CODES}; other codes by range
 * (4000–4499 resume, 4500–4999 stop, anything else — 1001, 1006, 1011 … — retry).
 * @param code a WebSocket close code
 * @returns its meaning and action
 */
export function describeClose(code: number): CloseCodeInfo {
  const known = (CLOSE_CODES as Record<number, CloseCodeInfo>)[code];
  if (known) return known;
  if (code >= 4000 && code <= 4499) return info(code, 'Resume', 'the server asks the client to resume', 'resume');
  if (code >= 4500 && code <= 4999) return info(code, 'Terminal', 'the server refuses this subscription', 'stop');
  return info(code, 'Other', 'the connection ended without a Smelt close code', 'retry');
}

/**
 * What a client does after a socket closed with `code`.
 * @param code a WebSocket close code
 * @returns `finished` (1000), `resume` (4000–4499), `stop` (4500–4999, 1002, 1009) or `retry`
 */
export function closeAction(code: number): CloseAction {
  return describeClose(code).action;
}
