import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCOPES, deliveryEventLabel, deliveryRow, deliveryStatusLabel, expiryFromDate, keyRow, keyState, todayDateValue } from '../../src/developers.js';
import { formatDateTime } from '../../src/format.js';
import { validateNewKey, validateWebhookUrl } from '../../src/validation.js';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const UTC = { locale: 'en-GB', timeZone: 'UTC' };

const KEY = Object.freeze({
  id: '0193a000-0000-7000-8000-000000000001',
  name: 'nightly report',
  prefix: 'ck_AbCdEfGh',
  scopes: ['smelts:read', 'smelts:write'],
  created_at: '2026-11-20T09:30:00Z',
  expires_at: null,
  last_used_at: null,
  revoked_at: null,
});

test('the scopes offered are the server’s three, the default two ticked', () => {
  assert.deepEqual(SCOPES.map((s) => s.scope), ['smelts:write', 'smelts:read', 'webhooks']);
  assert.deepEqual(SCOPES.filter((s) => s.preset).map((s) => s.scope), ['smelts:write', 'smelts:read']);
});

test('a key is active, expired or revoked; revoked wins', () => {
  assert.equal(keyState(KEY, NOW), 'active');
  assert.equal(keyState({ ...KEY, expires_at: '2026-11-22T00:00:00Z' }, NOW), 'active');
  assert.equal(keyState({ ...KEY, expires_at: '2026-11-21T12:00:00Z' }, NOW), 'expired', 'expired at the very instant');
  assert.equal(keyState({ ...KEY, revoked_at: '2026-11-21T10:00:00Z' }, NOW), 'revoked');
  assert.equal(keyState({ ...KEY, revoked_at: '2026-11-21T10:00:00Z', expires_at: '2026-11-01T00:00:00Z' }, NOW), 'revoked');
});

test('a fresh key row: prefix marked as partial, never used, never expires', () => {
  assert.deepEqual(keyRow(KEY, { now: NOW, ...UTC }), {
    state: 'active',
    stateText: 'Active',
    prefix: 'ck_AbCdEfGh…',
    scopes: 'smelts:read, smelts:write',
    created: '20 Nov 2026, 09:30',
    lastUsed: 'never',
    expires: 'never',
    revoked: null,
  });
});

test('a used, expiring, revoked key row shows each time', () => {
  const row = keyRow({ ...KEY, last_used_at: '2026-11-21T08:01:00Z', expires_at: '2026-12-31T23:59:59Z', revoked_at: '2026-11-21T11:15:00Z', scopes: ['webhooks'] }, { now: NOW, ...UTC });
  assert.equal(row.state, 'revoked');
  assert.equal(row.stateText, 'Revoked');
  assert.equal(row.lastUsed, '21 Nov 2026, 08:01');
  assert.equal(row.expires, '31 Dec 2026, 23:59');
  assert.equal(row.revoked, '21 Nov 2026, 11:15');
  assert.equal(row.scopes, 'webhooks');
  assert.equal(keyRow({ ...KEY, expires_at: '2026-11-01T00:00:00Z' }, { now: NOW, ...UTC }).stateText, 'Expired');
  assert.equal(keyRow({ ...KEY, scopes: [] }, { now: NOW, ...UTC }).scopes, '—');
});

test('a picked expiry date means the end of that day in the reader’s time zone', () => {
  const iso = expiryFromDate('2026-12-01');
  assert.match(iso, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'RFC 3339 in UTC');
  const end = new Date(iso);
  assert.deepEqual([end.getFullYear(), end.getMonth(), end.getDate(), end.getHours(), end.getMinutes(), end.getSeconds()], [2026, 11, 1, 23, 59, 59]);
  assert.equal(expiryFromDate(''), null, 'empty: never expires');
  assert.equal(expiryFromDate('2026-02-30'), null, 'no such day');
  assert.equal(expiryFromDate('1 Dec 2026'), null);
  assert.equal(todayDateValue(new Date(2026, 0, 5, 8)), '2026-01-05');
});

test('delivery statuses and events have labels', () => {
  assert.equal(deliveryStatusLabel('pending'), 'Pending');
  assert.equal(deliveryStatusLabel('delivered'), 'Delivered');
  assert.equal(deliveryStatusLabel('given_up'), 'Given up');
  assert.equal(deliveryStatusLabel('paused'), 'paused', 'an unknown status as it is');
  assert.equal(deliveryStatusLabel(undefined), 'Unknown');
  assert.equal(deliveryEventLabel('completed'), 'Smelt completed');
  assert.equal(deliveryEventLabel('smelt.failed'), 'Smelt failed');
  assert.equal(deliveryEventLabel('cancelled'), 'Smelt cancelled');
  assert.equal(deliveryEventLabel(''), 'Unknown event');
});

test('a delivery row: attempts, the last answer and times to the second', () => {
  const delivered = {
    id: 'd1',
    smelt_id: 's1',
    event: 'completed',
    status: 'delivered',
    attempts: 1,
    last_status_code: 204,
    last_error: null,
    created_at: '2026-11-21T10:00:00Z',
    last_attempt_at: '2026-11-21T10:00:01Z',
    delivered_at: '2026-11-21T10:00:01Z',
  };
  assert.deepEqual(deliveryRow(delivered, UTC), {
    event: 'Smelt completed',
    status: 'delivered',
    statusText: 'Delivered',
    attempts: '1 attempt',
    lastAnswer: 'HTTP 204',
    created: '21 Nov 2026, 10:00:00',
    lastAttempt: '21 Nov 2026, 10:00:01',
    delivered: '21 Nov 2026, 10:00:01',
  });
  const retrying = deliveryRow({ ...delivered, status: 'pending', attempts: 3, last_status_code: 500, last_error: 'the receiver answered 500', delivered_at: null }, UTC);
  assert.equal(retrying.statusText, 'Pending');
  assert.equal(retrying.attempts, '3 attempts');
  assert.equal(retrying.lastAnswer, 'HTTP 500: the receiver answered 500');
  assert.equal(retrying.delivered, 'not yet');
  const unreachable = deliveryRow({ ...delivered, status: 'given_up', attempts: 9, last_status_code: null, last_error: 'connection refused', delivered_at: null }, UTC);
  assert.equal(unreachable.statusText, 'Given up');
  assert.equal(unreachable.lastAnswer, 'connection refused');
  const queued = deliveryRow({ ...delivered, status: 'pending', attempts: 0, last_status_code: null, last_attempt_at: null, delivered_at: null }, UTC);
  assert.deepEqual([queued.attempts, queued.lastAnswer, queued.lastAttempt], ['0 attempts', '—', 'not yet']);
});

test('times to the second, in a given time zone', () => {
  assert.equal(formatDateTime('2026-11-21T14:05:09Z', 'en-GB', { timeZone: 'UTC' }), '21 Nov 2026, 14:05');
  assert.equal(formatDateTime('2026-11-21T14:05:09Z', 'en-GB', { timeZone: 'UTC', seconds: true }), '21 Nov 2026, 14:05:09');
  assert.equal(formatDateTime(null), '—');
});

test('a new key is checked with the server’s wording', () => {
  const ok = { name: 'ci', scopes: ['smelts:read'] };
  assert.equal(validateNewKey(ok, NOW), null);
  assert.equal(validateNewKey({ ...ok, name: '   ' }, NOW), 'NAME MUST BE 1 TO 100 CHARACTERS');
  assert.equal(validateNewKey({ ...ok, name: '€'.repeat(100) }, NOW), null, '100 characters, more bytes');
  assert.equal(validateNewKey({ ...ok, name: 'x'.repeat(101) }, NOW), 'NAME MUST BE 1 TO 100 CHARACTERS');
  assert.equal(validateNewKey({ ...ok, scopes: [] }, NOW), 'GIVE THE KEY AT LEAST ONE SCOPE');
  assert.equal(validateNewKey({ ...ok, expiresAt: '2026-11-21T11:59:59Z' }, NOW), 'THE EXPIRY DATE MUST BE IN THE FUTURE');
  assert.equal(validateNewKey({ ...ok, expiresAt: '2026-11-21T23:59:59Z' }, NOW), null);
});

test('a webhook URL must at least be an absolute URL; the server judges the host', () => {
  assert.equal(validateWebhookUrl('https://example.com/hooks/smelt'), null);
  assert.equal(validateWebhookUrl('http://127.0.0.1:8787/hooks'), null, 'plain http may be allowed by the operator');
  assert.equal(validateWebhookUrl(''), 'URL MUST BE AN ABSOLUTE HTTPS URL');
  assert.equal(validateWebhookUrl('example.com/hooks'), 'URL MUST BE AN ABSOLUTE HTTPS URL');
  assert.equal(validateWebhookUrl(`https://example.com/${'a'.repeat(2000)}`), 'URL MUST BE AN ABSOLUTE HTTPS URL');
});
