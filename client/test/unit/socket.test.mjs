import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmeltSocket, backoffDelay, buildSocketUrl, buildEventsUrl, parseFrame } from '../../dist/index.js';
import { FakeClock, fakeWebSocket, settle } from './fakes.mjs';

test('backoff is 1 s, 2 s, 4 s … capped at 30 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelay(n)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(backoffDelay(2, { baseMs: 500, maxMs: 1500 }), 1500);
});

test('socket and event-stream URLs carry the token and the resume point', () => {
  assert.equal(buildSocketUrl('/api/smelts/abc/ws', 'http://localhost:8080', 't/k+n=', null), 'ws://localhost:8080/api/smelts/abc/ws?token=t%2Fk%2Bn%3D');
  assert.equal(buildSocketUrl('/api/smelts/abc/ws', 'https://smelt.example', 'tok', 17), 'wss://smelt.example/api/smelts/abc/ws?token=tok&after_seq=17');
  assert.equal(buildSocketUrl('/api/smelts/abc/ws', 'http://h', 'tok', 0), 'ws://h/api/smelts/abc/ws?token=tok&after_seq=0');
  assert.equal(buildSocketUrl('/api/ws', 'http://h', null), 'ws://h/api/ws');
  assert.equal(buildEventsUrl('abc', 'http://h', 'tok', 4), 'http://h/api/smelts/abc/events?token=tok&after_seq=4');
  assert.equal(buildEventsUrl('abc', 'http://h', 'tok', null), 'http://h/api/smelts/abc/events?token=tok');
});

test('frames that are not events are ignored, text and bytes alike', () => {
  assert.equal(parseFrame('not json'), null);
  assert.equal(parseFrame(JSON.stringify({ event: 'progress' })), null);
  assert.equal(parseFrame(JSON.stringify({ event: 'subscribed', channel: 'smelt:x' })), null);
  assert.deepEqual(parseFrame(new TextEncoder().encode('{"event":"progress","seq":2,"payload":{}}')), { event: 'progress', seq: 2, payload: {} });
});

function setup(lastSeq = null) {
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const clock = new FakeClock();
  const events = [];
  const states = [];
  const terminal = [];
  const socket = new SmeltSocket({
    url: (afterSeq) => `ws://h/ws?token=t${afterSeq === null ? '' : `&after_seq=${afterSeq}`}`,
    onEvent: (m) => events.push(`${m.event}:${m.seq}`),
    onStatus: (s) => states.push(s),
    onTerminalClose: (c) => terminal.push(c),
    lastSeq,
    WebSocket: FakeWebSocket,
    timers: clock,
  }).start();
  return { socket, sockets, clock, events, states, terminal };
}

test('a finished smelt: snapshot, progress, completed, then 1000 closes without reconnecting', async () => {
  const t = setup();
  await settle();
  assert.equal(t.sockets[0].url, 'ws://h/ws?token=t');
  const ws = t.sockets[0];
  ws.open();
  ws.frame('snapshot', 3, { status: 'transcribing' });
  ws.frame('progress', 4);
  ws.frame('progress', 4); // duplicate
  ws.frame('progress', 2); // stale
  ws.frame('completed', 5);
  ws.serverClose(1000);
  assert.deepEqual(t.events, ['snapshot:3', 'progress:4', 'completed:5']);
  assert.deepEqual(t.states, ['connecting', 'live', 'closed']);
  assert.deepEqual(t.clock.delays(), []);
  assert.equal(t.sockets.length, 1);
});

test('a queue place (progress with seq null) is applied without moving the resume point', async () => {
  assert.deepEqual(parseFrame('{"event":"progress","seq":null,"payload":{"status":"pending"}}'), {
    event: 'progress',
    seq: null,
    payload: { status: 'pending' },
  });
  assert.equal(parseFrame('{"event":"segment","seq":null,"payload":{}}'), null);
  const t = setup();
  await settle();
  const ws = t.sockets[0];
  ws.open();
  ws.frame('snapshot', 3, { status: 'pending' });
  ws.frame('progress', null, { status: 'pending', progress: { queue_position: 2 } });
  ws.frame('progress', null, { status: 'pending', progress: { queue_position: 1 } });
  ws.serverClose(1006);
  t.clock.next();
  await settle();
  assert.equal(t.sockets[1].url, 'ws://h/ws?token=t&after_seq=3');
  assert.deepEqual(t.events, ['snapshot:3', 'progress:null', 'progress:null']);
});

test('a dropped socket reconnects after a backoff with after_seq and replayed events are dropped', async () => {
  const t = setup();
  await settle();
  const ws = t.sockets[0];
  ws.open();
  ws.frame('snapshot', 0);
  ws.frame('progress', 1);
  ws.frame('progress', 2);
  ws.serverClose(1006);
  assert.equal(t.states.at(-1), 'reconnecting');
  assert.equal(t.clock.next(), 1000);
  await settle();
  const ws2 = t.sockets[1];
  assert.equal(ws2.url, 'ws://h/ws?token=t&after_seq=2');
  ws2.open();
  assert.equal(t.states.at(-1), 'live');
  ws2.frame('progress', 2); // replay overlap
  ws2.frame('progress', 3);
  ws2.frame('failed', 4);
  ws2.serverClose(1000);
  assert.deepEqual(t.events, ['snapshot:0', 'progress:1', 'progress:2', 'progress:3', 'failed:4']);
  assert.equal(t.states.at(-1), 'closed');
});

test('connections that fail at once back off 1, 2, 4 … 30 s, and a frame resets the backoff', async () => {
  const t = setup(7);
  await settle();
  const delays = [];
  t.sockets[0].serverClose(1006);
  delays.push(t.clock.next());
  for (let i = 1; i < 7; i++) {
    await settle();
    t.sockets[i].serverClose(1006);
    delays.push(t.clock.next());
  }
  await settle();
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  assert.ok(t.sockets.every((ws) => ws.url.endsWith('after_seq=7')));
  const last = t.sockets.at(-1);
  last.open();
  last.frame('progress', 8);
  last.serverClose(4000);
  assert.equal(t.clock.next(), 1000, 'backoff reset after a frame');
});

test('a 4500–4999 close is terminal: no reconnect, the code and reason are reported', async () => {
  const t = setup();
  await settle();
  t.sockets[0].open();
  t.sockets[0].serverClose(4503, 'FORBIDDEN');
  assert.deepEqual(t.terminal, [{ code: 4503, reason: 'FORBIDDEN' }]);
  assert.equal(t.states.at(-1), 'closed');
  assert.deepEqual(t.clock.delays(), []);
});

test('a snapshot of a finished smelt ends it', async () => {
  const t = setup();
  await settle();
  t.sockets[0].open();
  t.sockets[0].frame('snapshot', 9, { status: 'cancelled' });
  t.sockets[0].serverClose(1000);
  assert.equal(t.states.at(-1), 'closed');
  assert.deepEqual(t.clock.delays(), []);
});

test('a 1000 before the final event reconnects and resumes', async () => {
  const t = setup();
  await settle();
  t.sockets[0].open();
  t.sockets[0].frame('snapshot', 1);
  t.sockets[0].serverClose(1000);
  assert.equal(t.states.at(-1), 'reconnecting');
  t.clock.next();
  await settle();
  assert.equal(t.sockets[1].url, 'ws://h/ws?token=t&after_seq=1');
});

test('stop() closes and cancels a pending reconnect; reconnectNow() skips the wait', async () => {
  const t = setup();
  await settle();
  t.sockets[0].serverClose(1006);
  assert.equal(t.clock.delays().length, 1);
  t.socket.reconnectNow();
  assert.deepEqual(t.clock.delays(), []);
  await settle();
  assert.equal(t.sockets.length, 2);
  t.sockets[1].serverClose(1006);
  t.socket.stop();
  assert.deepEqual(t.clock.delays(), []);
  assert.equal(t.states.at(-1), 'closed');
});

test('malformed frames are ignored', async () => {
  const t = setup();
  await settle();
  const ws = t.sockets[0];
  ws.raw('not json');
  ws.raw(JSON.stringify({ event: 'progress' }));
  ws.frame('progress', 1);
  assert.deepEqual(t.events, ['progress:1']);
});
