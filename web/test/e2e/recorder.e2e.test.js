// Recording in the browser: Chromium's fake microphone plays real speech
// (espeak-ng, 48 kHz); the page records it with MediaRecorder, shows the
// timer and the level, plays it back, and smelts it like a picked file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launchBrowser, startServer, withPage } from './harness.js';
import { PROCESSING_TIMEOUT, resultText, speak, tempDir, waitForStage, wordCoverage } from './helpers.js';

const run = promisify(execFile);

const SPEECH = 'The orange giraffe visited the quiet library on Tuesday. Seven purple umbrellas were waiting beside the river.';
const WORDS = ['orange', 'giraffe', 'visited', 'quiet', 'library', 'tuesday', 'seven', 'purple', 'umbrellas', 'waiting', 'beside', 'river'];

/**
 * Records in the page every file sent through XMLHttpRequest as FormData
 * (how the page uploads): its field, name, type, size and first bytes.
 * Read it with `window.__uploads`.
 * @param {import('playwright-core').Page} page
 */
function recordUploads(page) {
  return page.addInitScript(() => {
    window.__uploads = [];
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function (body) {
      if (body instanceof FormData) {
        for (const [field, value] of body.entries()) {
          if (!(value instanceof File)) continue;
          const entry = { field, name: value.name, type: value.type, size: value.size, magic: null };
          window.__uploads.push(entry);
          value.slice(0, 4).arrayBuffer().then((b) => (entry.magic = [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('')));
        }
      }
      return send.call(this, body);
    };
  });
}

describe('recording in the browser', () => {
  let server;
  let browser;
  let dir;

  before(async () => {
    dir = await tempDir();
    const spoken = await speak(dir, 'spoken.wav', SPEECH, { wordsPerMinute: 150 });
    // Chromium's fake capture reads 16-bit PCM WAV best at 48 kHz.
    const microphone = join(dir, 'microphone.wav');
    await run('ffmpeg', ['-loglevel', 'error', '-y', '-i', spoken, '-ar', '48000', '-ac', '1', '-c:a', 'pcm_s16le', microphone]);
    [server, browser] = await Promise.all([
      startServer(),
      launchBrowser(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${microphone}`]),
    ]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a refused microphone, a missing one and a browser that cannot record are explained in plain words', { timeout: 60_000 }, async (t) => {
    await withPage({ browser, server, name: t.name }, async ({ page }) => {
      // The browser's answers, as the page would get them from a person or a machine.
      await page.addInitScript(() => {
        window.__answer = 'NotAllowedError';
        navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('refused', window.__answer));
      });
      await page.goto('/');
      const record = page.getByTestId('record');
      const error = page.getByTestId('record-error');
      await record.click();
      await error.filter({ hasText: "Smelt isn't allowed to use your microphone." }).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'record', 'the focus is back on Record');
      assert.equal(await record.isEnabled(), true);
      assert.equal(await error.getAttribute('role'), 'alert');

      await page.evaluate(() => (window.__answer = 'NotFoundError'));
      await record.click();
      await error.filter({ hasText: 'No microphone was found.' }).waitFor();

      await page.evaluate(() => {
        delete window.MediaRecorder;
      });
      await record.click();
      await error.filter({ hasText: "This browser can't record audio here." }).waitFor();
      assert.equal(await page.getByTestId('record-stop').isVisible(), false);
    });
  });

  test('record about ten seconds, stop, listen back, smelt it: a WebM/Opus upload whose transcript has the spoken words', { timeout: PROCESSING_TIMEOUT + 60_000 }, async (t) => {
    await withPage({ browser, server, name: t.name }, async ({ page }) => {
      await recordUploads(page);
      await page.goto('/');
      const record = page.getByRole('button', { name: 'Record' });
      await record.click();

      // Recording: the timer runs, the meter moves, Stop has the focus.
      const stop = page.getByTestId('record-stop');
      await page.locator('[data-testid="record-stop"]:not([disabled])').waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'record-stop');
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="record-level"]').getAttribute('aria-valuenow')) > 0, null, { timeout: 15_000 });
      await page.getByTestId('record-time').filter({ hasText: '00:10' }).waitFor({ timeout: 30_000 });
      await stop.click();

      // Listen back: an <audio> element with the recording.
      const playback = page.getByTestId('record-playback');
      await playback.waitFor();
      await page.waitForFunction(() => document.querySelector('[data-testid="record-playback"]').readyState >= 1, null, { timeout: 15_000 });
      const details = await page.getByTestId('record-details').textContent();
      assert.match(details, /^recording-\d{4}-\d\d-\d\d-\d{4}\.webm · 00:1\d · \d+ KB$/, details);

      // Smelt it: uploaded exactly like a picked file, with its real type.
      const created = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/smelts');
      await page.getByTestId('record-submit').click();
      await page.waitForFunction(() => window.__uploads.length > 0 && window.__uploads.every((u) => u.magic !== null));
      const files = await page.evaluate(() => window.__uploads);
      assert.equal(files.length, 1);
      assert.equal(files[0].field, 'files[]');
      assert.equal(files[0].type, 'audio/webm;codecs=opus');
      assert.match(files[0].name, /^recording-\d{4}-\d\d-\d\d-\d{4}\.webm$/);
      assert.equal(files[0].magic, '1a45dfa3', 'an EBML (WebM) file');
      assert.ok(files[0].size > 10_000, `some audio: ${files[0].size} bytes`);
      const answer = await created;
      assert.equal(answer.status(), 201, `the server took the recording: ${await answer.text()}`);

      await page.waitForURL(/#\/smelts\/[0-9a-f-]{36}$/);
      await waitForStage(page, 'completed');
      const transcript = await resultText(page);
      const coverage = wordCoverage(transcript, WORDS);
      assert.ok(coverage.share >= 0.7, `the transcript has most spoken words (missing ${coverage.missing}): ${transcript}`);
    });
  });
});
