// Result documents: one group per file (or one combined), the transcript
// first, then the notes of each prompt, each Markdown rendered through
// DOMPurify with Copy and Download .md. Transcripts also offer their exports
// (TXT, SRT, VTT, JSON), fetched by the caller with the right token.
import { renderMarkdown } from '../markdown.js';
import { announce, h, saveFile } from '../dom.js';
import { copyText } from '../clipboard.js';
import { markdownFilename } from '../format.js';
import { transcriptLanguage } from '../speech.js';
import { groupResults, isTranscript, resultLabel, withoutRepeatedTitle } from '../result-groups.js';

/** The transcript exports, in the order offered. */
export const EXPORT_FORMATS = Object.freeze([
  { format: 'txt', label: 'TXT', what: 'plain text' },
  { format: 'srt', label: 'SRT', what: 'SubRip subtitles' },
  { format: 'vtt', label: 'VTT', what: 'WebVTT subtitles' },
  { format: 'json', label: 'JSON', what: 'JSON with the times of each segment' },
]);

function flashButton(button, text) {
  const original = button.dataset.label || button.textContent;
  button.dataset.label = original;
  button.textContent = text;
  clearTimeout(Number(button.dataset.timer));
  button.dataset.timer = String(setTimeout(() => (button.textContent = original), 2000));
}

/**
 * A group's heading: the file name, "Your text", or the combined result's name.
 * @param {{fileId: string|null, filename?: string}} group
 * @param {{inputKind: 'audio'|'text', mode: string}} smelt
 * @returns {string}
 */
export function groupTitle(group, smelt) {
  if (smelt.inputKind === 'text' && (!group.filename || group.filename === 'pasted-text.txt')) return 'Your text';
  if (group.fileId === null) return group.filename || 'All files combined';
  return group.filename || 'Notes';
}

function baseName(group, smelt) {
  if (group.filename && group.filename !== 'pasted-text.txt') return group.filename;
  const short = (smelt.id || '').slice(0, 8);
  return `smelt-${smelt.mode === 'combine' ? 'combined' : 'notes'}${short ? `-${short}` : ''}`;
}

/** "one.wav" + "Summary" -> "one - Summary.md"; the transcript keeps the plain name. */
function markdownName(group, result, label, smelt) {
  const base = baseName(group, smelt).replace(/\.[^./\\]+$/, '');
  return markdownFilename(`${base} - ${isTranscript(result) ? 'transcript' : label}.md`);
}

/**
 * The buttons of a transcript's exports.
 * @param {object} o
 * @param {string} o.describedBy id of what they export
 * @param {string} o.name file name without extension
 * @param {string|null} o.fileId null for the whole smelt
 * @param {(e: {format: string, fileId: string|null, filename: string}) => Promise<void>} o.onExport
 * @returns {HTMLElement}
 */
export function exportButtons({ describedBy, name, fileId, onExport, label = 'Download transcript' }) {
  const status = h('p', { class: 'export-status hint', role: 'status' });
  const buttons = EXPORT_FORMATS.map(({ format, label: text, what }) => {
    const button = h('button', {
      type: 'button',
      class: 'button button-small button-secondary',
      'data-testid': `download-${format}`,
      'data-format': format,
      'aria-describedby': describedBy,
      title: `Download as ${what}`,
      text,
    });
    button.addEventListener('click', async () => {
      button.disabled = true;
      status.textContent = '';
      try {
        await onExport({ format, fileId, filename: `${name}.${format}` });
      } catch (err) {
        status.textContent = err?.message || "COULDN'T DOWNLOAD THAT. TRY AGAIN";
      } finally {
        button.disabled = false;
      }
    });
    return button;
  });
  return h(
    'div',
    { class: 'export', role: 'group', 'aria-label': label, 'data-testid': 'transcript-exports', 'data-file-id': fileId ?? '' },
    h('span', { class: 'export-label', 'aria-hidden': 'true', text: `${label}:` }),
    h('div', { class: 'export-buttons' }, ...buttons),
    status,
  );
}

let sectionCount = 0;

function resultCard(group, result, smelt, onExport) {
  const content = typeof result.content === 'string' ? result.content : '';
  const label = resultLabel(result, smelt.customPromptTitle);
  const n = sectionCount++;
  const titleId = `result-title-${n}`;
  const groupName = groupTitle(group, smelt);

  const copy = h('button', { type: 'button', class: 'button button-small button-secondary', 'data-testid': 'copy', 'aria-describedby': titleId, text: 'Copy' });
  copy.addEventListener('click', async () => {
    const ok = await copyText(content);
    flashButton(copy, ok ? 'Copied' : 'Copy failed');
    announce(ok ? `Copied ${label} of ${groupName} to the clipboard` : 'Could not copy. Select the text instead.');
  });
  const download = h('button', { type: 'button', class: 'button button-small button-secondary', 'data-testid': 'download', 'aria-describedby': titleId, text: 'Download .md' });
  download.addEventListener('click', () => saveFile(markdownName(group, result, label, smelt), new Blob([content], { type: 'text/markdown;charset=utf-8' })));

  const body = h('div', { class: 'markdown-body', 'data-testid': 'result-content' });
  body.innerHTML = renderMarkdown(withoutRepeatedTitle(content, label)); // sanitised by DOMPurify: results are untrusted

  const transcript = isTranscript(result);
  const spoken = transcript ? transcriptLanguage(result, smelt) : '';
  const exports =
    transcript && onExport && smelt.inputKind !== 'text'
      ? exportButtons({ describedBy: titleId, name: baseName(group, smelt).replace(/\.[^./\\]+$/, ''), fileId: group.fileId, onExport })
      : null;

  return h(
    'article',
    { class: `card result${transcript ? ' result-transcript' : ''}`, 'data-testid': 'result', 'aria-labelledby': titleId, 'data-file-id': result.file_id ?? '', 'data-kind': result.kind || 'notes', 'data-prompt': result.prompt || '' },
    h('header', { class: 'result-head' }, h('h4', { id: titleId, class: 'result-title', text: label }), h('div', { class: 'result-actions' }, copy, download)),
    spoken ? h('p', { class: 'result-language', 'data-testid': 'result-language', 'data-code': result.language.code, text: spoken }) : null,
    exports,
    body,
  );
}

/**
 * Renders results into a container, grouped per file.
 * @param {HTMLElement} container
 * @param {import('../result-groups.js').Result[]} results Markdown documents
 * @param {{id: string, inputKind: 'audio'|'text', mode: string, task?: string, files?: Map<string, {id: string, position: number}>, customPromptTitle?: string|null}} smelt
 *   `task`: `translate` when the transcripts are English translations
 * @param {{onExport?: (e: {format: string, fileId: string|null, filename: string}) => Promise<void>}} [o]
 *   fetches and saves a transcript export (none: no export buttons)
 */
export function renderResults(container, results, smelt, { onExport = null } = {}) {
  const files = smelt.files ? [...smelt.files.values()] : [];
  const groups = groupResults(results, files);
  const sections = groups.map((group, i) => {
    const titleId = `result-group-${i}`;
    return h(
      'section',
      { class: 'result-group', 'data-testid': 'result-group', 'data-file-id': group.fileId ?? '', 'aria-labelledby': titleId },
      h('h3', { class: 'result-group-title', id: titleId, text: groupTitle(group, smelt) }),
      ...group.results.map((r) => resultCard(group, r, smelt, onExport)),
    );
  });
  // Several files with their own transcripts: the whole smelt's on one timeline as well.
  const transcriptGroups = groups.filter((g) => g.fileId !== null && g.results.some(isTranscript));
  if (onExport && transcriptGroups.length > 1) {
    const short = (smelt.id || '').slice(0, 8);
    sections.unshift(
      h(
        'section',
        { class: 'card export-all', 'data-testid': 'transcript-all', 'aria-labelledby': 'export-all-title' },
        h('h3', { class: 'result-group-title', id: 'export-all-title', text: 'All files, one timeline' }),
        exportButtons({ describedBy: 'export-all-title', name: `smelt-${short}-transcript`, fileId: null, onExport, label: 'Download the whole transcript' }),
      ),
    );
  }
  container.replaceChildren(...sections);
  if (results.length === 0) container.append(h('p', { class: 'hint', text: 'Finished, but there was nothing to show.' }));
}
