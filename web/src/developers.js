// What the Developers section shows of service keys and webhook deliveries.
// Pure functions: unit-tested without a browser.
import { formatDateTime } from './format.js';

/**
 * The scopes a service key may hold, in the order offered; `preset` ones are
 * ticked on a new key (the server's default).
 */
export const SCOPES = Object.freeze([
  { scope: 'smelts:write', label: 'Create smelts', hint: 'Create, cancel and delete smelts', preset: true },
  { scope: 'smelts:read', label: 'Read smelts', hint: 'List and read smelts, follow their progress, export transcripts', preset: true },
  { scope: 'webhooks', label: 'Webhooks', hint: 'Add and remove webhooks, read their deliveries', preset: false },
]);

const KEY_STATE_TEXT = Object.freeze({ active: 'Active', expired: 'Expired', revoked: 'Revoked' });

const DELIVERY_STATUS_TEXT = Object.freeze({ pending: 'Pending', delivered: 'Delivered', given_up: 'Given up' });

/**
 * Whether a key still works.
 * @param {{revoked_at: string|null, expires_at: string|null}} key
 * @param {number} [now] ms since the epoch
 * @returns {'active'|'expired'|'revoked'} revoked wins over expired
 */
export function keyState(key, now = Date.now()) {
  if (key.revoked_at) return 'revoked';
  if (key.expires_at && Date.parse(key.expires_at) <= now) return 'expired';
  return 'active';
}

/**
 * A service key as the list shows it.
 * @param {import('./endpoints.js').ServiceKey} key
 * @param {{now?: number, locale?: string, timeZone?: string}} [o]
 * @returns {{state: 'active'|'expired'|'revoked', stateText: string, prefix: string, scopes: string,
 *   created: string, lastUsed: string, expires: string, revoked: string|null}}
 *   `prefix` ends with "…" (it is only the start of the key); `lastUsed` is "never" for a key never
 *   used, `expires` "never" for a key without an expiry; `revoked` is null unless it was revoked
 */
export function keyRow(key, { now = Date.now(), locale, timeZone } = {}) {
  const when = (iso) => formatDateTime(iso, locale, { timeZone });
  const state = keyState(key, now);
  return {
    state,
    stateText: KEY_STATE_TEXT[state],
    prefix: `${key.prefix}…`,
    scopes: (key.scopes || []).join(', ') || '—',
    created: when(key.created_at),
    lastUsed: key.last_used_at ? when(key.last_used_at) : 'never',
    expires: key.expires_at ? when(key.expires_at) : 'never',
    revoked: key.revoked_at ? when(key.revoked_at) : null,
  };
}

/**
 * The expiry to send for a date picked in an `<input type="date">`: the end
 * of that day (23:59:59) in the reader's time zone.
 * @param {string} value "YYYY-MM-DD", or empty for a key that never expires
 * @returns {string|null} RFC 3339 in UTC; null for an empty or malformed value
 */
export function expiryFromDate(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const end = new Date(year, month - 1, day, 23, 59, 59);
  if (end.getFullYear() !== year || end.getMonth() !== month - 1 || end.getDate() !== day) return null;
  return end.toISOString();
}

/**
 * Today in the reader's time zone, as an `<input type="date">` value (its
 * `min`: a key may expire at the end of today at the earliest).
 * @param {Date} [now]
 * @returns {string} "YYYY-MM-DD"
 */
export function todayDateValue(now = new Date()) {
  const two = (n) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`;
}

/**
 * @param {string} status a delivery's `status`
 * @returns {string} "Pending", "Delivered", "Given up" (unknown ones as they are)
 */
export function deliveryStatusLabel(status) {
  return DELIVERY_STATUS_TEXT[status] || status || 'Unknown';
}

/**
 * @param {string} event a delivery's `event`: "completed", "failed", "cancelled"
 *   (or "smelt.completed" …)
 * @returns {string} "Smelt completed", …
 */
export function deliveryEventLabel(event) {
  const name = String(event || '').replace(/^smelt\./, '');
  return name ? `Smelt ${name}` : 'Unknown event';
}

/**
 * A webhook delivery as the deliveries list shows it.
 * @param {import('./endpoints.js').Delivery} delivery
 * @param {{locale?: string, timeZone?: string}} [o]
 * @returns {{event: string, status: string, statusText: string, attempts: string, lastAnswer: string,
 *   created: string, lastAttempt: string, delivered: string}}
 *   `lastAnswer` is the receiver's last status ("HTTP 500") and the last error, "—" before any attempt
 */
export function deliveryRow(delivery, { locale, timeZone } = {}) {
  const when = (iso) => formatDateTime(iso, locale, { seconds: true, timeZone });
  const attempts = Number(delivery.attempts) || 0;
  const answer = [delivery.last_status_code ? `HTTP ${delivery.last_status_code}` : '', delivery.last_error || ''].filter(Boolean).join(': ');
  return {
    event: deliveryEventLabel(delivery.event),
    status: delivery.status,
    statusText: deliveryStatusLabel(delivery.status),
    attempts: attempts === 1 ? '1 attempt' : `${attempts} attempts`,
    lastAnswer: answer || '—',
    created: when(delivery.created_at),
    lastAttempt: delivery.last_attempt_at ? when(delivery.last_attempt_at) : 'not yet',
    delivered: delivery.delivered_at ? when(delivery.delivered_at) : 'not yet',
  };
}
