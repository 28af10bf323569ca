/**
 * One WebSocket for several smelts: `GET /api/ws`.
 *
 * @module
 */
import { CloseCode, closeAction } from './close-codes.js';
import type { TokenSource } from './follow.js';
import { isKnownEvent, parseFrame, SeqFilter } from './frames.js';
import type { WebSocketConstructor, WebSocketLike } from './socket.js';
import { type BackoffOptions, backoffDelay, defaultTimers, type Timers } from './timers.js';
import type { SmeltEvent } from './types.js';
import { buildSocketUrl } from './urls.js';

/** States of the multiplexed socket: as a subscription's, plus `idle` (no channels, no socket). */
export type MultiplexStatus = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'closed';

/** A channel the server refused (`{"event": "error", "channel", "code", "message"}`). */
export interface ChannelError {
  /** A close code of the same meaning (4501 no valid token, 4503, 4504 …). */
  code: number;
  /** The server's message. */
  message: string;
}

/** Options of {@link MultiplexSocket}. */
export interface MultiplexOptions {
  /** The server's origin, e.g. `https://smelt.example` (default: the page's origin). */
  baseUrl?: string;
  /**
   * The access token the socket is opened with; channels subscribed without their own token
   * must belong to its user. A provider is asked before each connection and renewed once
   * after a 4501 close.
   */
  token?: TokenSource;
  /** Each channel's events, once and in seq order, with the smelt they belong to. */
  onEvent: (smeltId: string, event: SmeltEvent) => void;
  /** A subscription was refused; the channel is dropped (the socket stays open). */
  onChannelError?: (smeltId: string, error: ChannelError) => void;
  /** State changes of the socket. */
  onStatus?: (status: MultiplexStatus) => void;
  /**
   * The server closed the socket for good (4500–4999, 1002, 1009) with this code and reason,
   * or (code 0) no socket could be created.
   */
  onTerminalClose?: (close: { code: number; reason: string }) => void;
  /** The path (default `/api/ws`). */
  path?: string;
  /** WebSocket implementation (default `globalThis.WebSocket`). */
  WebSocket?: WebSocketConstructor;
  /** Timers (default the global ones). */
  timers?: Timers;
  /** Reconnect delays in ms (default 1 s doubling to 30 s). */
  backoff?: BackoffOptions;
}

interface Channel {
  filter: SeqFilter;
  token: string | null;
}

/**
 * Follows several smelts over one socket. Each channel (`smelt:{id}`) keeps its own last seq;
 * after a drop the socket reconnects with backoff and resubscribes every channel that has not
 * finished with `after_seq`, so each event is delivered once. A channel is dropped after its
 * terminal event (the server ends it too).
 */
export class MultiplexSocket {
  readonly #o: MultiplexOptions;
  readonly #timers: Timers;
  readonly #channels = new Map<string, Channel>();
  #ws: WebSocketLike | null = null;
  #open = false;
  #connecting = false;
  #attempt = 0;
  #timer: unknown = null;
  #connections = 0;
  #stopped = false;
  #renewed = false;
  #lastToken: string | null = null;
  #status: MultiplexStatus = 'idle';

  /** @param options the server, the token, callbacks and implementations */
  constructor(options: MultiplexOptions) {
    this.#o = options;
    this.#timers = options.timers ?? defaultTimers;
  }

  /** The socket's status. */
  get status(): MultiplexStatus {
    return this.#status;
  }

  /**
   * Follows a smelt, connecting first when needed. Subscribing to a followed smelt does
   * nothing.
   * @param smeltId the smelt's id
   * @param options `token`: the smelt's subscription token (else the socket's access token
   *   must be the owner's); `afterSeq`: resume after this seq instead of from a snapshot
   */
  subscribe(smeltId: string, { token = null, afterSeq = null }: { token?: string | null; afterSeq?: number | null } = {}): void {
    if (this.#stopped || this.#channels.has(smeltId)) return;
    const channel = { filter: new SeqFilter(afterSeq), token };
    this.#channels.set(smeltId, channel);
    if (this.#open) this.#send(subscribeMessage(smeltId, channel));
    else if (!this.#ws && !this.#connecting && this.#timer === null) void this.#connect();
  }

  /**
   * Stops following a smelt.
   * @param smeltId the smelt's id
   */
  unsubscribe(smeltId: string): void {
    if (!this.#channels.delete(smeltId)) return;
    if (this.#open) this.#send({ type: 'unsubscribe', channel: `smelt:${smeltId}` });
  }

  /** @returns the ids of the smelts followed */
  subscribed(): string[] {
    return Array.from(this.#channels.keys());
  }

  /**
   * The last seq delivered on a channel.
   * @param smeltId the smelt's id
   * @returns the seq, or null before any (or when not followed)
   */
  lastSeq(smeltId: string): number | null {
    return this.#channels.get(smeltId)?.filter.lastSeq ?? null;
  }

  /** Closes the socket for good. */
  close(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    const ws = this.#ws;
    this.#ws = null;
    this.#open = false;
    try {
      ws?.close(1000, 'client done');
    } catch {
      /* already closed */
    }
    this.#setStatus('closed');
  }

  /** Skips the wait of a pending reconnect. */
  reconnectNow(): void {
    if (this.#stopped || this.#timer === null) return;
    this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    void this.#connect();
  }

  #setStatus(status: MultiplexStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.#o.onStatus?.(status);
  }

  async #token(renew: boolean): Promise<string | null> {
    const source = this.#o.token;
    let token: string | null | undefined;
    if (typeof source === 'function') token = await source({ renew, stale: this.#lastToken });
    else token = renew ? null : source;
    if (token) this.#lastToken = token;
    return token ?? null;
  }

  async #connect(renew = false): Promise<void> {
    if (this.#stopped) return;
    this.#setStatus(this.#connections++ === 0 ? 'connecting' : 'reconnecting');
    this.#connecting = true;
    let url: string;
    try {
      const base = this.#o.baseUrl ?? globalThis.location?.origin;
      if (!base) throw new TypeError('no baseUrl');
      url = buildSocketUrl(this.#o.path ?? '/api/ws', base, await this.#token(renew));
    } catch {
      this.#connecting = false;
      this.#retry();
      return;
    }
    this.#connecting = false;
    if (this.#stopped) return;
    const Impl = this.#o.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    let ws: WebSocketLike;
    try {
      if (!Impl) throw new TypeError('no WebSocket implementation: pass one in the options');
      ws = new Impl(url);
    } catch (err) {
      this.#stopped = true;
      this.#setStatus('closed');
      this.#o.onTerminalClose?.({ code: 0, reason: err instanceof Error ? err.message : String(err) });
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      if (this.#ws !== ws) return;
      this.#open = true;
      this.#setStatus('live');
      for (const [id, channel] of this.#channels) this.#send(subscribeMessage(id, channel));
    };
    ws.onmessage = (e) => {
      if (this.#ws === ws) this.#handle(e.data);
    };
    ws.onerror = () => {
      /* a close event follows */
    };
    ws.onclose = (e) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#open = false;
      if (this.#stopped) return;
      if (closeAction(e.code) === 'stop') {
        if (e.code === CloseCode.Unauthorized && typeof this.#o.token === 'function' && !this.#renewed) {
          this.#renewed = true;
          void this.#connect(true);
          return;
        }
        this.#stopped = true;
        this.#setStatus('closed');
        this.#o.onTerminalClose?.({ code: e.code, reason: e.reason || '' });
        return;
      }
      this.#retry();
    };
  }

  #retry(): void {
    if (this.#stopped) return;
    if (this.#channels.size === 0) {
      this.#setStatus('idle');
      return;
    }
    this.#setStatus('reconnecting');
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      void this.#connect();
    }, backoffDelay(this.#attempt++, this.#o.backoff));
  }

  #send(message: object): void {
    try {
      this.#ws?.send(JSON.stringify(message));
    } catch {
      /* the close handler reconnects */
    }
  }

  #handle(data: unknown): void {
    let control: { event?: unknown; channel?: unknown; code?: unknown; message?: unknown } | null;
    try {
      control = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer));
    } catch {
      return;
    }
    if (control?.event === 'error' && typeof control.channel === 'string') {
      const id = control.channel.replace(/^smelt:/, '');
      const refused = this.#channels.get(id);
      if (control.code === CloseCode.RateLimited && refused) {
        // Over the subscribe rate: ask again after a backoff, keeping the channel.
        this.#timers.setTimeout(() => {
          if (this.#open && this.#channels.get(id) === refused) this.#send(subscribeMessage(id, refused));
        }, backoffDelay(this.#attempt++, this.#o.backoff));
        return;
      }
      if (!this.#channels.delete(id)) return;
      this.#o.onChannelError?.(id, {
        code: typeof control.code === 'number' ? control.code : 0,
        message: typeof control.message === 'string' ? control.message : '',
      });
      return;
    }
    if (control?.event === 'subscribed' || control?.event === 'unsubscribed') {
      this.#attempt = 0;
      this.#renewed = false;
      return;
    }
    const frame = parseFrame(data);
    if (!frame) return;
    const id = smeltIdOf(frame);
    const channel = id === null ? undefined : this.#channels.get(id);
    if (id === null || !channel || !channel.filter.accept(frame)) return;
    if (isKnownEvent(frame)) this.#o.onEvent(id, frame as SmeltEvent);
    // The server ends a channel after its last event.
    if (channel.filter.finished) this.#channels.delete(id);
  }
}

function subscribeMessage(smeltId: string, channel: Channel): object {
  const message: Record<string, unknown> = { type: 'subscribe', channel: `smelt:${smeltId}` };
  if (channel.token) message['token'] = channel.token;
  if (channel.filter.lastSeq !== null) message['after_seq'] = channel.filter.lastSeq;
  return message;
}

/**
 * The smelt a channel frame belongs to: the payload's `smelt_id`, or `id` for a snapshot.
 * @param frame a parsed frame
 * @returns the smelt id, or null
 */
export function smeltIdOf(frame: { payload?: unknown }): string | null {
  const payload = frame.payload as { smelt_id?: unknown; id?: unknown } | null | undefined;
  const id = payload?.smelt_id ?? payload?.id;
  return typeof id === 'string' ? id : null;
}
