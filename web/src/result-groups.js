// How result documents are laid out: one group per file (or one for a
// combined smelt), the transcript first, then the notes of each prompt in the
// order the server sent them. Pure: unit-tested without a browser.
import { PROMPT_LABELS } from './config.js';

/**
 * @typedef {{file_id: string|null, filename?: string, content: string, kind?: 'transcript'|'notes', prompt?: string|null}} Result
 * @typedef {{key: string, fileId: string|null, filename: string, results: Result[]}} ResultGroup
 */

/**
 * Whether a result is a transcript (older servers sent no `kind`: their
 * results are notes).
 * @param {Result} result
 * @returns {boolean}
 */
export function isTranscript(result) {
  return result?.kind === 'transcript';
}

/**
 * Groups results by file.
 * @param {Result[]} results as the server sent them
 * @param {{id: string, position?: number, filename?: string}[]} [files] the smelt's files, for their order
 * @returns {ResultGroup[]} files in their order (unknown ones after, as they
 *   appeared); within a group, transcripts first
 */
export function groupResults(results, files = []) {
  const order = new Map([...files].sort((a, b) => (a.position ?? 0) - (b.position ?? 0)).map((f, i) => [String(f.id), i]));
  /** @type {Map<string, ResultGroup & {first: number}>} */
  const groups = new Map();
  (Array.isArray(results) ? results : []).forEach((result, i) => {
    if (!result || typeof result !== 'object') return;
    const fileId = result.file_id === null || result.file_id === undefined ? null : String(result.file_id);
    const key = fileId ?? 'combined';
    let group = groups.get(key);
    if (!group) {
      group = { key, fileId, filename: result.filename || '', results: [], first: i };
      groups.set(key, group);
    }
    if (!group.filename && result.filename) group.filename = result.filename;
    group.results.push(result);
  });
  const rank = (g) => (g.fileId !== null && order.has(g.fileId) ? order.get(g.fileId) : files.length + g.first);
  return [...groups.values()]
    .sort((a, b) => rank(a) - rank(b))
    .map(({ first, ...group }) => ({
      ...group,
      // A stable sort: transcripts move to the front, the rest keep the server's order.
      results: [...group.results].sort((a, b) => Number(isTranscript(b)) - Number(isTranscript(a))),
    }));
}

/**
 * A result's heading: "Transcript", "Summary", …, or the custom prompt's title.
 * @param {Result} result
 * @param {string|null} [customTitle] the title of the smelt's custom prompt, when known
 * @returns {string}
 */
export function resultLabel(result, customTitle = null) {
  if (isTranscript(result)) return 'Transcript';
  const prompt = result?.prompt;
  if (prompt === 'custom') return customTitle ? `Your prompt: ${customTitle}` : 'Your prompt';
  if (prompt && PROMPT_LABELS[prompt]) return PROMPT_LABELS[prompt];
  if (prompt) return prompt.charAt(0).toUpperCase() + prompt.slice(1).replace(/_/g, ' ');
  return 'Notes';
}

/**
 * The name of a failed prompt for people: "Summary", or a custom prompt's title as is.
 * @param {string} prompt `summarize`, … or the custom prompt's title
 * @returns {string}
 */
export function promptName(prompt) {
  return PROMPT_LABELS[prompt] || String(prompt);
}

/**
 * Drops a document's opening `# Title` when it only repeats the heading the
 * page puts above it ("# Transcript" under "Transcript"); any other title is
 * kept. Copy and download still use the whole document.
 * @param {string} markdown
 * @param {string} label the heading shown above it
 * @returns {string}
 */
export function withoutRepeatedTitle(markdown, label) {
  const text = typeof markdown === 'string' ? markdown : '';
  const match = /^\s*#[ \t]+(.+?)[ \t#]*(?:\r?\n|$)/.exec(text);
  if (!match) return text;
  const norm = (s) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
  return norm(match[1]) === norm(label) ? text.slice(match[0].length).replace(/^\s*\n/, '') : text;
}
