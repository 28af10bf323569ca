// The Server-Sent Events fallback for networks that refuse WebSockets:
// GET /api/smelts/{id}/events?token=…[&after_seq=N]. Each SSE event carries
// `id: <seq>` and the same JSON frame as the socket; the browser's
// EventSource reconnects by itself and sends Last-Event-ID, which the server
// resumes from.
import { SeqFilter, parseFrame } from './socket.js';

const EVENT_KINDS = Object.freeze(['snapshot', 'progress', 'completed', 'failed']);

/**
 * The SSE URL of a smelt.
 * @param {string} smeltId
 * @param {string} token subscription or access token
 * @param {number|null} afterSeq resume point; null asks for a snapshot
 * @param {string} [base] the page URL
 * @returns {string}
 */
export function buildEventsUrl(smeltId, token, afterSeq, base = globalThis.location?.href ?? 'http://localhost/') {
  const url = new URL(`/api/smelts/${encodeURIComponent(smeltId)}/events`, base);
  url.searchParams.set('token', token);
  if (afterSeq !== null && afterSeq !== undefined) url.searchParams.set('after_seq', String(afterSeq));
  return url.toString();
}

/**
 * One smelt's events over EventSource.
 * States: 'connecting', 'live', 'reconnecting', 'closed' (as SmeltSocket).
 */
export class SmeltEventSource {
  /**
   * @param {object} o
   * @param {(afterSeq: number|null) => string|Promise<string>} o.url
   * @param {(message: {event: string, seq: number, payload: object}) => void} o.onEvent
   * @param {(state: string) => void} [o.onStateChange]
   * @param {() => void} [o.onGiveUp] the stream was refused (HTTP error) or
   *   failed `maxErrors` times in a row without delivering anything
   * @param {number|null} [o.lastSeq]
   * @param {number} [o.maxErrors]
   * @param {typeof EventSource} [o.EventSourceImpl]
   */
  constructor({ url, onEvent, onStateChange = () => {}, onGiveUp = () => {}, lastSeq = null, maxErrors = 3, EventSourceImpl = globalThis.EventSource }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onStateChange = onStateChange;
    this.onGiveUp = onGiveUp;
    this.filter = new SeqFilter(lastSeq);
    this.maxErrors = maxErrors;
    this.EventSourceImpl = EventSourceImpl;
    this.source = null;
    this.errors = 0;
    this.stopped = false;
  }

  /** The last seq applied (null before any). */
  get lastSeq() {
    return this.filter.lastSeq;
  }

  /** Opens the stream. @returns {this} */
  start() {
    if (!this.EventSourceImpl) {
      queueMicrotask(() => this.#giveUp());
      return this;
    }
    this.onStateChange('connecting');
    Promise.resolve(this.url(this.filter.lastSeq)).then(
      (url) => this.#open(url),
      () => this.#giveUp(),
    );
    return this;
  }

  /** Closes for good. */
  stop() {
    this.stopped = true;
    this.source?.close();
    this.source = null;
    this.onStateChange('closed');
  }

  #open(url) {
    if (this.stopped) return;
    const source = new this.EventSourceImpl(url);
    this.source = source;
    source.onopen = () => {
      if (this.source === source) this.onStateChange('live');
    };
    for (const kind of EVENT_KINDS) {
      source.addEventListener(kind, (e) => {
        if (this.source !== source) return;
        const message = parseFrame(e.data);
        if (!message) return;
        this.errors = 0;
        if (!this.filter.accept(message)) return;
        this.onEvent(message);
        // The server ends the stream after the last event; without this the
        // browser would reconnect and get it again.
        if (this.filter.finished) this.stop();
      });
    }
    source.onerror = () => {
      if (this.source !== source) return;
      this.errors++;
      // CLOSED: an HTTP error or a wrong content type; the browser won't retry.
      if (source.readyState === 2 || this.errors >= this.maxErrors) {
        this.#giveUp();
        return;
      }
      this.onStateChange('reconnecting');
    };
  }

  #giveUp() {
    if (this.stopped) return;
    this.stopped = true;
    this.source?.close();
    this.source = null;
    this.onStateChange('closed');
    this.onGiveUp();
  }
}
