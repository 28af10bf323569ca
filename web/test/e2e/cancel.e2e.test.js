// Cancelling: the server runs no worker, so every smelt stays queued until
// it is cancelled — from its page with the keyboard, from elsewhere (the page
// follows the `cancelled` event), or too late (409, the server's words).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedSuite, withPage } from './harness.js';
import { signUp, startTextSmelt, waitForStage } from './helpers.js';

/** Resolves with the close of the page's next smelt socket (after it opened). */
function nextSocketClose(page) {
  return new Promise((resolve) => {
    page.on('websocket', (ws) => {
      if (/\/api\/smelts\/[0-9a-f-]{36}\/ws/.test(ws.url())) ws.on('close', () => resolve(ws));
    });
  });
}

/** The smelt's subscription token this tab keeps. */
function keptToken(page, id) {
  return page.evaluate((smeltId) => JSON.parse(sessionStorage.getItem('smelt.subscriptions'))[smeltId].subscription_token, id);
}

describe('cancelling a smelt', () => {
  const suite = sharedSuite({ env: { SMELT_EMBEDDED_WORKERS: '0' } });

  test('a queued smelt is cancelled with the keyboard after a confirmation; the socket closes and the credit comes back', { timeout: 120_000 }, async (t) => {
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      const closed = nextSocketClose(page);
      const cancels = [];
      page.on('request', (r) => {
        if (r.method() === 'POST' && /\/cancel(\?|$)/.test(r.url())) cancels.push(r.url());
      });
      await page.goto('/');
      const id = await startTextSmelt(page, 'Nobody will ever process this text: there is no worker. It waits in the queue.');
      await waitForStage(page, 'pending', 30_000);
      const cancel = page.getByTestId('cancel-smelt');
      await cancel.waitFor();
      assert.equal(await page.getByTestId('cancel-hint').textContent(), 'Cancelling now returns your credit.', 'the page says before the click that the credit comes back');

      // Escape keeps it running and gives the focus back.
      await cancel.focus();
      await page.keyboard.press('Enter');
      const dialog = page.getByTestId('cancel-dialog');
      await dialog.waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'cancel-keep', 'the safe choice has the focus');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'cancel-smelt');
      assert.equal(cancels.length, 0, 'nothing was cancelled');
      assert.equal(await page.getByTestId('stage').getAttribute('data-stage'), 'pending');

      // Enter, Tab to "Yes, cancel it", Enter.
      await page.keyboard.press('Enter');
      await dialog.waitFor();
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'cancel-confirm');
      await page.keyboard.press('Enter');

      await waitForStage(page, 'cancelled', 30_000);
      assert.equal(cancels.length, 1);
      assert.equal(await page.locator('#progress-heading').textContent(), 'Cancelled');
      assert.equal(await page.getByTestId('stage').textContent(), 'Cancelled');
      assert.equal(await page.getByTestId('stage-message').textContent(), 'Your credit was returned.');
      assert.equal(await cancel.isHidden(), true, 'the button is gone');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'progress-heading', 'the focus moved to what happened');
      await page.getByTestId('announcer').filter({ hasText: 'Smelt cancelled. Your credit was returned.' }).waitFor({ state: 'attached' });
      const socket = await closed;
      assert.equal(socket.isClosed(), true, 'the page stopped following');
      await page.locator('[data-testid="connection-state"][data-state="closed"]').waitFor({ state: 'attached' });

      // The server agrees, and the anonymous daily credit is back: another smelt is accepted.
      const token = await keptToken(page, id);
      const again = await page.evaluate(async ({ smeltId, tok }) => {
        const res = await fetch(`/api/smelts/${smeltId}/cancel?token=${encodeURIComponent(tok)}`, { method: 'POST' });
        const form = new FormData();
        form.append('text', 'A second smelt on the same day, allowed because the first was cancelled.');
        form.append('mode', 'separate');
        const created = await fetch('/api/smelts', { method: 'POST', body: form });
        return { cancelAgain: res.status, create: created.status };
      }, { smeltId: id, tok: token });
      assert.deepEqual(again, { cancelAgain: 409, create: 201 });
    });
  });

  test('cancelled from another tab: the page shows it from the event, the server closes the socket, history lists it as cancelled', { timeout: 120_000 }, async (t) => {
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      await signUp(page);
      await page.getByTestId('credits').filter({ hasText: '5 of 5 left' }).waitFor();
      await page.getByTestId('nav-create').click();
      const closed = nextSocketClose(page);
      const id = await startTextSmelt(page, 'This one is cancelled by its owner from somewhere else.');
      await waitForStage(page, 'pending', 30_000);
      await page.getByTestId('credits').filter({ hasText: '4 of 5 left' }).waitFor();

      // "Another tab": the owner's access token, straight to the API.
      const status = await page.evaluate(async (smeltId) => {
        const { accessToken } = JSON.parse(localStorage.getItem('smelt.session'));
        return (await fetch(`/api/smelts/${smeltId}/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${accessToken}` } })).status;
      }, id);
      assert.equal(status, 200);
      await waitForStage(page, 'cancelled', 30_000);
      const socket = await closed;
      assert.equal(socket.isClosed(), true);
      assert.equal(await page.getByTestId('cancel-smelt').isHidden(), true);
      await page.getByTestId('credits').filter({ hasText: '5 of 5 left' }).waitFor();

      await page.getByTestId('nav-history').click();
      await page.getByTestId('history-filter-status').selectOption('cancelled');
      await page.waitForURL(/status=cancelled/);
      const item = page.locator(`[data-testid="history-item"][data-smelt-id="${id}"]`);
      await item.waitFor();
      assert.equal(await item.getAttribute('data-status'), 'cancelled');
      assert.equal(await item.getByTestId('history-status').textContent(), 'Cancelled');
      assert.equal(await page.getByTestId('history-item').count(), 1);
    });
  });

  test('cancelling a smelt that has finished meanwhile shows the server message', { timeout: 120_000 }, async (t) => {
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      // This page never hears of the first cancellation: the socket's frames stop after the snapshot.
      await page.routeWebSocket(/\/api\/smelts\/[0-9a-f-]{36}\/ws/, (ws) => {
        const upstream = ws.connectToServer();
        upstream.onMessage((message) => {
          if (JSON.parse(String(message)).event === 'snapshot') ws.send(message);
        });
        upstream.onClose(() => {});
      });
      await page.goto('/');
      const id = await startTextSmelt(page, 'Cancelled twice: the second time is one time too many.');
      await waitForStage(page, 'pending', 30_000);
      const token = await keptToken(page, id);
      const first = await page.evaluate(
        async ({ smeltId, tok }) => (await fetch(`/api/smelts/${smeltId}/cancel?token=${encodeURIComponent(tok)}`, { method: 'POST' })).status,
        { smeltId: id, tok: token },
      );
      assert.equal(first, 200);

      const refusal = page.waitForResponse((r) => r.url().includes(`/api/smelts/${id}/cancel`) && r.request().method() === 'POST');
      await page.getByTestId('cancel-smelt').click();
      await page.getByTestId('cancel-confirm').click();
      const response = await refusal;
      assert.equal(response.status(), 409);
      const body = await response.json();
      assert.equal(body.error.code, 'already_finished');
      await page.getByTestId('error').filter({ hasText: body.error.message }).waitFor();
      assert.equal(await page.getByTestId('error').locator('.error-message').textContent(), body.error.message);
      assert.equal(await page.getByTestId('cancel-smelt').isHidden(), true, 'no button for a finished smelt');
    });
  });
});
