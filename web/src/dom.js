// Small DOM helpers shared by the views.
import { clampPercent } from './format.js';

/**
 * Creates an element. Attributes: `class`, `text` (textContent, never HTML),
 * booleans (true -> present, false/null/undefined -> absent), anything else
 * as a string attribute.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node|string|null|undefined)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'class') node.className = String(value);
    else if (name === 'text') node.textContent = String(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

/**
 * @param {string} id
 * @returns {HTMLElement}
 * @throws {Error} when the page lacks the element (a build mistake)
 */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node;
}

/**
 * Says something to screen readers through the page's polite live region.
 * @param {string} message
 */
export function announce(message) {
  const region = document.getElementById('announcer');
  if (!region) return;
  // Re-announcing the same text needs a change: clear first.
  if (region.textContent === message) region.textContent = '';
  region.textContent = message;
}

/**
 * Sets a role=progressbar element's value (0-100, `--value` for the CSS fill).
 * @param {HTMLElement} bar
 * @param {number} percent
 * @param {string} [valueText] aria-valuetext
 * @returns {number} the clamped, rounded percentage
 */
export function setBar(bar, percent, valueText) {
  const pct = clampPercent(percent);
  bar.setAttribute('aria-valuenow', String(pct));
  if (valueText) bar.setAttribute('aria-valuetext', valueText);
  bar.style.setProperty('--value', `${pct}%`);
  return pct;
}

/**
 * Shows or hides an inline error box (role=alert). Empty message hides it.
 * @param {HTMLElement} box
 * @param {string} [message]
 */
export function showInlineError(box, message = '') {
  box.textContent = message;
  box.hidden = !message;
}

/**
 * Saves a Blob as a file through a temporary download link (works for
 * anything fetched with a token, which a plain link could not carry).
 * @param {string} filename
 * @param {Blob} blob
 */
export function saveFile(filename, blob) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started by the time the click returns; the URL only needs to outlive it.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
