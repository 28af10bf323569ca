// Test doubles for the library's own logic: a clock whose timers run only when a test says
// so, a WebSocket the test drives from the server's side, and a fetch whose event streams the
// test writes to.
import assert from 'node:assert/strict';

/**
 * Timers on a virtual clock. `next()` runs the earliest pending timer (advancing the clock to
 * it) and returns its delay in ms; `delays()` lists the pending delays.
 */
export class FakeClock {
  now = 0;
  #timers = [];
  #id = 0;
  setTimeout = (fn, ms) => {
    const id = ++this.#id;
    this.#timers.push({ id, fn, ms, at: this.now + ms });
    return id;
  };
  clearTimeout = (id) => {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  };
  /** @returns {number[]} delays of the pending timers, earliest first */
  delays() {
    return this.#sorted().map((t) => t.ms);
  }
  /** @returns {number} the delay of the timer it ran */
  next() {
    const [t] = this.#sorted();
    assert.ok(t, 'a timer is pending');
    this.#timers = this.#timers.filter((x) => x !== t);
    this.now = t.at;
    t.fn();
    return t.ms;
  }
  #sorted() {
    return [...this.#timers].sort((a, b) => a.at - b.at || a.id - b.id);
  }
}

/** Lets pending promise callbacks and I/O callbacks run. */
export async function settle(rounds = 3) {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A WebSocket class whose instances the test drives: `open()`, `frame(event, seq, payload)`,
 * `send(raw)`, `serverClose(code, reason)`. What the client sent is in `sent`.
 */
export function fakeWebSocket() {
  const sockets = [];
  class FakeWebSocket {
    constructor(url) {
      this.url = url;
      this.sent = [];
      this.closedByClient = null;
      this.onopen = this.onmessage = this.onerror = this.onclose = null;
      sockets.push(this);
    }
    get params() {
      return new URL(this.url).searchParams;
    }
    send(data) {
      this.sent.push(JSON.parse(data));
    }
    close(code, reason) {
      this.closedByClient = { code, reason };
    }
    open() {
      this.onopen?.({});
    }
    raw(data) {
      this.onmessage?.({ data });
    }
    frame(event, seq, payload = {}) {
      this.raw(JSON.stringify({ event, seq, payload }));
    }
    serverClose(code, reason = '') {
      this.onclose?.({ code, reason });
    }
  }
  return { FakeWebSocket, sockets };
}

/**
 * A fetch for event streams and JSON. Each call is recorded in `requests` as
 * `{url, init, respond, respondJson, stream}`; the test answers it:
 * - `req.stream()` answers 200 `text/event-stream` and returns a writer with
 *   `event(kind, seq, payload)`, `comment()`, `end()`, `fail()`;
 * - `req.respond(status, body, headers)` answers anything else;
 * - `req.reject(err)` fails the request as a network error.
 * An aborted request rejects (or errors its stream) like the real fetch.
 */
export function fakeFetch() {
  const requests = [];
  const waiters = [];
  const fetch = (url, init = {}) =>
    new Promise((resolve, reject) => {
      const encoder = new TextEncoder();
      let controller = null;
      const abortError = () => Object.assign(new Error('aborted'), { name: 'AbortError' });
      init.signal?.addEventListener('abort', () => {
        reject(abortError());
        try {
          controller?.error(abortError());
        } catch {
          /* already closed */
        }
      });
      const req = {
        url,
        init,
        get headers() {
          return init.headers ?? {};
        },
        respond(status, body = '', headers = {}) {
          resolve(new Response(status === 204 ? null : body, { status, headers }));
        },
        respondJson(status, value) {
          req.respond(status, JSON.stringify(value), { 'Content-Type': 'application/json' });
        },
        reject(err = new TypeError('fetch failed')) {
          reject(err);
        },
        stream() {
          const body = new ReadableStream({
            start(c) {
              controller = c;
            },
          });
          resolve(new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }));
          const write = (text) => controller.enqueue(encoder.encode(text));
          return {
            event(kind, seq, payload = {}) {
              write(`id: ${seq}\nevent: ${kind}\ndata: ${JSON.stringify({ event: kind, seq, payload })}\n\n`);
            },
            comment() {
              write(':\n\n');
            },
            end() {
              controller.close();
            },
            fail() {
              controller.error(new TypeError('network error'));
            },
          };
        },
      };
      requests.push(req);
      for (const w of waiters.splice(0)) w();
    });
  /** Resolves once `n` requests were made. */
  const waitFor = async (n) => {
    while (requests.length < n) await new Promise((resolve) => waiters.push(resolve));
    return requests[n - 1];
  };
  return { fetch, requests, waitFor };
}
