import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionStore, needsRefresh, sessionFromResponse } from '../../src/session.js';
import { apiRequest } from '../../src/http.js';

class MemoryStorage {
  constructor() {
    this.map = new Map();
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
}

const body = (n, expiresIn = 900) => ({ access_token: `access-${n}`, expires_in: expiresIn, refresh_token: `refresh-${n}`, user: { id: 'u1', email: 'a@example.com' } });

function json(status, value) {
  return { ok: status >= 200 && status < 300, status, json: async () => value, text: async () => (value === undefined ? '' : JSON.stringify(value)) };
}

function store({ now = () => 1_000_000, fetchImpl, storage = new MemoryStorage() } = {}) {
  return new SessionStore({ storage, fetchImpl, now, locks: null, events: null });
}

test('a session from the server answer expires after expires_in seconds', () => {
  const s = sessionFromResponse(body(1, 900), 5_000);
  assert.equal(s.expiresAt, 905_000);
  assert.equal(s.accessToken, 'access-1');
  assert.equal(needsRefresh(s, 5_000), false);
  assert.equal(needsRefresh(s, 905_000 - 60_000), true, 'refresh a minute early');
  const short = sessionFromResponse(body(1, 10), 0);
  assert.equal(needsRefresh(short, 4_000), false);
  assert.equal(needsRefresh(short, 5_000), true, 'short tokens refresh at half their life');
});

test('refresh rotates the refresh token and concurrent callers share one request', async () => {
  const calls = [];
  const s = store({
    fetchImpl: async (url, init) => {
      calls.push(JSON.parse(init.body).refresh_token);
      return json(200, body(2));
    },
  });
  s.set(body(1));
  const [a, b] = await Promise.all([s.refresh('access-1'), s.refresh('access-1')]);
  assert.deepEqual(calls, ['refresh-1']);
  assert.equal(a.refreshToken, 'refresh-2');
  assert.equal(b.refreshToken, 'refresh-2');
  assert.equal(s.get().accessToken, 'access-2');
});

test('a token already rotated by another tab is adopted instead of spending it again', async () => {
  const storage = new MemoryStorage();
  let requests = 0;
  const s = store({ storage, fetchImpl: async () => (requests++, json(200, body(9))) });
  s.set(body(1));
  // Another tab rotated meanwhile: storage holds a fresh pair.
  const other = store({ storage, fetchImpl: async () => json(200, body(2)) });
  await other.refresh('access-1');
  const got = await s.refresh('access-1');
  assert.equal(requests, 0);
  assert.equal(got.accessToken, 'access-2');
});

test('a refused refresh token ends the session; a network failure keeps it', async () => {
  let answer = () => json(401, { error: { code: 'invalid_token', message: 'SESSION EXPIRED. LOG IN AGAIN' } });
  const s = store({ fetchImpl: async () => answer() });
  const seen = [];
  s.onChange((v) => seen.push(v === null ? null : v.accessToken));
  s.set(body(1));
  answer = () => {
    throw new TypeError('offline');
  };
  await assert.rejects(s.refresh('access-1'), { code: 'network' });
  assert.equal(s.get().accessToken, 'access-1');
  answer = () => json(401, { error: { code: 'invalid_token', message: 'SESSION EXPIRED. LOG IN AGAIN' } });
  assert.equal(await s.refresh('access-1'), null);
  assert.equal(s.get(), null);
  assert.deepEqual(seen, ['access-1', null]);
});

test('an API call refused with 401 is retried once with a refreshed token', async () => {
  const auths = [];
  const fetchImpl = async (url, init) => {
    if (url.endsWith('/auth/refresh')) return json(200, body(2));
    auths.push(init.headers.Authorization);
    return init.headers.Authorization === 'Bearer access-2' ? json(200, { credits_remaining: 5 }) : json(401, { error: { code: 'unauthorized', message: 'INVALID OR EXPIRED TOKEN. LOG IN AGAIN' } });
  };
  const s = store({ fetchImpl });
  s.set(body(1));
  const profile = await apiRequest(s, '/profile', { fetchImpl });
  assert.deepEqual(profile, { credits_remaining: 5 });
  assert.deepEqual(auths, ['Bearer access-1', 'Bearer access-2']);
});

test('API errors carry the server message; signed-out calls that need a token fail early', async () => {
  const fetchImpl = async () => json(404, { error: { code: 'prompt_not_found', message: 'PROMPT NOT FOUND' } });
  const s = store({ fetchImpl });
  await assert.rejects(apiRequest(s, '/prompts/x', { fetchImpl }), { code: 'session_expired', status: 401 });
  s.set(body(1));
  await assert.rejects(apiRequest(s, '/prompts/x', { fetchImpl }), { message: 'PROMPT NOT FOUND', status: 404, code: 'prompt_not_found' });
});

test('logout forgets the session and revokes the refresh token', async () => {
  const posted = [];
  const s = store({ fetchImpl: async (url, init) => (posted.push([url, JSON.parse(init.body)]), json(204)) });
  s.set(body(1));
  await s.logout();
  assert.equal(s.get(), null);
  assert.deepEqual(posted, [['/api/auth/logout', { refresh_token: 'refresh-1' }]]);
});
