// Requests to the API through @smelt/client, with the session's bearer token.
// A 401 on a signed-in request means the access token expired (or was
// revoked): the client asks the session to refresh it and retries once.
// Failures become ApiError with the words the page shows.
import { SmeltApiError, SmeltClient, SmeltNetworkError } from '@smelt/client';
import { API_BASE } from './config.js';
import { ApiError, NETWORK_MESSAGE, errorFromResponse } from './errors.js';

/** Shown when the refresh token is refused: the user has to log in again. */
export const SESSION_EXPIRED_MESSAGE = 'SESSION EXPIRED. LOG IN AGAIN';

/**
 * The page's error for anything a client call threw.
 * @param {unknown} err
 * @returns {unknown} an ApiError for API and network failures, else err itself
 */
export function toApiError(err) {
  if (err instanceof SmeltNetworkError) return new ApiError(NETWORK_MESSAGE, { code: 'network' });
  if (err instanceof SmeltApiError) {
    if (err.code === 'invalid_response' && err.status < 300) return new ApiError('UNEXPECTED ANSWER FROM THE SERVER. TRY AGAIN', { status: err.status });
    return errorFromResponse(err.status, err.body);
  }
  return err;
}

/**
 * Runs API calls with a client holding the session's access token.
 * @template T
 * @param {import('./session.js').SessionStore} session
 * @param {(client: SmeltClient) => Promise<T>} fn the calls
 * @param {object} [o]
 * @param {boolean} [o.auth] send the bearer token (default true)
 * @param {typeof fetch} [o.fetchImpl]
 * @returns {Promise<T>}
 * @throws {ApiError} the server's message for 4xx/5xx; `session_expired` when
 *   signed out or a refresh was refused; `network` when the server was not reached
 */
export async function withApi(session, fn, { auth = true, fetchImpl } = {}) {
  const token = auth ? await session.accessToken() : null;
  if (auth && !token) throw new ApiError(SESSION_EXPIRED_MESSAGE, { status: 401, code: 'session_expired' });
  let expired = false;
  const client = new SmeltClient({
    baseUrl: globalThis.location?.origin ?? 'http://localhost',
    fetch: fetchImpl ?? ((...args) => globalThis.fetch(...args)),
    accessToken: auth
      ? async ({ renew, stale }) => {
          if (!renew) return token;
          const fresh = await session.refresh(stale);
          if (!fresh) expired = true;
          return fresh ? fresh.accessToken : null;
        }
      : null,
  });
  try {
    return await fn(client);
  } catch (err) {
    if (expired) throw new ApiError(SESSION_EXPIRED_MESSAGE, { status: 401, code: 'session_expired' });
    throw toApiError(err);
  }
}

/**
 * Sends one API request.
 * @param {import('./session.js').SessionStore} session
 * @param {string} path under /api, e.g. "/profile"
 * @param {object} [o]
 * @param {string} [o.method] GET by default
 * @param {object} [o.body] sent as JSON
 * @param {boolean} [o.auth] add the bearer token (default true)
 * @param {typeof fetch} [o.fetchImpl]
 * @returns {Promise<any>} parsed JSON, or null for 204
 * @throws {ApiError} the server's message for 4xx/5xx; `session_expired` when
 *   a refresh was refused; `network` when the server was not reached
 */
export function apiRequest(session, path, { method = 'GET', body, auth = true, fetchImpl } = {}) {
  return withApi(session, (client) => client.request(`${API_BASE}${path}`, { method, body }), { auth, fetchImpl });
}
