/**
 * One smelt's WebSocket: resume by seq, exponential backoff, typed close codes.
 *
 * @module
 */
import { closeAction } from './close-codes.js';
import { parseFrame, type RawFrame, SeqFilter } from './frames.js';
import { type BackoffOptions, backoffDelay, defaultTimers, type Timers } from './timers.js';

/** The part of a WebSocket the client uses (the browser's, Node 22's, or the `ws` package's). */
export interface WebSocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  /** Sends a text frame. */
  send(data: string): void;
  /** Closes with a code (1000 when done) and a reason. */
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor, e.g. `globalThis.WebSocket` or the `ws` package's default export. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Connection states: first connection, open, waiting or re-opening after a drop, done. */
export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** How a close was handled, given to {@link SmeltSocketOptions.onTerminalClose}. */
export interface CloseInfo {
  /** The close code (0 when the socket could not even be created). */
  code: number;
  /** The close frame's reason (or the error's message). */
  reason: string;
}

/** Options of {@link SmeltSocket}. */
export interface SmeltSocketOptions {
  /** The URL of each connection, given the seq to resume after (null: a fresh snapshot). */
  url: (afterSeq: number | null) => string | Promise<string>;
  /** Each new frame, once, in seq order. */
  onEvent: (frame: RawFrame) => void;
  /** State changes; `info` has the close code and the reconnect delay in ms when reconnecting. */
  onStatus?: (status: ConnectionStatus, info?: { code?: number; delayMs?: number }) => void;
  /** The server refused (4500–4999, 1002, 1009): nothing reconnects. */
  onTerminalClose?: (close: CloseInfo) => void;
  /**
   * Called after `maxFailedConnects` connections in a row ended before any frame arrived (a
   * proxy that refuses WebSockets looks like this); the socket has stopped.
   */
  onGiveUp?: (close: CloseInfo) => void;
  /** Connections in a row without a frame before giving up (default: never). */
  maxFailedConnects?: number;
  /** Resume after this seq (null: start from a snapshot). */
  lastSeq?: number | null;
  /** The WebSocket implementation (default: `globalThis.WebSocket`). */
  WebSocket?: WebSocketConstructor;
  /** Timers (default: the global ones). */
  timers?: Timers;
  /** Reconnect delays in ms (default 1 s doubling to 30 s). */
  backoff?: BackoffOptions;
}

/**
 * Live events of one smelt over a WebSocket. Every close other than a finished smelt or a
 * refusal reconnects after a backoff with `after_seq` = the last seq applied, and replayed
 * frames are dropped, so each event is applied once. A 1000 that arrives before the final
 * event also reconnects.
 */
export class SmeltSocket {
  readonly #o: SmeltSocketOptions;
  readonly #filter: SeqFilter;
  readonly #timers: Timers;
  #ws: WebSocketLike | null = null;
  #attempt = 0;
  #failedConnects = 0;
  #framesThisConnection = 0;
  #retryTimer: unknown = null;
  #connections = 0;
  #stopped = false;
  #status: ConnectionStatus | 'idle' = 'idle';

  /** @param options URL, callbacks and implementations */
  constructor(options: SmeltSocketOptions) {
    this.#o = options;
    this.#filter = new SeqFilter(options.lastSeq ?? null);
    this.#timers = options.timers ?? defaultTimers;
  }

  /** The last seq applied (null before any). */
  get lastSeq(): number | null {
    return this.#filter.lastSeq;
  }

  /** Whether the final event (or a snapshot of a finished smelt) arrived. */
  get finished(): boolean {
    return this.#filter.finished;
  }

  /** Whether it stopped for good (finished, refused, gave up or {@link SmeltSocket.stop}). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Opens the first connection. @returns this */
  start(): this {
    this.#open();
    return this;
  }

  /** Closes for good (code 1000 to the server); nothing reconnects. */
  stop(): void {
    if (this.#stopped && !this.#ws) return;
    this.#stopped = true;
    this.#clearRetry();
    const ws = this.#ws;
    this.#ws = null;
    try {
      ws?.close(1000, 'client done');
    } catch {
      /* already closed */
    }
    this.#setStatus('closed');
  }

  /** Skips the wait of a pending reconnect (e.g. when the network came back). */
  reconnectNow(): void {
    if (this.#stopped || this.#retryTimer === null) return;
    this.#clearRetry();
    this.#open();
  }

  #setStatus(status: ConnectionStatus, info?: { code?: number; delayMs?: number }): void {
    if (this.#status === status && !info) return;
    this.#status = status;
    this.#o.onStatus?.(status, info);
  }

  #clearRetry(): void {
    if (this.#retryTimer !== null) {
      this.#timers.clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
  }

  #open(): void {
    if (this.#stopped) return;
    this.#setStatus(this.#connections === 0 ? 'connecting' : 'reconnecting');
    this.#connections++;
    let target: string | Promise<string>;
    try {
      target = this.#o.url(this.lastSeq);
    } catch (err) {
      // No URL can be made (no credentials): retry later like a failed connection.
      this.#handleClose(1006, errorText(err));
      return;
    }
    Promise.resolve(target).then(
      (url) => this.#connect(url),
      (err: unknown) => {
        if (!this.#stopped) this.#handleClose(1006, errorText(err));
      },
    );
  }

  #connect(url: string): void {
    if (this.#stopped) return;
    const Impl = this.#o.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    this.#framesThisConnection = 0;
    let ws: WebSocketLike;
    try {
      if (!Impl) throw new TypeError('no WebSocket implementation: pass one in the options');
      ws = new Impl(url);
    } catch (err) {
      this.#stopped = true;
      this.#setStatus('closed');
      this.#o.onTerminalClose?.({ code: 0, reason: errorText(err) });
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      if (this.#ws === ws) this.#setStatus('live');
    };
    ws.onmessage = (e) => {
      if (this.#ws === ws) this.#handleMessage(e.data);
    };
    ws.onerror = () => {
      /* a close event follows */
    };
    ws.onclose = (e) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#handleClose(e.code, e.reason || '');
    };
  }

  #handleMessage(data: unknown): void {
    const frame = parseFrame(data);
    if (!frame) return;
    // Something arrived: the connection works, so the next drop starts the backoff again.
    this.#attempt = 0;
    this.#framesThisConnection++;
    this.#failedConnects = 0;
    if (!this.#filter.accept(frame)) return;
    this.#o.onEvent(frame);
  }

  #handleClose(code: number, reason: string): void {
    if (this.#stopped) return;
    if (this.finished) {
      this.#stopped = true;
      this.#setStatus('closed');
      return;
    }
    const action = closeAction(code);
    if (action === 'stop') {
      this.#stopped = true;
      this.#setStatus('closed', { code });
      this.#o.onTerminalClose?.({ code, reason });
      return;
    }
    // resume, retry, and a 1000 that came before the final event.
    if (this.#framesThisConnection === 0) this.#failedConnects++;
    if (this.#failedConnects >= (this.#o.maxFailedConnects ?? Infinity)) {
      this.#stopped = true;
      this.#setStatus('closed', { code });
      this.#o.onGiveUp?.({ code, reason });
      return;
    }
    const delayMs = backoffDelay(this.#attempt++, this.#o.backoff);
    this.#setStatus('reconnecting', { code, delayMs });
    this.#retryTimer = this.#timers.setTimeout(() => {
      this.#retryTimer = null;
      this.#open();
    }, delayMs);
  }
}

/**
 * A readable message of anything thrown.
 * @param err the error
 * @returns its message, or its text
 */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
