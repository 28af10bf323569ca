import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmeltClient, SmeltFollowError } from '../../dist/index.js';
import { FakeClock, fakeFetch, fakeWebSocket, settle } from './fakes.mjs';

const ID = 'abc';

/**
 * A client with fake transports following smelt `abc`. `token` is what the subscription
 * presents; `accessToken` makes the caller signed in (polling allowed).
 */
function follow({ accessToken, target = { id: ID, token: 'sub' }, fetchSmelt, options = {} } = {}) {
  const ws = fakeWebSocket();
  const f = fakeFetch();
  const clock = new FakeClock();
  const events = [];
  const states = [];
  const ends = [];
  const client = new SmeltClient({ baseUrl: 'http://h', accessToken, WebSocket: ws.FakeWebSocket, fetch: f.fetch, timers: clock });
  const sub = client.follow(target, {
    onEvent: (e) => events.push(`${e.event}:${e.seq}`),
    onStatus: (s) => states.push(`${s.transport}:${s.status}`),
    onEnd: (e) => ends.push(e),
    sseIdleTimeoutMs: 0,
    ...(fetchSmelt ? { fetchSmelt } : {}),
    ...options,
  });
  return { ...ws, ...f, clock, events, states, ends, sub, client };
}

// Makes the next `n` socket connections fail before delivering anything.
async function refuseSockets(t, n) {
  for (let i = 0; i < n; i++) {
    await settle();
    t.sockets.at(-1).serverClose(1006);
    if (t.clock.delays().length) t.clock.next();
  }
  await settle();
}

test('after a drop the subscription resumes with after_seq and delivers each event once', async () => {
  const t = follow();
  await settle();
  const first = t.sockets[0];
  assert.equal(first.url, 'ws://h/api/smelts/abc/ws?token=sub');
  first.open();
  first.frame('snapshot', 2, { id: ID, status: 'transcribing' });
  first.frame('segment', 3, { smelt_id: ID, file_id: 'f', index: 0, start_ms: 0, end_ms: 900, text: 'Hello' });
  first.serverClose(4000, 'slow consumer');
  assert.equal(t.sub.status, 'reconnecting');
  t.clock.next();
  await settle();
  const second = t.sockets[1];
  assert.equal(second.params.get('after_seq'), '3');
  second.open();
  second.frame('segment', 3, { smelt_id: ID }); // replay overlap
  second.frame('progress', 4, { smelt_id: ID });
  second.frame('completed', 5, { smelt_id: ID, status: 'completed', results: [] });
  assert.deepEqual(t.events, ['snapshot:2', 'segment:3', 'progress:4', 'completed:5']);
  assert.deepEqual(t.ends, [{ kind: 'finished' }]);
  assert.equal(t.sub.status, 'closed');
  assert.deepEqual(second.closedByClient, { code: 1000, reason: 'client done' });
});

test('three socket connections in a row that deliver nothing switch to SSE, which resumes after the last seq', async () => {
  const t = follow();
  await settle();
  t.sockets[0].open();
  t.sockets[0].frame('snapshot', 2, { id: ID, status: 'transcribing' });
  t.sockets[0].serverClose(1006);
  t.clock.next();
  await refuseSockets(t, 3);
  assert.equal(t.sockets.length, 4, 'no fifth socket');
  const request = await t.waitFor(1);
  assert.equal(request.url, 'http://h/api/smelts/abc/events?token=sub&after_seq=2');
  assert.equal(t.sub.transport, 'sse');
  const stream = request.stream();
  await settle();
  assert.equal(t.sub.status, 'live');
  stream.event('progress', 3, { smelt_id: ID });
  stream.event('cancelled', 4, { smelt_id: ID, status: 'cancelled', error_code: 'cancelled', error_message: 'CANCELLED' });
  await settle();
  assert.deepEqual(t.events, ['snapshot:2', 'progress:3', 'cancelled:4']);
  assert.ok(t.states.includes('sse:live'));
  assert.deepEqual(t.ends, [{ kind: 'finished' }]);
});

test('an event already delivered over the socket is not delivered again after the switch to SSE', async () => {
  const t = follow({ options: { maxFailedSocketConnects: 1 } });
  await settle();
  const ws = t.sockets[0];
  ws.open();
  ws.frame('snapshot', 5, { id: ID, status: 'transcribing' });
  ws.frame('progress', 6, { smelt_id: ID });
  ws.serverClose(1006);
  t.clock.next();
  await settle();
  t.sockets[1].serverClose(1006); // refused: switch to SSE
  const request = await t.waitFor(1);
  const stream = request.stream();
  // The server replays from after_seq, and a proxy might even repeat older frames.
  stream.event('progress', 5, { smelt_id: ID });
  stream.event('progress', 6, { smelt_id: ID });
  stream.event('progress', 7, { smelt_id: ID });
  await settle();
  assert.deepEqual(t.events, ['snapshot:5', 'progress:6', 'progress:7']);
  assert.equal(t.sub.lastSeq, 7);
});

test('when SSE fails too, a signed-in owner gets REST polling until the smelt ends', async () => {
  const answers = [
    { id: ID, status: 'synthesizing', progress: { percentage: 80, stage: 'synthesizing', message: '' } },
    { id: ID, status: 'synthesizing', progress: { percentage: 80, stage: 'synthesizing', message: '' } },
    { id: ID, status: 'completed', results: [] },
  ];
  const polled = [];
  const t = follow({ accessToken: 'access', fetchSmelt: async () => (polled.push(1), answers.shift()) });
  await refuseSockets(t, 3);
  (await t.waitFor(1)).respond(502, 'Bad gateway', { 'Content-Type': 'text/html' });
  await settle();
  assert.equal(t.sub.transport, 'polling');
  assert.deepEqual(t.events, ['snapshot:null']);
  assert.equal(t.clock.next(), 2000);
  await settle();
  assert.deepEqual(t.events, ['snapshot:null'], 'an unchanged answer is not delivered again');
  t.clock.next();
  await settle();
  assert.equal(polled.length, 3);
  assert.deepEqual(t.events, ['snapshot:null', 'snapshot:null']);
  assert.deepEqual(t.ends, [{ kind: 'finished' }]);
  assert.deepEqual(t.clock.delays(), [], 'no more polling after the end');
  assert.ok(t.states.includes('polling:live'));
});

test('the default poll reads GET /api/smelts/{id} with the access token', async () => {
  const t = follow({ accessToken: 'access' });
  await refuseSockets(t, 3);
  (await t.waitFor(1)).respond(503, 'down');
  const poll = await t.waitFor(2);
  assert.equal(poll.url, 'http://h/api/smelts/abc');
  assert.equal(poll.headers.Authorization, 'Bearer access');
  poll.respondJson(200, { id: ID, status: 'failed', error_code: 'internal_error', error_message: 'SOMETHING WENT WRONG. TRY AGAIN' });
  await settle();
  assert.deepEqual(t.events, ['snapshot:null']);
  assert.equal(t.ends[0].kind, 'finished');
});

test('an anonymous visitor goes back to the socket, after a longer wait, when SSE fails', async () => {
  const t = follow();
  await refuseSockets(t, 3);
  (await t.waitFor(1)).respond(502, 'Bad gateway');
  await settle();
  assert.equal(t.states.at(-1), 'websocket:reconnecting');
  assert.equal(t.clock.next(), 8000);
  await settle();
  assert.equal(t.sockets.length, 4);
  assert.equal(t.ends.length, 0);
});

test('a terminal close code ends the subscription and nothing reconnects', async () => {
  const t = follow();
  await settle();
  t.sockets[0].serverClose(4504, 'not found');
  await settle();
  assert.deepEqual(t.ends, [{ kind: 'refused', code: 4504, reason: 'not found' }]);
  assert.equal(t.sub.status, 'closed');
  assert.deepEqual(t.clock.delays(), []);
  assert.equal(t.sockets.length, 1);
  assert.deepEqual(await t.sub.ended, { kind: 'refused', code: 4504, reason: 'not found' });
});

test('a 4501 close renews the access token once and reconnects with the fresh one', async () => {
  const asked = [];
  let current = 'old';
  const provider = ({ renew, stale }) => {
    asked.push({ renew, stale });
    if (renew) current = 'fresh';
    return current;
  };
  const t = follow({ accessToken: provider, target: { id: ID } });
  await settle();
  assert.equal(t.sockets[0].params.get('token'), 'old');
  t.sockets[0].open();
  t.sockets[0].frame('snapshot', 1, { id: ID, status: 'pending' });
  t.sockets[0].serverClose(4002);
  t.clock.next();
  await settle();
  t.sockets[1].serverClose(4501, 'unauthorized');
  await settle();
  assert.deepEqual(asked.at(-2), { renew: true, stale: 'old' });
  const third = t.sockets[2];
  assert.equal(third.params.get('token'), 'fresh');
  assert.equal(third.params.get('after_seq'), '1');
  third.open();
  third.serverClose(4501, 'unauthorized'); // refused again straight away: the refusal stands
  await settle();
  assert.deepEqual(t.ends, [{ kind: 'refused', code: 4501, reason: 'unauthorized' }]);
  assert.equal(t.sockets.length, 3);
});

test('a 4501 with a subscription token is not renewed', async () => {
  const t = follow();
  await settle();
  t.sockets[0].serverClose(4501, 'unauthorized');
  await settle();
  assert.equal(t.sockets.length, 1);
  assert.equal(t.ends[0].code, 4501);
});

test('the async iterator yields every event in order and ends after the completed event', async () => {
  const t = follow();
  const seen = [];
  const done = (async () => {
    for await (const event of t.sub) seen.push(`${event.event}:${event.seq}`);
  })();
  await settle();
  const ws = t.sockets[0];
  ws.open();
  ws.frame('snapshot', 0, { id: ID, status: 'pending' });
  ws.frame('progress', 1, { smelt_id: ID });
  ws.frame('completed', 2, { smelt_id: ID, status: 'completed', results: [] });
  await done;
  assert.deepEqual(seen, ['snapshot:0', 'progress:1', 'completed:2']);
});

test('the async iterator buffers events that arrive before iteration starts', async () => {
  const t = follow();
  await settle();
  t.sockets[0].open();
  t.sockets[0].frame('snapshot', 9, { id: ID, status: 'completed', results: [] });
  await t.sub.ended;
  const seen = [];
  for await (const event of t.sub) seen.push(event.event);
  assert.deepEqual(seen, ['snapshot']);
});

test('the async iterator throws SmeltFollowError after a refusal', async () => {
  const t = follow();
  await settle();
  t.sockets[0].open();
  t.sockets[0].frame('snapshot', 1, { id: ID, status: 'pending' });
  t.sockets[0].serverClose(4503, 'THAT TOKEN IS FOR ANOTHER SMELT');
  const seen = [];
  await assert.rejects(
    (async () => {
      for await (const event of t.sub) seen.push(event.event);
    })(),
    (err) => err instanceof SmeltFollowError && err.code === 4503 && err.reason === 'THAT TOKEN IS FOR ANOTHER SMELT',
  );
  assert.deepEqual(seen, ['snapshot']);
});

test('leaving the loop early closes the subscription', async () => {
  const t = follow();
  await settle();
  t.sockets[0].open();
  t.sockets[0].frame('snapshot', 1, { id: ID, status: 'pending' });
  for await (const event of t.sub) {
    assert.equal(event.event, 'snapshot');
    break;
  }
  assert.deepEqual(t.ends, [{ kind: 'closed' }]);
  assert.ok(t.sockets[0].closedByClient);
});

test('close() stops every transport and cancels pending reconnects', async () => {
  const t = follow();
  await settle();
  t.sockets[0].serverClose(1006);
  assert.equal(t.clock.delays().length, 1);
  t.sub.close();
  assert.deepEqual(t.clock.delays(), []);
  assert.deepEqual(t.states, ['websocket:connecting', 'websocket:reconnecting', 'websocket:closed']);
  assert.deepEqual(t.ends, [{ kind: 'closed' }]);
});

test('following the create answer uses its subscription URL and token, and listeners see each event once', async () => {
  const created = { id: ID, subscription_url: '/api/smelts/abc/ws', subscription_token: 'signed', subscription_channel: 'smelt:abc' };
  const t = follow({ target: created });
  const heard = [];
  const off = t.sub.on('event', (e) => heard.push(e.seq));
  await settle();
  assert.equal(t.sockets[0].url, 'ws://h/api/smelts/abc/ws?token=signed');
  t.sockets[0].open();
  t.sockets[0].frame('snapshot', 1, { id: ID, status: 'pending' });
  t.sockets[0].frame('snapshot', 1, { id: ID, status: 'pending' });
  off();
  t.sockets[0].frame('progress', 2, { smelt_id: ID });
  assert.deepEqual(heard, [1]);
  assert.deepEqual(t.events, ['snapshot:1', 'progress:2']);
});
