import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmeltEventStream } from '../../dist/index.js';
import { FakeClock, fakeFetch, settle } from './fakes.mjs';

function setup({ lastSeq = null, idleTimeoutMs = 0 } = {}) {
  const f = fakeFetch();
  const clock = new FakeClock();
  const events = [];
  const states = [];
  const terminal = [];
  const gaveUp = [];
  const stream = new SmeltEventStream({
    url: (afterSeq) => `http://h/api/smelts/abc/events?token=t${afterSeq === null ? '' : `&after_seq=${afterSeq}`}`,
    onEvent: (m) => events.push(`${m.event}:${m.seq}`),
    onStatus: (s) => states.push(s),
    onTerminalClose: (c) => terminal.push(c),
    onGiveUp: (info) => gaveUp.push(info),
    lastSeq,
    idleTimeoutMs,
    fetch: f.fetch,
    timers: clock,
  }).start();
  return { ...f, clock, events, states, terminal, gaveUp, stream };
}

test('a broken stream is re-opened with Last-Event-ID and replayed events are dropped', async () => {
  const t = setup({ lastSeq: 2 });
  const first = await t.waitFor(1);
  assert.equal(first.url, 'http://h/api/smelts/abc/events?token=t&after_seq=2');
  assert.equal(first.headers['Last-Event-ID'], undefined);
  const s1 = first.stream();
  s1.event('progress', 3);
  s1.event('progress', 4);
  await settle();
  s1.fail();
  await settle();
  assert.equal(t.states.at(-1), 'reconnecting');
  assert.equal(t.clock.next(), 1000);
  const second = await t.waitFor(2);
  assert.equal(second.headers['Last-Event-ID'], '4', 'resumes after the last seq applied');
  const s2 = second.stream();
  s2.event('progress', 4); // replayed
  s2.event('completed', 5, { results: [] });
  await settle();
  assert.deepEqual(t.events, ['progress:3', 'progress:4', 'completed:5']);
  assert.equal(t.states.at(-1), 'closed', 'closed after the final event');
  assert.ok(second.init.signal.aborted, 'the request is aborted rather than left open');
  assert.deepEqual(t.clock.delays(), []);
});

test('a stream the server ends early (slow reader, shutdown) is re-opened', async () => {
  const t = setup();
  const s1 = (await t.waitFor(1)).stream();
  s1.event('snapshot', 7, { status: 'transcribing' });
  s1.end();
  await settle();
  t.clock.next();
  const second = await t.waitFor(2);
  assert.equal(second.headers['Last-Event-ID'], '7');
});

test('a refusal in the error envelope is terminal with the close code of the same meaning', async () => {
  const t = setup();
  (await t.waitFor(1)).respondJson(404, { error: { code: 'not_found', message: 'SMELT NOT FOUND' } });
  await settle();
  assert.equal(t.terminal.length, 1);
  assert.equal(t.terminal[0].code, 4504);
  assert.equal(t.terminal[0].reason, 'SMELT NOT FOUND');
  assert.equal(t.terminal[0].error.status, 404);
  assert.deepEqual(t.gaveUp, []);
  assert.deepEqual(t.clock.delays(), []);
});

test("a proxy's error page or a wrong content type gives up at once", async () => {
  const a = setup();
  (await a.waitFor(1)).respond(502, '<h1>Bad gateway</h1>', { 'Content-Type': 'text/html' });
  await settle();
  assert.deepEqual(a.gaveUp, [{ status: 502, reason: 'HTTP 502' }]);
  assert.deepEqual(a.terminal, []);
  const b = setup();
  (await b.waitFor(1)).respond(200, '<html></html>', { 'Content-Type': 'text/html' });
  await settle();
  assert.equal(b.gaveUp.length, 1);
  assert.match(b.gaveUp[0].reason, /not an event stream/);
});

test('three connections in a row that deliver nothing give up', async () => {
  const t = setup();
  (await t.waitFor(1)).reject();
  await settle();
  t.clock.next();
  (await t.waitFor(2)).stream().end();
  await settle();
  t.clock.next();
  (await t.waitFor(3)).reject();
  await settle();
  assert.equal(t.gaveUp.length, 1);
  assert.equal(t.states.at(-1), 'closed');
  assert.deepEqual(t.clock.delays(), []);
});

test('a connection silent for longer than the idle timeout is re-opened', async () => {
  const t = setup({ idleTimeoutMs: 90_000 });
  const first = await t.waitFor(1);
  const s1 = first.stream();
  s1.event('snapshot', 1, { status: 'pending' });
  await settle();
  s1.comment(); // keep-alive: re-arms the idle timer
  await settle();
  assert.deepEqual(t.clock.delays(), [90_000]);
  t.clock.next(); // nothing for 90 s
  await settle();
  assert.ok(first.init.signal.aborted);
  t.clock.next(); // the reconnect backoff
  const second = await t.waitFor(2);
  assert.equal(second.headers['Last-Event-ID'], '1');
  t.stream.stop();
  assert.deepEqual(t.clock.delays(), []);
});
