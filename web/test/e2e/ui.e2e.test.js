// Accessibility and small screens: keyboard-only use with focus moved to
// what changed, announcements for screen readers, and a phone-sized screen.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, startServer, withPage } from './harness.js';
import { PROCESSING_TIMEOUT, resultText, waitForStage } from './helpers.js';

/**
 * Presses Tab until an element matching `selector` has focus (at most `max` presses).
 * @returns {Promise<number>} presses needed
 */
async function tabTo(page, selector, max = 40) {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return i;
  }
  throw new Error(`${selector} not reached with ${max} Tab presses`);
}

async function horizontalOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

describe('accessibility and phones', () => {
  let server;
  let browser;

  before(async () => {
    [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a smelt can be made with the keyboard alone, with focus and announcements following the progress', { timeout: PROCESSING_TIMEOUT }, async (t) => {
    await withPage({ browser, server, name: t.name, contextOptions: { permissions: ['clipboard-read', 'clipboard-write'] } }, async ({ page }) => {
      // A text smelt can finish within milliseconds, before a poll of `activeElement` would
      // see the progress heading: record every focus change instead.
      await page.addInitScript(() => {
        window.focusHistory = [];
        document.addEventListener('focusin', (event) => window.focusHistory.push(event.target.id), true);
      });
      await page.goto('/');
      await tabTo(page, '[data-testid="text-input"]');
      await page.keyboard.type('Keyboards are enough to use Smelt. Every control can be reached with Tab. Results get the focus.');
      await tabTo(page, '[data-testid="prompt-summarize"]', 5);
      await page.keyboard.press('Space');
      assert.equal(await page.getByTestId('prompt-summarize').isChecked(), true);
      await tabTo(page, '[data-testid="submit"]');
      await page.keyboard.press('Enter');

      await page.waitForURL(/#\/smelts\//);
      // Focus moves to what changed, so a screen reader follows along.
      await page.waitForFunction(() => window.focusHistory.includes('progress-heading'));
      const bar = page.getByTestId('overall-progress');
      assert.equal(await bar.getAttribute('role'), 'progressbar');
      assert.equal(await bar.getAttribute('aria-valuemin'), '0');
      assert.equal(await bar.getAttribute('aria-valuemax'), '100');
      assert.equal(await page.getByTestId('announcer').getAttribute('aria-live'), 'polite');

      await waitForStage(page, 'completed');
      await page.waitForFunction(() => document.activeElement?.id === 'results-heading');
      const focused = await page.evaluate(() => window.focusHistory);
      assert.ok(
        focused.indexOf('progress-heading') < focused.lastIndexOf('results-heading'),
        `focus goes to the progress, then to the results: ${focused}`,
      );
      await page.getByTestId('announcer').filter({ hasText: 'Done. 1 result ready.' }).waitFor({ state: 'attached' });
      assert.equal(await bar.getAttribute('aria-valuenow'), '100');
      assert.match(await bar.getAttribute('aria-valuetext'), /100%/);

      // Copy with the keyboard.
      await tabTo(page, '[data-testid="copy"]', 5);
      await page.keyboard.press('Enter');
      await page.getByTestId('copy').filter({ hasText: 'Copied' }).waitFor();
      const copied = await page.evaluate(() => navigator.clipboard.readText());
      assert.match(copied, /Keyboards|Tab|focus/i);
      assert.ok((await resultText(page)).length > 0);

      // The skip link is the first stop and leads to the content.
      await page.goto('about:blank');
      await page.goto('/');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    });
  });

  test('on a phone-sized screen (390x844) every page fits the width and a smelt can be made by touch', { timeout: PROCESSING_TIMEOUT }, async (t) => {
    const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true };
    await withPage({ browser, server, name: t.name, contextOptions: phone }, async ({ page }) => {
      await page.goto('/');
      assert.ok((await horizontalOverflow(page)) <= 0, 'create page fits the width');
      for (const id of ['nav-login', 'nav-signup', 'submit', 'text-input']) {
        const box = await page.getByTestId(id).boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${id} is inside the screen`);
      }
      const submitBox = await page.getByTestId('submit').boundingBox();
      assert.ok(submitBox.height >= 44, 'the main button is a comfortable touch target');

      await page.getByTestId('text-input').tap();
      await page.keyboard.type('Phones are first-class citizens. The layout stacks. The buttons are large.');
      await page.getByTestId('submit').tap();
      await waitForStage(page, 'completed');
      assert.ok((await horizontalOverflow(page)) <= 0, 'results page fits the width');
      const copyBox = await page.getByTestId('copy').boundingBox();
      assert.ok(copyBox.x >= 0 && copyBox.x + copyBox.width <= 390, 'copy button on screen');

      await page.getByTestId('nav-signup').tap();
      await page.getByTestId('signup-email').waitFor();
      assert.ok((await horizontalOverflow(page)) <= 0, 'sign-up page fits the width');
    });
  });
});
