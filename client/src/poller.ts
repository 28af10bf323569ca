/**
 * The last fallback: polling `GET /api/smelts/{id}` (signed-in owners only).
 *
 * @module
 */
import type { ConnectionStatus } from './socket.js';
import { type BackoffOptions, backoffDelay, defaultTimers, type Timers } from './timers.js';
import { isTerminalStatus, type Smelt } from './types.js';

/** Poll this often while answers arrive, in milliseconds. */
export const POLL_INTERVAL_MS = 2000;

/** Options of {@link SmeltPoller}. */
export interface SmeltPollerOptions {
  /** Reads the smelt (`GET /api/smelts/{id}`); rejects with an error carrying `status`. */
  fetchSmelt: () => Promise<Smelt>;
  /** Each answer that differs from the one before, as a snapshot without seq. */
  onSnapshot: (smelt: Smelt) => void;
  /** State changes: `live` while answers arrive, `reconnecting` after a failed poll. */
  onStatus?: (status: ConnectionStatus) => void;
  /** A 4xx other than 408/429 (e.g. 404 after a delete): polling has stopped. */
  onFatal?: (error: unknown) => void;
  /** Milliseconds between polls (default 2,000); failed polls back off from there. */
  intervalMs?: number;
  /** Longest wait after failures, in ms (default 30,000). */
  maxBackoffMs?: number;
  /** Timers (default: the global ones). */
  timers?: Timers;
}

/**
 * Polls one smelt until it reaches a terminal status. Identical answers are not repeated.
 */
export class SmeltPoller {
  readonly #o: SmeltPollerOptions;
  readonly #timers: Timers;
  #timer: unknown = null;
  #failures = 0;
  #stopped = false;
  #last: string | null = null;
  #status: ConnectionStatus | 'idle' = 'idle';

  /** @param options how to read the smelt, callbacks and timers */
  constructor(options: SmeltPollerOptions) {
    this.#o = options;
    this.#timers = options.timers ?? defaultTimers;
  }

  /** Whether polling has stopped (terminal status, refusal or {@link SmeltPoller.stop}). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Polls at once, then every interval. @returns this */
  start(): this {
    this.#setStatus('connecting');
    void this.#poll();
    return this;
  }

  /** Stops polling. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#setStatus('closed');
  }

  /** Polls now instead of waiting. */
  reconnectNow(): void {
    if (this.#stopped || this.#timer === null) return;
    this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    void this.#poll();
  }

  #setStatus(status: ConnectionStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.#o.onStatus?.(status);
  }

  async #poll(): Promise<void> {
    this.#timer = null;
    if (this.#stopped) return;
    let smelt: Smelt;
    try {
      smelt = await this.#o.fetchSmelt();
    } catch (err) {
      if (this.#stopped) return;
      const status = (err as { status?: unknown } | null)?.status;
      if (typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429) {
        this.#stopped = true;
        this.#setStatus('closed');
        this.#o.onFatal?.(err);
        return;
      }
      this.#setStatus('reconnecting');
      this.#schedule(backoffDelay(this.#failures++, this.#backoff()));
      return;
    }
    if (this.#stopped) return;
    this.#failures = 0;
    this.#setStatus('live');
    const text = JSON.stringify(smelt);
    if (text !== this.#last) {
      this.#last = text;
      this.#o.onSnapshot(smelt);
    }
    if (this.#stopped) return;
    if (isTerminalStatus(smelt?.status)) {
      this.stop();
      return;
    }
    this.#schedule(this.#o.intervalMs ?? POLL_INTERVAL_MS);
  }

  #backoff(): BackoffOptions {
    return { baseMs: this.#o.intervalMs ?? POLL_INTERVAL_MS, maxMs: this.#o.maxBackoffMs ?? 30_000 };
  }

  #schedule(ms: number): void {
    if (!this.#stopped) this.#timer = this.#timers.setTimeout(() => void this.#poll(), ms);
  }
}
