// Client-side checks that mirror the server's limits, with the server's
// wording. The limits are the server's own (GET /api/config) when it gave
// them, else the built-in defaults (limits.js).
import { ACCOUNT_LIMITS, MAX_LINK_BYTES, MB } from './config.js';
import { baseMimeType, currentLimits } from './limits.js';

/** The server's messages for what the page can check itself (spec smelts-api §5). */
export const MESSAGES = Object.freeze({
  tooManyFiles: (maxFiles = currentLimits().maxFiles) => `MAX ${maxFiles} FILES ALLOWED`,
  fileTooBig: (bytes, maxBytes = currentLimits().maxFileBytes) => `FILE TOO CHUNKY. MAX ${Math.floor(maxBytes / MB)}MB. YOUR FILE: ${formatMb(bytes)}MB`,
  tooLong: (maxSeconds = currentLimits().maxDurationSeconds) => `AUDIO TOO LONG. MAX ${Math.round(maxSeconds / 60)} MINUTES`,
  badType: "CAN'T READ THAT. TRY .MP3 .WAV .M4A .WEBM .OGG",
  nothing: 'NOTHING TO PROCESS. UPLOAD A FILE OR ENTER TEXT',
  both: 'CHOOSE EITHER FILES OR TEXT, NOT BOTH',
  // A link next to files or text.
  linkAndMore: 'CHOOSE ONE: FILES, A LINK OR TEXT',
  // A link the server would not fetch (the same words whatever the reason).
  badLink: 'THIS LINK CANNOT BE FETCHED. USE A PUBLIC HTTPS LINK TO AN AUDIO FILE',
  textTooLong: (maxChars = currentLimits().maxTextChars) => `TOO MUCH TEXT. MAX ${maxChars.toLocaleString('en-US')} CHARACTERS`,
  // Anonymous with more than one file (the server's generic 401 for account-only features).
  anonymousOneFile: 'LOGIN REQUIRED FOR THIS FEATURE',
  combineNeedsAccount: 'COMBINE MODE REQUIRES LOGIN',
  combineNeedsTwoFiles: 'COMBINE MODE NEEDS 2+ FILES',
});

/**
 * Size in MB with one decimal, as the server prints it ("31.2").
 * @param {number} bytes
 * @returns {string}
 */
export function formatMb(bytes) {
  return (bytes / MB).toFixed(1);
}

/**
 * Unicode code points, like Rust's `str::chars().count()`.
 * @param {string} text
 * @returns {number}
 */
export function countChars(text) {
  let n = 0;
  // eslint-disable-next-line no-unused-vars
  for (const _ of text) n++;
  return n;
}

/**
 * @param {unknown} text
 * @returns {boolean} whether it is a string with something besides whitespace
 */
export function hasText(text) {
  return typeof text === 'string' && text.trim().length > 0;
}

function extensionOf(name) {
  const dot = name.lastIndexOf('.');
  return dot === -1 ? '' : name.slice(dot).toLowerCase();
}

/**
 * The extension decides (.mp3 .wav .m4a .webm .ogg .opus .mp4, or the
 * server's list). Browsers report MIME types loosely (m4a is audio/mp4,
 * audio/x-m4a or even video/mp4; a recording is "audio/webm;codecs=opus";
 * some OSes give nothing), so a MIME type only rejects a file when it is
 * clearly not audio.
 * @param {{name: string, type?: string}} file
 * @param {import('./limits.js').Limits} [limits]
 * @returns {boolean}
 */
export function isAcceptedAudio(file, limits = currentLimits()) {
  if (!limits.audioExtensions.includes(extensionOf(file.name || ''))) return false;
  const type = baseMimeType(file.type);
  return type === '' || type.startsWith('audio/') || type === 'application/octet-stream' || limits.audioMimeTypes.includes(type);
}

/**
 * The first problem with one file.
 * @param {{name: string, size: number, type?: string}} file size in bytes
 * @param {object} [o]
 * @param {number|null} [o.durationSeconds] its length, when the browser could read it
 * @param {import('./limits.js').Limits} [o.limits]
 * @returns {string|null} the server's message, or null
 */
export function validateFile(file, { durationSeconds = null, limits = currentLimits() } = {}) {
  if (!isAcceptedAudio(file, limits)) return MESSAGES.badType;
  if (file.size > limits.maxFileBytes) return MESSAGES.fileTooBig(file.size, limits.maxFileBytes);
  if (Number.isFinite(durationSeconds) && durationSeconds > limits.maxDurationSeconds) return MESSAGES.tooLong(limits.maxDurationSeconds);
  return null;
}

/**
 * Checks a recording's link as far as the page can: an absolute http(s)
 * URL of at most 2,000 bytes. Whether its host may be fetched (https to a
 * public address, or a host the operator listed) only the server knows.
 * @param {string} url
 * @returns {string|null} the server's message for a link it would refuse, or null
 */
export function validateLink(url) {
  const value = (url || '').trim();
  if (new TextEncoder().encode(value).length > MAX_LINK_BYTES) return MESSAGES.badLink;
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:' ? null : MESSAGES.badLink;
  } catch {
    return MESSAGES.badLink;
  }
}

/**
 * The first problem with what the user is about to submit, or null.
 * Checks run in the server's order, so both sides report the same problem
 * first: file count, each file, text length, then no input / mixed input,
 * combine mode, the anonymous one-file limit, and the link.
 * @param {{files: {name:string,size:number,type?:string}[], url?: string, text: string, mode: string, signedIn: boolean,
 *   durations?: (number|null)[], limits?: import('./limits.js').Limits}} input
 *   url: a recording's link, sent instead of files; durations: each file's
 *   length in seconds where known (same order as files)
 * @returns {string|null} the server's message for the first problem, or null
 */
export function validateSubmission({ files, url = '', text = '', mode = 'separate', signedIn = false, durations = [], limits = currentLimits() }) {
  const withText = hasText(text);
  const withLink = hasText(url);

  if (files.length > limits.maxFiles) return MESSAGES.tooManyFiles(limits.maxFiles);
  for (const [i, file] of files.entries()) {
    const problem = validateFile(file, { durationSeconds: durations[i] ?? null, limits });
    if (problem) return problem;
  }
  // The text is sent when there are no files nor link (or when it is real text next to them).
  if ((withText || (files.length === 0 && !withLink)) && countChars(text) > limits.maxTextChars) return MESSAGES.textTooLong(limits.maxTextChars);

  if (files.length === 0 && !withText && !withLink) return MESSAGES.nothing;
  if (withLink && (files.length > 0 || withText)) return MESSAGES.linkAndMore;
  if (files.length > 0 && withText) return MESSAGES.both;

  if (mode === 'combine') {
    if (!signedIn) return MESSAGES.combineNeedsAccount;
    if (files.length < 2) return MESSAGES.combineNeedsTwoFiles;
  }
  if (!signedIn && files.length > limits.anonymousMaxFiles) return MESSAGES.anonymousOneFile;
  return withLink ? validateLink(url) : null;
}

/**
 * The create form's hint about files: "MP3, WAV, M4A, WebM, Ogg or MP4, up
 * to 25 MB and 30 minutes each, up to 5 files."
 * @param {import('./limits.js').Limits} limits
 * @param {{signedIn: boolean}} o
 * @returns {string}
 */
export function fileHint(limits, { signedIn }) {
  const names = { '.mp3': 'MP3', '.wav': 'WAV', '.m4a': 'M4A', '.webm': 'WebM', '.ogg': 'Ogg', '.opus': 'Opus', '.mp4': 'MP4' };
  // .opus is Ogg and .m4a/.mp4 the same container: name each kind once.
  const shown = limits.audioExtensions.filter((e) => e !== '.opus' || !limits.audioExtensions.includes('.ogg')).map((e) => names[e] || e.slice(1).toUpperCase());
  const kinds = shown.length > 1 ? `${shown.slice(0, -1).join(', ')} or ${shown.at(-1)}` : shown.join('');
  const size = `${Math.floor(limits.maxFileBytes / MB)} MB`;
  const minutes = `${Math.round(limits.maxDurationSeconds / 60)} minutes`;
  return signedIn
    ? `${kinds}, up to ${size} and ${minutes} each, up to ${limits.maxFiles} files.`
    : `${kinds}, up to ${size} and ${minutes}. One file at a time without an account.`;
}

/**
 * Checks sign-up/login input before it is sent, with the server's wording.
 * The server decides in the end (address syntax, taken addresses).
 * @param {{email: string, password: string}} input
 * @param {{signup?: boolean}} [o] sign-up also checks the password length
 * @returns {string|null} the first problem, or null
 */
export function validateCredentials({ email, password }, { signup = false } = {}) {
  const address = (email || '').trim();
  if (!address || !/^[^\s@]+@[^\s@]+$/.test(address)) return 'INVALID EMAIL ADDRESS';
  const n = countChars(password || '');
  if (n === 0) return 'ENTER YOUR PASSWORD';
  if (signup && (n < ACCOUNT_LIMITS.minPassword || n > ACCOUNT_LIMITS.maxPassword)) {
    return 'PASSWORD MUST BE 8 TO 256 CHARACTERS';
  }
  return null;
}

/**
 * Checks a custom prompt with the server's limits and wording (title 1-100,
 * body 1-4,000 characters after trimming).
 * @param {{title: string, body: string}} prompt
 * @returns {string|null} the first problem, or null
 */
export function validatePrompt({ title, body }) {
  const t = countChars((title || '').trim());
  const b = countChars((body || '').trim());
  if (t === 0) return 'TITLE IS REQUIRED';
  if (t > ACCOUNT_LIMITS.maxPromptTitle) return `TITLE MUST BE 1 TO ${ACCOUNT_LIMITS.maxPromptTitle} CHARACTERS`;
  if (b === 0) return 'BODY IS REQUIRED';
  if (b > ACCOUNT_LIMITS.maxPromptBody) return `BODY MUST BE 1 TO ${ACCOUNT_LIMITS.maxPromptBody} CHARACTERS`;
  return null;
}

/**
 * Checks a new service key with the server's limits and wording (name 1-100
 * characters after trimming, at least one scope, an expiry in the future).
 * @param {{name: string, scopes: string[], expiresAt?: string|null}} input expiresAt RFC 3339
 * @param {number} [now] ms since the epoch
 * @returns {string|null} the first problem, or null
 */
export function validateNewKey({ name, scopes, expiresAt = null }, now = Date.now()) {
  const n = countChars((name || '').trim());
  if (n === 0 || n > ACCOUNT_LIMITS.maxKeyName) return `NAME MUST BE 1 TO ${ACCOUNT_LIMITS.maxKeyName} CHARACTERS`;
  if (!scopes || scopes.length === 0) return 'GIVE THE KEY AT LEAST ONE SCOPE';
  if (expiresAt && !(Date.parse(expiresAt) > now)) return 'THE EXPIRY DATE MUST BE IN THE FUTURE';
  return null;
}

/**
 * Checks a webhook URL as far as the page can: present, an absolute URL, at
 * most 2,000 bytes. Whether its host is allowed (https to a public address,
 * or a host the operator listed) only the server knows.
 * @param {string} url
 * @returns {string|null} the server's message for a malformed URL, or null
 */
export function validateWebhookUrl(url) {
  const value = (url || '').trim();
  const bytes = new TextEncoder().encode(value).length;
  if (!value || bytes > ACCOUNT_LIMITS.maxWebhookUrlBytes) return 'URL MUST BE AN ABSOLUTE HTTPS URL';
  try {
    new URL(value);
  } catch {
    return 'URL MUST BE AN ABSOLUTE HTTPS URL';
  }
  return null;
}
