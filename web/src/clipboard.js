// Copying text to the clipboard, for the Copy buttons.
import { h } from './dom.js';

/**
 * Copies text: the async Clipboard API where the page may use it (a secure
 * context), else a hidden textarea and `execCommand('copy')`.
 * @param {string} text
 * @returns {Promise<boolean>} whether the text reached the clipboard
 */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      /* fall back below */
    }
  }
  const area = h('textarea', { readonly: true, 'aria-hidden': 'true', class: 'copy-buffer' });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}
