// The harness's own promise: each browser context is a client address of its
// own, for HTTP and for WebSocket handshakes alike (X-Forwarded-For from
// extraHTTPHeaders, believed from the trusted 127.0.0.1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, startServer, withPage } from './harness.js';

/** Opens /api/ws from the page and reports whether the server accepted it. */
function openSocket(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/api/ws`);
        ws.onopen = () => {
          ws.close();
          resolve('open');
        };
        ws.onerror = () => resolve('refused');
      }),
  );
}

describe('test harness', () => {
  let server;
  let browser;

  before(async () => {
    // Two socket connects per minute per address, so the limit shows whose address counted.
    [server, browser] = await Promise.all([startServer({ SMELT_RATE_WS_PER_MIN: '2' }), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('each browser context is its own client address for HTTP and WebSockets', { timeout: 60_000 }, async (t) => {
    await withPage({ browser, server, name: `${t.name} (first visitor)` }, async ({ page: first }) => {
      await first.goto('/');
      assert.deepEqual([await openSocket(first), await openSocket(first), await openSocket(first)], ['open', 'open', 'refused'], "the first visitor's third connect is over its limit");
      await withPage({ browser, server, name: `${t.name} (second visitor)` }, async ({ page: second }) => {
        await second.goto('/');
        assert.equal(await openSocket(second), 'open', 'a second visitor has its own budget');
        // HTTP: the anonymous daily credit is per address as well.
        const smelt = async (page) =>
          page.evaluate(async () => {
            const form = new FormData();
            form.append('text', 'One smelt per visitor and day.');
            form.append('mode', 'separate');
            return (await fetch('/api/smelts', { method: 'POST', body: form })).status;
          });
        assert.equal(await smelt(first), 201);
        assert.equal(await smelt(first), 403, 'the same visitor is refused a second one');
        assert.equal(await smelt(second), 201, 'another visitor is not');
      });
    });
  });
});
