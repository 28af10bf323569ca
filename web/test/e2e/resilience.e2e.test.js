// Connection trouble: a dropped socket resumes with after_seq; a network
// that refuses WebSockets falls back to Server-Sent Events; signed-in users
// whose network refuses both are served by REST polling.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedSuite, withPage } from './harness.js';
import { PROCESSING_TIMEOUT, readProgress, recordProgress, resultText, signUp, speak, startTextSmelt, waitForStage, wordCoverage } from './helpers.js';

const SMELT_SOCKET = /\/api\/smelts\/[0-9a-f-]{36}\/ws/;

describe('connection trouble', () => {
  const suite = sharedSuite();

  test('a socket dropped mid-smelt reconnects with after_seq and nothing is lost or repeated', { timeout: PROCESSING_TIMEOUT + 60_000 }, async (t) => {
    const wav = await speak(suite.dir, 'harbour.wav', [
      'The ferry to the island leaves the harbour at half past eight.',
      'Bring warm jackets because the wind on the deck is strong.',
      'Lunch is served at the lighthouse cafe, and the return trip starts at four.',
    ].join(' '));
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      await recordProgress(page);
      const connections = [];
      const seqs = []; // per connection, the seqs the page was sent
      await page.routeWebSocket(SMELT_SOCKET, (ws) => {
        const index = connections.push(ws.url()) - 1;
        seqs[index] = [];
        const upstream = ws.connectToServer();
        let cut = false;
        upstream.onMessage((message) => {
          if (cut) return;
          const frame = JSON.parse(String(message));
          ws.send(message);
          seqs[index].push(frame.seq);
          // Drop the first connection right after its first progress event, like a
          // server closing a slow consumer (4000: reconnect with after_seq).
          if (index === 0 && frame.event === 'progress') {
            cut = true;
            ws.close({ code: 4000, reason: 'slow consumer' });
            upstream.close();
          }
        });
        upstream.onClose((code, reason) => {
          if (!cut) ws.close({ code, reason });
        });
      });
      await page.goto('/');
      await page.getByTestId('file-input').setInputFiles(wav);
      await page.getByTestId('submit').click();
      await waitForStage(page, 'completed');

      assert.ok(connections.length >= 2, `reconnected: ${connections}`);
      assert.doesNotMatch(connections[0], /after_seq/, 'the first connection asks for a snapshot');
      const resumeFrom = Number(new URL(connections[1]).searchParams.get('after_seq'));
      assert.equal(resumeFrom, seqs[0].at(-1), `resumed after the last seq received: ${connections[1]}`);
      assert.equal(seqs[1][0], resumeFrom + 1, 'the replay starts right after it: no gap, no duplicate');
      const values = (await readProgress(page)).map((p) => p.value);
      assert.deepEqual(values, [...values].sort((a, b) => a - b), `no step backwards: ${values}`);
      const coverage = wordCoverage(await resultText(page), ['ferry', 'island', 'harbour', 'jackets', 'wind', 'lunch', 'lighthouse', 'return']);
      assert.ok(coverage.share >= 0.6, `transcript complete (missing ${coverage.missing})`);
    });
  });

  test('when WebSockets are refused the page falls back to server-sent events', { timeout: PROCESSING_TIMEOUT }, async (t) => {
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      let refused = 0;
      await page.routeWebSocket(SMELT_SOCKET, (ws) => {
        refused++;
        ws.close({ code: 1011, reason: 'no websockets here' });
      });
      const sse = page.waitForRequest((r) => /\/api\/smelts\/[0-9a-f-]{36}\/events\?token=/.test(r.url()), { timeout: 60_000 });
      await page.goto('/');
      await startTextSmelt(page, 'This smelt travels over an event stream. The proxy refuses WebSockets. The notes still arrive.');
      await sse;
      await page.locator('[data-testid="connection-state"][data-transport="sse"]').waitFor({ state: 'attached' });
      await waitForStage(page, 'completed');
      assert.equal(refused, 3, 'three refused sockets before falling back');
      assert.match(await resultText(page), /event stream/i);
    });
  });

  test('a signed-in user whose network refuses WebSockets and event streams gets progress by polling', { timeout: PROCESSING_TIMEOUT }, async (t) => {
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      await signUp(page);
      await page.routeWebSocket(SMELT_SOCKET, (ws) => ws.close({ code: 1011, reason: 'no websockets here' }));
      await page.route(/\/api\/smelts\/[0-9a-f-]{36}\/events/, (route) => route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>Bad gateway</h1>' }));
      await page.getByTestId('nav-create').click();
      const id = await startTextSmelt(page, 'Polling is the last resort. It still delivers the notes. Nobody notices the difference.');
      await page.waitForRequest((r) => r.method() === 'GET' && new URL(r.url()).pathname === `/api/smelts/${id}`, { timeout: 60_000 });
      await page.locator('[data-testid="connection-state"][data-transport="polling"]').waitFor({ state: 'attached' });
      await waitForStage(page, 'completed');
      assert.match(await resultText(page), /last resort/i);
    });
  });
});
