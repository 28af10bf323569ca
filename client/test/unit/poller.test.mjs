import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmeltPoller } from '../../dist/index.js';
import { FakeClock, settle } from './fakes.mjs';

test('the poller backs off on server errors and stops on a 404', async () => {
  const clock = new FakeClock();
  const answers = [Object.assign(new Error('x'), { status: 503 }), Object.assign(new Error('x'), { status: 502 }), Object.assign(new Error('SMELT NOT FOUND'), { status: 404 })];
  const fatal = [];
  const poller = new SmeltPoller({
    fetchSmelt: async () => {
      throw answers.shift();
    },
    onSnapshot: () => {},
    onFatal: (e) => fatal.push(e.message),
    intervalMs: 2000,
    timers: clock,
  }).start();
  await settle();
  assert.equal(clock.next(), 2000);
  await settle();
  assert.equal(clock.next(), 4000);
  await settle();
  assert.deepEqual(fatal, ['SMELT NOT FOUND']);
  assert.deepEqual(clock.delays(), []);
  assert.equal(poller.stopped, true);
});

test('the poller retries a network failure (no status) and a 429', async () => {
  const clock = new FakeClock();
  const answers = [new TypeError('fetch failed'), Object.assign(new Error('slow down'), { status: 429 })];
  const snapshots = [];
  new SmeltPoller({
    fetchSmelt: async () => {
      const next = answers.shift();
      if (next) throw next;
      return { id: 'a', status: 'completed', results: [] };
    },
    onSnapshot: (s) => snapshots.push(s.status),
    timers: clock,
  }).start();
  await settle();
  clock.next();
  await settle();
  clock.next();
  await settle();
  assert.deepEqual(snapshots, ['completed']);
  assert.deepEqual(clock.delays(), []);
});
