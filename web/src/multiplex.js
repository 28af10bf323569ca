// One WebSocket for many smelts: GET /api/ws?token=<access token>, then
// {"type": "subscribe", "channel": "smelt:<id>", "after_seq"?: N} per smelt.
// The server answers {"event": "subscribed"|"unsubscribed"|"error", channel}
// and then sends each channel's frames exactly as the per-smelt socket does;
// the payload's `id` (snapshot) or `smelt_id` (other events) names the smelt.
// After a drop the client reconnects and resubscribes every channel that has
// not finished, with the last seq it applied.
import { SeqFilter, backoffDelay, buildSocketUrl, classifyClose, parseFrame } from './socket.js';

/**
 * The smelt a channel frame belongs to.
 * @param {{payload?: {id?: string, smelt_id?: string}}} message
 * @returns {string|null}
 */
export function smeltIdOf(message) {
  return message?.payload?.smelt_id ?? message?.payload?.id ?? null;
}

/**
 * The multiplexed socket.
 * States: 'idle' (no channels), 'connecting', 'live', 'reconnecting', 'closed'.
 */
export class MultiplexSocket {
  /**
   * @param {object} o
   * @param {() => Promise<string|null>|string|null} o.token access token for the connection
   * @param {(smeltId: string, message: {event: string, seq: number, payload: object}) => void} o.onEvent
   * @param {(smeltId: string, error: {code: number, message: string}) => void} [o.onChannelError]
   * @param {(state: string) => void} [o.onStateChange]
   * @param {string} [o.path] "/api/ws"
   * @param {typeof WebSocket} [o.WebSocketImpl]
   * @param {{setTimeout: Function, clearTimeout: Function}} [o.timers]
   */
  constructor({ token, onEvent, onChannelError = () => {}, onStateChange = () => {}, path = '/api/ws', WebSocketImpl = globalThis.WebSocket, timers = globalThis }) {
    this.token = token;
    this.onEvent = onEvent;
    this.onChannelError = onChannelError;
    this.onStateChange = onStateChange;
    this.path = path;
    this.WebSocketImpl = WebSocketImpl;
    this.timers = timers;
    /** @type {Map<string, SeqFilter>} smelt id -> what was applied */
    this.channels = new Map();
    this.ws = null;
    this.open = false;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this.connections = 0;
    this.connecting = false; // between deciding to connect and having a socket
  }

  /**
   * Follows a smelt (connecting first when needed). Subscribing twice is harmless.
   * @param {string} smeltId
   */
  subscribe(smeltId) {
    if (this.stopped || this.channels.has(smeltId)) return;
    this.channels.set(smeltId, new SeqFilter(null));
    if (this.open) this.#send({ type: 'subscribe', channel: `smelt:${smeltId}` });
    else if (!this.ws && !this.connecting && this.timer === null) this.#connect();
  }

  /**
   * Stops following a smelt.
   * @param {string} smeltId
   */
  unsubscribe(smeltId) {
    if (!this.channels.delete(smeltId)) return;
    if (this.open) this.#send({ type: 'unsubscribe', channel: `smelt:${smeltId}` });
  }

  /** @returns {string[]} the smelts followed */
  subscribed() {
    return Array.from(this.channels.keys());
  }

  /** Closes the socket for good. */
  stop() {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    this.open = false;
    try {
      ws?.close(1000, 'client done');
    } catch {
      /* ignore */
    }
    this.onStateChange('closed');
  }

  async #connect() {
    if (this.stopped) return;
    this.onStateChange(this.connections++ === 0 ? 'connecting' : 'reconnecting');
    let url;
    this.connecting = true;
    try {
      url = buildSocketUrl(this.path, await this.token(), null);
    } catch {
      this.connecting = false;
      this.#retry();
      return;
    }
    this.connecting = false;
    if (this.stopped) return;
    const ws = new this.WebSocketImpl(url);
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.open = true;
      this.onStateChange('live');
      for (const [id, filter] of this.channels) {
        const message = { type: 'subscribe', channel: `smelt:${id}` };
        if (filter.lastSeq !== null) message.after_seq = filter.lastSeq;
        this.#send(message);
      }
    };
    ws.onmessage = (e) => {
      if (this.ws === ws) this.#handle(e.data);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.open = false;
      if (this.stopped) return;
      if (classifyClose(e.code) === 'terminal') {
        this.stopped = true;
        this.onStateChange('closed');
        return;
      }
      this.#retry();
    };
  }

  #retry() {
    if (this.stopped) return;
    if (this.channels.size === 0) {
      this.onStateChange('idle');
      return;
    }
    this.onStateChange('reconnecting');
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.#connect();
    }, backoffDelay(this.attempt++));
  }

  #send(message) {
    try {
      this.ws?.send(JSON.stringify(message));
    } catch {
      /* the close handler reconnects */
    }
  }

  #handle(data) {
    let control;
    try {
      control = JSON.parse(data);
    } catch {
      return;
    }
    if (control?.event === 'error' && typeof control.channel === 'string') {
      const id = control.channel.replace(/^smelt:/, '');
      this.channels.delete(id);
      this.onChannelError(id, { code: control.code, message: control.message });
      return;
    }
    if (control?.event === 'subscribed' || control?.event === 'unsubscribed') {
      this.attempt = 0;
      return;
    }
    const message = parseFrame(data);
    if (!message) return;
    const id = smeltIdOf(message);
    const filter = id && this.channels.get(id);
    if (!filter || !filter.accept(message)) return;
    this.onEvent(id, message);
    // The server ends a channel after its last event.
    if (filter.finished) this.channels.delete(id);
  }
}
