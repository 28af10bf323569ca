/**
 * One smelt's Server-Sent Events (`GET /api/smelts/{id}/events`), read with `fetch` and
 * `eventsource-parser` so that it works alike in browsers and Node.
 *
 * @module
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { envelopeOf, SmeltApiError } from './errors.js';
import { parseFrame, type RawFrame, SeqFilter } from './frames.js';
import type { CloseInfo, ConnectionStatus } from './socket.js';
import { errorText } from './socket.js';
import { type BackoffOptions, backoffDelay, defaultTimers, type Timers } from './timers.js';

/** Options of {@link SmeltEventStream}. */
export interface SmeltEventStreamOptions {
  /**
   * The stream's URL, given the seq to resume after when the stream starts (null: a fresh
   * snapshot). Asked again before every connection (so a renewed token is used); later
   * connections resume with the `Last-Event-ID` header.
   */
  url: (afterSeq: number | null) => string | Promise<string>;
  /** Each new frame, once, in seq order. */
  onEvent: (frame: RawFrame) => void;
  /** State changes. */
  onStatus?: (status: ConnectionStatus) => void;
  /**
   * The server refused the stream with its error envelope (400, 401, 403, 404), mapped to
   * the WebSocket close code of the same meaning (4500, 4501, 4503, 4504); `reason` is the
   * server's message.
   */
  onTerminalClose?: (close: CloseInfo & { error: SmeltApiError }) => void;
  /**
   * The stream cannot be used here: an HTTP error that is not a refusal (a proxy's 502, a
   * 429, a 5xx), an answer that is not `text/event-stream`, or `maxErrors` connections in a
   * row that delivered nothing. The stream has stopped.
   */
  onGiveUp?: (info: { status?: number; reason: string }) => void;
  /** Resume after this seq (null: start from a snapshot). */
  lastSeq?: number | null;
  /** Failed connections in a row before giving up (default 3). */
  maxErrors?: number;
  /**
   * Milliseconds without a byte (the server sends a keep-alive comment every
   * `SMELT_PING_SECS`, 25 s by default) before the connection is taken for dead and
   * re-opened (default 90,000; 0 turns it off).
   */
  idleTimeoutMs?: number;
  /** `fetch` (default: the global one). */
  fetch?: typeof fetch;
  /** Timers (default: the global ones). */
  timers?: Timers;
  /** Reconnect delays in ms (default 1 s doubling to 30 s). */
  backoff?: BackoffOptions;
}

/** Close codes of the refusals the events endpoint answers over HTTP. */
const REFUSALS: Readonly<Record<number, number>> = Object.freeze({ 400: 4500, 401: 4501, 403: 4503, 404: 4504 });

/**
 * Live events of one smelt over Server-Sent Events. Each event's `id` is its seq and its
 * `data` the same JSON frame the WebSocket sends. A stream that ends before the final event
 * (the server dropped a slow reader or is shutting down) or breaks is re-opened after a
 * backoff with `Last-Event-ID`; replayed frames are dropped.
 */
export class SmeltEventStream {
  readonly #o: SmeltEventStreamOptions;
  readonly #filter: SeqFilter;
  readonly #timers: Timers;
  readonly #startSeq: number | null;
  #abort: AbortController | null = null;
  #retryTimer: unknown = null;
  #idleTimer: unknown = null;
  #attempt = 0;
  #errors = 0;
  #connections = 0;
  #stopped = false;
  #status: ConnectionStatus | 'idle' = 'idle';

  /** @param options URL, callbacks and implementations */
  constructor(options: SmeltEventStreamOptions) {
    this.#o = options;
    this.#filter = new SeqFilter(options.lastSeq ?? null);
    this.#startSeq = options.lastSeq ?? null;
    this.#timers = options.timers ?? defaultTimers;
  }

  /** The last seq applied (null before any). */
  get lastSeq(): number | null {
    return this.#filter.lastSeq;
  }

  /** Whether the final event arrived. */
  get finished(): boolean {
    return this.#filter.finished;
  }

  /** Opens the stream. @returns this */
  start(): this {
    this.#open();
    return this;
  }

  /** Closes for good. */
  stop(): void {
    this.#stopped = true;
    this.#clearTimers();
    this.#abort?.abort();
    this.#abort = null;
    this.#setStatus('closed');
  }

  /** Skips the wait of a pending reconnect. */
  reconnectNow(): void {
    if (this.#stopped || this.#retryTimer === null) return;
    this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#open();
  }

  #setStatus(status: ConnectionStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.#o.onStatus?.(status);
  }

  #clearTimers(): void {
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#clearIdle();
  }

  #clearIdle(): void {
    if (this.#idleTimer !== null) this.#timers.clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  #armIdle(abort: AbortController): void {
    this.#clearIdle();
    const ms = this.#o.idleTimeoutMs ?? 90_000;
    if (ms > 0) {
      this.#idleTimer = this.#timers.setTimeout(() => {
        this.#idleTimer = null;
        abort.abort(new Error('no data from the event stream'));
      }, ms);
    }
  }

  #open(): void {
    if (this.#stopped) return;
    this.#setStatus(this.#connections === 0 ? 'connecting' : 'reconnecting');
    this.#connections++;
    void this.#run();
  }

  async #run(): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    let delivered = 0;
    let url: string;
    try {
      url = await this.#o.url(this.#startSeq);
    } catch (err) {
      if (this.#abort === abort) this.#afterConnection(delivered, errorText(err));
      return;
    }
    if (this.#stopped || this.#abort !== abort) return;
    const fetchImpl = this.#o.fetch ?? globalThis.fetch;
    const headers: Record<string, string> = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' };
    if (this.#connections > 1 && this.lastSeq !== null) headers['Last-Event-ID'] = String(this.lastSeq);
    let response: Response;
    this.#armIdle(abort);
    try {
      response = await fetchImpl(url, { headers, signal: abort.signal, cache: 'no-store' });
    } catch (err) {
      if (this.#abort === abort) this.#afterConnection(delivered, errorText(err));
      return;
    }
    if (this.#stopped || this.#abort !== abort) {
      void response.body?.cancel().catch(() => {});
      return;
    }
    if (!response.ok) {
      const body = await response.text().catch(() => '');
      this.#refused(response.status, body, response.headers.get('Retry-After'));
      return;
    }
    const type = response.headers.get('Content-Type') ?? '';
    if (!type.toLowerCase().startsWith('text/event-stream') || !response.body) {
      void response.body?.cancel().catch(() => {});
      this.#giveUp({ status: response.status, reason: `not an event stream: ${type || 'no content type'}` });
      return;
    }
    this.#setStatus('live');
    const parser = createParser({
      onEvent: (message: EventSourceMessage) => {
        if (this.#abort !== abort) return;
        const frame = parseFrame(message.data);
        if (!frame) return;
        delivered++;
        this.#errors = 0;
        this.#attempt = 0;
        if (!this.#filter.accept(frame)) return;
        this.#o.onEvent(frame);
        // The server ends the stream after the final event; nothing to reconnect for.
        if (this.#filter.finished) this.stop();
      },
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let reason = 'the event stream ended';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.#abort !== abort) break;
        this.#armIdle(abort);
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch (err) {
      reason = errorText(err);
    } finally {
      reader.cancel().catch(() => {});
    }
    if (this.#abort === abort) this.#afterConnection(delivered, reason);
  }

  // A connection ended (or never opened) before the final event: reconnect or give up.
  #afterConnection(delivered: number, reason: string): void {
    this.#clearIdle();
    this.#abort = null;
    if (this.#stopped) return;
    if (delivered === 0) this.#errors++;
    if (this.#errors >= (this.#o.maxErrors ?? 3)) {
      this.#giveUp({ reason });
      return;
    }
    const delayMs = backoffDelay(this.#attempt++, this.#o.backoff);
    this.#setStatus('reconnecting');
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = null;
      this.#open();
    }, delayMs);
  }

  #refused(status: number, body: string, retryAfter: string | null): void {
    this.#clearIdle();
    this.#abort = null;
    if (this.#stopped) return;
    const code = REFUSALS[status];
    if (code !== undefined && envelopeOf(body)) {
      const error = SmeltApiError.fromResponse(status, body, retryAfter);
      this.#stopped = true;
      this.#setStatus('closed');
      this.#o.onTerminalClose?.({ code, reason: error.message, error });
      return;
    }
    this.#giveUp({ status, reason: `HTTP ${status}` });
  }

  #giveUp(info: { status?: number; reason: string }): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#clearTimers();
    this.#abort?.abort();
    this.#abort = null;
    this.#setStatus('closed');
    this.#o.onGiveUp?.(info);
  }
}
