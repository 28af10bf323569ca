// Live progress for one smelt over a WebSocket, with resume-by-seq.
//
// Close codes: 1000 = finished; 4000-4499 = reconnect and resume with
// after_seq; 4500-4999 = terminal (unauthorized / forbidden / not found);
// anything else (1006 ...) before a terminal event = reconnect and resume.
import { RECONNECT } from './config.js';

export const TERMINAL_EVENTS = Object.freeze(['completed', 'failed']);
const FINAL_STATUSES = Object.freeze(['completed', 'failed']);

/** 'finished' | 'resume' | 'terminal' | 'abnormal' */
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
 */
export function terminalCloseMessage(code, reason = '') {
  const text = String(reason || '').trim();
  if (/\s/.test(text) && /[A-Z]/.test(text) && text === text.toUpperCase()) return text;
  return TERMINAL_CLOSE_MESSAGES[code] || DEFAULT_TERMINAL_MESSAGE;
}

/** 1s, 2s, 4s, ... capped at 30s (attempt is 0-based). */
export function backoffDelay(attempt, { baseMs = RECONNECT.baseMs, maxMs = RECONNECT.maxMs } = {}) {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}

/**
 * ws(s)://<host><subscription_url>?token=<token>[&after_seq=N]
 * subscription_url is normally a path ("/api/smelts/<id>/ws"); an absolute
 * http(s)/ws(s) URL is accepted too.
 */
export function buildSocketUrl(subscriptionUrl, token, afterSeq, base = window.location.href) {
  const url = new URL(subscriptionUrl, base);
  if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol === 'http:') url.protocol = 'ws:';
  let out = `${url.protocol}//${url.host}${url.pathname}${url.search}`;
  out += (url.search ? '&' : '?') + 'token=' + encodeURIComponent(token);
  if (afterSeq !== null && afterSeq !== undefined) out += '&after_seq=' + encodeURIComponent(String(afterSeq));
  return out;
}

/** Whether an event carries the end of the smelt (incl. a snapshot of a finished one). */
export function isFinalEvent(message) {
  if (TERMINAL_EVENTS.includes(message.event)) return true;
  return message.event === 'snapshot' && FINAL_STATUSES.includes(message.payload?.status);
}

/**
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
   */
  constructor({
    url,
    onEvent,
    onStateChange = () => {},
    onTerminalClose = () => {},
    lastSeq = null,
    WebSocketImpl = globalThis.WebSocket,
    timers = { setTimeout: globalThis.setTimeout.bind(globalThis), clearTimeout: globalThis.clearTimeout.bind(globalThis) },
    backoff = {},
  }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onStateChange = onStateChange;
    this.onTerminalClose = onTerminalClose;
    this.lastSeq = lastSeq;
    this.WebSocketImpl = WebSocketImpl;
    this.timers = timers;
    this.backoff = backoff;
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.finished = false; // a completed/failed event (or final snapshot) arrived
    this.stopped = false; // stop() called, or terminal close
    this.state = 'idle';
    this.connections = 0;
  }

  start() {
    this.#open();
    return this;
  }

  /** Close for good (user reset / page leaving). No reconnect. */
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

  /** Skip the wait when a reconnect is pending (e.g. the browser came back online). */
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
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url(this.lastSeq));
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
    if (typeof data !== 'string') return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message.event !== 'string' || !Number.isFinite(message.seq)) return;
    // Something arrived: the connection works, so the next drop starts the backoff again.
    this.attempt = 0;
    if (!this.accept(message)) return;
    this.lastSeq = message.seq;
    if (isFinalEvent(message)) this.finished = true;
    this.onEvent(message);
  }

  /**
   * Idempotent by seq: events at or below the last seq seen were applied
   * already. A snapshot is the whole state, so one at the same seq is fine.
   */
  accept(message) {
    if (this.lastSeq === null) return true;
    if (message.event === 'snapshot') return message.seq >= this.lastSeq;
    if (this.finished) return false;
    return message.seq > this.lastSeq;
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
    const delay = backoffDelay(this.attempt++, this.backoff);
    this.#setState('reconnecting', { delayMs: delay, code });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.#open();
    }, delay);
  }
}
