import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmeltSocket, backoffDelay, buildSocketUrl, classifyClose, terminalCloseMessage } from '../../src/socket.js';
import { FakeTimers } from './fakes.js';

test('close codes', () => {
  assert.equal(classifyClose(1000), 'finished');
  assert.equal(classifyClose(4000), 'resume');
  assert.equal(classifyClose(4499), 'resume');
  assert.equal(classifyClose(4500), 'terminal');
  assert.equal(classifyClose(4999), 'terminal');
  assert.equal(classifyClose(1006), 'abnormal');
  assert.equal(classifyClose(1011), 'abnormal');
});

test('backoff 1s, 2s, 4s ... capped at 30s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelay(n)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test('socket URL from a same-origin path', () => {
  assert.equal(
    buildSocketUrl('/api/smelts/abc/ws', 't/k+n=', null, 'http://localhost:8080/?smelt=abc'),
    'ws://localhost:8080/api/smelts/abc/ws?token=t%2Fk%2Bn%3D',
  );
  assert.equal(
    buildSocketUrl('/api/smelts/abc/ws', 'tok', 17, 'https://smelt.example/'),
    'wss://smelt.example/api/smelts/abc/ws?token=tok&after_seq=17',
  );
  assert.equal(buildSocketUrl('/api/smelts/abc/ws', 'tok', 0, 'http://h/'), 'ws://h/api/smelts/abc/ws?token=tok&after_seq=0');
});

// ------------------------------------------------------------ fakes

function fakeSocketClass() {
  const instances = [];
  class FakeWebSocket {
    constructor(url) {
      this.url = url;
      instances.push(this);
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
    close() {
      this.closed = true;
    }
  }
  return { FakeWebSocket, instances };
}

function setup(lastSeq = null) {
  const { FakeWebSocket, instances } = fakeSocketClass();
  const timers = new FakeTimers();
  const events = [];
  const states = [];
  const terminal = [];
  const socket = new SmeltSocket({
    url: (afterSeq) => `ws://h/ws?token=t${afterSeq === null ? '' : `&after_seq=${afterSeq}`}`,
    onEvent: (m) => events.push(`${m.event}:${m.seq}`),
    onStateChange: (s) => states.push(s),
    onTerminalClose: (c) => terminal.push(c),
    lastSeq,
    WebSocketImpl: FakeWebSocket,
    timers,
  }).start();
  return { socket, instances, timers, events, states, terminal };
}

test('fresh connect, snapshot, progress, completed, 1000 -> closed, no reconnect', () => {
  const t = setup();
  assert.equal(t.instances[0].url, 'ws://h/ws?token=t');
  assert.deepEqual(t.states, ['connecting']);
  t.instances[0].open();
  t.instances[0].msg('snapshot', 3, { status: 'transcribing' });
  t.instances[0].msg('progress', 4);
  t.instances[0].msg('progress', 4); // duplicate
  t.instances[0].msg('progress', 2); // stale
  t.instances[0].msg('completed', 5);
  t.instances[0].serverClose(1000);
  assert.deepEqual(t.events, ['snapshot:3', 'progress:4', 'completed:5']);
  assert.deepEqual(t.states, ['connecting', 'live', 'closed']);
  assert.equal(t.timers.queue.length, 0);
  assert.equal(t.instances.length, 1);
});

test('abnormal close -> backoff and resume with after_seq; replayed events are deduplicated', () => {
  const t = setup();
  const ws = t.instances[0];
  ws.open();
  ws.msg('snapshot', 0);
  ws.msg('progress', 1);
  ws.msg('progress', 2);
  ws.serverClose(1006);
  assert.equal(t.states.at(-1), 'reconnecting');
  assert.equal(t.timers.runNext(), 1000);
  const ws2 = t.instances[1];
  assert.equal(ws2.url, 'ws://h/ws?token=t&after_seq=2');
  ws2.open();
  assert.equal(t.states.at(-1), 'live');
  ws2.msg('progress', 2); // replay overlap
  ws2.msg('progress', 3);
  ws2.msg('failed', 4);
  ws2.serverClose(1000);
  assert.deepEqual(t.events, ['snapshot:0', 'progress:1', 'progress:2', 'progress:3', 'failed:4']);
  assert.equal(t.states.at(-1), 'closed');
});

test('4000-4499 resumes; delays double while nothing arrives, reset after a message', () => {
  const t = setup();
  t.instances[0].open();
  t.instances[0].msg('snapshot', 7);
  t.instances[0].serverClose(4001);
  const delays = [t.timers.runNext()];
  for (let i = 1; i < 7; i++) {
    t.instances[i].serverClose(1006); // fails before anything arrives
    delays.push(t.timers.runNext());
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  assert.ok(t.instances.slice(1).every((ws) => ws.url.endsWith('after_seq=7')));
  const last = t.instances.at(-1);
  last.open();
  last.msg('progress', 8);
  last.serverClose(4000);
  assert.equal(t.timers.runNext(), 1000, 'backoff reset after a message');
});

test('4500-4999 is terminal: no reconnect, callback with code and reason', () => {
  const t = setup();
  t.instances[0].open();
  t.instances[0].serverClose(4503, 'FORBIDDEN');
  assert.deepEqual(t.terminal, [{ code: 4503, reason: 'FORBIDDEN' }]);
  assert.equal(t.states.at(-1), 'closed');
  assert.equal(t.timers.queue.length, 0);
});

test('a snapshot of a finished smelt ends it', () => {
  const t = setup();
  t.instances[0].open();
  t.instances[0].msg('snapshot', 9, { status: 'completed', results: [] });
  t.instances[0].serverClose(1000);
  assert.equal(t.states.at(-1), 'closed');
  assert.equal(t.timers.queue.length, 0);
});

test('1000 before any final event reconnects', () => {
  const t = setup();
  t.instances[0].open();
  t.instances[0].msg('snapshot', 1);
  t.instances[0].serverClose(1000);
  assert.equal(t.states.at(-1), 'reconnecting');
  t.timers.runNext();
  assert.equal(t.instances[1].url, 'ws://h/ws?token=t&after_seq=1');
});

test('stop() closes and cancels a pending reconnect; reconnectNow skips the wait', () => {
  const t = setup();
  t.instances[0].serverClose(1006);
  assert.equal(t.timers.queue.length, 1);
  t.socket.reconnectNow();
  assert.equal(t.timers.queue.length, 0);
  assert.equal(t.instances.length, 2);
  t.instances[1].serverClose(1006);
  t.socket.stop();
  assert.equal(t.timers.queue.length, 0);
  assert.equal(t.states.at(-1), 'closed');
});

test('non-JSON and malformed frames are ignored', () => {
  const t = setup();
  const ws = t.instances[0];
  ws.onmessage({ data: 'not json' });
  ws.onmessage({ data: JSON.stringify({ event: 'progress' }) });
  ws.msg('progress', 1);
  assert.deepEqual(t.events, ['progress:1']);
});

test('terminal close message: machine reasons become sentences, server-style messages pass', () => {
  assert.equal(terminalCloseMessage(4501, 'unauthorized'), "THIS PAGE'S ACCESS TO THE SMELT HAS EXPIRED. START A NEW ONE");
  assert.equal(terminalCloseMessage(4504, 'not found'), 'SMELT NOT FOUND. IT MAY HAVE BEEN DELETED. START A NEW ONE');
  assert.equal(terminalCloseMessage(4503, 'FORBIDDEN'), "YOU CAN'T FOLLOW THIS SMELT. START A NEW ONE");
  assert.equal(terminalCloseMessage(4599, ''), "CAN'T FOLLOW THIS SMELT ANY MORE. START A NEW ONE");
  assert.equal(terminalCloseMessage(4500, 'SMELT WAS DELETED BY ITS OWNER'), 'SMELT WAS DELETED BY ITS OWNER');
});
