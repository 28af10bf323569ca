// The place in the queue: one worker busy with a long recording, two more
// smelts waiting; the last one's page says "2nd in line", then "next in line"
// once the one ahead of it is cancelled, then runs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedSuite, withPage } from './harness.js';
import { LONG_SPEECH, PROCESSING_TIMEOUT, speak, startTextSmelt, waitForStage } from './helpers.js';

/**
 * Records every text the queue line is given in this document, from the
 * mutation records themselves: "next in line" may show for a moment only,
 * between the event that moves the smelt up and the one that starts it.
 */
function recordQueue(page) {
  return page.addInitScript(() => {
    window.__queue = [];
    document.addEventListener('DOMContentLoaded', () => {
      const line = document.getElementById('queue-position');
      new MutationObserver((records) => {
        for (const record of records) {
          for (const node of record.addedNodes) {
            const text = node.textContent;
            if (text && window.__queue.at(-1) !== text) window.__queue.push(text);
          }
        }
      }).observe(line, { childList: true });
    });
  });
}

describe('queue position', () => {
  const suite = sharedSuite();

  test('waiting behind a long smelt and another one: "2nd in line", then "next in line" once the one ahead is cancelled, then it runs', { timeout: PROCESSING_TIMEOUT * 2 }, async (t) => {
    const wav = await speak(suite.dir, 'long.wav', [...LONG_SPEECH, ...LONG_SPEECH], { wordsPerMinute: 165 });
    await withPage({ ...suite, name: `${t.name} (busy)` }, async ({ page: busy }) => {
      // The worker's only slot: a long recording.
      await busy.goto('/');
      // The accurate model, told the language (so that it does not hand English to the fast
      // one), keeps the only worker busy long enough for the queue to be seen moving (places
      // are pushed about once a second).
      await busy.getByTestId('model-base').check();
      const language = busy.getByLabel('Language', { exact: true });
      await language.fill('English');
      await language.press('Enter');
      await busy.getByTestId('file-input').setInputFiles(wav);
      await busy.getByTestId('submit').click();
      await waitForStage(busy, 'transcribing');

      await withPage({ ...suite, name: `${t.name} (ahead)` }, async ({ page: ahead }) => {
        await ahead.goto('/');
        await startTextSmelt(ahead, 'Waiting first in the queue, behind the long recording. Then it runs quickly.');
        await ahead.getByTestId('queue-position').filter({ hasText: /^Next in line/ }).waitFor();

        await withPage({ ...suite, name: t.name }, async ({ page }) => {
          await recordQueue(page);
          await page.goto('/');
          await startTextSmelt(page, 'Waiting second in the queue. It moves up when the smelt ahead starts.');
          const line = page.getByTestId('queue-position');
          await line.filter({ hasText: /^2nd in line/ }).waitFor();
          assert.match(await line.textContent(), /^2nd in line(, (less than a minute|about \d+ (min|h)( \d+ min)?))?$/);
          // Pasted text waits in the fast lane, and the page says why it goes first.
          assert.equal(await page.getByTestId('queue-lane').textContent(), 'Fast lane: short recordings and pasted text go first.');
          // The one ahead leaves the queue while the long recording still runs: this smelt
          // moves up and is told so (places are pushed about once a second, so a smelt that
          // only passes through a place may never be shown it).
          await ahead.getByTestId('cancel-smelt').click();
          await ahead.getByTestId('cancel-confirm').click();
          await waitForStage(ahead, 'cancelled', 30_000);
          await line.filter({ hasText: /^Next in line/ }).waitFor();
          await waitForStage(page, 'completed');
          assert.equal(await line.isHidden(), true, 'no queue line once it runs');

          const seen = await page.evaluate(() => window.__queue);
          const second = seen.findIndex((s) => /^2nd in line/.test(s));
          const next = seen.findIndex((s) => /^Next in line/.test(s));
          assert.ok(second >= 0 && next > second, `"2nd in line" came before "next in line": ${JSON.stringify(seen)}`);
          assert.ok(seen.every((s) => /^(2nd|Next) in line(, (less than a minute|about \d+ min))?$/.test(s)), `only those places: ${JSON.stringify(seen)}`);
        });
      });
      await waitForStage(busy, 'completed');
    });
  });
});
