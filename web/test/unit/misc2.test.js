import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRoute, routeHash } from '../../src/router.js';
import { creditsText } from '../../src/format.js';
import { nextStepFor, statusLabel } from '../../src/messages.js';
import { validateCredentials, validatePrompt } from '../../src/validation.js';
import { buildSmeltForm } from '../../src/api.js';

test('hash routes parse and build symmetrically', () => {
  assert.equal(parseRoute('').name, 'create');
  assert.equal(parseRoute('#/').name, 'create');
  const smelt = parseRoute('#/smelts/0193-abc');
  assert.deepEqual([smelt.name, smelt.params.id], ['smelt', '0193-abc']);
  const history = parseRoute('#/history?status=failed&page=2');
  assert.equal(history.name, 'history');
  assert.equal(history.query.get('page'), '2');
  assert.equal(parseRoute('#/nope').name, 'not-found');
  assert.equal(routeHash('history', {}, { status: 'failed', page: 2, sort: '' }), '#/history?status=failed&page=2');
  assert.equal(routeHash('smelt', { id: 'a b' }), '#/smelts/a%20b');
  assert.equal(parseRoute(routeHash('smelt', { id: 'a b' })).params.id, 'a b');
});

test('credits badge: remaining of weekly, reset weekday in UTC, unlimited with a key', () => {
  const profile = { credits_remaining: 3, weekly_credits_max: 5, credits_reset_at: '2026-11-23T00:00:00Z', api_key_status: 'none' };
  assert.equal(creditsText(profile), '3 of 5 left this week, resets Monday');
  assert.equal(creditsText({ ...profile, api_key_status: 'valid' }), 'Unlimited with your API key');
  assert.equal(creditsText({ ...profile, api_key_status: 'invalid' }), '3 of 5 left this week, resets Monday');
});

test('failures say what to do next; statuses have labels', () => {
  assert.match(nextStepFor('corrupted_file'), /different one/);
  assert.match(nextStepFor('api_key_invalid'), /API key/);
  assert.match(nextStepFor('something_new'), /again/);
  assert.equal(statusLabel('transcribing'), 'In progress');
  assert.equal(statusLabel('pending'), 'Queued');
  assert.equal(statusLabel('completed'), 'Completed');
});

test('account and prompt checks use the server wording', () => {
  assert.equal(validateCredentials({ email: 'nope', password: 'x' }), 'INVALID EMAIL ADDRESS');
  assert.equal(validateCredentials({ email: 'a@b.c', password: '' }), 'ENTER YOUR PASSWORD');
  assert.equal(validateCredentials({ email: 'a@b.c', password: 'short' }, { signup: true }), 'PASSWORD MUST BE 8 TO 256 CHARACTERS');
  assert.equal(validateCredentials({ email: 'a@b.c', password: 'short' }), null, 'login leaves length to the server');
  assert.equal(validatePrompt({ title: ' ', body: 'x' }), 'TITLE IS REQUIRED');
  assert.equal(validatePrompt({ title: 'x'.repeat(101), body: 'x' }), 'TITLE MUST BE 1 TO 100 CHARACTERS');
  assert.equal(validatePrompt({ title: 'x', body: '' }), 'BODY IS REQUIRED');
  assert.equal(validatePrompt({ title: 'x', body: 'y'.repeat(4001) }), 'BODY MUST BE 1 TO 4000 CHARACTERS');
  assert.equal(validatePrompt({ title: 'x', body: 'y' }), null);
});

test('a custom prompt travels as user_prompt_id', () => {
  const form = buildSmeltForm({ text: 'hi', mode: 'separate', promptNames: ['summarize'], userPromptId: 'p-1' });
  assert.deepEqual([...form.entries()], [['text', 'hi'], ['mode', 'separate'], ['default_prompt_names[]', 'summarize'], ['user_prompt_id', 'p-1']]);
});
