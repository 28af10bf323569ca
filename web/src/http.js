// JSON requests to the API with the session's bearer token. A 401 on a
// signed-in request means the access token expired (or was revoked): the
// request is retried once after a refresh.
import { API_BASE } from './config.js';
import { ApiError, NETWORK_MESSAGE, errorFromResponse } from './errors.js';

/** Shown when the refresh token is refused: the user has to log in again. */
export const SESSION_EXPIRED_MESSAGE = 'SESSION EXPIRED. LOG IN AGAIN';

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
export async function apiRequest(session, path, { method = 'GET', body, auth = true, fetchImpl = globalThis.fetch } = {}) {
  const send = async (token) => {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      return await fetchImpl(`${API_BASE}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(NETWORK_MESSAGE, { code: 'network' });
    }
  };

  const token = auth ? await session.accessToken() : null;
  if (auth && !token) throw new ApiError(SESSION_EXPIRED_MESSAGE, { status: 401, code: 'session_expired' });
  let response = await send(token);
  if (response.status === 401 && token) {
    const fresh = await session.refresh(token);
    if (!fresh) throw new ApiError(SESSION_EXPIRED_MESSAGE, { status: 401, code: 'session_expired' });
    response = await send(fresh.accessToken);
  }
  const text = await response.text();
  if (!response.ok) throw errorFromResponse(response.status, text);
  if (response.status === 204 || text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('UNEXPECTED ANSWER FROM THE SERVER. TRY AGAIN', { status: response.status });
  }
}
