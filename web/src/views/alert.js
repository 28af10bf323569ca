// The page's main alert (role=alert): validation and upload problems on the
// create page, failures and lost connections on a smelt's page.
import { byId } from '../dom.js';

let kind = null;

/**
 * Shows a message verbatim.
 * @param {string} message
 * @param {object} [o]
 * @param {'validation'|'upload'|'smelt'} [o.kind] who owns the message (used to clear it)
 * @param {string} [o.next] what to do next, shown under the message
 * @param {string|null} [o.action] label of the action button (hidden when null)
 * @param {() => void} [o.onAction]
 */
export function showAlert(message, { kind: k = 'validation', next = '', action = null, onAction = null } = {}) {
  kind = k;
  const box = byId('error');
  byId('error-message').textContent = message;
  const nextEl = byId('error-next');
  nextEl.textContent = next;
  nextEl.hidden = !next;
  const button = byId('retry');
  button.hidden = !action;
  button.textContent = action || '';
  button.onclick = onAction;
  box.dataset.kind = k;
  box.hidden = false;
  reveal(box);
}

/**
 * Hides the alert when it shows a message of one of these kinds (all when omitted).
 * @param {...string} kinds
 */
export function clearAlert(...kinds) {
  if (kinds.length && !kinds.includes(kind)) return;
  kind = null;
  const box = byId('error');
  box.hidden = true;
  byId('error-message').textContent = '';
  byId('error-next').hidden = true;
  byId('retry').hidden = true;
  delete box.dataset.kind;
}

/** @returns {{kind: string|null, message: string}} what the alert shows */
export function alertState() {
  return { kind, message: byId('error').hidden ? '' : byId('error-message').textContent };
}

const reducedMotion = () => window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;

// On a phone the alert can be far above the button that caused it.
function reveal(box) {
  requestAnimationFrame(() => {
    if (box.hidden) return;
    const rect = box.getBoundingClientRect();
    if (rect.top >= 0 && rect.bottom <= window.innerHeight) return;
    box.scrollIntoView({ block: 'center', behavior: reducedMotion() ? 'auto' : 'smooth' });
  });
}
