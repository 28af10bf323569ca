/**
 * Following one smelt over whatever the network allows: its WebSocket, then Server-Sent
 * Events, then REST polling.
 *
 * @module
 */
import { CloseCode } from './close-codes.js';
import { SmeltFollowError } from './errors.js';
import { SmeltEventStream } from './event-stream.js';
import { isKnownEvent, type RawFrame, SeqFilter } from './frames.js';
import { SmeltPoller } from './poller.js';
import { type CloseInfo, type ConnectionStatus, SmeltSocket, type WebSocketConstructor } from './socket.js';
import { type BackoffOptions, backoffDelay, defaultTimers, type Timers } from './timers.js';
import type { Smelt, SmeltEvent } from './types.js';
import { buildEventsUrl, buildSocketUrl, smeltSocketPath } from './urls.js';

/** The transports, in the order they are tried. */
export type Transport = 'websocket' | 'sse' | 'polling';

/** A subscription's connection: its status and the transport carrying it. */
export interface SubscriptionState {
  /** `connecting` (first connection of a transport), `live`, `reconnecting`, `closed` (ended). */
  status: ConnectionStatus;
  /** The transport in use (or last used). */
  transport: Transport;
}

/**
 * Gives a token when asked. `renew` is true after the server refused `stale` (close 4501 or
 * HTTP 401): return a fresh one, or null when there is none (the refusal then stands).
 * Called before every connection and request, so it should be cheap (cache the token).
 */
export type TokenProvider = (request: { renew: boolean; stale: string | null }) => string | null | undefined | Promise<string | null | undefined>;

/** A token, a provider of tokens, or nothing (anonymous). */
export type TokenSource = string | TokenProvider | null | undefined;

/** Why a subscription ended. */
export interface FollowEnd {
  /**
   * `finished`: the terminal event (or a snapshot of a finished smelt) was delivered;
   * `refused`: the server refused to go on (4500–4999, 1002, 1009, or polling answered 4xx);
   * `closed`: the caller closed it.
   */
  kind: 'finished' | 'refused' | 'closed';
  /** For `refused`: the close code ({@link CloseCode}), or the HTTP status of a refused poll. */
  code?: number;
  /** For `refused`: the close reason or the server's message. */
  reason?: string;
  /** For `refused` by HTTP: the error (a `SmeltApiError`). */
  error?: unknown;
}

/** Callbacks and tuning of a subscription. */
export interface FollowOptions {
  /** Each event, once, in seq order (snapshots read by polling have seq null). */
  onEvent?: (event: SmeltEvent) => void;
  /** Each change of status or transport. */
  onStatus?: (state: SubscriptionState) => void;
  /** Once, when the subscription ends. */
  onEnd?: (end: FollowEnd) => void;
  /** Resume after this seq (events up to it were applied already); default: from a snapshot. */
  afterSeq?: number | null;
  /**
   * Whether REST polling may be used once WebSocket and SSE both failed (it needs the
   * owner's access token). Asked at that moment. Default: whether an access token is set.
   */
  canPoll?: () => boolean;
  /** Reads the smelt for polling (default: `GET /api/smelts/{id}` with the access token). */
  fetchSmelt?: () => Promise<Smelt>;
  /** WebSocket connections in a row that deliver nothing before SSE is tried (default 3). */
  maxFailedSocketConnects?: number;
  /** Milliseconds between polls (default 2,000). */
  pollIntervalMs?: number;
  /** Milliseconds of silence after which an event stream is re-opened (default 90,000). */
  sseIdleTimeoutMs?: number;
}

/** Everything a {@link SmeltSubscription} needs; `SmeltClient.follow` fills it in. */
export interface SubscriptionOptions extends FollowOptions {
  /** The smelt's id. */
  smeltId: string;
  /** The server's origin, e.g. `https://smelt.example`. */
  baseUrl: string;
  /** The socket path from the create answer (default `/api/smelts/{id}/ws`). */
  subscriptionUrl?: string;
  /** The subscription token, or the owner's access token (a provider can renew it). */
  token?: TokenSource;
  /** WebSocket implementation (default `globalThis.WebSocket`). */
  WebSocket?: WebSocketConstructor;
  /** `fetch` for the event stream (default the global one). */
  fetch?: typeof fetch;
  /** Timers (default the global ones). */
  timers?: Timers;
  /** Reconnect delays in ms (default 1 s doubling to 30 s). */
  backoff?: BackoffOptions;
}

/** WebSocket connections in a row without a frame before trying SSE. */
export const MAX_FAILED_SOCKET_CONNECTS = 3;

type Running = SmeltSocket | SmeltEventStream | SmeltPoller;

interface Listeners {
  event: Set<(event: SmeltEvent) => void>;
  status: Set<(state: SubscriptionState) => void>;
  end: Set<(end: FollowEnd) => void>;
}

/**
 * A live subscription to one smelt. Events arrive exactly once and in seq order across
 * reconnects and transport switches (frames are de-duplicated by seq):
 *
 * 1. the smelt's WebSocket, reconnecting with exponential backoff and `after_seq`;
 * 2. after 3 connections in a row that delivered nothing (a proxy that refuses WebSockets),
 *    Server-Sent Events, resumed with `Last-Event-ID`;
 * 3. when that fails too, REST polling if {@link FollowOptions.canPoll} allows it, or else
 *    the WebSocket again after a longer wait.
 *
 * It ends by itself after the terminal event (`completed`, `failed`, `cancelled`, or a
 * snapshot of a finished smelt) or when the server refuses (4500–4999), renewing an access
 * token once after a 4501 first. Read it with callbacks, {@link SmeltSubscription.on}, or as
 * an async iterable (events are buffered from the start, so iteration may begin later; one
 * iterator at a time; it throws {@link SmeltFollowError} after a refusal).
 */
export class SmeltSubscription implements AsyncIterable<SmeltEvent> {
  /** The smelt followed. */
  readonly smeltId: string;
  /** Settles once, when the subscription ends (never rejects). */
  readonly ended: Promise<FollowEnd>;

  readonly #o: SubscriptionOptions;
  readonly #timers: Timers;
  readonly #filter: SeqFilter;
  readonly #listeners: Listeners = { event: new Set(), status: new Set(), end: new Set() };
  readonly #queue: SmeltEvent[] = [];
  #waiter: { resolve: (r: IteratorResult<SmeltEvent>) => void; reject: (e: unknown) => void } | null = null;
  #resolveEnded!: (end: FollowEnd) => void;
  #end: FollowEnd | null = null;
  #endThrown = false;
  #running: Running | null = null;
  #transport: Transport = 'websocket';
  #status: ConnectionStatus = 'connecting';
  #cycleTimer: unknown = null;
  #cycles = 0;
  #renewed = false;
  #lastToken: string | null = null;
  #started = false;
  #reported = false;

  /** @param options the smelt, the server, the token and callbacks; call {@link start} next */
  constructor(options: SubscriptionOptions) {
    this.#o = options;
    this.smeltId = options.smeltId;
    this.#timers = options.timers ?? defaultTimers;
    this.#filter = new SeqFilter(options.afterSeq ?? null);
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  /** The connection status. */
  get status(): ConnectionStatus {
    return this.#status;
  }

  /** The transport in use (or last used). */
  get transport(): Transport {
    return this.#transport;
  }

  /** The last seq delivered (null before any, and after polling snapshots only). */
  get lastSeq(): number | null {
    return this.#filter.lastSeq;
  }

  /** Why it ended, or null while it runs. */
  get end(): FollowEnd | null {
    return this.#end;
  }

  /** Connects (the WebSocket first). Calling it again does nothing. @returns this */
  start(): this {
    if (this.#started || this.#end) return this;
    this.#started = true;
    this.#startSocket();
    return this;
  }

  /** Ends the subscription: every transport closes and nothing more is delivered. */
  close(): void {
    this.#finish({ kind: 'closed' });
  }

  /** Skips a pending reconnect wait (e.g. when the network came back). */
  reconnectNow(): void {
    if (this.#end) return;
    if (this.#cycleTimer !== null) {
      this.#timers.clearTimeout(this.#cycleTimer);
      this.#cycleTimer = null;
      this.#startSocket();
      return;
    }
    this.#running?.reconnectNow();
  }

  /**
   * Adds a listener.
   * @param type `event` (each event), `status` (status or transport changes) or `end` (once)
   * @param listener the function
   * @returns a function that removes it
   */
  on(type: 'event', listener: (event: SmeltEvent) => void): () => void;
  on(type: 'status', listener: (state: SubscriptionState) => void): () => void;
  on(type: 'end', listener: (end: FollowEnd) => void): () => void;
  on(type: keyof Listeners, listener: (value: never) => void): () => void {
    const set = this.#listeners[type] as Set<(value: never) => void>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Iterates the events; ends after the terminal one, throws {@link SmeltFollowError} after a refusal. */
  [Symbol.asyncIterator](): AsyncIterator<SmeltEvent> {
    return {
      next: () => {
        const value = this.#queue.shift();
        if (value) return Promise.resolve({ value, done: false });
        if (this.#end) return this.#endResult();
        return new Promise((resolve, reject) => {
          this.#waiter = { resolve, reject };
        });
      },
      return: () => {
        this.close();
        this.#queue.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  #endResult(): Promise<IteratorResult<SmeltEvent>> {
    const end = this.#end;
    if (end?.kind === 'refused' && !this.#endThrown) {
      this.#endThrown = true;
      const message = end.reason || (end.error instanceof Error ? end.error.message : '');
      return Promise.reject(new SmeltFollowError(end.code ?? 0, message));
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  // ------------------------------------------------------------------ delivery

  #emit(type: keyof Listeners, value: unknown, own: ((value: never) => void) | undefined): void {
    const call = (fn: (value: unknown) => void) => {
      try {
        fn(value);
      } catch (err) {
        reportLater(err);
      }
    };
    if (own) call(own as (value: unknown) => void);
    for (const fn of this.#listeners[type] as Set<(value: unknown) => void>) call(fn);
  }

  #report(status: ConnectionStatus, transport: Transport): void {
    if (this.#end || status === 'closed') return;
    if (this.#reported && status === this.#status && transport === this.#transport) return;
    this.#reported = true;
    this.#status = status;
    this.#transport = transport;
    this.#emit('status', { status, transport }, this.#o.onStatus);
  }

  #deliver(frame: RawFrame, source: Running): void {
    if (this.#end || this.#running !== source) return;
    if (!this.#filter.accept(frame)) return;
    this.#renewed = false;
    if (isKnownEvent(frame)) {
      const event = frame as SmeltEvent;
      this.#emit('event', event, this.#o.onEvent);
      if (this.#waiter) {
        const waiter = this.#waiter;
        this.#waiter = null;
        waiter.resolve({ value: event, done: false });
      } else {
        this.#queue.push(event);
      }
    }
    if (this.#filter.finished) this.#finish({ kind: 'finished' });
  }

  #finish(end: FollowEnd): void {
    if (this.#end) return;
    this.#end = end;
    if (this.#cycleTimer !== null) this.#timers.clearTimeout(this.#cycleTimer);
    this.#cycleTimer = null;
    const running = this.#running;
    this.#running = null;
    running?.stop();
    this.#status = 'closed';
    this.#emit('status', { status: 'closed', transport: this.#transport }, this.#o.onStatus);
    this.#emit('end', end, this.#o.onEnd);
    this.#resolveEnded(end);
    if (this.#waiter && this.#queue.length === 0) {
      const waiter = this.#waiter;
      this.#waiter = null;
      this.#endResult().then(waiter.resolve, waiter.reject);
    }
  }

  // ------------------------------------------------------------------ credentials

  async #token(renew: boolean): Promise<string | null> {
    const source = this.#o.token;
    let token: string | null | undefined;
    if (typeof source === 'function') token = await source({ renew, stale: this.#lastToken });
    else token = renew ? null : source;
    if (token) this.#lastToken = token;
    return token ?? null;
  }

  // A refusal: 4501 with a renewable token is tried once more with a fresh one.
  async #refused(close: CloseInfo & { error?: unknown }, source: Running, restart: () => void): Promise<void> {
    if (this.#end || this.#running !== source) return;
    if (close.code === CloseCode.Unauthorized && typeof this.#o.token === 'function' && !this.#renewed) {
      this.#renewed = true;
      try {
        const fresh = await this.#token(true);
        if (this.#end || this.#running !== source) return;
        if (fresh) {
          restart();
          return;
        }
      } catch {
        /* the refusal stands */
      }
    }
    if (this.#running !== source) return;
    this.#finish({ kind: 'refused', code: close.code, reason: close.reason, ...(close.error ? { error: close.error } : {}) });
  }

  // ------------------------------------------------------------------ transports

  #startSocket(): void {
    if (this.#end) return;
    const path = this.#o.subscriptionUrl || smeltSocketPath(this.smeltId);
    const socket: SmeltSocket = new SmeltSocket({
      url: async (afterSeq) => buildSocketUrl(path, this.#o.baseUrl, await this.#token(false), afterSeq),
      lastSeq: this.#filter.lastSeq,
      maxFailedConnects: this.#o.maxFailedSocketConnects ?? MAX_FAILED_SOCKET_CONNECTS,
      onEvent: (frame) => this.#deliver(frame, socket),
      onStatus: (status) => {
        if (this.#running === socket) this.#report(status, 'websocket');
      },
      onTerminalClose: (close) => void this.#refused(close, socket, () => this.#startSocket()),
      onGiveUp: () => {
        if (this.#running === socket) this.#startEventStream();
      },
      ...(this.#o.WebSocket ? { WebSocket: this.#o.WebSocket } : {}),
      timers: this.#timers,
      ...(this.#o.backoff ? { backoff: this.#o.backoff } : {}),
    });
    this.#running = socket;
    socket.start();
  }

  #startEventStream(): void {
    if (this.#end) return;
    const stream: SmeltEventStream = new SmeltEventStream({
      url: async (afterSeq) => buildEventsUrl(this.smeltId, this.#o.baseUrl, await this.#token(false), afterSeq),
      lastSeq: this.#filter.lastSeq,
      onEvent: (frame) => this.#deliver(frame, stream),
      onStatus: (status) => {
        if (this.#running === stream) this.#report(status, 'sse');
      },
      onTerminalClose: (close) => void this.#refused(close, stream, () => this.#startEventStream()),
      onGiveUp: () => {
        if (this.#running === stream) this.#afterEventStreamFailed();
      },
      ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
      ...(this.#o.sseIdleTimeoutMs !== undefined ? { idleTimeoutMs: this.#o.sseIdleTimeoutMs } : {}),
      timers: this.#timers,
      ...(this.#o.backoff ? { backoff: this.#o.backoff } : {}),
    });
    this.#running = stream;
    stream.start();
  }

  #afterEventStreamFailed(): void {
    if (this.#end) return;
    if (this.#o.fetchSmelt && (this.#o.canPoll?.() ?? false)) {
      this.#startPolling(this.#o.fetchSmelt);
      return;
    }
    // Nothing else to fall back to: the socket again, waiting longer each round.
    this.#running = null;
    this.#report('reconnecting', 'websocket');
    this.#cycleTimer = this.#timers.setTimeout(
      () => {
        this.#cycleTimer = null;
        this.#startSocket();
      },
      backoffDelay(++this.#cycles + 2, this.#o.backoff),
    );
  }

  #startPolling(fetchSmelt: () => Promise<Smelt>): void {
    const poller: SmeltPoller = new SmeltPoller({
      fetchSmelt,
      onSnapshot: (smelt) => this.#deliver({ event: 'snapshot', seq: null, payload: smelt }, poller),
      onStatus: (status) => {
        if (this.#running === poller) this.#report(status, 'polling');
      },
      onFatal: (error) => {
        if (this.#running !== poller) return;
        const status = (error as { status?: unknown } | null)?.status;
        this.#finish({ kind: 'refused', code: typeof status === 'number' ? status : 0, reason: error instanceof Error ? error.message : '', error });
      },
      ...(this.#o.pollIntervalMs !== undefined ? { intervalMs: this.#o.pollIntervalMs } : {}),
      timers: this.#timers,
    });
    this.#running = poller;
    poller.start();
  }
}

// A listener threw: report it without breaking delivery to the others.
function reportLater(err: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (typeof report === 'function') report(err);
  else
    queueMicrotask(() => {
      throw err;
    });
}
