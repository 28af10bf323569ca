// The history page's live rows: @smelt/client's multiplexed socket
// (GET /api/ws, one channel per running smelt, resubscribing with after_seq
// after a drop), with the page's access token.
import { MultiplexSocket as ClientMultiplexSocket } from '@smelt/client';

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
   * @param {Function} [o.WebSocketImpl]
   * @param {{setTimeout: Function, clearTimeout: Function}} [o.timers]
   */
  constructor({ token, onEvent, onChannelError = () => {}, onStateChange = () => {}, path, WebSocketImpl, timers }) {
    this.socket = new ClientMultiplexSocket({
      baseUrl: globalThis.location?.origin ?? 'http://localhost',
      token: () => token(),
      onEvent,
      onChannelError,
      onStatus: onStateChange,
      ...(path ? { path } : {}),
      ...(WebSocketImpl ? { WebSocket: WebSocketImpl } : {}),
      ...(timers ? { timers } : {}),
    });
  }

  /**
   * Follows a smelt (connecting first when needed). Subscribing twice is harmless.
   * @param {string} smeltId
   */
  subscribe(smeltId) {
    this.socket.subscribe(smeltId);
  }

  /**
   * Stops following a smelt.
   * @param {string} smeltId
   */
  unsubscribe(smeltId) {
    this.socket.unsubscribe(smeltId);
  }

  /** @returns {string[]} the smelts followed */
  subscribed() {
    return this.socket.subscribed();
  }

  /** Closes the socket for good. */
  stop() {
    this.socket.close();
  }
}
