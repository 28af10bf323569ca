import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmeltApiError, SmeltClient, SmeltNetworkError, buildCreateForm } from '../../dist/index.js';
import { fakeFetch } from './fakes.mjs';

function client(options = {}) {
  const f = fakeFetch();
  return { ...f, client: new SmeltClient({ baseUrl: 'http://h/', fetch: f.fetch, ...options }) };
}

const created = { id: 'abc', status: 'pending', subscription_url: '/api/smelts/abc/ws', subscription_token: 'sub' };

test('create sends the multipart form the API expects, Node buffers with their names', async () => {
  const t = client();
  const pending = t.client.create({
    files: [{ name: 'call.mp3', data: Buffer.from([1, 2, 3]) }, new File([new Uint8Array(2)], 'b.wav', { type: 'audio/wav' })],
    mode: 'combine',
    prompts: ['summarize', 'qa_format'],
    userPromptId: 'p-1',
    wordTimestamps: true,
  });
  const req = await t.waitFor(1);
  assert.equal(req.url, 'http://h/api/smelts');
  assert.equal(req.init.method, 'POST');
  const form = req.init.body;
  assert.deepEqual([...form.keys()], ['files[]', 'files[]', 'mode', 'default_prompt_names[]', 'default_prompt_names[]', 'user_prompt_id', 'word_timestamps']);
  const [first, second] = form.getAll('files[]');
  assert.equal(first.name, 'call.mp3');
  assert.equal(first.type, 'audio/mpeg');
  assert.equal(first.size, 3);
  assert.equal(second.name, 'b.wav');
  assert.equal(form.get('word_timestamps'), 'true');
  assert.equal(req.headers['Content-Type'], undefined, 'fetch sets the multipart boundary itself');
  req.respondJson(201, created);
  assert.deepEqual(await pending, created);
});

test('a text smelt sends text and mode only', () => {
  const form = buildCreateForm({ text: 'hello' });
  assert.deepEqual([...form.entries()], [['text', 'hello'], ['mode', 'separate']]);
});

test('work that can wait asks for the bulk lane', () => {
  const form = buildCreateForm({ text: 'nightly import', priority: 'bulk' });
  assert.deepEqual([...form.entries()], [['text', 'nightly import'], ['mode', 'separate'], ['priority', 'bulk']]);
});

test('refusals throw SmeltApiError with the envelope code, message and status', async () => {
  const t = client();
  const pending = t.client.create({ text: 'x' });
  (await t.waitFor(1)).respond(403, JSON.stringify({ error: { code: 'daily_limit', message: 'DAILY LIMIT HIT. TRY TOMORROW' } }), { 'Retry-After': '3600' });
  const err = await pending.catch((e) => e);
  assert.ok(err instanceof SmeltApiError);
  assert.equal(err.code, 'daily_limit');
  assert.equal(err.message, 'DAILY LIMIT HIT. TRY TOMORROW');
  assert.equal(err.status, 403);
  assert.equal(err.retryAfterSeconds, 3600);
  assert.equal(err.fromEnvelope, true);

  const other = t.client.get('abc');
  (await t.waitFor(2)).respond(502, '<html>bad gateway</html>', { 'Content-Type': 'text/html' });
  const gateway = await other.catch((e) => e);
  assert.equal(gateway.status, 502);
  assert.equal(gateway.code, null);
  assert.equal(gateway.body, '<html>bad gateway</html>');
  assert.equal(gateway.fromEnvelope, false);
});

test('no answer at all throws SmeltNetworkError', async () => {
  const t = client();
  const pending = t.client.config();
  (await t.waitFor(1)).reject(new TypeError('fetch failed'));
  const err = await pending.catch((e) => e);
  assert.ok(err instanceof SmeltNetworkError);
  assert.equal(err.cause.message, 'fetch failed');
});

test('a 401 is retried once with a renewed access token', async () => {
  const asked = [];
  const t = client({ accessToken: ({ renew, stale }) => (asked.push([renew, stale]), renew ? 'fresh' : 'old') });
  const pending = t.client.list({ status: 'pending', page: 2, sort: undefined });
  const first = await t.waitFor(1);
  assert.equal(first.url, 'http://h/api/smelts?status=pending&page=2');
  assert.equal(first.headers.Authorization, 'Bearer old');
  first.respondJson(401, { error: { code: 'unauthorized', message: 'INVALID OR EXPIRED TOKEN. LOG IN AGAIN' } });
  const second = await t.waitFor(2);
  assert.equal(second.headers.Authorization, 'Bearer fresh');
  second.respondJson(200, { smelts: [], pagination: { page: 2, limit: 10, total: 0, total_pages: 0 } });
  assert.equal((await pending).pagination.page, 2);
  assert.deepEqual(asked, [[false, null], [true, 'old']]);
});

test('a static access token is not renewed: the 401 stands', async () => {
  const t = client({ accessToken: 'static' });
  const pending = t.client.get('abc');
  (await t.waitFor(1)).respondJson(401, { error: { code: 'unauthorized', message: 'NO' } });
  await assert.rejects(pending, { status: 401, code: 'unauthorized' });
  assert.equal(t.requests.length, 1);
});

test('cancel presents the subscription token as a bearer token', async () => {
  const t = client({ accessToken: 'access' });
  const pending = t.client.cancel('abc', { token: 'sub' });
  const req = await t.waitFor(1);
  assert.equal(req.url, 'http://h/api/smelts/abc/cancel');
  assert.equal(req.init.method, 'POST');
  assert.equal(req.headers.Authorization, 'Bearer sub');
  req.respondJson(409, { error: { code: 'already_finished', message: 'SMELT ALREADY FINISHED' } });
  await assert.rejects(pending, { status: 409, code: 'already_finished', message: 'SMELT ALREADY FINISHED' });
});

test('transcripts come as text, or parsed for json, from the whole smelt or one file', async () => {
  const t = client({ accessToken: 'access' });
  const srt = t.client.transcript('abc', { format: 'srt' });
  const a = await t.waitFor(1);
  assert.equal(a.url, 'http://h/api/smelts/abc/transcript?format=srt');
  a.respond(200, '1\n00:00:00,000 --> 00:00:01,200\nHello\n', { 'Content-Type': 'application/x-subrip' });
  assert.match(await srt, /00:00:00,000 --> 00:00:01,200/);

  const json = t.client.transcript('abc', { format: 'json', fileId: 'f1', words: true, token: 'sub' });
  const b = await t.waitFor(2);
  assert.equal(b.url, 'http://h/api/smelts/abc/files/f1/transcript?format=json&words=true');
  assert.equal(b.headers.Authorization, 'Bearer sub');
  b.respondJson(200, { smelt_id: 'abc', file_id: 'f1', duration_ms: 1200, text: 'Hello', segments: [] });
  assert.equal((await json).duration_ms, 1200);

  const txt = t.client.transcript('abc');
  (await t.waitFor(3)).respond(200, '{"not":"parsed"}', { 'Content-Type': 'text/plain; charset=utf-8' });
  assert.equal(await txt, '{"not":"parsed"}');
});

test('config is read without a token; delete resolves on 204', async () => {
  const t = client({ accessToken: 'access' });
  const config = t.client.config();
  const a = await t.waitFor(1);
  assert.equal(a.url, 'http://h/api/config');
  assert.equal(a.headers.Authorization, undefined);
  a.respondJson(200, { max_files: 5, max_file_bytes: 26214400, max_duration_seconds: 1800, max_text_chars: 50000, audio_extensions: ['mp3'], audio_mime_types: ['audio/mpeg'] });
  assert.equal((await config).max_file_bytes, 26214400);
  const removed = t.client.delete('abc');
  const b = await t.waitFor(2);
  assert.equal(b.init.method, 'DELETE');
  b.respond(204);
  assert.equal(await removed, undefined);
});

test('a 2xx that is not JSON is an invalid_response', async () => {
  const t = client();
  const pending = t.client.get('abc');
  (await t.waitFor(1)).respond(200, '<html>', { 'Content-Type': 'text/html' });
  await assert.rejects(pending, { code: 'invalid_response', status: 200 });
});

test('a client needs a base URL outside a browser page', () => {
  assert.throws(() => new SmeltClient(), TypeError);
});
