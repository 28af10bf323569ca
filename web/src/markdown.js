// Markdown -> sanitised HTML. Result content comes from the server (and, in
// the end, from a model fed with user content), so it is untrusted: marked
// passes raw HTML through, DOMPurify then removes anything that could run.
import { Marked } from 'marked';
import DOMPurify from 'dompurify';

// Results sit under an <h3> (the file) and an <h4> (the kind: Transcript,
// Summary, …); their own headings are shifted below those.
const HEADING_SHIFT = 4;

const marked = new Marked({
  gfm: true,
  breaks: false,
  walkTokens(token) {
    if (token.type === 'heading') token.depth = Math.min(6, token.depth + HEADING_SHIFT);
  },
});

let purifier = null;

function getPurifier() {
  if (purifier) return purifier;
  purifier = DOMPurify(window);
  purifier.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) {
      const href = node.getAttribute('href') || '';
      if (/^https?:/i.test(href)) {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer nofollow');
      }
    }
    // Only GFM task-list checkboxes survive, and they stay read-only.
    if (node.tagName === 'INPUT') {
      if ((node.getAttribute('type') || '').toLowerCase() !== 'checkbox') {
        node.remove();
        return;
      }
      node.setAttribute('disabled', '');
      node.removeAttribute('name');
    }
  });
  return purifier;
}

const SANITIZE_OPTIONS = Object.freeze({
  USE_PROFILES: { html: true },
  FORBID_TAGS: ['style', 'form', 'button', 'textarea', 'select', 'option', 'iframe', 'object', 'embed', 'base', 'meta', 'link'],
  FORBID_ATTR: ['style', 'id', 'name', 'autofocus'],
  ALLOW_DATA_ATTR: false,
});

/**
 * Renders a Markdown document to HTML that is safe to assign to innerHTML:
 * scripts, event handlers, javascript: URLs, frames and forms are removed;
 * external links open in a new tab without referrer; task-list checkboxes
 * are read-only. Headings are shifted down four levels (results sit under
 * an h3 and an h4). Needs a DOM (`window`).
 * @param {string} markdown anything else renders as empty
 * @returns {string} HTML
 */
export function renderMarkdown(markdown) {
  const html = marked.parse(typeof markdown === 'string' ? markdown : '', { async: false });
  return getPurifier().sanitize(html, SANITIZE_OPTIONS);
}
