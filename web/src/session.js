// The signed-in session: access token (short-lived JWT), refresh token
// (rotated on every use), expiry and user, kept in localStorage so every tab
// shares it.
//
// Refresh tokens are single-use: the server revokes the whole family when a
// rotated token is presented again. Two tabs refreshing at once would log the
// user out, so refreshes are serialised across tabs (Web Locks where the
// browser has them) and each one first re-reads storage to adopt a token
// another tab has just obtained.
import { API_BASE } from './config.js';
import { ApiError, NETWORK_MESSAGE, errorFromResponse } from './errors.js';

const KEY = 'smelt.session';
const LOCK = 'smelt.session.refresh';
/** Refresh this long before expiry (capped at half the token's lifetime). */
const EARLY_MS = 60_000;

/**
 * @typedef {object} Session
 * @property {string} accessToken JWT for `Authorization: Bearer`
 * @property {string} refreshToken opaque, single-use
 * @property {number} expiresAt epoch ms when the access token expires
 * @property {number} lifetimeMs the access token's lifetime when issued, ms
 * @property {{id: string, email: string}} user
 */

/**
 * Converts the server's session body into the stored shape.
 * @param {{access_token: string, expires_in: number, refresh_token: string, user: {id: string, email: string}}} body
 *   answer of signup/login/refresh; `expires_in` in seconds
 * @param {number} nowMs epoch ms
 * @returns {Session}
 */
export function sessionFromResponse(body, nowMs) {
  const lifetimeMs = Math.max(0, Number(body.expires_in) || 0) * 1000;
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    expiresAt: nowMs + lifetimeMs,
    lifetimeMs,
    user: { id: body.user?.id ?? '', email: body.user?.email ?? '' },
  };
}

/**
 * Whether an access token should be refreshed before use.
 * @param {Session} session
 * @param {number} nowMs epoch ms
 * @returns {boolean} true within min(60 s, lifetime / 2) of expiry
 */
export function needsRefresh(session, nowMs) {
  const early = Math.min(EARLY_MS, session.lifetimeMs / 2);
  return session.expiresAt - nowMs <= early;
}

/**
 * The session store. Every dependency is injectable for unit tests.
 * Listeners get the new session (or null) after any change, including
 * changes made by other tabs.
 */
export class SessionStore {
  /**
   * @param {object} [o]
   * @param {Storage|null} [o.storage] localStorage
   * @param {typeof fetch} [o.fetchImpl]
   * @param {() => number} [o.now] epoch ms
   * @param {{request: Function}|null} [o.locks] navigator.locks
   * @param {EventTarget|null} [o.events] window, for cross-tab `storage` events
   */
  constructor({
    storage = safeLocalStorage(),
    fetchImpl = (...args) => globalThis.fetch(...args),
    now = Date.now,
    locks = globalThis.navigator?.locks ?? null,
    events = globalThis.window ?? null,
  } = {}) {
    this.storage = storage;
    this.fetch = fetchImpl;
    this.now = now;
    this.locks = locks;
    this.listeners = new Set();
    this.inflight = null;
    this.memory = null; // used when storage is unavailable
    events?.addEventListener?.('storage', (e) => {
      if (e.key === KEY || e.key === null) this.#emit();
    });
  }

  /** @returns {Session|null} the stored session */
  get() {
    if (!this.storage) return this.memory;
    try {
      const value = JSON.parse(this.storage.getItem(KEY) || 'null');
      return value && typeof value.accessToken === 'string' && typeof value.refreshToken === 'string' ? value : null;
    } catch {
      return null;
    }
  }

  /** @returns {boolean} */
  isSignedIn() {
    return this.get() !== null;
  }

  /**
   * Stores a session from a signup/login/refresh answer.
   * @param {object} body the server's session JSON
   * @returns {Session}
   */
  set(body) {
    const session = sessionFromResponse(body, this.now());
    this.#write(session);
    return session;
  }

  /** Forgets the session locally (no request). */
  clear() {
    this.#write(null);
  }

  /**
   * @param {(session: Session|null) => void} fn
   * @returns {() => void} unsubscribe
   */
  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * A usable access token, refreshed first when it is about to expire.
   * @returns {Promise<string|null>} null when signed out or the session ended
   * @throws {ApiError} when the refresh could not reach the server
   */
  async accessToken() {
    const session = this.get();
    if (!session) return null;
    if (!needsRefresh(session, this.now())) return session.accessToken;
    const fresh = await this.refresh(session.accessToken);
    return fresh ? fresh.accessToken : null;
  }

  /**
   * Exchanges the refresh token for a new pair (rotation). Concurrent calls
   * share one request; a token another tab obtained meanwhile is adopted.
   * @param {string|null} staleAccessToken the token that was refused or is expiring
   * @returns {Promise<Session|null>} the new session, or null when the server
   *   refused the refresh token (the session is then cleared)
   * @throws {ApiError} network or server failure (the session is kept)
   */
  refresh(staleAccessToken = null) {
    if (!this.inflight) {
      this.inflight = this.#withLock(() => this.#refreshNow(staleAccessToken)).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  /**
   * Revokes the refresh token's family on the server, then forgets the
   * session. A failed request still signs out locally.
   * @returns {Promise<void>}
   */
  async logout() {
    const session = this.get();
    this.clear();
    if (!session) return;
    try {
      await this.fetch(`${API_BASE}/auth/logout`, jsonPost({ refresh_token: session.refreshToken }));
    } catch {
      /* offline: the token expires on its own */
    }
  }

  async #refreshNow(staleAccessToken) {
    const current = this.get();
    if (!current) return null;
    // Another tab (or an earlier call) already rotated: use its result.
    if (current.accessToken !== staleAccessToken && !needsRefresh(current, this.now())) return current;
    let response;
    try {
      response = await this.fetch(`${API_BASE}/auth/refresh`, jsonPost({ refresh_token: current.refreshToken }));
    } catch {
      throw new ApiError(NETWORK_MESSAGE, { code: 'network' });
    }
    if (response.ok) return this.set(await response.json());
    if (response.status === 401 || response.status === 400) {
      // Only drop the session if nobody replaced it while we were asking.
      if (this.get()?.refreshToken === current.refreshToken) this.clear();
      return null;
    }
    throw errorFromResponse(response.status, await response.text());
  }

  #withLock(fn) {
    if (this.locks && typeof this.locks.request === 'function') return this.locks.request(LOCK, fn);
    return fn();
  }

  #write(session) {
    if (!this.storage) this.memory = session;
    else {
      try {
        if (session) this.storage.setItem(KEY, JSON.stringify(session));
        else this.storage.removeItem(KEY);
      } catch {
        this.memory = session;
      }
    }
    this.#emit();
  }

  #emit() {
    const session = this.get();
    for (const fn of this.listeners) fn(session);
  }
}

function jsonPost(body) {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  };
}

function safeLocalStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage disabled: the session lives for this page only
  }
}
