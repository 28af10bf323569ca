// State shared by the views: the session, the signed-in user's profile
// (credits, API key) and prompts, and navigation.
import { SessionStore } from './session.js';
import { getProfile, listPrompts } from './endpoints.js';
import { routeHash } from './router.js';

/** The one session store of the page. */
export const session = new SessionStore();

const profileListeners = new Set();
let profile = null;
let prompts = [];

/**
 * The last profile loaded (null when signed out or not loaded yet).
 * @returns {import('./endpoints.js').Profile|null}
 */
export function currentProfile() {
  return profile;
}

/**
 * The signed-in user's custom prompts as last loaded.
 * @returns {import('./endpoints.js').Prompt[]}
 */
export function currentPrompts() {
  return prompts;
}

/**
 * Reloads the profile (credits change after every smelt, and back after a
 * failure) and tells the listeners. Failures are reported to listeners as
 * `{error}` and otherwise ignored: the badge is a convenience.
 * @returns {Promise<void>}
 */
export async function refreshProfile() {
  if (!session.isSignedIn()) {
    profile = null;
    emit({ profile: null });
    return;
  }
  try {
    profile = await getProfile(session);
    emit({ profile });
  } catch (error) {
    emit({ profile, error });
  }
}

/**
 * Reloads the custom prompts and tells the listeners.
 * @returns {Promise<void>}
 */
export async function refreshPrompts() {
  if (!session.isSignedIn()) {
    prompts = [];
  } else {
    try {
      prompts = await listPrompts(session);
    } catch {
      /* keep the last list */
    }
  }
  emit({ prompts });
}

/**
 * Replaces the cached prompts after a change made on the account page.
 * @param {import('./endpoints.js').Prompt[]} list
 */
export function setPrompts(list) {
  prompts = list;
  emit({ prompts });
}

/**
 * Replaces the cached profile (e.g. with the answer of saving an API key).
 * @param {import('./endpoints.js').Profile|null} value
 */
export function setProfile(value) {
  profile = value;
  emit({ profile });
}

/**
 * @param {(change: {profile?: object|null, prompts?: object[], error?: Error}) => void} fn
 * @returns {() => void} unsubscribe
 */
export function onAccountChange(fn) {
  profileListeners.add(fn);
  return () => profileListeners.delete(fn);
}

function emit(change) {
  for (const fn of profileListeners) fn(change);
}

/**
 * Goes to a route (a new history entry unless `replace`).
 * @param {Parameters<typeof routeHash>[0]} name
 * @param {Record<string, string>} [params]
 * @param {Record<string, string|number|undefined|null>} [query]
 * @param {{replace?: boolean}} [o]
 */
export function navigate(name, params = {}, query = {}, { replace = false } = {}) {
  const hash = routeHash(name, params, query);
  if (replace) {
    const url = new URL(window.location.href);
    url.hash = hash;
    window.history.replaceState(null, '', url);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else if (window.location.hash === hash) {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    window.location.hash = hash;
  }
}
