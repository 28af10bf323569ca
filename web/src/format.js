// Small display helpers. Pure functions: unit-tested without a browser.

/**
 * Human size: "512 B", "40 KB", "3.2 MB" (1 KB = 1024 B).
 * @param {number} bytes
 * @returns {string} empty for a negative or non-finite value
 */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * "about 45 s left", "about 3 min left", "about 1 h 5 min left".
 * @param {number} seconds
 * @returns {string} empty when unknown
 */
export function formatEta(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 5) return 'almost there';
  if (s < 60) return `about ${s} s left`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `about ${minutes} min left`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `about ${h} h${m ? ` ${m} min` : ''} left`;
}

/**
 * @param {unknown} value
 * @returns {number} an integer 0-100 (0 for anything not a number)
 */
export function clampPercent(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return 0;
  return Math.max(0, Math.min(100, Math.round(n)));
}

/**
 * "Team sync.m4a" -> "Team sync.md"; unsafe characters become "_".
 * @param {string|null|undefined} filename
 * @param {string} [fallback]
 * @returns {string}
 */
export function markdownFilename(filename, fallback = 'smelt-notes') {
  const base = (filename || '').replace(/\.[^./\\]+$/, '') || fallback;
  const safe = base.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_').trim() || fallback;
  return `${safe.slice(0, 120)}.md`;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/**
 * The credits badge: "3 of 5 left this week, resets Monday".
 * Credits reset at Monday 00:00 UTC; the weekday is the UTC one, which is
 * the day the server means.
 * @param {{credits_remaining: number, weekly_credits_max: number, credits_reset_at: string, api_key_status?: string}} profile
 * @returns {string}
 */
export function creditsText(profile) {
  if (profile.api_key_status === 'valid') return 'Unlimited with your API key';
  const reset = new Date(profile.credits_reset_at);
  const day = Number.isNaN(reset.getTime()) ? '' : `, resets ${WEEKDAYS[reset.getUTCDay()]}`;
  return `${profile.credits_remaining} of ${profile.weekly_credits_max} left this week${day}`;
}

/**
 * A timestamp for lists: "21 Nov 2026, 14:05" in the reader's time zone.
 * @param {string|null|undefined} iso
 * @param {string} [locale]
 * @param {{seconds?: boolean, timeZone?: string}} [o] seconds too ("14:05:09"); another time zone
 * @returns {string} "—" when absent
 */
export function formatDateTime(iso, locale = undefined, { seconds = false, timeZone = undefined } = {}) {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  return date.toLocaleString(locale, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    ...(seconds ? { second: '2-digit' } : {}),
    ...(timeZone ? { timeZone } : {}),
  });
}

/**
 * A transcript timestamp: "03:07" (mm:ss), "1:02:05" (h:mm:ss) from an hour on.
 * Seconds are truncated, as players show them: a segment starting at 59.9 s is "00:59".
 * @param {number} ms milliseconds from the start of the file
 * @returns {string} empty for a negative or non-finite value
 */
export function formatTimestamp(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '';
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

/**
 * A machine-readable duration for `<time datetime>`: "PT187.4S".
 * @param {number} ms
 * @returns {string}
 */
export function isoDuration(ms) {
  const seconds = Math.max(0, Number.isFinite(ms) ? ms : 0) / 1000;
  return `PT${Number(seconds.toFixed(3))}S`;
}

/**
 * English ordinal: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 112th.
 * @param {number} n a positive integer
 * @returns {string}
 */
export function ordinal(n) {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  const suffix = { 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] || 'th';
  return `${n}${suffix}`;
}

/**
 * An expected wait: "less than a minute", "about 2 min", "about 1 h 15 min".
 * Whole minutes up to an hour; beyond that five-minute steps, since nobody
 * can promise a queue to the minute an hour ahead.
 * @param {number} seconds
 * @returns {string} empty when unknown
 */
export function formatWait(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 60) return 'less than a minute';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min`;
  const rounded = Math.round(seconds / 300) * 5;
  const h = Math.floor(rounded / 60);
  const m = rounded % 60;
  return `about ${h} h${m ? ` ${m} min` : ''}`;
}

/**
 * A queued smelt's place: "next in line", "3rd in line, about 2 min".
 * @param {{queue_position?: number, estimated_wait_seconds?: number}} progress
 * @returns {string} empty when the position is unknown
 */
export function queueText({ queue_position: position, estimated_wait_seconds: wait } = {}) {
  if (!Number.isInteger(position) || position < 1) return '';
  const place = position === 1 ? 'next in line' : `${ordinal(position)} in line`;
  const estimate = formatWait(wait);
  return estimate ? `${place}, ${estimate}` : place;
}

/**
 * Why a queued smelt waits where it does, from its lane (`docs/api.md#queue-lanes`).
 * @param {string|undefined} lane `fast`, `normal` or `bulk`
 * @returns {string} empty for an unknown lane
 */
export function laneText(lane) {
  switch (lane) {
    case 'fast':
      return 'Fast lane: short recordings and pasted text go first.';
    case 'normal':
      return 'Short recordings go first; longer ones take turns with them.';
    case 'bulk':
      return 'Bulk lane: runs when other work leaves room.';
    default:
      return '';
  }
}
