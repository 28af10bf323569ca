// Helpers shared by the end-to-end tests: real speech, observing the page,
// common flows, and a stub of an OpenAI-compatible provider.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How long processing may take on a busy two-core machine, ms. */
export const PROCESSING_TIMEOUT = 180_000;

/** About three minutes of a meeting, read by espeak-ng: long enough to watch it run. */
export const LONG_SPEECH = [
  'Good morning everyone and welcome to the quarterly planning meeting of the lighthouse restoration project.',
  'Our first topic is the budget for the copper roof, which came in lower than the architect expected.',
  'Margaret will order the granite steps from the quarry in Vermont before the end of the month.',
  'The volunteers painted the keeper cottage a pale shade of green during the long weekend.',
  'Next we discussed the museum exhibit about shipwrecks, storms and the brave rescue crews of the harbour.',
  'Daniel suggested that we borrow the antique telescope from the university observatory.',
  'The school visits are popular, and the children especially enjoy climbing the spiral staircase.',
  'We still need a licensed electrician to replace the wiring in the lantern room.',
  'The insurance company asked for photographs of the foundation and the seawall.',
  'Our fundraising dinner raised nine thousand dollars, mostly from the silent auction of local paintings.',
  'Next spring we hope to open a small cafe that serves chowder, lemonade and blueberry muffins.',
  'The parking lot floods after heavy rain, so the town engineer will study the drainage.',
  'Please send your comments about the brochure to Patricia by Friday afternoon.',
  'Finally, the historical society confirmed that the lighthouse was first lit in eighteen seventy two.',
  'Thank you all for coming, and see you at the next meeting in the library annex.',
].join(' ');

/** Words of LONG_SPEECH that a transcript should contain. */
export const LONG_WORDS = ['lighthouse', 'copper', 'granite', 'quarry', 'volunteers', 'cottage', 'museum', 'shipwrecks', 'telescope', 'observatory', 'staircase', 'electrician', 'insurance', 'foundation', 'fundraising', 'auction', 'chowder', 'lemonade', 'blueberry', 'drainage', 'brochure', 'historical'];

/**
 * A fresh temporary directory.
 * @returns {Promise<string>}
 */
export function tempDir() {
  return mkdtemp(join(tmpdir(), 'smelt-web-audio-'));
}

/**
 * Speaks text into a WAV file with espeak-ng (22.05 kHz mono).
 * @param {string} dir
 * @param {string} name file name ending in .wav
 * @param {string} text
 * @param {{wordsPerMinute?: number, voice?: string}} [o] voice: an espeak-ng voice (`de` for German)
 * @returns {Promise<string>} the file's path
 */
export async function speak(dir, name, text, { wordsPerMinute = 150, voice = 'en-us' } = {}) {
  const path = join(dir, name);
  await run('espeak-ng', ['-v', voice, '-s', String(wordsPerMinute), '-w', path, text]);
  return path;
}

/**
 * Which of the expected words a transcript contains (case-insensitive,
 * punctuation ignored).
 * @param {string} transcript
 * @param {string[]} words
 * @returns {{found: string[], missing: string[], share: number}}
 */
export function wordCoverage(transcript, words) {
  const text = ` ${transcript.toLowerCase().replace(/[^a-z0-9]+/g, ' ')} `;
  const found = words.filter((w) => text.includes(` ${w.toLowerCase()} `));
  return { found, missing: words.filter((w) => !found.includes(w)), share: found.length / words.length };
}

/**
 * Records every stage and overall percentage the page shows, from the first
 * paint of each document (installed before any page script runs; a reload
 * starts a new record). Read it with readProgress().
 * @param {import('playwright-core').BrowserContext|import('playwright-core').Page} target
 * @returns {Promise<void>}
 */
export function recordProgress(target) {
  return target.addInitScript(() => {
    window.__progress = [];
    window.__upload = []; // upload bar values while its panel was shown
    const recordUpload = () => {
      const panel = document.getElementById('upload-panel');
      const bar = document.getElementById('upload-progress');
      if (panel && bar && !panel.hidden) window.__upload.push(Number(bar.getAttribute('aria-valuenow')));
    };
    const record = () => {
      const stage = document.getElementById('stage');
      const bar = document.getElementById('overall-progress');
      if (!stage || !bar) return;
      const entry = { stage: stage.dataset.stage, value: Number(bar.getAttribute('aria-valuenow')) };
      const last = window.__progress[window.__progress.length - 1];
      if (!last || last.stage !== entry.stage || last.value !== entry.value) window.__progress.push(entry);
    };
    document.addEventListener('DOMContentLoaded', () => {
      const observer = new MutationObserver(record);
      for (const id of ['stage', 'overall-progress']) {
        const el = document.getElementById(id);
        if (el) observer.observe(el, { attributes: true, attributeFilter: ['data-stage', 'aria-valuenow'] });
      }
      const uploads = new MutationObserver(recordUpload);
      for (const id of ['upload-panel', 'upload-progress']) {
        const el = document.getElementById(id);
        if (el) uploads.observe(el, { attributes: true, attributeFilter: ['hidden', 'aria-valuenow'] });
      }
    });
  });
}

/**
 * @param {import('playwright-core').Page} page
 * @returns {Promise<number[]>} the upload bar's values (0-100) recordProgress saw while it was shown
 */
export function readUpload(page) {
  return page.evaluate(() => window.__upload || []);
}

/**
 * @param {import('playwright-core').Page} page
 * @returns {Promise<{stage: string, value: number}[]>} what recordProgress saw in this document
 */
export function readProgress(page) {
  return page.evaluate(() => window.__progress || []);
}

/**
 * Waits until the smelt page shows a stage (data-stage of the stage line).
 * @param {import('playwright-core').Page} page
 * @param {string} stage e.g. "transcribing", "completed", "failed"
 * @param {number} [timeout] ms
 */
export function waitForStage(page, stage, timeout = PROCESSING_TIMEOUT) {
  return page.locator(`[data-testid="stage"][data-stage="${stage}"]`).waitFor({ state: 'visible', timeout });
}

/**
 * A unique e-mail address.
 * @returns {string}
 */
export function uniqueEmail() {
  return `e2e-${randomBytes(5).toString('hex')}@example.com`;
}

/**
 * Signs up through the page and waits for the signed-in header.
 * @param {import('playwright-core').Page} page
 * @param {{email?: string, password?: string}} [o]
 * @returns {Promise<{email: string, password: string}>}
 */
export async function signUp(page, { email = uniqueEmail(), password = 'correct horse battery' } = {}) {
  await page.goto('/#/signup');
  await page.getByTestId('signup-email').fill(email);
  await page.getByTestId('signup-password').fill(password);
  await page.getByTestId('signup-submit').click();
  await page.getByTestId('logout').waitFor({ state: 'visible' });
  await page.getByTestId('credits').waitFor({ state: 'visible' });
  return { email, password };
}

/**
 * Starts a smelt from pasted text on the create page (which must be shown)
 * and waits for the smelt's page.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 * @param {{prompts?: string[], userPrompt?: string}} [o] default prompt names to tick; a custom prompt's title
 * @returns {Promise<string>} the smelt id from the URL
 */
export async function startTextSmelt(page, text, { prompts = [], userPrompt = null } = {}) {
  await page.getByTestId('text-input').fill(text);
  for (const name of prompts) await page.getByTestId(`prompt-${name}`).check();
  if (userPrompt) await page.getByTestId('user-prompt').selectOption({ label: userPrompt });
  await page.getByTestId('submit').click();
  await page.waitForURL(/#\/smelts\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop();
}

/**
 * Plain text of all result sections.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<string>}
 */
export async function resultText(page) {
  return (await page.getByTestId('result-content').allTextContents()).join('\n');
}

/**
 * A stub of an OpenAI-compatible provider on 127.0.0.1: GET /v1/models
 * accepts only `goodKey`; POST /v1/chat/completions answers `reply` (or fails
 * with `chatStatus`); POST /v1/audio/transcriptions answers `transcription`
 * (a `verbose_json` body) when one is given.
 * @param {{goodKey: string, reply?: string, chatStatus?: number, transcription?: object|null}} o
 * @returns {Promise<{baseUrl: string, requests: {method: string, path: string, auth: string}[], close: () => Promise<void>}>}
 */
export async function startProviderStub({ goodKey, reply = '', chatStatus = 200, transcription = null }) {
  const requests = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const auth = req.headers.authorization || '';
      requests.push({ method: req.method, path: req.url, auth });
      const send = (status, json) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (auth !== `Bearer ${goodKey}`) return send(401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
      if (req.method === 'GET' && req.url === '/v1/models') return send(200, { object: 'list', data: [{ id: 'stub-model', object: 'model' }] });
      if (req.method === 'POST' && req.url === '/v1/audio/transcriptions' && transcription) return send(200, transcription);
      if (req.method === 'POST' && req.url === '/v1/chat/completions') {
        if (chatStatus !== 200) return send(chatStatus, { error: { message: 'The server had an error while processing your request.', type: 'server_error' } });
        return send(200, { id: 'stub', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }] });
      }
      return send(404, { error: { message: 'not found' } });
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

/**
 * Collects the transcript segments a page receives over its WebSockets (the
 * snapshot's `segments` and `segment` events, across reloads), each once.
 * @param {import('playwright-core').Page} page
 * @returns {{all: () => {file_id: string, index: number, start_ms: number, end_ms: number, text: string}[], forFile: (id: string) => object[], frames: object[]}}
 */
export function watchSegments(page) {
  const byKey = new Map();
  const frames = [];
  const keep = (s) => {
    if (s && typeof s.index === 'number') byKey.set(`${s.file_id}:${s.index}`, s);
  };
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      let frame;
      try {
        frame = JSON.parse(String(f.payload));
      } catch {
        return;
      }
      frames.push(frame);
      if (frame.event === 'segment') keep(frame.payload);
      if (frame.event === 'snapshot') for (const s of frame.payload?.segments || []) keep(s);
    }),
  );
  const sorted = (list) => [...list].sort((a, b) => (a.file_id === b.file_id ? a.index - b.index : String(a.file_id).localeCompare(String(b.file_id))));
  return {
    all: () => sorted(byKey.values()),
    forFile: (id) => sorted([...byKey.values()].filter((s) => s.file_id === id)),
    frames,
  };
}

/**
 * Records, in each document, what the live transcript shows: the first
 * segment with the stage shown at that moment, every file heading, and any
 * (file, index) shown twice. Read it with readTranscriptRecord().
 * @param {import('playwright-core').BrowserContext|import('playwright-core').Page} target
 * @returns {Promise<void>}
 */
export function recordTranscript(target) {
  return target.addInitScript(() => {
    window.__transcript = { first: null, firstBatch: [], headings: [], duplicates: [], max: 0 };
    const record = () => {
      const items = [...document.querySelectorAll('[data-testid="transcript-segment"]')];
      if (items.length === 0) return;
      const t = window.__transcript;
      const keys = items.map((li) => `${li.dataset.fileId}:${li.dataset.index}`);
      const seen = new Set();
      for (const k of keys) {
        if (seen.has(k) && !t.duplicates.includes(k)) t.duplicates.push(k);
        seen.add(k);
      }
      t.max = Math.max(t.max, items.length);
      if (!t.first) {
        const stage = document.getElementById('stage');
        t.first = {
          text: items[0].querySelector('.segment-text').textContent,
          time: items[0].querySelector('.segment-time').textContent,
          stage: stage?.dataset.stage,
          percent: Number(document.getElementById('overall-progress')?.getAttribute('aria-valuenow')),
        };
        t.firstBatch = keys;
      }
      for (const h of document.querySelectorAll('.transcript-file-name')) {
        if (!h.classList.contains('visually-hidden') && !t.headings.includes(h.textContent)) t.headings.push(h.textContent);
      }
    };
    document.addEventListener('DOMContentLoaded', () => {
      const body = document.getElementById('live-transcript-body');
      if (body) new MutationObserver(record).observe(body, { childList: true, subtree: true, attributes: true, attributeFilter: ['class'] });
    });
  });
}

/**
 * @param {import('playwright-core').Page} page
 * @returns {Promise<{first: {text: string, time: string, stage: string, percent: number}|null, firstBatch: string[], headings: string[], duplicates: string[], max: number}>}
 */
export function readTranscriptRecord(page) {
  return page.evaluate(() => window.__transcript);
}

/**
 * Clicks something that saves a file and returns what was saved.
 * @param {import('playwright-core').Page} page
 * @param {import('playwright-core').Locator} button
 * @returns {Promise<{filename: string, text: string}>}
 */
export async function downloadFrom(page, button) {
  const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
  const path = await download.path();
  const { readFile } = await import('node:fs/promises');
  return { filename: download.suggestedFilename(), text: await readFile(path, 'utf8') };
}

/**
 * The cue times of SubRip or WebVTT text, in seconds.
 * @param {string} text
 * @returns {{start: number, end: number}[]}
 */
export function cueTimes(text) {
  const time = (h, m, s, ms) => Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000;
  return [...text.matchAll(/(\d+):(\d\d):(\d\d)[,.](\d{3}) --> (\d+):(\d\d):(\d\d)[,.](\d{3})/g)].map((m) => ({
    start: time(m[1], m[2], m[3], m[4]),
    end: time(m[5], m[6], m[7], m[8]),
  }));
}
