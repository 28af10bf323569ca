// The live transcript on a smelt's page: segments appear as the worker
// finishes them, each with its start time, under its file's name when the
// smelt has several files. A reload or a late join starts from the
// snapshot's segments; replays are dropped (SegmentStore). Screen readers
// hear new lines through their own polite live region, gathered and spoken
// at most every few seconds so that a fast transcription does not flood them.
import { SegmentStore, insertionPoint } from '../segments.js';
import { byId, h } from '../dom.js';
import { formatTimestamp, isoDuration } from '../format.js';

/** Shortest gap between two spoken updates. */
const ANNOUNCE_EVERY_MS = 8000;
/** Within this many pixels of the end, the list follows new lines. */
const PINNED_SLACK_PX = 32;

const els = {};
const store = new SegmentStore();
/** @type {Map<string, {filename: string, position: number}>} */
let files = new Map();
/** @type {Map<string, {section: HTMLElement, list: HTMLElement, shown: number[]}>} */
let groups = new Map();
let pending = []; // texts not yet announced
let announceTimer = null;
let lastAnnounced = 0;

function announceNow() {
  announceTimer = null;
  if (pending.length === 0) return;
  lastAnnounced = Date.now();
  els.announcer.textContent = pending.join(' ');
  pending = [];
}

function queueAnnouncement(text) {
  pending.push(text);
  if (announceTimer !== null) return;
  const wait = Math.max(0, lastAnnounced + ANNOUNCE_EVERY_MS - Date.now());
  announceTimer = setTimeout(announceNow, wait);
}

function multiFile() {
  return files.size > 1 || groups.size > 1;
}

function fileLabel(fileId) {
  return files.get(fileId)?.filename || 'File';
}

function orderOf(fileId) {
  return files.get(fileId)?.position ?? Number.MAX_SAFE_INTEGER;
}

function groupFor(fileId) {
  let group = groups.get(fileId);
  if (group) return group;
  const titleId = `transcript-file-${groups.size}`;
  const list = h('ol', { class: 'segments', 'aria-labelledby': titleId });
  const section = h(
    'section',
    { class: 'transcript-file', 'data-file-id': fileId, 'data-testid': 'transcript-file' },
    h('h3', { class: 'transcript-file-name', id: titleId, text: fileLabel(fileId) }),
    list,
  );
  group = { section, list, shown: [] };
  groups.set(fileId, group);
  // Files in their order, whatever order their first segments came in.
  const after = [...els.body.children].find((s) => orderOf(s.dataset.fileId) > orderOf(fileId));
  els.body.insertBefore(section, after || null);
  updateHeadings();
  return group;
}

function updateHeadings() {
  const several = multiFile();
  for (const [fileId, group] of groups) {
    const heading = group.section.querySelector('h3');
    heading.textContent = fileLabel(fileId);
    // One file: the section heading says it all; the name would only repeat the page.
    heading.classList.toggle('visually-hidden', !several);
  }
}

function segmentItem(segment) {
  return h(
    'li',
    { class: 'segment', 'data-testid': 'transcript-segment', 'data-file-id': segment.file_id, 'data-index': String(segment.index), 'data-start-ms': String(segment.start_ms) },
    h('time', { class: 'segment-time', datetime: isoDuration(segment.start_ms), text: formatTimestamp(segment.start_ms) }),
    h('span', { class: 'segment-text', text: segment.text }),
  );
}

function place(segment) {
  const group = groupFor(segment.file_id);
  const at = insertionPoint(group.shown, segment.index);
  group.list.insertBefore(segmentItem(segment), group.list.children[at] || null);
  group.shown.splice(at, 0, segment.index);
}

function updateCount() {
  const n = store.size;
  els.count.textContent = n === 0 ? '' : `${n} line${n === 1 ? '' : 's'}`;
}

/** Finds the elements; once at start-up. */
export function initTranscript() {
  Object.assign(els, {
    panel: byId('live-transcript'),
    heading: byId('live-transcript-heading'),
    body: byId('live-transcript-body'),
    count: byId('live-transcript-count'),
    announcer: byId('transcript-announcer'),
  });
}

/** Empties it for another smelt. */
export function resetTranscript() {
  clearTimeout(announceTimer);
  announceTimer = null;
  pending = [];
  store.clear();
  files = new Map();
  groups = new Map();
  els.body.replaceChildren();
  els.announcer.textContent = '';
  els.count.textContent = '';
  els.heading.textContent = 'Transcript so far';
  els.panel.hidden = true;
}

/**
 * The smelt's files, for the names and order of the groups.
 * @param {{id: string, filename?: string, position?: number}[]} list
 */
export function setTranscriptFiles(list) {
  for (const f of list) {
    if (f?.id === undefined || f.id === null) continue;
    const id = String(f.id);
    files.set(id, { filename: f.filename || files.get(id)?.filename || 'File', position: f.position ?? files.get(id)?.position ?? files.size });
  }
  updateHeadings();
}

/**
 * Adds segments; the ones shown already are skipped.
 * @param {unknown[]} segments snapshot `segments` or one `segment` payload in a list
 * @param {{catchUp?: boolean}} [o] catchUp: everything said so far (a snapshot):
 *   summarised for screen readers instead of read out line by line
 * @returns {number} how many were new
 */
export function addSegments(segments, { catchUp = false } = {}) {
  const added = store.addAll(segments);
  if (added.length === 0) return 0;
  const scroller = els.body;
  const pinned = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight <= PINNED_SLACK_PX;
  // The list itself is not a live region: what is read out goes through the announcer.
  for (const segment of added) place(segment);
  els.panel.hidden = false;
  updateCount();
  if (pinned) scroller.scrollTop = scroller.scrollHeight;
  if (catchUp) queueAnnouncement(`Transcript so far: ${store.size} line${store.size === 1 ? '' : 's'}.`);
  else for (const segment of added) queueAnnouncement(segment.text);
  return added.length;
}

/**
 * The smelt ended. With its transcripts among the results the live copy
 * goes (the results show them in full); otherwise what was said so far stays.
 * @param {{keep: boolean}} o
 */
export function endTranscript({ keep }) {
  clearTimeout(announceTimer);
  announceTimer = null;
  pending = [];
  if (!keep || store.size === 0) {
    els.panel.hidden = true;
    return;
  }
  els.heading.textContent = 'Transcript until it stopped';
}
