// Result documents: Markdown rendered through DOMPurify, one section per file
// (or one combined), each with copy and download buttons.
import { renderMarkdown } from '../markdown.js';
import { announce, h } from '../dom.js';
import { markdownFilename } from '../format.js';

async function copyText(text) {
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

function downloadText(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/markdown;charset=utf-8' }));
  const link = h('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started by the time the click returns; the URL only needs to outlive it.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function flashButton(button, text) {
  const original = button.dataset.label || button.textContent;
  button.dataset.label = original;
  button.textContent = text;
  clearTimeout(Number(button.dataset.timer));
  button.dataset.timer = String(setTimeout(() => (button.textContent = original), 2000));
}

/**
 * A result's heading.
 * @param {{file_id: string|null, filename?: string}} result
 * @param {{inputKind: 'audio'|'text', mode: string}} smelt
 * @returns {string}
 */
export function resultTitle(result, smelt) {
  if (smelt.inputKind === 'text' && (!result.filename || result.filename === 'pasted-text.txt')) return 'Your text';
  if (result.file_id === null || result.file_id === undefined) return result.filename || 'Combined notes';
  return result.filename || 'Notes';
}

function downloadName(result, smelt) {
  if (result.filename && result.filename !== 'pasted-text.txt') return markdownFilename(result.filename);
  const short = (smelt.id || '').slice(0, 8);
  return markdownFilename(`smelt-${smelt.mode === 'combine' ? 'combined' : 'notes'}${short ? `-${short}` : ''}`);
}

function section(result, index, smelt) {
  const content = typeof result.content === 'string' ? result.content : '';
  const title = resultTitle(result, smelt);
  const titleId = `result-title-${index}`;

  const copy = h('button', { type: 'button', class: 'button button-small button-secondary', 'data-testid': 'copy', 'aria-describedby': titleId, text: 'Copy' });
  copy.addEventListener('click', async () => {
    const ok = await copyText(content);
    flashButton(copy, ok ? 'Copied' : 'Copy failed');
    announce(ok ? `Copied ${title} to the clipboard` : 'Could not copy. Select the text instead.');
  });
  const download = h('button', { type: 'button', class: 'button button-small button-secondary', 'data-testid': 'download', 'aria-describedby': titleId, text: 'Download .md' });
  download.addEventListener('click', () => downloadText(downloadName(result, smelt), content));

  const body = h('div', { class: 'markdown-body', 'data-testid': 'result-content' });
  body.innerHTML = renderMarkdown(content); // sanitised by DOMPurify: results are untrusted

  return h(
    'section',
    { class: 'card result', 'data-testid': 'result', 'aria-labelledby': titleId, 'data-file-id': result.file_id ?? '' },
    h('header', { class: 'result-head' }, h('h3', { id: titleId, class: 'result-title', text: title }), h('div', { class: 'result-actions' }, copy, download)),
    body,
  );
}

/**
 * Renders results into a container.
 * @param {HTMLElement} container
 * @param {{file_id: string|null, filename: string, content: string}[]} results Markdown documents
 * @param {{id: string, inputKind: 'audio'|'text', mode: string}} smelt
 */
export function renderResults(container, results, smelt) {
  container.replaceChildren(...results.map((r, i) => section(r, i, smelt)));
  if (results.length === 0) container.append(h('p', { class: 'hint', text: 'Finished, but there was nothing to show.' }));
}
