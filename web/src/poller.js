// The last fallback for signed-in users: poll GET /api/smelts/{id} until the
// smelt ends (realtime-progress §8: "poll REST endpoint as fallback").
// Each answer is applied like a snapshot.
import { backoffDelay } from './socket.js';

/** Poll this often while answers arrive, ms. */
export const POLL_INTERVAL_MS = 2000;

/**
 * Polls one smelt.
 * States: 'live' (answers arrive), 'reconnecting' (the last poll failed), 'closed'.
 */
export class SmeltPoller {
  /**
   * @param {object} o
   * @param {() => Promise<object>} o.fetchSmelt GET /api/smelts/{id}
   * @param {(message: {event: 'snapshot', seq: null, payload: object}) => void} o.onEvent
   * @param {(state: string) => void} [o.onStateChange]
   * @param {(err: Error) => void} [o.onFatal] a 4xx other than 429 (e.g. 404): polling stops
   * @param {number} [o.intervalMs]
   * @param {{setTimeout: Function, clearTimeout: Function}} [o.timers]
   */
  constructor({ fetchSmelt, onEvent, onStateChange = () => {}, onFatal = () => {}, intervalMs = POLL_INTERVAL_MS, timers = globalThis }) {
    this.fetchSmelt = fetchSmelt;
    this.onEvent = onEvent;
    this.onStateChange = onStateChange;
    this.onFatal = onFatal;
    this.intervalMs = intervalMs;
    this.timers = timers;
    this.timer = null;
    this.failures = 0;
    this.stopped = false;
  }

  /** Polls at once, then every interval. @returns {this} */
  start() {
    this.onStateChange('connecting');
    this.#poll();
    return this;
  }

  /** Stops polling. */
  stop() {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.onStateChange('closed');
  }

  async #poll() {
    this.timer = null;
    if (this.stopped) return;
    let smelt;
    try {
      smelt = await this.fetchSmelt();
    } catch (err) {
      if (this.stopped) return;
      const status = err?.status ?? 0;
      if (status >= 400 && status < 500 && status !== 429) {
        this.stopped = true;
        this.onStateChange('closed');
        this.onFatal(err);
        return;
      }
      this.onStateChange('reconnecting');
      this.#schedule(backoffDelay(this.failures++, { baseMs: this.intervalMs }));
      return;
    }
    if (this.stopped) return;
    this.failures = 0;
    this.onStateChange('live');
    this.onEvent({ event: 'snapshot', seq: null, payload: smelt });
    if (smelt?.status === 'completed' || smelt?.status === 'failed') {
      this.stop();
      return;
    }
    this.#schedule(this.intervalMs);
  }

  #schedule(ms) {
    if (!this.stopped) this.timer = this.timers.setTimeout(() => this.#poll(), ms);
  }
}
