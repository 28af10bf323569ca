// The REST API, one function per endpoint (the smelt ones through
// @smelt/client's typed methods). Every function resolves with the server's
// JSON and rejects with ApiError carrying the server's message.
import { apiRequest, withApi } from './http.js';

/**
 * @typedef {import('./session.js').SessionStore} SessionStore
 * @typedef {{id: string, title: string, body: string, created_at: string, updated_at: string}} Prompt
 * @typedef {{email: string|null, credits_remaining: number, weekly_credits_max: number,
 *   credits_reset_at: string, api_key_status: 'none'|'valid'|'invalid',
 *   api_key_last4: string|null, api_key_base_url: string|null}} Profile
 */

/**
 * POST /api/auth/signup. Stores the new session.
 * @param {SessionStore} session
 * @param {{email: string, password: string}} credentials
 * @returns {Promise<import('./session.js').Session>}
 * @throws {ApiError} 400 invalid_data, 409 email_taken, 429 rate_limited
 */
export async function signup(session, credentials) {
  return session.set(await apiRequest(session, '/auth/signup', { method: 'POST', body: credentials, auth: false }));
}

/**
 * POST /api/auth/login. Stores the new session.
 * @param {SessionStore} session
 * @param {{email: string, password: string}} credentials
 * @returns {Promise<import('./session.js').Session>}
 * @throws {ApiError} 401 invalid_credentials, 429 rate_limited
 */
export async function login(session, credentials) {
  return session.set(await apiRequest(session, '/auth/login', { method: 'POST', body: credentials, auth: false }));
}

/**
 * GET /api/profile: credits and API key status.
 * @param {SessionStore} session
 * @returns {Promise<Profile>}
 */
export function getProfile(session) {
  return apiRequest(session, '/profile');
}

/**
 * PUT /api/profile/api-key. The server checks the key with the provider
 * before saving it.
 * @param {SessionStore} session
 * @param {{api_key: string, base_url?: string}} body
 * @returns {Promise<Profile>} the updated profile
 * @throws {ApiError} 400 api_key_invalid / provider_unreachable / invalid_data
 */
export function saveApiKey(session, body) {
  return apiRequest(session, '/profile/api-key', { method: 'PUT', body });
}

/**
 * DELETE /api/profile/api-key.
 * @param {SessionStore} session
 * @returns {Promise<null>}
 */
export function deleteApiKey(session) {
  return apiRequest(session, '/profile/api-key', { method: 'DELETE' });
}

/**
 * GET /api/prompts.
 * @param {SessionStore} session
 * @returns {Promise<Prompt[]>} newest first
 */
export async function listPrompts(session) {
  const body = await apiRequest(session, '/prompts');
  return Array.isArray(body?.prompts) ? body.prompts : [];
}

/**
 * POST /api/prompts.
 * @param {SessionStore} session
 * @param {{title: string, body: string}} prompt title ≤ 100, body ≤ 4,000 characters
 * @returns {Promise<Prompt>}
 */
export function createPrompt(session, prompt) {
  return apiRequest(session, '/prompts', { method: 'POST', body: prompt });
}

/**
 * PATCH /api/prompts/{id}.
 * @param {SessionStore} session
 * @param {string} id
 * @param {{title?: string, body?: string}} changes
 * @returns {Promise<Prompt>}
 */
export function updatePrompt(session, id, changes) {
  return apiRequest(session, `/prompts/${encodeURIComponent(id)}`, { method: 'PATCH', body: changes });
}

/**
 * DELETE /api/prompts/{id}.
 * @param {SessionStore} session
 * @param {string} id
 * @returns {Promise<null>}
 */
export function deletePrompt(session, id) {
  return apiRequest(session, `/prompts/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

/**
 * GET /api/smelts/{id} (owner only).
 * @param {SessionStore} session
 * @param {string} id
 * @returns {Promise<object>} the smelt: `progress` while running, `results`
 *   when completed, `error_code`/`error_message` when failed
 */
export function getSmelt(session, id) {
  return withApi(session, (client) => client.get(id));
}

/**
 * GET /api/smelts.
 * @param {SessionStore} session
 * @param {{status?: string, sort?: string, order?: string, page?: number, limit?: number}} query
 *   status: pending|completed|failed|cancelled; sort: created_at|completed_at; order: asc|desc; limit ≤ 50
 * @returns {Promise<{smelts: object[], pagination: {page: number, limit: number, total: number, total_pages: number}}>}
 */
export function listSmelts(session, query = {}) {
  return withApi(session, (client) => client.list(query));
}

/**
 * DELETE /api/smelts/{id}: removes the smelt with its files and results.
 * @param {SessionStore} session
 * @param {string} id
 * @returns {Promise<null>}
 */
export async function deleteSmelt(session, id) {
  await withApi(session, (client) => client.delete(id));
  return null;
}

/**
 * POST /api/smelts/{id}/cancel: stops a smelt that has not finished. The
 * holder of its subscription token may cancel it; without one the owner's
 * access token is used.
 * @param {SessionStore} session
 * @param {string} id
 * @param {{token?: string|null}} [o] the smelt's subscription token
 * @returns {Promise<object>} the smelt, now `cancelled`
 * @throws {ApiError} 409 already_finished, 404 not_found, 401
 */
export function cancelSmelt(session, id, { token = null } = {}) {
  if (token) return withApi(session, (client) => client.cancel(id, { token }), { auth: false });
  return withApi(session, (client) => client.cancel(id));
}

/**
 * GET /api/smelts/{id}/transcript (or one file's) in one format.
 * @param {SessionStore} session
 * @param {string} id
 * @param {{format: 'txt'|'srt'|'vtt'|'json', fileId?: string|null, token?: string|null}} o
 *   token: the smelt's subscription token; without one the owner's access token is used
 * @returns {Promise<string|object>} the text, or the parsed JSON document
 * @throws {ApiError} 404 before any transcript exists
 */
export function getTranscript(session, id, { format, fileId = null, token = null }) {
  const options = { format, ...(fileId ? { fileId } : {}) };
  if (token) return withApi(session, (client) => client.transcript(id, { ...options, token }), { auth: false });
  return withApi(session, (client) => client.transcript(id, options));
}

/**
 * GET /api/config: the server's upload limits (public).
 * @param {SessionStore} session
 * @returns {Promise<object>} `{max_files, max_file_bytes, max_duration_seconds, max_text_chars, audio_extensions, audio_mime_types}`
 * @throws {ApiError} 404 from servers without the route
 */
export function getConfig(session) {
  return withApi(session, (client) => client.config(), { auth: false });
}

/**
 * @typedef {'smelts:write'|'smelts:read'|'webhooks'} Scope
 * @typedef {{id: string, name: string, prefix: string, scopes: Scope[], created_at: string,
 *   expires_at: string|null, last_used_at: string|null, revoked_at: string|null}} ServiceKey
 * @typedef {{id: string, url: string, created_at: string}} Webhook
 * @typedef {{id: string, smelt_id: string, event: string, status: 'pending'|'delivered'|'given_up',
 *   attempts: number, last_status_code: number|null, last_error: string|null, created_at: string,
 *   last_attempt_at: string|null, delivered_at: string|null}} Delivery
 */

/**
 * GET /api/keys: the user's service keys, revoked ones included (session only).
 * @param {SessionStore} session
 * @returns {Promise<ServiceKey[]>} newest first
 */
export async function listKeys(session) {
  const body = await apiRequest(session, '/keys');
  return Array.isArray(body?.keys) ? body.keys : [];
}

/**
 * POST /api/keys: a new service key.
 * @param {SessionStore} session
 * @param {{name: string, scopes?: Scope[], expires_at?: string}} input expires_at RFC 3339, in the future
 * @returns {Promise<ServiceKey & {secret: string}>} `secret` (`ck_…`) is returned only this once
 * @throws {ApiError} 400 invalid_data
 */
export function createKey(session, input) {
  return apiRequest(session, '/keys', { method: 'POST', body: input });
}

/**
 * DELETE /api/keys/{id}: revokes a key at once (also when revoked already).
 * @param {SessionStore} session
 * @param {string} id
 * @returns {Promise<null>}
 */
export function revokeKey(session, id) {
  return apiRequest(session, `/keys/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

/**
 * GET /api/webhooks.
 * @param {SessionStore} session
 * @returns {Promise<Webhook[]>} newest first
 */
export async function listWebhooks(session) {
  const body = await apiRequest(session, '/webhooks');
  return Array.isArray(body?.webhooks) ? body.webhooks : [];
}

/**
 * POST /api/webhooks.
 * @param {SessionStore} session
 * @param {{url: string}} input
 * @returns {Promise<Webhook & {secret: string}>} `secret` (`whsec_…`) signs the deliveries and is returned only this once
 * @throws {ApiError} 400 webhook_url_not_allowed / invalid_data
 */
export function createWebhook(session, input) {
  return apiRequest(session, '/webhooks', { method: 'POST', body: input });
}

/**
 * DELETE /api/webhooks/{id}: removes it with its delivery log.
 * @param {SessionStore} session
 * @param {string} id
 * @returns {Promise<null>}
 */
export function deleteWebhook(session, id) {
  return apiRequest(session, `/webhooks/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

/**
 * GET /api/webhooks/{id}/deliveries: the last 100, newest first.
 * @param {SessionStore} session
 * @param {string} id
 * @returns {Promise<Delivery[]>}
 */
export async function listDeliveries(session, id) {
  const body = await apiRequest(session, `/webhooks/${encodeURIComponent(id)}/deliveries`);
  return Array.isArray(body?.deliveries) ? body.deliveries : [];
}
