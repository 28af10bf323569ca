// Following one smelt, whatever the network allows (realtime-progress §8):
//   1. the smelt's WebSocket, reconnecting with backoff and after_seq;
//   2. after 3 connections in a row that delivered nothing (a proxy that
//      refuses WebSockets), Server-Sent Events, resumed by Last-Event-ID;
//   3. when SSE fails too: REST polling for signed-in users, or back to the
//      WebSocket with a longer wait for anonymous visitors (who cannot read a
//      smelt over REST).
// Frames are de-duplicated by seq across transports, so a switch never
// applies an event twice.
import { SeqFilter, SmeltSocket, backoffDelay, buildSocketUrl } from './socket.js';
import { SmeltEventSource, buildEventsUrl } from './sse.js';
import { SmeltPoller } from './poller.js';

/** WebSocket connections in a row without a frame before trying SSE. */
export const MAX_FAILED_SOCKET_CONNECTS = 3;

/**
 * @typedef {{token: string, kind: 'subscription'|'access'}} Credentials
 * @typedef {{state: 'idle'|'connecting'|'live'|'reconnecting'|'closed', transport: 'websocket'|'sse'|'polling'}} ConnectionInfo
 */

/** Follows one smelt over the best transport available. */
export class SmeltFollower {
  /**
   * @param {object} o
   * @param {string} o.smeltId
   * @param {string} [o.subscriptionUrl] the socket path from the create answer
   * @param {(renew?: boolean) => Promise<Credentials|null>} o.credentials the
   *   token to present; `renew` asks for a fresh access token after a 4501
   * @param {() => boolean} o.canPoll whether REST polling is possible (signed in and owner)
   * @param {() => Promise<object>} o.fetchSmelt GET /api/smelts/{id}
   * @param {(message: {event: string, seq: number|null, payload: object}) => void} o.onEvent
   * @param {(info: ConnectionInfo) => void} [o.onConnection]
   * @param {(close: {code: number, reason: string, message?: string}) => void} [o.onTerminal]
   *   the smelt cannot be followed (4500-4999 close, or polling refused)
   * @param {object} [o.impls] WebSocket, EventSource and timers for tests
   */
  constructor({ smeltId, subscriptionUrl, credentials, canPoll, fetchSmelt, onEvent, onConnection = () => {}, onTerminal = () => {}, impls = {} }) {
    this.smeltId = smeltId;
    this.subscriptionUrl = subscriptionUrl || `/api/smelts/${encodeURIComponent(smeltId)}/ws`;
    this.credentials = credentials;
    this.canPoll = canPoll;
    this.fetchSmelt = fetchSmelt;
    this.onEvent = onEvent;
    this.onConnection = onConnection;
    this.onTerminal = onTerminal;
    this.impls = impls;
    this.timers = impls.timers || globalThis;
    this.filter = new SeqFilter(null);
    this.transport = null; // the running SmeltSocket / SmeltEventSource / SmeltPoller
    this.kind = 'websocket';
    this.cycles = 0;
    this.renewed = false;
    this.credentialKind = null; // 'subscription' or 'access', once known
    this.timer = null;
    this.stopped = false;
  }

  /** Starts with the WebSocket. @returns {this} */
  start() {
    this.#startSocket();
    return this;
  }

  /** Stops every transport; nothing is reported afterwards. */
  stop() {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    const t = this.transport;
    this.transport = null;
    t?.stop();
  }

  /** Skips a pending reconnect wait (e.g. the browser came back online). */
  reconnectNow() {
    if (this.transport instanceof SmeltSocket) this.transport.reconnectNow();
  }

  #report(state, kind) {
    if (this.stopped) return;
    this.onConnection({ state, transport: kind });
  }

  #deliver(message, source) {
    if (this.stopped || this.transport !== source) return;
    // Polling answers carry no seq: they are whole snapshots, always applied.
    if (message.seq !== null && !this.filter.accept(message)) return;
    this.onEvent(message);
  }

  async #token(renew = false) {
    const creds = await this.credentials(renew);
    if (!creds) throw new Error('no credentials');
    this.credentialKind = creds.kind;
    return creds.token;
  }

  #startSocket() {
    if (this.stopped) return;
    this.kind = 'websocket';
    const socket = new SmeltSocket({
      url: async (afterSeq) => buildSocketUrl(this.subscriptionUrl, await this.#token(), afterSeq),
      lastSeq: this.filter.lastSeq,
      maxFailedConnects: MAX_FAILED_SOCKET_CONNECTS,
      onEvent: (m) => this.#deliver(m, socket),
      onStateChange: (s) => {
        if (this.transport === socket) this.#report(s, 'websocket');
      },
      onTerminalClose: (close) => {
        if (this.transport === socket) this.#socketRefused(close);
      },
      onGiveUp: () => {
        if (this.transport === socket) this.#startSse();
      },
      WebSocketImpl: this.impls.WebSocket || globalThis.WebSocket,
      timers: this.impls.timers,
    });
    this.transport = socket;
    socket.start();
  }

  async #socketRefused(close) {
    // An expired access token is refused with 4501: renew it once and retry.
    if (close.code === 4501 && this.credentialKind === 'access' && !this.renewed) {
      this.renewed = true;
      try {
        await this.#token(true);
        this.#startSocket();
        return;
      } catch {
        /* fall through: report the refusal */
      }
    }
    if (!this.stopped) this.onTerminal(close);
  }

  #startSse() {
    if (this.stopped) return;
    this.kind = 'sse';
    const source = new SmeltEventSource({
      url: async (afterSeq) => buildEventsUrl(this.smeltId, await this.#token(), afterSeq),
      lastSeq: this.filter.lastSeq,
      onEvent: (m) => this.#deliver(m, source),
      onStateChange: (s) => {
        if (this.transport === source) this.#report(s, 'sse');
      },
      onGiveUp: () => {
        if (this.transport === source) this.#afterSseFailed();
      },
      EventSourceImpl: this.impls.EventSource || globalThis.EventSource,
    });
    this.transport = source;
    source.start();
  }

  #afterSseFailed() {
    if (this.stopped) return;
    if (this.canPoll()) {
      this.#startPolling();
      return;
    }
    // Nothing else to fall back to: try the socket again, waiting longer each round.
    this.transport = null;
    this.#report('reconnecting', 'websocket');
    const delay = backoffDelay(++this.cycles + 2);
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.#startSocket();
    }, delay);
  }

  #startPolling() {
    this.kind = 'polling';
    const poller = new SmeltPoller({
      fetchSmelt: this.fetchSmelt,
      onEvent: (m) => this.#deliver(m, poller),
      onStateChange: (s) => {
        if (this.transport === poller) this.#report(s, 'polling');
      },
      onFatal: (err) => {
        if (this.transport === poller && !this.stopped) this.onTerminal({ code: err.status || 0, reason: '', message: err.message });
      },
      timers: this.impls.timers,
    });
    this.transport = poller;
    poller.start();
  }
}
