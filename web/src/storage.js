// The active smelt survives a reload: its id is in the URL (?smelt=<id>),
// the subscription details and the last seq seen are in sessionStorage.

const KEY = 'smelt.active';
const PARAM = 'smelt';

function session() {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled
  }
}

/** @returns {{id, subscription_url, subscription_token, last_seq, input_kind, mode} | null} */
export function loadActive() {
  try {
    const raw = session()?.getItem(KEY);
    const value = raw ? JSON.parse(raw) : null;
    return value && typeof value.id === 'string' ? value : null;
  } catch {
    return null;
  }
}

export function saveActive(active) {
  try {
    session()?.setItem(KEY, JSON.stringify(active));
  } catch {
    /* quota or disabled: resume just won't work */
  }
}

export function updateActive(patch) {
  const active = loadActive();
  if (active) saveActive({ ...active, ...patch });
}

export function clearActive() {
  try {
    session()?.removeItem(KEY);
  } catch {
    /* ignore */
  }
}

export function smeltIdFromUrl() {
  return new URL(window.location.href).searchParams.get(PARAM);
}

export function setSmeltIdInUrl(id) {
  const url = new URL(window.location.href);
  url.searchParams.set(PARAM, id);
  window.history.replaceState(null, '', url);
}

export function clearSmeltIdFromUrl() {
  const url = new URL(window.location.href);
  if (!url.searchParams.has(PARAM)) return;
  url.searchParams.delete(PARAM);
  window.history.replaceState(null, '', url);
}
