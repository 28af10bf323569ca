/**
 * Timers and backoff shared by the transports.
 *
 * @module
 */

/**
 * The timer functions the transports use; inject fakes in tests. Delays are in milliseconds.
 */
export interface Timers {
  /** Runs `fn` once after `ms` milliseconds; returns a handle for {@link Timers.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a pending timer (unknown or spent handles are ignored). */
  clearTimeout(handle: unknown): void;
}

/** The global `setTimeout`/`clearTimeout`. */
export const defaultTimers: Timers = Object.freeze({
  setTimeout: (fn: () => void, ms: number): unknown => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle: unknown): void => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
});

/** Exponential backoff settings, in milliseconds. */
export interface BackoffOptions {
  /** First delay (default 1,000 ms). */
  baseMs?: number;
  /** Longest delay (default 30,000 ms). */
  maxMs?: number;
}

/** The default backoff: 1 s, doubling, capped at 30 s. */
export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = Object.freeze({ baseMs: 1000, maxMs: 30_000 });

/**
 * The reconnect delay after `attempt` failures in a row: base × 2^attempt, capped
 * (1 s, 2 s, 4 s, … 30 s by default).
 * @param attempt 0-based count of failures in a row
 * @param options base and cap in milliseconds
 * @returns the delay in milliseconds
 */
export function backoffDelay(attempt: number, { baseMs = DEFAULT_BACKOFF.baseMs, maxMs = DEFAULT_BACKOFF.maxMs }: BackoffOptions = {}): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
}
