// Signed-in users: sign-up, credits, history (with live updates over one
// multiplexed socket), detail pages, custom prompts, token refresh, logout.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedSuite, withPage } from './harness.js';
import { LONG_SPEECH, PROCESSING_TIMEOUT, resultText, signUp, speak, startTextSmelt, waitForStage } from './helpers.js';

const RUNNING = ['pending', 'validating', 'decoding', 'transcribing', 'synthesizing'];

describe('signed-in user', () => {
  const suite = sharedSuite();

  test('after sign-up and two smelts the history lists both as completed and the badge shows 3 of 5 left', { timeout: 2 * PROCESSING_TIMEOUT }, async (t) => {
    const wav = await speak(suite.dir, 'standup.wav', 'Our standup starts at nine. The database migration finished overnight. Alice will review the dashboard.');
    await withPage({ ...suite, name: t.name }, async ({ page, context }) => {
      await signUp(page);
      await page.getByTestId('credits').filter({ hasText: '5 of 5 left this week, resets Monday' }).waitFor();

      await page.getByTestId('nav-create').click();
      const first = await startTextSmelt(page, 'The team agreed to ship the new onboarding flow next week. Priya owns the rollout plan. Marketing prepares the announcement.', { prompts: ['summarize', 'action_items'] });
      await waitForStage(page, 'completed');
      assert.ok((await page.getByTestId('result').count()) >= 1);

      await page.getByTestId('new-smelt').click();
      await page.getByTestId('file-input').setInputFiles(wav);
      await page.getByTestId('submit').click();
      await page.waitForURL(/#\/smelts\/[0-9a-f-]{36}$/);
      const second = page.url().split('/').pop();
      assert.notEqual(second, first);
      await waitForStage(page, 'completed');

      await page.getByTestId('credits').filter({ hasText: '3 of 5 left this week, resets Monday' }).waitFor();
      await page.getByTestId('nav-history').click();
      const items = page.getByTestId('history-item');
      await items.nth(1).waitFor();
      assert.equal(await items.count(), 2);
      // Newest first by default.
      assert.deepEqual(await items.evaluateAll((els) => els.map((e) => e.dataset.smeltId)), [second, first]);
      assert.deepEqual(await page.getByTestId('history-status').allTextContents(), ['Completed', 'Completed']);
      assert.match(await items.nth(0).textContent(), /1 file · separate · Transcript/);
      assert.match(await items.nth(1).textContent(), /Summary, Action items/);

      // Filters and sort go through the server.
      await page.getByTestId('history-filter-status').selectOption('failed');
      await page.getByTestId('history-empty').waitFor();
      await page.getByTestId('history-filter-status').selectOption('completed');
      await page.getByTestId('history-order').selectOption('asc');
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="history-item"]')].length === 2 && window.location.hash.includes('order=asc'));
      await page.waitForFunction((id) => document.querySelector('[data-testid="history-item"]')?.dataset.smeltId === id, first);

      // The detail page, opened in a new tab (no subscription token there), follows with the access token.
      const tab = await context.newPage();
      await tab.goto(`/#/smelts/${first}`);
      await waitForStage(tab, 'completed');
      assert.match(await resultText(tab), /onboarding/i);
      await tab.close();
    });
  });

  test('history updates running smelts live over one multiplexed socket', { timeout: 3 * PROCESSING_TIMEOUT }, async (t) => {
    // Long enough that it is still running when the history opens.
    const wav = await speak(suite.dir, 'meeting.wav', LONG_SPEECH, { wordsPerMinute: 165 });
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      const sockets = [];
      page.on('websocket', (ws) => sockets.push(ws.url()));
      await signUp(page);
      await page.getByTestId('nav-create').click();
      const done = await startTextSmelt(page, 'Quick note. The kettle is broken. Someone should buy a new one.');
      await waitForStage(page, 'completed');
      await page.getByTestId('nav-create').click();
      // Two running at once: the audio one first, the text one queued behind it (one worker).
      await page.getByTestId('file-input').setInputFiles(wav);
      await page.getByTestId('submit').click();
      await page.waitForURL(/#\/smelts\//);
      const audio = page.url().split('/').pop();
      await page.getByTestId('nav-create').click();
      const text = await startTextSmelt(page, 'A last note while the recording is still being transcribed. It should wait its turn.');

      // The smelt page's own socket is open; from here on only the history's may appear.
      await page.locator('[data-testid="connection-state"][data-state="live"]').waitFor();
      const before = sockets.length;
      await page.goto('/#/history');
      const audioRow = page.locator(`[data-testid="history-item"][data-smelt-id="${audio}"]`);
      const textRow = page.locator(`[data-testid="history-item"][data-smelt-id="${text}"]`);
      await audioRow.waitFor();
      await textRow.waitFor();
      assert.ok(RUNNING.includes(await audioRow.getAttribute('data-status')), 'the recording is still running');
      assert.ok(RUNNING.includes(await textRow.getAttribute('data-status')), 'the text waits behind it');
      await page.getByTestId('history-live').filter({ hasText: 'Updating live' }).waitFor();
      // Live: both rows reach "completed" without reloading the page.
      const marker = await page.evaluate(() => (window.__sameDocument = Math.random()));
      await page.locator(`[data-testid="history-item"][data-smelt-id="${audio}"][data-status="completed"]`).waitFor({ timeout: PROCESSING_TIMEOUT });
      await page.locator(`[data-testid="history-item"][data-smelt-id="${text}"][data-status="completed"]`).waitFor({ timeout: PROCESSING_TIMEOUT });
      assert.equal(await page.evaluate(() => window.__sameDocument), marker, 'no page reload');
      const multiplexed = sockets.slice(before).filter((u) => new URL(u).pathname === '/api/ws');
      assert.equal(multiplexed.length, 1, `one /api/ws socket for both smelts: ${sockets.slice(before)}`);
      assert.equal(sockets.slice(before).filter((u) => /\/api\/smelts\//.test(u)).length, 0, 'no per-smelt sockets on the history page');
      // The finished one was never subscribed; all three end up completed.
      assert.equal(await page.locator(`[data-testid="history-item"][data-smelt-id="${done}"]`).getAttribute('data-status'), 'completed');
      await page.getByTestId('credits').filter({ hasText: '2 of 5 left' }).waitFor();

    });
  });

  test('several files get a bar each, combine mode makes one result from all of them, and the owner can delete it', { timeout: PROCESSING_TIMEOUT }, async (t) => {
    const first = await speak(suite.dir, 'alpha.wav', 'The zebra crossing near the bakery will be repainted on Monday.');
    const second = await speak(suite.dir, 'beta.wav', 'The violin teacher moved her lessons to the community hall.');
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      await signUp(page);
      await page.getByTestId('nav-create').click();
      await page.getByTestId('file-input').setInputFiles([first, second]);
      await page.getByTestId('selected-file').nth(1).waitFor();
      await page.getByTestId('mode-combine').check();
      await page.getByTestId('submit').click();
      await page.waitForURL(/#\/smelts\//);
      await page.getByTestId('file-progress').nth(1).waitFor();
      assert.deepEqual(await page.locator('.file-bar-name').allTextContents(), ['alpha.wav', 'beta.wav']);
      await waitForStage(page, 'completed');
      assert.equal(await page.getByTestId('result').count(), 1, 'one combined result');
      const text = (await resultText(page)).toLowerCase();
      assert.ok(/zebra|bakery/.test(text) && /violin|lessons/.test(text), `both recordings are in it: ${text}`);
      for (const bar of await page.getByTestId('file-progress').locator('[role="progressbar"]').all()) {
        assert.equal(await bar.getAttribute('aria-valuenow'), '100');
      }

      // The owner can delete it; the history is empty afterwards.
      page.on('dialog', (d) => d.accept());
      await page.getByTestId('delete-smelt').click();
      await page.waitForURL(/#\/history$/);
      await page.getByTestId('history-empty').waitFor();
    });
  });

  test('custom prompts can be created, edited, used for a smelt and deleted', { timeout: PROCESSING_TIMEOUT + 60_000 }, async (t) => {
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      page.on('dialog', (d) => d.accept());
      await signUp(page);
      await page.getByTestId('nav-account').click();
      await page.getByTestId('prompt-empty').waitFor();

      // Client-side check with the server's wording.
      await page.getByTestId('prompt-save').click();
      await page.getByTestId('prompt-error').filter({ hasText: 'TITLE IS REQUIRED' }).waitFor();

      await page.getByLabel('Title', { exact: true }).fill('Decisions only');
      await page.getByLabel('Instructions', { exact: true }).fill('List every decision that was made, one per line.');
      await page.getByTestId('prompt-save').click();
      const item = page.getByTestId('prompt-item').filter({ hasText: 'Decisions only' });
      await item.waitFor();
      await page.getByTestId('prompt-error').waitFor({ state: 'hidden' });

      await item.getByTestId('prompt-edit').click();
      assert.equal(await page.getByLabel('Title', { exact: true }).inputValue(), 'Decisions only');
      await page.getByLabel('Title', { exact: true }).fill('Decisions and owners');
      await page.getByTestId('prompt-save').click();
      await page.getByTestId('prompt-item').filter({ hasText: 'Decisions and owners' }).waitFor();
      assert.equal(await page.getByTestId('prompt-item').count(), 1);

      // The server keeps it: a reload shows the edited prompt.
      await page.reload();
      await page.getByTestId('prompt-item-title').filter({ hasText: 'Decisions and owners' }).waitFor();

      // It is offered on the create page and a smelt can use it.
      await page.getByTestId('nav-create').click();
      await page.getByTestId('user-prompt').locator('option', { hasText: 'Decisions and owners' }).waitFor({ state: 'attached' });
      const request = page.waitForRequest((r) => r.url().endsWith('/api/smelts') && r.method() === 'POST');
      await startTextSmelt(page, 'We decided to move the offsite to May. Jonas owns the venue booking. The budget stays the same.', { userPrompt: 'Decisions and owners' });
      assert.match((await request).postData() || '', /name="user_prompt_id"\r\n\r\n[0-9a-f-]{36}/);
      await waitForStage(page, 'completed');

      await page.getByTestId('nav-account').click();
      await page.getByTestId('prompt-item').filter({ hasText: 'Decisions and owners' }).getByTestId('prompt-delete').click();
      await page.getByTestId('prompt-empty').waitFor();
      await page.reload();
      await page.getByTestId('prompt-empty').waitFor();
    });
  });

  test('an expired access token is refreshed with the refresh token, which rotates; logout revokes it', { timeout: 120_000 }, async (t) => {
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      const { email } = await signUp(page);
      const before = await page.evaluate(() => JSON.parse(localStorage.getItem('smelt.session')));
      // Make the stored access token unusable, as an expired one is: the server answers 401.
      await page.evaluate(() => {
        const s = JSON.parse(localStorage.getItem('smelt.session'));
        s.accessToken = `${s.accessToken.slice(0, -4)}AAAA`;
        localStorage.setItem('smelt.session', JSON.stringify(s));
      });
      const refreshed = page.waitForResponse((r) => r.url().endsWith('/api/auth/refresh'));
      await page.getByTestId('nav-account').click();
      assert.equal((await refreshed).status(), 200);
      await page.getByTestId('account-email').filter({ hasText: `Signed in as ${email}` }).waitFor();
      const afterRefresh = await page.evaluate(() => JSON.parse(localStorage.getItem('smelt.session')));
      assert.notEqual(afterRefresh.refreshToken, before.refreshToken, 'the refresh token rotated');
      assert.ok(afterRefresh.accessToken.split('.').length === 3 && !afterRefresh.accessToken.endsWith('AAAA'), 'a valid access token replaced the refused one');

      // Logging out revokes the current refresh token on the server.
      await page.getByTestId('logout').click();
      await page.getByTestId('nav-login').waitFor();
      assert.equal(await page.evaluate(() => localStorage.getItem('smelt.session')), null);
      const reuse = await page.request.post('/api/auth/refresh', { data: { refresh_token: afterRefresh.refreshToken } });
      assert.equal(reuse.status(), 401);

      // Logging in again works, and a wrong password shows the server's message.
      await page.getByTestId('nav-login').click();
      await page.getByTestId('login-email').fill(email);
      await page.getByTestId('login-password').fill('not the password');
      await page.getByTestId('login-submit').click();
      await page.getByTestId('login-error').filter({ hasText: 'WRONG EMAIL OR PASSWORD' }).waitFor();
      await page.getByTestId('login-password').fill('correct horse battery');
      await page.getByTestId('login-submit').click();
      await page.getByTestId('logout').waitFor();
    });
  });

  test('signing up with a taken address shows the server message', { timeout: 60_000 }, async (t) => {
    await withPage({ ...suite, name: t.name }, async ({ page, context }) => {
      const { email } = await signUp(page);
      await page.getByTestId('logout').click();
      await page.getByTestId('nav-signup').click();
      await page.getByTestId('signup-email').fill(email);
      await page.getByTestId('signup-password').fill('another long password');
      await page.getByTestId('signup-submit').click();
      await page.getByTestId('signup-error').filter({ hasText: 'THAT EMAIL IS ALREADY REGISTERED. LOG IN' }).waitFor();
      assert.equal(await context.pages()[0].evaluate(() => localStorage.getItem('smelt.session')), null);
    });
  });
});
