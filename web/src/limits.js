// The upload limits in force: the server's (GET /api/config, read once) or,
// when it does not answer with them, the page's built-in defaults. Each field
// the server sends replaces the default; anything missing or malformed keeps it.
import { DEFAULT_LIMITS } from './config.js';

/**
 * @typedef {object} Limits
 * @property {number} maxFiles
 * @property {number} maxFileBytes
 * @property {number} maxDurationSeconds
 * @property {number} maxTextChars
 * @property {readonly string[]} audioExtensions lower case, with the dot
 * @property {readonly string[]} audioMimeTypes lower case, without parameters
 * @property {number} anonymousMaxFiles
 */

function positiveInteger(value, fallback) {
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

function stringList(value, normalise, fallback) {
  if (!Array.isArray(value)) return fallback;
  const list = [...new Set(value.filter((v) => typeof v === 'string' && v.trim()).map(normalise))];
  return list.length > 0 ? Object.freeze(list) : fallback;
}

/** "MP3" or "mp3" or ".mp3" -> ".mp3" */
export function normaliseExtension(ext) {
  const e = ext.trim().toLowerCase();
  return e.startsWith('.') ? e : `.${e}`;
}

/** "Audio/WebM; codecs=opus" -> "audio/webm" */
export function baseMimeType(type) {
  return String(type || '').split(';')[0].trim().toLowerCase();
}

/**
 * The limits from a GET /api/config body.
 * @param {unknown} config `{max_files, max_file_bytes, max_duration_seconds, max_text_chars, audio_extensions, audio_mime_types}`
 * @param {Limits} [defaults]
 * @returns {Limits} frozen; fields the body lacks keep the defaults
 */
export function limitsFromConfig(config, defaults = DEFAULT_LIMITS) {
  const c = config && typeof config === 'object' ? config : {};
  return Object.freeze({
    maxFiles: positiveInteger(c.max_files, defaults.maxFiles),
    maxFileBytes: positiveInteger(c.max_file_bytes, defaults.maxFileBytes),
    maxDurationSeconds: positiveInteger(c.max_duration_seconds, defaults.maxDurationSeconds),
    maxTextChars: positiveInteger(c.max_text_chars, defaults.maxTextChars),
    audioExtensions: stringList(c.audio_extensions, normaliseExtension, defaults.audioExtensions),
    audioMimeTypes: stringList(c.audio_mime_types, baseMimeType, defaults.audioMimeTypes),
    anonymousMaxFiles: defaults.anonymousMaxFiles,
  });
}

let current = limitsFromConfig(null);
const listeners = new Set();
let loading = null;

/** @returns {Limits} the limits in force now */
export function currentLimits() {
  return current;
}

/**
 * Calls `fn(limits)` whenever the limits change.
 * @param {(limits: Limits) => void} fn
 * @returns {() => void} unsubscribe
 */
export function onLimitsChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Reads the server's limits once (later calls share the first answer). A
 * missing route (an older server), an error or a network failure keeps the
 * defaults: the server checks every upload again anyway.
 * @param {() => Promise<unknown>} fetchConfig GET /api/config
 * @returns {Promise<Limits>}
 */
export function loadLimits(fetchConfig) {
  if (!loading) {
    loading = Promise.resolve()
      .then(fetchConfig)
      .then((config) => limitsFromConfig(config), () => current)
      .then((limits) => {
        current = limits;
        for (const fn of listeners) fn(limits);
        return limits;
      });
  }
  return loading;
}

/** Forgets the loaded limits (tests). */
export function resetLimits() {
  current = limitsFromConfig(null);
  loading = null;
  listeners.clear();
}
