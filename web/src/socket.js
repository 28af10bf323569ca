// Live progress for one smelt over a WebSocket, with resume-by-seq.
//
// Close codes: 1000 = finished; 4000-4499 = reconnect and resume with
// after_seq; 4500-4999 = terminal (unauthorized / forbidden / not found);
// anything else (1006 ...) before a terminal event = reconnect and resume.
import { RECONNECT } from './config.js';

/** Events after which a smelt sends nothing more. */
export const TERMINAL_EVENTS = Object.freeze(['completed', 'failed']);
const FINAL_STATUSES = Object.freeze(['completed', 'failed']);

/**
 * What a close code asks the client to do.
 * @param {number} code WebSocket close code
 * @returns {'finished'|'resume'|'terminal'|'abnormal'} 1000 finished,
 *   4000-4499 resume with after_seq, 4500-4999 stop, anything else retry
 */
export function classifyClose(code) {
  if (code === 1000) return 'finished';
  if (code >= 4000 && code <= 4499) return 'resume';
  if (code >= 4500 && code <= 4999) return 'terminal';
  return 'abnormal';
}

// Terminal closes carry a short machine reason ("unauthorized", "not found"),
// not something to show a person: each code gets a sentence instead.
const TERMINAL_CLOSE_MESSAGES = Object.freeze({
  4500: "CAN'T FOLLOW THIS SMELT. START A NEW ONE",
  4501: "THIS PAGE'S ACCESS TO THE SMELT HAS EXPIRED. START A NEW ONE",
  4503: "YOU CAN'T FOLLOW THIS SMELT. START A NEW ONE",
  4504: 'SMELT NOT FOUND. IT MAY HAVE BEEN DELETED. START A NEW ONE',
});
const DEFAULT_TERMINAL_MESSAGE = "CAN'T FOLLOW THIS SMELT ANY MORE. START A NEW ONE";

/**
 * What to show for a terminal close. A reason written as a message in the
 * server's style (several words, upper case) is shown as is.
 * @param {number} code 4500-4999
 * @param {string} [reason] the close frame's reason
 * @returns {string}
 */
export function terminalCloseMessage(code, reason = '') {
  const text = String(reason || '').trim();
  if (/\s/.test(text) && /[A-Z]/.test(text) && text === text.toUpperCase()) return text;
  return TERMINAL_CLOSE_MESSAGES[code] || DEFAULT_TERMINAL_MESSAGE;
}

/**
 * Reconnect delay: 1 s, 2 s, 4 s, ... capped at 30 s.
 * @param {number} attempt 0-based
 * @param {{baseMs?: number, maxMs?: number}} [o]
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, { baseMs = RECONNECT.baseMs, maxMs = RECONNECT.maxMs } = {}) {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}

/**
 * ws(s)://<host><subscription_url>?token=<token>[&after_seq=N]
 * subscription_url is normally a path ("/api/smelts/<id>/ws"); an absolute
 * http(s)/ws(s) URL is accepted too.
 * @param {string} subscriptionUrl
 * @param {string|null} token subscription or access token (omitted when null)
 * @param {number|null} afterSeq resume point; null asks for a snapshot
 * @param {string} [base] the page URL
 * @returns {string}
 */
export function buildSocketUrl(subscriptionUrl, token, afterSeq, base = globalThis.location?.href ?? 'http://localhost/') {
  const url = new URL(subscriptionUrl, base);
  if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol === 'http:') url.protocol = 'ws:';
  let out = `${url.protocol}//${url.host}${url.pathname}${url.search}`;
  const params = [];
  if (token) params.push('token=' + encodeURIComponent(token));
  if (afterSeq !== null && afterSeq !== undefined) params.push('after_seq=' + encodeURIComponent(String(afterSeq)));
  if (params.length) out += (url.search ? '&' : '?') + params.join('&');
  return out;
}

/**
 * Whether an event carries the end of the smelt (incl. a snapshot of a finished one).
 * @param {{event: string, payload?: object}} message
 * @returns {boolean}
 */
export function isFinalEvent(message) {
  if (TERMINAL_EVENTS.includes(message.event)) return true;
  return message.event === 'snapshot' && FINAL_STATUSES.includes(message.payload?.status);
}

/**
 * Remembers the last seq applied and drops what was applied already, so
 * replays after a reconnect (or a transport switch) never apply twice.
 */
export class SeqFilter {
  /** @param {number|null} lastSeq resume after this seq (null: nothing seen) */
  constructor(lastSeq = null) {
    this.lastSeq = lastSeq;
    this.finished = false;
  }

  /**
   * Whether to apply a frame; records it when so.
   * A snapshot is the whole state, so one at the same seq is fine.
   * @param {{event: string, seq: number, payload?: object}} message
   * @returns {boolean}
   */
  accept(message) {
    let ok;
    if (this.lastSeq === null) ok = true;
    else if (message.event === 'snapshot') ok = message.seq >= this.lastSeq;
    else if (this.finished) ok = false;
    else ok = message.seq > this.lastSeq;
    if (!ok) return false;
    this.lastSeq = message.seq;
    if (isFinalEvent(message)) this.finished = true;
    return true;
  }
}

/**
 * Parses one frame's text.
 * @param {unknown} data
 * @returns {{event: string, seq: number, payload: object}|null} null for
 *   anything that is not an event frame
 */
export function parseFrame(data) {
  if (typeof data !== 'string') return null;
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return null;
  }
  if (!message || typeof message.event !== 'string' || !Number.isFinite(message.seq)) return null;
  return message;
}

/**
 * Live progress of one smelt over a WebSocket, resuming by seq.
 * States reported through onStateChange:
 *   'connecting' (first connection), 'live' (open), 'reconnecting' (waiting
 *   or re-opening after a drop), 'closed' (done: finished or terminal).
 */
export class SmeltSocket {
  /**
   * @param {object} o
   * @param {(afterSeq: number|null) => string} o.url
   * @param {(message: {event: string, seq: number, payload: object}) => void} o.onEvent
   * @param {(state: string, info?: object) => void} [o.onStateChange]
   * @param {(close: {code: number, reason: string}) => void} [o.onTerminalClose]
   * @param {number|null} [o.lastSeq] resume after this seq (null = fresh snapshot)
   * @param {number} [o.maxFailedConnects] give up after this many connections
   *   in a row that ended before any frame arrived (a proxy that refuses
   *   WebSockets looks like this); Infinity by default
   * @param {(info: {code: number}) => void} [o.onGiveUp] called then, with
   *   the last close code; the socket is stopped
   *
   * `url` may return a string or a Promise of one (e.g. after a token refresh).
   */
  constructor({
    url,
    onEvent,
    onStateChange = () => {},
    onTerminalClose = () => {},
    onGiveUp = () => {},
    maxFailedConnects = Infinity,
    lastSeq = null,
    WebSocketImpl = globalThis.WebSocket,
    timers = { setTimeout: globalThis.setTimeout.bind(globalThis), clearTimeout: globalThis.clearTimeout.bind(globalThis) },
    backoff = {},
  }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onStateChange = onStateChange;
    this.onTerminalClose = onTerminalClose;
    this.onGiveUp = onGiveUp;
    this.maxFailedConnects = maxFailedConnects;
    this.filter = new SeqFilter(lastSeq);
    this.failedConnects = 0;
    this.framesThisConnection = 0;
    this.WebSocketImpl = WebSocketImpl;
    this.timers = timers;
    this.backoff = backoff;
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.stopped = false; // stop() called, or terminal close
    this.state = 'idle';
    this.connections = 0;
  }

  /** The last seq applied (null before any). */
  get lastSeq() {
    return this.filter.lastSeq;
  }

  /** Whether a completed/failed event (or a final snapshot) arrived. */
  get finished() {
    return this.filter.finished;
  }

  /** Opens the first connection. @returns {this} */
  start() {
    this.#open();
    return this;
  }

  /** Closes for good (user reset / page leaving). No reconnect. */
  stop() {
    this.stopped = true;
    this.#clearRetry();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try {
        ws.close(1000, 'client done');
      } catch {
        /* ignore */
      }
    }
    this.#setState('closed');
  }

  /** Skips the wait when a reconnect is pending (e.g. the browser came back online). */
  reconnectNow() {
    if (this.stopped || this.finished || this.retryTimer === null) return;
    this.#clearRetry();
    this.#open();
  }

  #setState(state, info) {
    if (this.state === state && !info) return;
    this.state = state;
    this.onStateChange(state, info);
  }

  #clearRetry() {
    if (this.retryTimer !== null) {
      this.timers.clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  #open() {
    if (this.stopped) return;
    this.#setState(this.connections === 0 ? 'connecting' : 'reconnecting');
    this.connections++;
    let target;
    try {
      target = this.url(this.lastSeq);
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (target && typeof target.then === 'function') {
      target.then((u) => this.#connect(u), (err) => this.#connectFailed(err));
    } else {
      this.#connect(target);
    }
  }

  // The URL could not be made (e.g. the token refresh failed on the network): retry later.
  #connectFailed() {
    if (this.stopped) return;
    this.#handleClose(1006, '');
  }

  #fail(err) {
    this.stopped = true;
    this.#setState('closed');
    this.onTerminalClose({ code: 0, reason: String(err?.message || err) });
  }

  #connect(url) {
    if (this.stopped) return;
    this.framesThisConnection = 0;
    let ws;
    try {
      ws = new this.WebSocketImpl(url);
    } catch (err) {
      this.stopped = true;
      this.#setState('closed');
      this.onTerminalClose({ code: 0, reason: String(err?.message || err) });
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws === ws) this.#setState('live');
    };
    ws.onmessage = (e) => {
      if (this.ws === ws) this.#handleMessage(e.data);
    };
    ws.onerror = () => {
      /* a close event follows */
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.#handleClose(e.code, e.reason || '');
    };
  }

  #handleMessage(data) {
    const message = parseFrame(data);
    if (!message) return;
    // Something arrived: the connection works, so the next drop starts the backoff again.
    this.attempt = 0;
    this.framesThisConnection++;
    this.failedConnects = 0;
    if (!this.filter.accept(message)) return;
    this.onEvent(message);
  }

  #handleClose(code, reason) {
    if (this.stopped) return;
    if (this.finished) {
      this.stopped = true;
      this.#setState('closed');
      return;
    }
    const kind = classifyClose(code);
    if (kind === 'terminal') {
      this.stopped = true;
      this.#setState('closed', { code, reason });
      this.onTerminalClose({ code, reason });
      return;
    }
    // 'resume', 'abnormal', and a 1000 that came before any final event.
    if (this.framesThisConnection === 0) this.failedConnects++;
    if (this.failedConnects >= this.maxFailedConnects) {
      this.stopped = true;
      this.#setState('closed', { code });
      this.onGiveUp({ code });
      return;
    }
    const delay = backoffDelay(this.attempt++, this.backoff);
    this.#setState('reconnecting', { delayMs: delay, code });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.#open();
    }, delay);
  }
}
