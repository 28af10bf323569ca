import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultiplexSocket, SmeltClient, smeltIdOf } from '../../dist/index.js';
import { FakeClock, fakeWebSocket, settle } from './fakes.mjs';

function setup(token = async () => 'access') {
  const ws = fakeWebSocket();
  const clock = new FakeClock();
  const got = [];
  const errors = [];
  const states = [];
  const terminal = [];
  const mux = new MultiplexSocket({
    baseUrl: 'http://h',
    token,
    onEvent: (id, e) => got.push(`${id}:${e.event}:${e.seq}`),
    onChannelError: (id, e) => errors.push({ id, ...e }),
    onStatus: (s) => states.push(s),
    onTerminalClose: (c) => terminal.push(c),
    WebSocket: ws.FakeWebSocket,
    timers: clock,
  });
  return { ...ws, clock, got, errors, states, terminal, mux };
}

test('each smelt is subscribed once, frames are routed by the payload id, and a drop resubscribes with after_seq', async () => {
  const t = setup();
  t.mux.subscribe('a');
  t.mux.subscribe('b');
  t.mux.subscribe('a');
  await settle();
  assert.equal(t.sockets.length, 1);
  assert.equal(t.sockets[0].url, 'ws://h/api/ws?token=access');
  const ws = t.sockets[0];
  ws.open();
  assert.deepEqual(ws.sent, [
    { type: 'subscribe', channel: 'smelt:a' },
    { type: 'subscribe', channel: 'smelt:b' },
  ]);
  ws.raw(JSON.stringify({ event: 'subscribed', channel: 'smelt:a' }));
  ws.frame('snapshot', 3, { id: 'a', status: 'transcribing' });
  ws.frame('progress', 4, { smelt_id: 'a', status: 'transcribing' });
  ws.frame('progress', 4, { smelt_id: 'a', status: 'transcribing' });
  ws.frame('snapshot', 1, { id: 'b', status: 'pending' });
  ws.frame('completed', 5, { smelt_id: 'a', status: 'completed', results: [] });
  ws.frame('progress', 9, { smelt_id: 'stranger' });
  assert.deepEqual(t.got, ['a:snapshot:3', 'a:progress:4', 'b:snapshot:1', 'a:completed:5']);
  assert.deepEqual(t.mux.subscribed(), ['b'], 'a finished channel is dropped');
  ws.serverClose(4001);
  assert.equal(t.states.at(-1), 'reconnecting');
  assert.equal(t.clock.next(), 1000);
  await settle();
  t.sockets[1].open();
  assert.deepEqual(t.sockets[1].sent, [{ type: 'subscribe', channel: 'smelt:b', after_seq: 1 }]);
  t.mux.unsubscribe('b');
  assert.deepEqual(t.sockets[1].sent.at(-1), { type: 'unsubscribe', channel: 'smelt:b' });
  assert.equal(smeltIdOf({ payload: { id: 'x' } }), 'x');
});

test('a channel with its own subscription token sends it, and a refused channel is dropped', async () => {
  const t = setup(null);
  t.mux.subscribe('a', { token: 'sub-a' });
  t.mux.subscribe('b', { afterSeq: 7 });
  await settle();
  assert.equal(t.sockets[0].url, 'ws://h/api/ws');
  t.sockets[0].open();
  assert.deepEqual(t.sockets[0].sent, [
    { type: 'subscribe', channel: 'smelt:a', token: 'sub-a' },
    { type: 'subscribe', channel: 'smelt:b', after_seq: 7 },
  ]);
  t.sockets[0].raw(JSON.stringify({ event: 'error', channel: 'smelt:b', code: 4501, message: 'INVALID OR EXPIRED TOKEN' }));
  assert.deepEqual(t.errors, [{ id: 'b', code: 4501, message: 'INVALID OR EXPIRED TOKEN' }]);
  assert.deepEqual(t.mux.subscribed(), ['a']);
});

test('a 4501 close renews the access token once; a second refusal closes for good', async () => {
  const asked = [];
  const t = setup(({ renew }) => (asked.push(renew), renew ? 'fresh' : 'old'));
  t.mux.subscribe('a');
  await settle();
  t.sockets[0].serverClose(4501, 'unauthorized');
  await settle();
  assert.equal(t.sockets[1].url, 'ws://h/api/ws?token=fresh');
  t.sockets[1].serverClose(4501, 'unauthorized');
  await settle();
  assert.deepEqual(asked, [false, true]);
  assert.equal(t.sockets.length, 2);
  assert.deepEqual(t.terminal, [{ code: 4501, reason: 'unauthorized' }]);
  assert.equal(t.mux.status, 'closed');
  assert.deepEqual(t.clock.delays(), []);
});

test('without channels a dropped socket stays idle until the next subscribe', async () => {
  const t = setup();
  t.mux.subscribe('a');
  await settle();
  t.sockets[0].open();
  t.mux.unsubscribe('a');
  t.sockets[0].serverClose(1006);
  assert.equal(t.mux.status, 'idle');
  assert.deepEqual(t.clock.delays(), []);
  t.mux.subscribe('b');
  await settle();
  assert.equal(t.sockets.length, 2);
});

test("the client's multiplex() opens /api/ws with the client's access token", async () => {
  const ws = fakeWebSocket();
  const client = new SmeltClient({ baseUrl: 'https://smelt.example', accessToken: 'acc', WebSocket: ws.FakeWebSocket, timers: new FakeClock() });
  const mux = client.multiplex({ onEvent: () => {} });
  mux.subscribe('x');
  await settle();
  assert.equal(ws.sockets[0].url, 'wss://smelt.example/api/ws?token=acc');
  mux.close();
  assert.deepEqual(ws.sockets[0].closedByClient, { code: 1000, reason: 'client done' });
});
