// An anonymous visitor: real speech in, live progress, transcript out;
// reloading mid-smelt; uploads the client or the server refuses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedSuite, withPage } from './harness.js';
import { LONG_SPEECH, LONG_WORDS, PROCESSING_TIMEOUT, readProgress, readUpload, recordProgress, resultText, speak, startTextSmelt, waitForStage, wordCoverage } from './helpers.js';

const STAGE_ORDER = ['connecting', 'pending', 'validating', 'decoding', 'transcribing', 'synthesizing', 'completed'];

const SHORT_SPEECH =
  'The orange giraffe visited the quiet library on Tuesday. ' +
  'Seven purple umbrellas were waiting beside the river. ' +
  'Please remember to water the tomato plants before dinner.';
const SHORT_WORDS = ['orange', 'giraffe', 'library', 'tuesday', 'seven', 'purple', 'umbrellas', 'river', 'remember', 'tomato', 'plants', 'dinner'];

describe('anonymous visitor', () => {
  const suite = sharedSuite();

  test('an uploaded recording goes through every stage to 100% and its transcript shows the spoken words', { timeout: 300_000 }, async (t) => {
    const wav = await speak(suite.dir, 'giraffe.wav', SHORT_SPEECH);
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      await recordProgress(page);
      await page.goto('/');
      await page.getByTestId('file-input').setInputFiles(wav);
      await page.getByTestId('selected-file').filter({ hasText: 'giraffe.wav' }).waitFor();
      await page.getByTestId('submit').click();
      await page.waitForURL(/#\/smelts\/[0-9a-f-]{36}$/);
      // One bar per file, driven by the socket.
      await page.getByTestId('file-progress').filter({ hasText: 'giraffe.wav' }).waitFor();
      await waitForStage(page, 'completed');

      const upload = await readUpload(page);
      assert.ok(upload.length > 0, 'the upload bar was shown');
      assert.equal(Math.max(...upload), 100, `the upload bar reached 100%: ${upload}`);

      const seen = await readProgress(page);
      const stages = seen.map((s) => s.stage).filter((s, i, all) => s !== all[i - 1]);
      const order = stages.map((s) => STAGE_ORDER.indexOf(s));
      assert.ok(order.every((o) => o >= 0), `known stages only: ${stages}`);
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `stages never go back: ${stages}`);
      for (const stage of ['transcribing', 'synthesizing', 'completed']) assert.ok(stages.includes(stage), `saw ${stage}: ${stages}`);
      const values = seen.map((s) => s.value);
      assert.deepEqual(values, [...values].sort((a, b) => a - b), `percentages never decrease: ${values}`);
      assert.ok(values.some((v) => v > 0 && v < 100), `an intermediate percentage was shown: ${values}`);
      assert.equal(await page.getByTestId('overall-progress').getAttribute('aria-valuenow'), '100');
      assert.equal(await page.getByTestId('file-progress').locator('[role="progressbar"]').getAttribute('aria-valuenow'), '100');

      const transcript = await resultText(page);
      const coverage = wordCoverage(transcript, SHORT_WORDS);
      assert.ok(coverage.share >= 0.7, `transcript has most spoken words (missing ${coverage.missing}): ${transcript}`);
      assert.match(await page.getByTestId('announcer').textContent(), /Done\. 1 result ready/);
    });
  });

  test('reloading in the middle of a smelt resumes the progress and ends with the result', { timeout: 420_000 }, async (t) => {
    const wav = await speak(suite.dir, 'lighthouse.wav', LONG_SPEECH, { wordsPerMinute: 165 });
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      await recordProgress(page);
      await page.goto('/');
      await page.getByTestId('file-input').setInputFiles(wav);
      await page.getByTestId('submit').click();
      await page.waitForURL(/#\/smelts\/[0-9a-f-]{36}$/);
      const smeltUrl = page.url();
      await waitForStage(page, 'transcribing');
      // The page shows the smelt mid-way: note how far it got, then reload.
      const before = Number(await page.getByTestId('overall-progress').getAttribute('aria-valuenow'));
      assert.ok(before < 100, `progress was below 100% when reloading (${before})`);
      await page.reload();
      assert.equal(page.url(), smeltUrl, 'the smelt id survives the reload');

      await waitForStage(page, 'completed');
      const afterReload = await readProgress(page);
      const resumed = afterReload.filter((s) => ['transcribing', 'synthesizing'].includes(s.stage));
      assert.ok(resumed.length > 0, `after the reload the page showed the smelt still running: ${JSON.stringify(afterReload)}`);
      assert.ok(resumed[0].value >= before, `progress resumed where it was (${before} -> ${resumed[0].value})`);
      const coverage = wordCoverage(await resultText(page), LONG_WORDS);
      assert.ok(coverage.share >= 0.6, `the transcript has most distinctive words (missing ${coverage.missing})`);
    });
  });

  test('a file that is not audio inside is refused by the server with its message, and the page stays usable', { timeout: PROCESSING_TIMEOUT }, async (t) => {
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      await page.goto('/');
      // Passes every check the page makes (name, type, size) but is not audio inside: the
      // server's upload check refuses it before anything is stored or charged.
      const noise = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVEjunk'), Buffer.from('definitely not pcm data '.repeat(400))]);
      await page.getByTestId('file-input').setInputFiles({ name: 'broken.wav', mimeType: 'audio/wav', buffer: noise });
      const answer = page.waitForResponse((r) => r.url().endsWith('/api/smelts') && r.request().method() === 'POST');
      await page.getByTestId('submit').click();
      const response = await answer;
      assert.equal(response.status(), 400);
      const body = await response.json();
      assert.equal(body.error.code, 'corrupted_file');
      const error = page.getByTestId('error');
      await error.filter({ hasText: body.error.message }).waitFor();
      assert.equal(await error.locator('.error-message').textContent(), 'CORRUPTED FILE. TRY A DIFFERENT ONE');
      assert.equal(await page.getByTestId('submit').isEnabled(), true);
      await page.getByRole('button', { name: 'Remove broken.wav' }).click();
    });
  });

  test('files the client refuses show the spec message, send nothing, and leave the page usable', { timeout: PROCESSING_TIMEOUT + 60_000 }, async (t) => {
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      const posts = [];
      page.on('request', (r) => {
        if (r.method() === 'POST' && r.url().endsWith('/api/smelts')) posts.push(r);
      });
      await page.goto('/');
      const error = page.getByTestId('error');

      await page.getByTestId('file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not audio') });
      await error.filter({ hasText: "CAN'T READ THAT. TRY .MP3 .WAV .M4A .WEBM .OGG" }).waitFor();
      await page.getByTestId('submit').click();
      await page.getByRole('button', { name: 'Remove notes.txt' }).click();

      const big = Buffer.alloc(26 * 1024 * 1024 + 1000);
      await page.getByTestId('file-input').setInputFiles({ name: 'huge.wav', mimeType: 'audio/wav', buffer: big });
      await error.filter({ hasText: 'FILE TOO CHUNKY. MAX 25MB. YOUR FILE: 26.0MB' }).waitFor();
      await page.getByTestId('submit').click();
      assert.equal(await error.locator('.error-message').textContent(), 'FILE TOO CHUNKY. MAX 25MB. YOUR FILE: 26.0MB');
      assert.equal(posts.length, 0, 'nothing was uploaded');

      // Still usable: drop the file, paste text instead, and the smelt runs.
      await page.getByRole('button', { name: 'Remove huge.wav' }).click();
      await error.waitFor({ state: 'hidden' });
      await startTextSmelt(page, 'The page recovered after two refused files. Everything works again. Notes follow below.');
      await waitForStage(page, 'completed');
      assert.equal(posts.length, 1);
      assert.ok((await resultText(page)).length > 0);
    });
  });

  test("the server's refusals are shown verbatim: an oversized file that got past the client, and the daily limit", { timeout: PROCESSING_TIMEOUT + 60_000 }, async (t) => {
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      await page.goto('/');
      const message = page.getByTestId('error').locator('.error-message');

      // A client whose own check let a 26 MB file through (an older page, a
      // different client): the multipart body is swapped in flight, and the
      // server's own message reaches the person unchanged. (First, while the
      // visitor still has its credit: the server checks credits before it
      // reads a body.)
      const boundary = `----smelt${Date.now()}`;
      const oversized = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files[]"; filename="tiny.wav"\r\nContent-Type: audio/wav\r\n\r\n`),
        Buffer.alloc(26 * 1024 * 1024 + 5000),
        Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="mode"\r\n\r\nseparate\r\n--${boundary}--\r\n`),
      ]);
      await page.route('**/api/smelts', (route) =>
        route.continue({ postData: oversized, headers: { ...route.request().headers(), 'content-type': `multipart/form-data; boundary=${boundary}` } }),
      );
      await page.getByTestId('file-input').setInputFiles({ name: 'tiny.wav', mimeType: 'audio/wav', buffer: Buffer.from('RIFF') });
      const tooLarge = page.waitForResponse((r) => r.url().endsWith('/api/smelts') && r.request().method() === 'POST', { timeout: 120_000 });
      await page.getByTestId('submit').click();
      const tooLargeBody = await (await tooLarge).json();
      assert.equal(tooLargeBody.error.code, 'file_too_large');
      await page.getByTestId('error').filter({ hasText: tooLargeBody.error.message }).waitFor();
      assert.match(await message.textContent(), /^FILE TOO CHUNKY\. MAX 25MB\. YOUR FILE: 26\.\dMB$/);
      await page.unroute('**/api/smelts');
      assert.equal(await page.getByTestId('submit').isEnabled(), true);
      await page.getByRole('button', { name: 'Remove tiny.wav' }).click();

      // The refusal cost nothing: the day's one smelt still goes through.
      await startTextSmelt(page, 'An anonymous visitor gets one smelt a day. This is the first one today.');
      await waitForStage(page, 'completed');

      // The second smelt of the day: only the server knows about the credit.
      await page.getByTestId('new-smelt').click();
      await page.getByTestId('text-input').fill('And this would be the second one, which the server refuses.');
      const refusal = page.waitForResponse((r) => r.url().endsWith('/api/smelts') && r.request().method() === 'POST');
      await page.getByTestId('submit').click();
      const response = await refusal;
      assert.equal(response.status(), 403);
      const body = await response.json();
      assert.equal(body.error.code, 'daily_limit');
      await page.getByTestId('error').waitFor();
      assert.equal(await message.textContent(), body.error.message);
      // The page stays on the form with the text kept, ready for another try.
      assert.equal(await page.getByTestId('text-input').inputValue(), 'And this would be the second one, which the server refuses.');
      assert.equal(await page.getByTestId('submit').isEnabled(), true);
    });
  });
});
