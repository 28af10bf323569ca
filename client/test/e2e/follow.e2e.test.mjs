// The library against the real all-in-one smelt binary, real Postgres and real sockets, through a TCP proxy
// that drops every connection in the middle of a smelt (and, in the second test, refuses
// WebSocket upgrades). The operator's provider is a local stub that holds the notes back, so
// the smelt is still running when the connections drop.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { SmeltClient } from '../../dist/index.js';
import { startHeldProvider, startProxy, startServer, storedSeqs } from './harness.mjs';

const TEXT = [
  'The harbour committee met on Tuesday to plan the summer festival.',
  'Anna will book the brass band and order lanterns for the pier.',
  'The ferry company offered free tickets for the volunteers.',
  'Next meeting: the first Monday of June in the library.',
].join(' ');

/**
 * Resolves once `events` holds an event `predicate` accepts (checking the ones already there,
 * then each new one), or rejects after `ms`.
 * @returns {Promise<object>}
 */
function eventWhere(subscription, events, predicate, ms = 60_000) {
  const seen = events.find(predicate);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no such event in time')), ms);
    const off = subscription.on('event', (event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

/** Asserts that `events` start with a snapshot and go on one seq at a time, ending in `completed`. */
function assertWhole(events) {
  const seqs = events.map((e) => e.seq);
  assert.equal(events[0].event, 'snapshot', `starts with a snapshot: ${seqs}`);
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `no gap and no duplicate: ${seqs}`);
  assert.equal(events.at(-1).event, 'completed', `ends with the terminal event: ${events.map((e) => e.event)}`);
  assert.equal(events.filter((e) => e.event === 'completed').length, 1);
}

/**
 * Two clients of one new user (anonymous visitors get one smelt a day per address): one
 * talking to the server directly, one through the proxy.
 * @returns {Promise<{direct: SmeltClient, proxied: SmeltClient}>}
 */
async function signedInClients(server, proxy) {
  const email = `client-${randomBytes(6).toString('hex')}@example.com`;
  const session = await new SmeltClient({ baseUrl: server.baseUrl }).request('/api/auth/signup', { method: 'POST', body: { email, password: 'correct horse battery' } });
  const accessToken = session.access_token;
  return {
    direct: new SmeltClient({ baseUrl: server.baseUrl, accessToken }),
    proxied: new SmeltClient({ baseUrl: proxy.url, WebSocket, accessToken }),
  };
}

/** The heads of the requests the proxy saw for `path`. */
function requestsTo(proxy, path) {
  return proxy.requests.filter((head) => head.split('\r\n', 1)[0].includes(path));
}

describe('following a real smelt through a connection that drops', () => {
  let server;
  let provider;
  let proxy;

  before(async () => {
    provider = await startHeldProvider('## Summary\n\nThe harbour festival is planned.');
    server = await startServer({ SMELT_HOSTED_API_KEY: 'sk-stub-operator', SMELT_HOSTED_BASE_URL: provider.baseUrl, SMELT_CHAT_MODEL: 'stub-model' });
    proxy = await startProxy(server.port);
  });

  after(async () => {
    await proxy?.close();
    await provider?.close();
    await server?.stop();
  });

  /**
   * Creates a text smelt (directly), follows it through the proxy, waits until it is
   * synthesizing (held by the provider) and the follower has seen that, cuts every proxied
   * connection, lets the provider answer, and waits for the end. Returns what the follower saw.
   */
  async function followAcrossCut() {
    const { direct, proxied: client } = await signedInClients(server, proxy);
    provider.hold();
    const created = await direct.create({ text: TEXT, prompts: ['summarize', 'action_items'] });
    const events = [];
    const transports = new Set();
    const subscription = client.follow(created, { onEvent: (e) => events.push(e), onStatus: (s) => transports.add(s.transport) });
    await provider.requested;
    await eventWhere(subscription, events, (e) => e.payload.status === 'synthesizing');
    const lastSeqBeforeCut = events.at(-1).seq;
    assert.ok(proxy.cut() >= 1, 'a live connection was cut');
    provider.release();
    const end = await subscription.ended;
    return { created, events, transports, end, lastSeqBeforeCut };
  }

  test('a socket cut mid-smelt resumes with after_seq: every stored event arrives once, in order, up to completed', async () => {
    const { created, events, transports, end, lastSeqBeforeCut } = await followAcrossCut();

    assert.deepEqual(end, { kind: 'finished' });
    assertWhole(events);
    const sockets = requestsTo(proxy, `/api/smelts/${created.id}/ws`).map((head) => head.split('\r\n', 1)[0]);
    assert.equal(sockets.length, 2, `one reconnect: ${sockets}`);
    assert.doesNotMatch(sockets[0], /after_seq/, 'the first connection asks for a snapshot');
    assert.match(sockets[1], new RegExp(`after_seq=${lastSeqBeforeCut} `), `resumed after the last seq seen: ${sockets[1]}`);
    const stored = await storedSeqs(server.database, created.id);
    assert.deepEqual(
      events.slice(1).map((e) => e.seq),
      stored.filter((seq) => seq > events[0].seq),
      'exactly the stored events after the snapshot',
    );
    assert.deepEqual([...transports], ['websocket']);
    assert.ok(events.at(-1).payload.results.length >= 1, 'the notes arrived');
  });

  test('where WebSockets are refused, the event stream takes over and resumes with Last-Event-ID after a cut', async () => {
    proxy.refuseWebSockets = true;
    try {
      const { created, events, transports, end, lastSeqBeforeCut } = await followAcrossCut();

      assert.deepEqual(end, { kind: 'finished' });
      assertWhole(events);
      assert.equal(requestsTo(proxy, `/api/smelts/${created.id}/ws`).length, 3, 'three refused sockets before the switch');
      const streams = requestsTo(proxy, `/api/smelts/${created.id}/events`);
      assert.equal(streams.length, 2, `one reconnect of the stream: ${streams.length}`);
      assert.doesNotMatch(streams[0], /after_seq|last-event-id/i, 'the first stream starts from a snapshot');
      assert.match(streams[1], new RegExp(`^last-event-id: ${lastSeqBeforeCut}$`, 'im'), 'resumed after the last seq seen');
      const stored = await storedSeqs(server.database, created.id);
      assert.deepEqual(events.slice(1).map((e) => e.seq), stored.filter((seq) => seq > events[0].seq));
      assert.deepEqual([...transports], ['websocket', 'sse']);
    } finally {
      proxy.refuseWebSockets = false;
    }
  });
});
