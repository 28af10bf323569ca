// The transcript as it is made: segments on the page before the smelt
// completes (on a phone), again after a reload mid-transcription, grouped per
// file; then the exports (TXT, SRT, VTT, JSON) for the token holder and the
// signed-in owner, checked against the segments the socket delivered and
// against Chromium's own WebVTT parser.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedSuite, withPage } from './harness.js';
import {
  LONG_SPEECH,
  LONG_WORDS,
  cueTimes,
  downloadFrom,
  readTranscriptRecord,
  recordTranscript,
  resultText,
  signUp,
  speak,
  waitForStage,
  watchSegments,
  wordCoverage,
} from './helpers.js';

// About a minute of speech: a transcription with many segments that takes a while.
const MINUTE_SPEECH = LONG_SPEECH.split(/(?<=\.) /).slice(0, 11).join(' ');
const OPENING_WORDS = ['morning', 'everyone', 'welcome', 'quarterly', 'planning', 'meeting', 'lighthouse', 'restoration', 'project'];

const FERRY = [
  'The ferry to the island leaves the harbour at half past eight.',
  'Bring warm jackets because the wind on the deck is strong.',
  'Lunch is served at the lighthouse cafe, and the return trip starts at four.',
].join(' ');
const GARDEN = [
  'The community garden needs volunteers on Saturday morning.',
  'Please bring gloves, a shovel and a bottle of water.',
  'We will plant tomatoes, carrots and sunflowers along the fence.',
].join(' ');

/** Loads WebVTT text into a hidden <track> of a <video> and returns the cues Chromium parsed. */
function parseVttInPage(page, vtt) {
  return page.evaluate(async (text) => {
    const video = document.createElement('video');
    video.muted = true;
    const track = document.createElement('track');
    track.kind = 'subtitles';
    track.label = 'Transcript';
    track.srclang = 'en';
    track.src = URL.createObjectURL(new Blob([text], { type: 'text/vtt' }));
    video.append(track);
    document.body.append(video);
    const loaded = new Promise((ok, fail) => {
      track.addEventListener('load', ok, { once: true });
      track.addEventListener('error', () => fail(new Error('the track did not load')), { once: true });
    });
    track.track.mode = 'hidden';
    await loaded;
    const cues = [...track.track.cues].map((c) => ({ start: c.startTime, end: c.endTime, text: c.text }));
    video.remove();
    return { mode: track.track.mode, readyState: track.readyState, cues };
  }, vtt);
}

/** Each cue lies within one segment (times in ms from the file start), boundaries to the millisecond. */
function assertCuesMatchSegments(cues, segments, what) {
  assert.ok(cues.length > 0, `${what}: some cues`);
  assert.ok(segments.length > 0, `${what}: some segments`);
  const close = (a, b) => Math.abs(a - b) <= 0.001 + 1e-9;
  for (const cue of cues) {
    const owners = segments.filter((s) => cue.start >= s.start_ms / 1000 - 0.001 && cue.end <= s.end_ms / 1000 + 0.001);
    assert.ok(owners.length >= 1, `${what}: cue ${cue.start}-${cue.end} lies inside a segment`);
  }
  for (const s of segments) {
    assert.ok(cues.some((c) => close(c.start, s.start_ms / 1000)), `${what}: a cue starts with segment ${s.index} at ${s.start_ms} ms`);
    assert.ok(cues.some((c) => close(c.end, s.end_ms / 1000)), `${what}: a cue ends with segment ${s.index} at ${s.end_ms} ms`);
  }
}

describe('live transcript and exports', () => {
  const suite = sharedSuite();

  test('on a phone the transcript grows before the smelt completes, a reload shows what was said so far, and the TXT export matches', { timeout: 420_000 }, async (t) => {
    const wav = await speak(suite.dir, 'planning.wav', MINUTE_SPEECH, { wordsPerMinute: 150 });
    const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true };
    await withPage({ ...suite, name: t.name, contextOptions: phone }, async ({ page }) => {
      const socket = watchSegments(page);
      await recordTranscript(page);
      await page.goto('/');
      await page.getByTestId('file-input').setInputFiles(wav);
      await page.getByTestId('submit').tap();
      await page.waitForURL(/#\/smelts\/[0-9a-f-]{36}$/);

      // The first words are on the page while a stage before completion is shown.
      await page.getByTestId('transcript-segment').first().waitFor({ timeout: 180_000 });
      const first = (await readTranscriptRecord(page)).first;
      assert.ok(['transcribing', 'synthesizing'].includes(first.stage), `a stage before completion was shown with the first segment: ${JSON.stringify(first)}`);
      assert.ok(first.percent < 100, `progress below 100%: ${first.percent}`);
      assert.equal(first.time, '00:00');
      assert.ok(wordCoverage(first.text, OPENING_WORDS).found.length >= 2, `the first segment holds the opening words: ${first.text}`);
      assert.equal(await page.getByTestId('live-transcript').isVisible(), true);
      assert.ok((await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)) <= 0, 'no horizontal scroll on the phone');
      const times = await page.locator('[data-testid="transcript-segment"] .segment-time').allTextContents();
      assert.ok(times.every((x) => /^\d\d:\d\d$/.test(x)), `mm:ss start times: ${times}`);

      // Reload mid-transcription: everything shown so far comes back from the snapshot.
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="transcript-segment"]').length >= 2, null, { timeout: 120_000 });
      const shown = await page.getByTestId('transcript-segment').evaluateAll((items) => items.map((li) => `${li.dataset.fileId}:${li.dataset.index}`));
      assert.equal(await page.getByTestId('stage').getAttribute('data-stage'), 'transcribing', 'still transcribing when reloading');
      const beforeReload = await readTranscriptRecord(page);
      assert.deepEqual(beforeReload.duplicates, [], 'no segment shown twice');
      await page.reload();
      await page.getByTestId('transcript-segment').first().waitFor();
      const afterReload = await readTranscriptRecord(page);
      assert.ok(shown.every((k) => afterReload.firstBatch.includes(k)), `the earlier segments are shown again at once: before ${shown}, after ${afterReload.firstBatch}`);
      assert.ok(['transcribing', 'synthesizing'].includes(afterReload.first.stage), `still running after the reload: ${afterReload.first.stage}`);

      await waitForStage(page, 'completed');
      const record = await readTranscriptRecord(page);
      assert.deepEqual(record.duplicates, [], 'a replayed segment never appears twice');
      assert.equal(record.max, socket.all().length, 'every segment delivered was shown, once');
      const coverage = wordCoverage(await resultText(page), LONG_WORDS.slice(0, 16));
      assert.ok(coverage.share >= 0.6, `the transcript result has the spoken words (missing ${coverage.missing})`);
      // The results hold the transcript in full: the live copy has gone.
      assert.equal(await page.getByTestId('live-transcript').isHidden(), true);

      // The anonymous visitor downloads the TXT with the tab's subscription token.
      const txt = await downloadFrom(page, page.getByTestId('download-txt'));
      assert.equal(txt.filename, 'planning.txt');
      const lines = txt.text.trim().split('\n');
      assert.deepEqual(lines, socket.all().map((s) => s.text.trim()), 'one line per segment, as delivered');
      assert.ok((await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)) <= 0, 'the results fit the phone too');
    });
  });

  test('two files: a transcript per file name, then VTT (parsed by Chromium), SRT, JSON and TXT exports match the segments, for the owner too', { timeout: 420_000 }, async (t) => {
    const [ferry, garden] = await Promise.all([speak(suite.dir, 'ferry.wav', FERRY), speak(suite.dir, 'garden.wav', GARDEN)]);
    await withPage({ ...suite, name: t.name }, async ({ page, context }) => {
      const socket = watchSegments(page);
      await recordTranscript(page);
      await signUp(page);
      await page.getByTestId('nav-create').click();
      await page.getByTestId('file-input').setInputFiles([ferry, garden]);
      await page.getByTestId('prompt-summarize').check();
      await page.getByTestId('submit').click();
      await page.waitForURL(/#\/smelts\/[0-9a-f-]{36}$/);
      const smeltUrl = page.url();
      await waitForStage(page, 'completed');

      // While it ran, each file's lines stood under its name.
      const record = await readTranscriptRecord(page);
      assert.deepEqual(record.headings, ['ferry.wav', 'garden.wav'], 'live transcript grouped per file, in file order');
      assert.deepEqual(record.duplicates, []);

      // Results: per file, the transcript first, then the summary.
      const groups = page.getByTestId('result-group');
      assert.equal(await groups.count(), 2);
      assert.deepEqual(await groups.locator('h3').allTextContents(), ['ferry.wav', 'garden.wav']);
      for (const i of [0, 1]) {
        assert.deepEqual(await groups.nth(i).getByTestId('result').evaluateAll((els) => els.map((e) => e.dataset.kind)), ['transcript', 'notes']);
        assert.deepEqual(await groups.nth(i).locator('h4').allTextContents(), ['Transcript', 'Summary']);
      }
      assert.ok(wordCoverage(await groups.nth(0).getByTestId('result-content').first().textContent(), ['ferry', 'island', 'harbour', 'jackets']).share >= 0.5);

      const ferryId = await groups.nth(0).getAttribute('data-file-id');
      const gardenId = await groups.nth(1).getAttribute('data-file-id');
      const ferrySegments = socket.forFile(ferryId);
      assert.ok(ferrySegments.length >= 2, `several segments for the first file: ${ferrySegments.length}`);

      // VTT: Chromium's own parser, through a hidden <track>.
      const ferryExports = groups.nth(0).getByTestId('transcript-exports');
      const vtt = await downloadFrom(page, ferryExports.getByTestId('download-vtt'));
      assert.equal(vtt.filename, 'ferry.vtt');
      assert.match(vtt.text, /^WEBVTT/);
      const parsed = await parseVttInPage(page, vtt.text);
      assert.equal(parsed.mode, 'hidden');
      assert.equal(parsed.readyState, 2, 'the track loaded');
      assertCuesMatchSegments(parsed.cues, ferrySegments, 'VTT');
      const cueText = parsed.cues.map((c) => c.text).join(' ').replace(/\s+/g, ' ');
      assert.equal(cueText, ferrySegments.map((s) => s.text.trim()).join(' ').replace(/\s+/g, ' '), 'the cues hold the segments\' words');

      const srt = await downloadFrom(page, ferryExports.getByTestId('download-srt'));
      assert.equal(srt.filename, 'ferry.srt');
      assertCuesMatchSegments(cueTimes(srt.text), ferrySegments, 'SRT');

      const json = await downloadFrom(page, ferryExports.getByTestId('download-json'));
      const doc = JSON.parse(json.text);
      assert.equal(doc.file_id, ferryId);
      assert.deepEqual(
        doc.segments.map(({ file_id, index, start_ms, end_ms, text }) => ({ file_id, index, start_ms, end_ms, text })),
        ferrySegments.map(({ file_id, index, start_ms, end_ms, text }) => ({ file_id, index, start_ms, end_ms, text })),
      );

      // The whole smelt: each file's lines under its name, in file order.
      const all = await downloadFrom(page, page.getByTestId('transcript-all').getByTestId('download-txt'));
      const lines = (segments) => segments.map((x) => x.text.trim());
      assert.deepEqual(all.text.trim().split('\n'), ['ferry.wav', '', ...lines(ferrySegments), '', 'garden.wav', '', ...lines(socket.forFile(gardenId))]);

      // The owner in another tab (no subscription token there): the access token serves.
      const second = await context.newPage();
      const requests = [];
      second.on('request', (r) => {
        if (r.url().includes('/transcript')) requests.push({ url: r.url(), auth: r.headers().authorization || '' });
      });
      await second.goto(smeltUrl);
      await waitForStage(second, 'completed');
      const ownerTxt = await downloadFrom(second, second.getByTestId('result-group').nth(1).getByTestId('download-txt'));
      assert.equal(ownerTxt.filename, 'garden.txt');
      assert.deepEqual(ownerTxt.text.trim().split('\n'), socket.forFile(gardenId).map((s) => s.text.trim()));
      assert.ok(requests.length === 1 && requests[0].auth.startsWith('Bearer ') && !requests[0].url.includes('token='), `owner export with the access token: ${JSON.stringify(requests)}`);
      await second.close();
    });
  });
});
