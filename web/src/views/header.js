// The page header: navigation for the signed-in state, the credits badge and
// the connection indicator; plus `[data-when]` elements anywhere on the page
// that only make sense signed in ("signed-in") or out ("anonymous").
import { byId } from '../dom.js';
import { creditsText } from '../format.js';
import { currentProfile, navigate, onAccountChange, refreshProfile, refreshPrompts, session } from '../context.js';

const CONNECTION_LABELS = Object.freeze({
  idle: 'Idle',
  connecting: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  closed: 'Closed',
});

const TRANSPORT_LABELS = Object.freeze({
  websocket: '',
  sse: ' (event stream)',
  polling: ' (checking every 2 s)',
});

/**
 * Shows the state of the realtime connection in the header.
 * @param {{state: 'idle'|'connecting'|'live'|'reconnecting'|'closed', transport?: 'websocket'|'sse'|'polling'}} info
 */
export function setConnection({ state, transport = 'websocket' }) {
  const el = byId('connection-state');
  el.dataset.state = state;
  el.dataset.transport = transport;
  const suffix = state === 'live' || state === 'reconnecting' ? TRANSPORT_LABELS[transport] || '' : '';
  el.querySelector('.connection-label').textContent = (CONNECTION_LABELS[state] || state) + suffix;
}

/** The page stopped following (e.g. after cancelling): the indicator says so, transport kept. */
export function connectionClosed() {
  setConnection({ state: 'closed', transport: byId('connection-state').dataset.transport });
}

/**
 * Shows signed-in or anonymous parts of the page.
 * @param {boolean} signedIn
 */
function applyAuth(signedIn) {
  document.body.dataset.auth = signedIn ? 'signed-in' : 'anonymous';
  for (const el of document.querySelectorAll('[data-when]')) {
    el.hidden = el.dataset.when !== (signedIn ? 'signed-in' : 'anonymous');
  }
}

function renderCredits(profile) {
  const badge = byId('credits');
  if (!profile || !session.isSignedIn()) {
    badge.textContent = '';
    badge.hidden = true;
    return;
  }
  badge.textContent = creditsText(profile);
  badge.dataset.remaining = String(profile.credits_remaining);
  badge.setAttribute('aria-label', `Credits: ${creditsText(profile)}. Open account.`);
  badge.hidden = false;
}

/**
 * Marks the current page's link (aria-current="page").
 * @param {string} routeName
 */
export function markCurrentNav(routeName) {
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === routeName) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/**
 * Wires the header once at start-up.
 * @param {{onSignedOut: () => void}} o what to do after a logout or an
 *   expired session (the app leaves pages that need an account)
 */
export function initHeader({ onSignedOut }) {
  let signedIn = session.isSignedIn();
  applyAuth(signedIn);
  onAccountChange(({ profile }) => {
    if (profile !== undefined) renderCredits(profile);
  });
  session.onChange((s) => {
    const now = s !== null;
    if (now === signedIn) return;
    signedIn = now;
    applyAuth(now);
    if (now) {
      refreshProfile();
      refreshPrompts();
    } else {
      renderCredits(null);
      onSignedOut();
    }
  });
  byId('logout').addEventListener('click', async () => {
    await session.logout();
    navigate('create');
  });
  if (signedIn) {
    renderCredits(currentProfile());
    refreshProfile();
    refreshPrompts();
  }
}
