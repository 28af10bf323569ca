/**
 * Test doubles shared by the unit tests.
 */
import assert from 'node:assert/strict';

/**
 * Timers that run only when a test says so: `setTimeout` queues `{ id, fn, ms }`,
 * `runNext()` runs the oldest and returns its delay in ms.
 */
export class FakeTimers {
  constructor() {
    this.queue = [];
    this.id = 0;
  }
  setTimeout = (fn, ms) => {
    const id = ++this.id;
    this.queue.push({ id, fn, ms });
    return id;
  };
  clearTimeout = (id) => {
    this.queue = this.queue.filter((t) => t.id !== id);
  };
  runNext() {
    const t = this.queue.shift();
    assert.ok(t, 'a timer is pending');
    t.fn();
    return t.ms;
  }
}
