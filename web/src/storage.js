// What this tab needs to follow its smelts after a reload: the subscription
// token of each smelt it created, in sessionStorage (per tab, gone when the
// tab closes). Anonymous visitors have no other way to follow a smelt: the
// API does not let them read it back.

const KEY = 'smelt.subscriptions';
/** Keep at most this many smelts' tokens per tab. */
const MAX_ENTRIES = 20;

/**
 * @typedef {object} Subscription
 * @property {string} subscription_url socket path from the create answer
 * @property {string} subscription_token
 * @property {'audio'|'text'} input_kind
 * @property {'separate'|'combine'} mode
 * @property {number} saved_at epoch ms
 */

function session() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // storage disabled
  }
}

function readAll() {
  try {
    const value = JSON.parse(session()?.getItem(KEY) || '{}');
    return value && typeof value === 'object' ? value : {};
  } catch {
    return {};
  }
}

function writeAll(all) {
  try {
    session()?.setItem(KEY, JSON.stringify(all));
  } catch {
    /* quota or disabled: resuming after a reload just won't work */
  }
}

/**
 * Keeps a smelt's subscription for this tab.
 * @param {string} id smelt id
 * @param {Omit<Subscription, 'saved_at'>} subscription
 */
export function rememberSmelt(id, subscription) {
  const all = readAll();
  all[id] = { ...subscription, saved_at: Date.now() };
  const ids = Object.keys(all).sort((a, b) => (all[b].saved_at || 0) - (all[a].saved_at || 0));
  for (const old of ids.slice(MAX_ENTRIES)) delete all[old];
  writeAll(all);
}

/**
 * @param {string} id smelt id
 * @returns {Subscription|null} what this tab kept for it
 */
export function recallSmelt(id) {
  const value = readAll()[id];
  return value && typeof value.subscription_token === 'string' ? value : null;
}

/**
 * Forgets a smelt's subscription.
 * @param {string} id
 */
export function forgetSmelt(id) {
  const all = readAll();
  if (!(id in all)) return;
  delete all[id];
  writeAll(all);
}

/**
 * The smelt id of an old-style link (`/?smelt=<id>`), still accepted.
 * @param {string} [href]
 * @returns {string|null}
 */
export function smeltIdFromQuery(href = globalThis.location?.href) {
  return new URL(href).searchParams.get('smelt');
}
