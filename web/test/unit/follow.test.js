import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmeltFollower, terminalCloseMessage } from '../../src/follow.js';
import { MultiplexSocket } from '../../src/multiplex.js';
import { FakeTimers } from './fakes.js';

function fakeWebSocket() {
  const sockets = [];
  class FakeWebSocket {
    constructor(url) {
      this.url = url;
      this.sent = [];
      sockets.push(this);
    }
    send(m) {
      this.sent.push(JSON.parse(m));
    }
    close() {
      this.closed = true;
    }
    open() {
      this.onopen?.({});
    }
    msg(event, seq, payload = {}) {
      this.onmessage?.({ data: JSON.stringify({ event, seq, payload }) });
    }
    serverClose(code, reason = '') {
      this.onclose?.({ code, reason });
    }
  }
  return { FakeWebSocket, sockets };
}

const tick = () => new Promise((r) => setImmediate(r));

function follower(credentials) {
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const timers = new FakeTimers();
  const events = [];
  const states = [];
  const terminal = [];
  const asked = [];
  const follow = new SmeltFollower({
    smeltId: 'abc',
    subscriptionUrl: '/api/smelts/abc/ws',
    credentials: async (renew) => (asked.push(Boolean(renew)), credentials(renew)),
    canPoll: () => false,
    fetchSmelt: async () => ({}),
    onEvent: (m) => events.push(`${m.event}:${m.seq}`),
    onConnection: (c) => states.push(`${c.transport}:${c.state}`),
    onTerminal: (c) => terminal.push(c),
    impls: { WebSocket: FakeWebSocket, timers },
  }).start();
  return { follow, sockets, timers, events, states, terminal, asked };
}

test("the smelt page's follower reports events and the connection in the page's shapes", async () => {
  const t = follower(() => ({ token: 'tok', kind: 'subscription' }));
  await tick();
  assert.equal(t.sockets[0].url, 'ws://localhost/api/smelts/abc/ws?token=tok');
  t.sockets[0].open();
  t.sockets[0].msg('snapshot', 1, { id: 'abc', status: 'transcribing' });
  t.sockets[0].msg('completed', 2, { smelt_id: 'abc', status: 'completed', results: [] });
  assert.deepEqual(t.events, ['snapshot:1', 'completed:2']);
  assert.deepEqual(t.states, ['websocket:connecting', 'websocket:live', 'websocket:closed']);
  assert.deepEqual(t.terminal, []);
});

test('a refused subscription token is reported with its close code, without asking for a new one', async () => {
  const t = follower(() => ({ token: 'tok', kind: 'subscription' }));
  await tick();
  t.sockets[0].serverClose(4501, 'unauthorized');
  await tick();
  assert.deepEqual(t.terminal, [{ code: 4501, reason: 'unauthorized' }]);
  assert.deepEqual(t.asked, [false]);
  assert.equal(t.sockets.length, 1);
});

test('a refused access token is renewed once, then the socket reconnects with the fresh one', async () => {
  let n = 0;
  const t = follower((renew) => ({ token: renew ? `fresh-${++n}` : 'stale', kind: 'access' }));
  await tick();
  t.sockets[0].serverClose(4501, 'unauthorized');
  await tick();
  assert.deepEqual(t.asked, [false, true, false]);
  assert.equal(t.sockets.length, 2);
  assert.deepEqual(t.terminal, []);
});

test('after stop() nothing is reported', async () => {
  const t = follower(() => ({ token: 'tok', kind: 'subscription' }));
  await tick();
  t.sockets[0].open();
  t.follow.stop();
  assert.ok(t.sockets[0].closed);
  assert.deepEqual(t.states, ['websocket:connecting', 'websocket:live']);
  assert.equal(t.timers.queue.length, 0);
});

test('terminal close message: machine reasons become sentences, server-style messages pass', () => {
  assert.equal(terminalCloseMessage(4501, 'unauthorized'), "THIS PAGE'S ACCESS TO THE SMELT HAS EXPIRED. START A NEW ONE");
  assert.equal(terminalCloseMessage(4504, 'not found'), 'SMELT NOT FOUND. IT MAY HAVE BEEN DELETED. START A NEW ONE');
  assert.equal(terminalCloseMessage(4503, 'FORBIDDEN'), "YOU CAN'T FOLLOW THIS SMELT. START A NEW ONE");
  assert.equal(terminalCloseMessage(4599, ''), "CAN'T FOLLOW THIS SMELT ANY MORE. START A NEW ONE");
  assert.equal(terminalCloseMessage(4500, 'SMELT WAS DELETED BY ITS OWNER'), 'SMELT WAS DELETED BY ITS OWNER');
});

test("the history page's multiplexed socket opens /api/ws with the page's token and reports its state", async () => {
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const got = [];
  const states = [];
  const live = new MultiplexSocket({
    token: async () => 'access',
    onEvent: (id, m) => got.push(`${id}:${m.event}:${m.seq}`),
    onStateChange: (s) => states.push(s),
    WebSocketImpl: FakeWebSocket,
    timers: new FakeTimers(),
  });
  live.subscribe('a');
  await tick();
  assert.equal(sockets[0].url, 'ws://localhost/api/ws?token=access');
  sockets[0].open();
  assert.deepEqual(sockets[0].sent, [{ type: 'subscribe', channel: 'smelt:a' }]);
  sockets[0].msg('progress', 4, { smelt_id: 'a', status: 'decoding' });
  assert.deepEqual(got, ['a:progress:4']);
  assert.deepEqual(live.subscribed(), ['a']);
  live.stop();
  assert.deepEqual(states, ['connecting', 'live', 'closed']);
});
