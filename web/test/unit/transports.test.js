import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmeltFollower } from '../../src/follow.js';
import { MultiplexSocket, smeltIdOf } from '../../src/multiplex.js';
import { SmeltPoller } from '../../src/poller.js';
import { buildEventsUrl } from '../../src/sse.js';
import { FakeTimers } from './fakes.js';


function fakes() {
  const sockets = [];
  const sources = [];
  class FakeWebSocket {
    constructor(url) {
      this.url = url;
      this.sent = [];
      sockets.push(this);
    }
    send(m) {
      this.sent.push(JSON.parse(m));
    }
    open() {
      this.onopen?.({});
    }
    msg(value) {
      this.onmessage?.({ data: JSON.stringify(value) });
    }
    serverClose(code) {
      this.onclose?.({ code, reason: '' });
    }
    close() {
      this.closed = true;
    }
  }
  class FakeEventSource {
    constructor(url) {
      this.url = url;
      this.listeners = {};
      this.readyState = 0;
      sources.push(this);
    }
    addEventListener(kind, fn) {
      this.listeners[kind] = fn;
    }
    emit(kind, seq, payload = {}) {
      this.listeners[kind]?.({ data: JSON.stringify({ event: kind, seq, payload }) });
    }
    fail(closed) {
      this.readyState = closed ? 2 : 0;
      this.onerror?.({});
    }
    close() {
      this.closed = true;
    }
  }
  return { sockets, sources, FakeWebSocket, FakeEventSource };
}

const tick = () => new Promise((r) => setImmediate(r));

function follower({ canPoll = false, fetchSmelt = async () => ({}) } = {}) {
  const f = fakes();
  const timers = new FakeTimers();
  const events = [];
  const states = [];
  const terminal = [];
  const follow = new SmeltFollower({
    smeltId: 'abc',
    subscriptionUrl: '/api/smelts/abc/ws',
    credentials: async () => ({ token: 'tok', kind: 'subscription' }),
    canPoll: () => canPoll,
    fetchSmelt,
    onEvent: (m) => events.push(`${m.event}:${m.seq}`),
    onConnection: (c) => states.push(`${c.transport}:${c.state}`),
    onTerminal: (c) => terminal.push(c),
    impls: { WebSocket: f.FakeWebSocket, EventSource: f.FakeEventSource, timers },
  }).start();
  return { ...f, timers, events, states, terminal, follow };
}

test('SSE URLs carry the token and the resume point', () => {
  assert.equal(buildEventsUrl('abc', 't k', null, 'http://h/'), 'http://h/api/smelts/abc/events?token=t+k');
  assert.equal(buildEventsUrl('abc', 'tok', 4, 'https://h/x'), 'https://h/api/smelts/abc/events?token=tok&after_seq=4');
});

test('three sockets that deliver nothing lead to SSE, which resumes after the last seq', async () => {
  const t = follower();
  await tick();
  const first = t.sockets[0];
  first.open();
  first.msg({ event: 'snapshot', seq: 2, payload: { status: 'transcribing' } });
  first.serverClose(1006);
  for (let i = 1; i <= 3; i++) {
    t.timers.runNext();
    await tick();
    t.sockets[i].serverClose(1006); // refused before any frame
  }
  await tick();
  assert.equal(t.sources.length, 1, 'fell back to SSE');
  assert.equal(t.sources[0].url, 'http://localhost/api/smelts/abc/events?token=tok&after_seq=2');
  t.sources[0].onopen?.();
  t.sources[0].emit('progress', 2); // already applied
  t.sources[0].emit('progress', 3);
  t.sources[0].emit('completed', 4, { results: [] });
  assert.deepEqual(t.events, ['snapshot:2', 'progress:3', 'completed:4']);
  assert.ok(t.sources[0].closed, 'closed after the last event');
  assert.ok(t.states.includes('sse:live'));
});

test('when SSE fails too, signed-in users poll the REST API until the smelt ends', async () => {
  const answers = [{ status: 'synthesizing', progress: { percentage: 80 } }, { status: 'completed', results: [] }];
  const t = follower({ canPoll: true, fetchSmelt: async () => answers.shift() });
  for (let i = 0; i < 3; i++) {
    await tick();
    t.sockets[i].serverClose(1006);
    if (i < 2) t.timers.runNext();
  }
  await tick();
  t.sources[0].fail(true); // HTTP error: the browser won't retry
  await tick();
  assert.deepEqual(t.events, ['snapshot:null']);
  t.timers.runNext();
  await tick();
  assert.deepEqual(t.events, ['snapshot:null', 'snapshot:null']);
  assert.equal(t.timers.queue.length, 0, 'no more polling after the end');
  assert.ok(t.states.includes('polling:live'));
});

test('anonymous visitors go back to the socket when SSE fails', async () => {
  const t = follower({ canPoll: false });
  for (let i = 0; i < 3; i++) {
    await tick();
    t.sockets[i].serverClose(1006);
    if (i < 2) t.timers.runNext();
  }
  await tick();
  t.sources[0].fail(false);
  t.sources[0].fail(false);
  t.sources[0].fail(false); // three errors without an event
  assert.equal(t.states.at(-1), 'websocket:reconnecting');
  t.timers.runNext();
  await tick();
  assert.equal(t.sockets.length, 4);
});

test('a terminal close is reported and nothing reconnects', async () => {
  const t = follower();
  await tick();
  t.sockets[0].serverClose(4504);
  assert.deepEqual(t.terminal.map((c) => c.code), [4504]);
  assert.equal(t.timers.queue.length, 0);
});

test('the poller backs off on server errors and stops on a 404', async () => {
  const timers = new FakeTimers();
  const results = [Promise.reject(Object.assign(new Error('x'), { status: 503 })), Promise.reject(Object.assign(new Error('SMELT NOT FOUND'), { status: 404 }))];
  for (const r of results) r.catch(() => {});
  const fatal = [];
  const poller = new SmeltPoller({ fetchSmelt: () => results.shift(), onEvent: () => {}, onFatal: (e) => fatal.push(e.message), intervalMs: 2000, timers }).start();
  await tick();
  assert.equal(timers.queue[0].ms, 2000);
  timers.runNext();
  await tick();
  assert.deepEqual(fatal, ['SMELT NOT FOUND']);
  assert.equal(timers.queue.length, 0);
  assert.equal(poller.stopped, true);
});

test('the multiplexed socket subscribes each smelt once, routes frames by payload id, and resubscribes after a drop', async () => {
  const f = fakes();
  const timers = new FakeTimers();
  const got = [];
  const mux = new MultiplexSocket({ token: async () => 'access', onEvent: (id, m) => got.push(`${id}:${m.event}:${m.seq}`), WebSocketImpl: f.FakeWebSocket, timers });
  mux.subscribe('a');
  mux.subscribe('b');
  mux.subscribe('a');
  await tick();
  assert.equal(f.sockets.length, 1);
  assert.equal(f.sockets[0].url, 'ws://localhost/api/ws?token=access');
  const ws = f.sockets[0];
  ws.open();
  assert.deepEqual(ws.sent, [{ type: 'subscribe', channel: 'smelt:a' }, { type: 'subscribe', channel: 'smelt:b' }]);
  ws.msg({ event: 'subscribed', channel: 'smelt:a' });
  ws.msg({ event: 'snapshot', seq: 3, payload: { id: 'a', status: 'transcribing' } });
  ws.msg({ event: 'progress', seq: 4, payload: { smelt_id: 'a', status: 'transcribing' } });
  ws.msg({ event: 'progress', seq: 4, payload: { smelt_id: 'a', status: 'transcribing' } });
  ws.msg({ event: 'snapshot', seq: 1, payload: { id: 'b', status: 'pending' } });
  ws.msg({ event: 'completed', seq: 5, payload: { smelt_id: 'a', status: 'completed', results: [] } });
  assert.deepEqual(got, ['a:snapshot:3', 'a:progress:4', 'b:snapshot:1', 'a:completed:5']);
  assert.deepEqual(mux.subscribed(), ['b'], 'a finished channel is dropped');
  ws.serverClose(4001);
  assert.equal(timers.runNext(), 1000);
  await tick();
  f.sockets[1].open();
  assert.deepEqual(f.sockets[1].sent, [{ type: 'subscribe', channel: 'smelt:b', after_seq: 1 }]);
  mux.unsubscribe('b');
  assert.deepEqual(f.sockets[1].sent.at(-1), { type: 'unsubscribe', channel: 'smelt:b' });
  assert.equal(smeltIdOf({ payload: { id: 'x' } }), 'x');
});
