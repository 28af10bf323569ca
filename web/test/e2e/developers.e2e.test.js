// The account page's Developers section: a service key's secret is shown once
// and can be copied, the key is listed by its prefix and can be revoked; a
// webhook's signing secret is shown once, a smelt that completes reaches a
// local receiver, and the webhook's delivery log shows the delivery.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { sharedSuite, withPage } from './harness.js';
import { PROCESSING_TIMEOUT, signUp } from './helpers.js';

/**
 * A webhook receiver on 127.0.0.1 that records every request and answers 204.
 * @returns {Promise<{url: string, received: object[], firstPost: (timeoutMs: number) => Promise<{method: string, path: string, headers: object, body: string}>, close: () => Promise<void>}>}
 */
async function startReceiver() {
  const received = [];
  const waiting = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const hit = { method: req.method, path: req.url, headers: req.headers, body };
      received.push(hit);
      res.writeHead(204).end();
      if (req.method === 'POST') for (const resolve of waiting.splice(0)) resolve(hit);
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    firstPost(timeoutMs) {
      const done = received.find((r) => r.method === 'POST');
      if (done) return Promise.resolve(done);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no webhook POST within ${timeoutMs} ms`)), timeoutMs);
        waiting.push((hit) => {
          clearTimeout(timer);
          resolve(hit);
        });
      });
    },
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

/** The access token the page keeps for the signed-in user. */
function accessToken(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem('smelt.session')).accessToken);
}

/**
 * Clicks a webhook's Refresh until `locator` matches (each round waits until
 * the delivery log has loaded), or fails after `timeoutMs`.
 * @param {import('playwright-core').Locator} item the webhook's list item
 */
async function refreshUntil(item, locator, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  const loaded = item.locator('[data-testid="webhook-deliveries"]:not([aria-busy])');
  for (;;) {
    await loaded.waitFor();
    if ((await locator.count()) > 0) return;
    if (Date.now() > deadline) throw new Error('the delivery did not show up in the log');
    await loaded.getByTestId('webhook-deliveries-refresh').click();
  }
}

describe('developers section', () => {
  // The receiver is a plain-http loopback address, which only a listed host may be.
  const suite = sharedSuite({ env: { SMELT_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } });

  test('a service key is shown once, copies, is listed by its prefix and can be revoked', { timeout: 120_000 }, async (t) => {
    await withPage({ ...suite, name: t.name, contextOptions: { permissions: ['clipboard-read', 'clipboard-write'] } }, async ({ page }) => {
      const dialogs = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        d.accept();
      });
      await signUp(page);
      await page.getByTestId('nav-account').click();
      await page.getByTestId('key-empty').waitFor();
      assert.equal(await page.getByTestId('key-scope-smelts-write').isChecked(), true);
      assert.equal(await page.getByTestId('key-scope-smelts-read').isChecked(), true);
      assert.equal(await page.getByTestId('key-scope-webhooks').isChecked(), false);

      // Checked in the page first, with the server's wording.
      await page.getByTestId('key-create').click();
      await page.getByTestId('keys-error').filter({ hasText: 'NAME MUST BE 1 TO 100 CHARACTERS' }).waitFor();

      const name = 'nightly <b>report</b>';
      await page.getByTestId('key-name').fill(name);
      await page.getByTestId('key-scope-webhooks').check();
      await page.getByTestId('key-expires').fill('2099-12-31');
      const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/keys' && r.request().method() === 'POST');
      await page.getByTestId('key-create').click();
      const response = await answer;
      assert.equal(response.status(), 201);
      const key = await response.json();
      assert.deepEqual(key.scopes.toSorted(), ['smelts:read', 'smelts:write', 'webhooks']);
      // The end of 31 December in the browser's time zone, sent in UTC.
      assert.match(key.expires_at, /^(2099-12-31|2100-01-01)T/);
      await page.getByTestId('keys-error').waitFor({ state: 'hidden' });

      // The secret, once, read-only, with the warning.
      const field = page.getByTestId('key-secret-value');
      await field.waitFor();
      const secret = await field.inputValue();
      assert.equal(secret, key.secret);
      assert.match(secret, /^ck_\S{43}$/);
      assert.ok(secret.startsWith(key.prefix));
      assert.equal(await field.evaluate((el) => el.readOnly), true);
      assert.match(await page.getByTestId('key-secret').textContent(), /you will not see it again/);

      await page.getByTestId('key-secret-copy').click();
      await page.getByTestId('key-secret-copied').filter({ hasText: 'Copied' }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);

      // Listed, its name as text (never markup), by prefix only.
      const item = page.locator(`[data-testid="key-item"][data-key-id="${key.id}"]`);
      await item.waitFor();
      assert.equal(await item.getByTestId('key-item-name').textContent(), name);
      assert.equal(await item.locator('b').count(), 0);
      assert.equal(await item.getByTestId('key-item-prefix').textContent(), `${key.prefix}…`);
      assert.equal(await item.getByTestId('key-item-state').textContent(), 'Active');
      assert.equal(await item.getByTestId('key-item-last-used').textContent(), 'never');
      assert.match(await item.getByTestId('key-item-scopes').textContent(), /smelts:read.*smelts:write.*webhooks/);
      assert.match(await item.getByTestId('key-item-expires').textContent(), /2099/);

      // The key works; after a reload the secret is gone, the key is still there, now used.
      const used = await page.request.get('/api/smelts?limit=1', { headers: { Authorization: `Bearer ${secret}` } });
      assert.equal(used.status(), 200);
      await page.reload();
      await item.waitFor();
      assert.equal(await page.getByTestId('key-secret').isHidden(), true);
      assert.equal(await page.getByTestId('key-secret-value').count(), 0);
      assert.equal((await page.content()).includes(secret), false, 'the secret is nowhere on the page');
      assert.equal(await item.getByTestId('key-item-prefix').textContent(), `${key.prefix}…`);
      assert.notEqual(await item.getByTestId('key-item-last-used').textContent(), 'never');

      // Revoked after a confirmation: marked so, without a Revoke button, and refused by the server.
      await item.getByTestId('key-revoke').click();
      await page.locator(`[data-testid="key-item"][data-key-id="${key.id}"][data-state="revoked"]`).waitFor();
      assert.match(dialogs.at(-1), /^Revoke the key “nightly <b>report<\/b>”\?/);
      assert.equal(await item.getByTestId('key-item-state').textContent(), 'Revoked');
      assert.equal(await item.getByTestId('key-revoke').count(), 0);
      assert.notEqual(await item.getByTestId('key-item-revoked').textContent(), '—');
      const refused = await page.request.get('/api/smelts?limit=1', { headers: { Authorization: `Bearer ${secret}` } });
      assert.equal(refused.status(), 401);
      // Still listed after a reload, as revoked.
      await page.reload();
      await page.locator(`[data-testid="key-item"][data-key-id="${key.id}"][data-state="revoked"]`).waitFor();
    });
  });

  test('a webhook gets a completed smelt and its delivery log shows it delivered', { timeout: PROCESSING_TIMEOUT + 120_000 }, async (t) => {
    const receiver = await startReceiver();
    try {
      await withPage({ ...suite, name: t.name, contextOptions: { permissions: ['clipboard-read', 'clipboard-write'] } }, async ({ page }) => {
        const dialogs = [];
        page.on('dialog', (d) => {
          dialogs.push(d.message());
          d.accept();
        });
        await signUp(page);
        await page.getByTestId('nav-account').click();
        await page.getByTestId('webhook-empty').waitFor();

        const url = `${receiver.url}/hooks/smelt`;
        await page.getByTestId('webhook-url').fill(url);
        const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/webhooks' && r.request().method() === 'POST');
        await page.getByTestId('webhook-add').click();
        const response = await answer;
        assert.equal(response.status(), 201);
        const hook = await response.json();

        // The signing secret, once, with Copy.
        const field = page.getByTestId('webhook-secret-value');
        await field.waitFor();
        const secret = await field.inputValue();
        assert.equal(secret, hook.secret);
        assert.match(secret, /^whsec_[A-Za-z0-9+/=]+$/);
        assert.match(await page.getByTestId('webhook-secret').textContent(), /you will not see it again/);
        await page.getByTestId('webhook-secret-copy').click();
        await page.getByTestId('webhook-secret-copied').filter({ hasText: 'Copied' }).waitFor();
        assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);

        const item = page.locator(`[data-testid="webhook-item"][data-webhook-id="${hook.id}"]`);
        await item.waitFor();
        assert.equal(await item.getByTestId('webhook-item-url').textContent(), url);
        await page.reload();
        await item.waitFor();
        assert.equal(await page.getByTestId('webhook-secret-value').count(), 0);
        assert.equal((await page.content()).includes(secret), false, 'the secret is nowhere on the page');

        // Nothing delivered yet.
        const toggle = item.getByTestId('webhook-deliveries-toggle');
        await toggle.click();
        assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
        const panel = item.getByTestId('webhook-deliveries');
        await panel.getByTestId('delivery-empty').waitFor();

        // A text smelt through the API, as the signed-in user.
        const created = await page.request.post('/api/smelts', {
          headers: { Authorization: `Bearer ${await accessToken(page)}` },
          multipart: { text: 'The garden committee meets on Thursday. Sam brings the seeds. The shed needs a new lock.' },
        });
        assert.equal(created.status(), 201, await created.text());
        const smelt = await created.json();

        // The receiver gets the thin, signed notice once the smelt completes.
        const post = await receiver.firstPost(PROCESSING_TIMEOUT);
        assert.equal(post.path, '/hooks/smelt');
        assert.match(post.headers['content-type'] || '', /^application\/json/);
        const notice = JSON.parse(post.body);
        assert.equal(notice.type, 'smelt.completed', post.body);
        assert.equal(notice.data.smelt_id, smelt.id);
        assert.equal(notice.data.status, 'completed');
        const { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures } = post.headers;
        const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
        const expected = `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${post.body}`).digest('base64')}`;
        assert.ok(signatures.split(' ').includes(expected), 'signed with the secret shown once');

        // The log shows it as delivered (the server records the 204 right after it arrives).
        const delivered = panel.locator('[data-testid="delivery-item"][data-status="delivered"]');
        await refreshUntil(item, delivered, 60_000);
        assert.equal(await delivered.count(), 1);
        assert.equal(await delivered.getAttribute('data-delivery-id'), id, 'the log names the webhook-id the receiver got');
        assert.equal(await delivered.getByTestId('delivery-event').textContent(), 'Smelt completed');
        assert.equal(await delivered.getByTestId('delivery-status').textContent(), 'Delivered');
        assert.equal(await delivered.getByTestId('delivery-attempts').textContent(), '1 attempt');
        assert.equal(await delivered.getByTestId('delivery-last-answer').textContent(), 'HTTP 204');
        assert.notEqual(await delivered.getByTestId('delivery-delivered').textContent(), 'not yet');
        assert.equal(await delivered.getByRole('link', { name: 'Open the smelt' }).getAttribute('href'), `#/smelts/${smelt.id}`);

        // Closing and opening the log loads it again.
        await toggle.click();
        assert.equal(await panel.isHidden(), true);
        await toggle.click();
        await delivered.waitFor();

        // Removed after a confirmation.
        await item.getByTestId('webhook-remove').click();
        await page.getByTestId('webhook-empty').waitFor();
        assert.match(dialogs.at(-1), /^Remove the webhook http:\/\/127\.0\.0\.1:\d+\/hooks\/smelt\?/);
        const list = await page.request.get('/api/webhooks', { headers: { Authorization: `Bearer ${await accessToken(page)}` } });
        assert.deepEqual((await list.json()).webhooks, []);
        assert.equal(receiver.received.filter((r) => r.method === 'POST').length, 1, 'one delivery for one smelt');
      });
    } finally {
      await receiver.close();
    }
  });

  test('a webhook URL the server refuses shows its message', { timeout: 60_000 }, async (t) => {
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      await signUp(page);
      await page.getByTestId('nav-account').click();
      await page.getByTestId('webhook-empty').waitFor();
      // Not a listed host and not https: refused by the server, shown verbatim.
      await page.getByTestId('webhook-url').fill('http://10.1.2.3/hooks');
      await page.getByTestId('webhook-add').click();
      await page.getByTestId('webhooks-error').filter({ hasText: 'WEBHOOK URL MUST BE HTTPS TO A PUBLIC ADDRESS' }).waitFor();
      assert.equal(await page.getByTestId('webhook-secret').isHidden(), true);
      await page.getByTestId('webhook-empty').waitFor();
    });
  });
});
