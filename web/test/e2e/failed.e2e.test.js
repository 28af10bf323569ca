// A smelt whose notes fail after its transcript was made (the user's own
// provider transcribes, then answers 500 to every chat request): the page
// shows the failure, names the prompt that failed, and still offers the
// transcript with Copy and its exports.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { launchBrowser, startServer, withPage } from './harness.js';
import { PROCESSING_TIMEOUT, cueTimes, downloadFrom, signUp, speak, startProviderStub, tempDir, waitForStage } from './helpers.js';

const KEY = 'sk-stub-transcribes-only-4242';
const SEGMENTS = [
  { id: 0, start: 0, end: 2.4, text: ' The harbour master opened the meeting at nine.' },
  { id: 1, start: 2.4, end: 5.1, text: ' The ferry timetable changes next week.' },
];
const TRANSCRIPTION = { task: 'transcribe', language: 'english', duration: 5.1, text: SEGMENTS.map((s) => s.text.trim()).join(' '), segments: SEGMENTS };

describe('failure after transcription', () => {
  let server;
  let browser;
  let provider;
  let dir;

  before(async () => {
    [server, browser, provider, dir] = await Promise.all([
      // One delivery: a synthesis failure ends the smelt at once instead of being retried.
      startServer({ SMELT_MAX_DELIVERIES: '1' }),
      launchBrowser(),
      startProviderStub({ goodKey: KEY, chatStatus: 500, transcription: TRANSCRIPTION }),
      tempDir(),
    ]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await provider?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the failure, the prompt that failed and the kept transcript with its exports are all shown', { timeout: PROCESSING_TIMEOUT }, async (t) => {
    const wav = await speak(dir, 'harbour.wav', 'The harbour master opened the meeting at nine. The ferry timetable changes next week.');
    await withPage({ browser, server, name: t.name, contextOptions: { permissions: ['clipboard-read', 'clipboard-write'] } }, async ({ page }) => {
      await signUp(page);
      const status = await page.evaluate(async ({ key, base }) => {
        const { accessToken } = JSON.parse(localStorage.getItem('smelt.session'));
        const res = await fetch('/api/profile/api-key', { method: 'PUT', headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ api_key: key, base_url: base }) });
        return res.status;
      }, { key: KEY, base: provider.baseUrl });
      assert.equal(status, 200);

      const frames = [];
      page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(JSON.parse(String(f.payload)))));
      await page.getByTestId('nav-create').click();
      await page.getByTestId('file-input').setInputFiles(wav);
      await page.getByTestId('prompt-summarize').check();
      await page.getByTestId('submit').click();
      await waitForStage(page, 'failed');

      const failed = frames.find((f) => f.event === 'failed' || (f.event === 'snapshot' && f.payload.status === 'failed'));
      assert.ok(failed, 'the server reported the failure');
      assert.equal(failed.payload.failed_prompt, 'summarize', 'the server names the failed prompt');
      assert.ok(failed.payload.results?.some((r) => r.kind === 'transcript'), 'and kept the transcript');
      assert.ok(provider.requests.some((r) => r.path === '/v1/audio/transcriptions'), 'the provider transcribed');

      // The failure as the server words it, and which prompt failed.
      await page.getByTestId('error').waitFor();
      assert.equal(await page.getByTestId('error').locator('.error-message').textContent(), failed.payload.error_message);
      assert.match(await page.getByTestId('failed-prompt').textContent(), /“Summary” could not be made\. The transcript was kept/);

      // The transcript is still there, with Copy and the exports.
      const result = page.getByTestId('result');
      assert.equal(await result.count(), 1);
      assert.equal(await result.getAttribute('data-kind'), 'transcript');
      assert.equal(await page.locator('#results-heading').textContent(), 'Your transcript');
      assert.match(await page.getByTestId('result-content').textContent(), /harbour master opened the meeting at nine/);
      await page.getByTestId('copy').click();
      await page.getByTestId('copy').filter({ hasText: 'Copied' }).waitFor();
      assert.match(await page.evaluate(() => navigator.clipboard.readText()), /ferry timetable changes next week/);

      const txt = await downloadFrom(page, page.getByTestId('download-txt'));
      assert.equal(txt.filename, 'harbour.txt');
      assert.deepEqual(txt.text.trim().split('\n'), SEGMENTS.map((s) => s.text.trim()));
      const srt = await downloadFrom(page, page.getByTestId('download-srt'));
      assert.deepEqual(cueTimes(srt.text), SEGMENTS.map((s) => ({ start: s.start, end: s.end })));
      assert.equal(await page.getByTestId('stage').textContent(), 'Failed while synthesizing notes');
    });
  });
});
