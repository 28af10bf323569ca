// A user's own API key against a stub of an OpenAI-compatible provider: the
// server's refusals are shown, a good key makes smelts unlimited, model
// output is rendered without running anything it smuggles in, and the
// history pages through more smelts than fit one page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, launchBrowser, startServer, withPage } from './harness.js';
import { PROCESSING_TIMEOUT, signUp, startProviderStub, startTextSmelt, waitForStage } from './helpers.js';

const GOOD_KEY = 'sk-stub-good-key-7788';

// What a model could answer when the input was crafted to make it echo HTML.
const HOSTILE_MARKDOWN = [
  '# Meeting notes',
  '',
  'The **budget** was approved.',
  '',
  '<img src="x" onerror="window.__xss = (window.__xss || 0) + 1">',
  '',
  '<script>window.__xss = (window.__xss || 0) + 10</script>',
  '',
  '[open me](javascript:window.__xss=100) and <a href="https://example.com/report" onclick="window.__xss=1000">the report</a>',
  '',
  '<iframe src="javascript:parent.__xss=5"></iframe><svg><animate onbegin="window.__xss=7" attributeName="x"></animate></svg>',
  '',
  '- [ ] Send the minutes',
].join('\n');

describe('own API key', () => {
  let server;
  let browser;
  let provider;

  before(async () => {
    [server, browser, provider] = await Promise.all([startServer(), launchBrowser(), startProviderStub({ goodKey: GOOD_KEY, reply: HOSTILE_MARKDOWN })]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await provider?.close();
  });

  test('the key form shows the server refusals, then saves a good key: status, last four, unlimited badge, removal', { timeout: 120_000 }, async (t) => {
    await withPage({ browser, server, name: t.name }, async ({ page }) => {
      page.on('dialog', (d) => d.accept());
      await signUp(page);
      await page.getByTestId('nav-account').click();
      const status = page.getByTestId('api-key-status');
      await status.filter({ hasText: 'No key saved' }).waitFor();
      const error = page.getByTestId('api-key-error');

      // The provider refuses the key: the server answers 400 api_key_invalid.
      await page.getByLabel('API key', { exact: true }).fill('sk-wrong-key-0000');
      await page.getByLabel('Base URL (optional)').fill(provider.baseUrl);
      const refused = page.waitForResponse((r) => r.url().endsWith('/api/profile/api-key'));
      await page.getByTestId('api-key-save').click();
      const refusedBody = await (await refused).json();
      assert.equal(refusedBody.error.code, 'api_key_invalid');
      await error.filter({ hasText: refusedBody.error.message }).waitFor();
      assert.equal(await error.textContent(), 'API KEY INVALID');
      assert.ok(provider.requests.some((r) => r.path === '/v1/models' && r.auth === 'Bearer sk-wrong-key-0000'), 'the server checked the key with the provider');

      // Nobody answers at the base URL.
      const closed = await freePort();
      await page.getByLabel('API key', { exact: true }).fill(GOOD_KEY);
      await page.getByLabel('Base URL (optional)').fill(`http://127.0.0.1:${closed}/v1`);
      await page.getByTestId('api-key-save').click();
      await error.filter({ hasText: "COULDN'T CHECK THAT KEY. CHECK THE BASE URL AND TRY AGAIN" }).waitFor();

      // A key the provider accepts.
      await page.getByLabel('API key', { exact: true }).fill(GOOD_KEY);
      await page.getByLabel('Base URL (optional)').fill(provider.baseUrl);
      await page.getByTestId('api-key-save').click();
      await status.filter({ hasText: 'Key saved and working (ends in 7788)' }).waitFor();
      await error.waitFor({ state: 'hidden' });
      assert.equal(await page.getByLabel('API key', { exact: true }).inputValue(), '', 'the key is not kept in the form');
      await page.getByTestId('credits').filter({ hasText: 'Unlimited with your API key' }).waitFor();
      assert.ok(!(await page.content()).includes(GOOD_KEY), 'the key is never shown');

      await page.getByTestId('api-key-remove').click();
      await status.filter({ hasText: 'No key saved' }).waitFor();
      await page.getByTestId('credits').filter({ hasText: '5 of 5 left this week' }).waitFor();
    });
  });

  test('markdown from the model is rendered safely: no script, handler or javascript: link runs', { timeout: PROCESSING_TIMEOUT }, async (t) => {
    await withPage({ browser, server, name: t.name }, async ({ page }) => {
      await signUp(page);
      const ok = await page.evaluate(async ({ key, base }) => {
        const { accessToken } = JSON.parse(localStorage.getItem('smelt.session'));
        const res = await fetch('/api/profile/api-key', { method: 'PUT', headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ api_key: key, base_url: base }) });
        return res.status;
      }, { key: GOOD_KEY, base: provider.baseUrl });
      assert.equal(ok, 200);

      const frames = [];
      page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
      await page.getByTestId('nav-create').click();
      await startTextSmelt(page, 'Please summarise the budget meeting. The budget was approved and the minutes will be sent.', { prompts: ['summarize'] });
      await waitForStage(page, 'completed');
      assert.ok(frames.some((f) => f.includes('<script>') && f.includes('onerror')), 'the hostile markup really reached the page');

      const body = page.getByTestId('result-content');
      await body.locator('strong', { hasText: 'budget' }).waitFor();
      assert.equal(await body.locator('script, iframe, [onerror], [onclick], [onbegin]').count(), 0);
      const hrefs = await body.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      assert.ok(hrefs.every((h) => h === null || /^https:/.test(h)), `only safe links: ${hrefs}`);
      assert.equal(await body.locator('a[href="https://example.com/report"]').getAttribute('rel'), 'noopener noreferrer nofollow');
      assert.equal(await body.locator('input[type="checkbox"]').isDisabled(), true);
      // Give any handler its chance: an image error fires after load.
      await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
      assert.equal(await page.evaluate(() => window.__xss), undefined, 'nothing from the content ran');
    });
  });

  test('history shows 10 smelts a page and pages through the rest', { timeout: PROCESSING_TIMEOUT }, async (t) => {
    await withPage({ browser, server, name: t.name }, async ({ page }) => {
      await signUp(page);
      // With a valid own key smelts are unlimited: make 12 through the API.
      const created = await page.evaluate(async ({ key, base }) => {
        const { accessToken } = JSON.parse(localStorage.getItem('smelt.session'));
        const auth = { Authorization: `Bearer ${accessToken}` };
        await fetch('/api/profile/api-key', { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ api_key: key, base_url: base }) });
        const ids = [];
        for (let i = 1; i <= 12; i++) {
          const form = new FormData();
          form.append('text', `Note ${i}. Nothing else to say.`);
          form.append('mode', 'separate');
          const res = await fetch('/api/smelts', { method: 'POST', headers: auth, body: form });
          ids.push((await res.json()).id);
        }
        return ids;
      }, { key: GOOD_KEY, base: provider.baseUrl });
      assert.equal(created.length, 12);

      await page.getByTestId('nav-history').click();
      await page.getByTestId('history-item').nth(9).waitFor();
      assert.equal(await page.getByTestId('history-item').count(), 10);
      await page.getByTestId('history-page').filter({ hasText: 'Page 1 of 2 · 12 smelts' }).waitFor();
      // Newest first: the last one created leads.
      assert.equal(await page.getByTestId('history-item').first().getAttribute('data-smelt-id'), created[11]);

      await page.getByTestId('history-next').click();
      await page.getByTestId('history-page').filter({ hasText: 'Page 2 of 2' }).waitFor();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-item"]').length === 2);
      assert.deepEqual(await page.getByTestId('history-item').evaluateAll((els) => els.map((e) => e.dataset.smeltId)), [created[1], created[0]]);
      assert.equal(await page.getByTestId('history-next').getAttribute('aria-disabled'), 'true');

      await page.getByTestId('history-prev').click();
      await page.getByTestId('history-page').filter({ hasText: 'Page 1 of 2' }).waitFor();
      assert.match(page.url(), /#\/history$/);
    });
  });
});
