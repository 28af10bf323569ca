import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSmeltForm, errorFromResponse } from '../../src/api.js';
import { formatEta, markdownFilename, clampPercent } from '../../src/format.js';

test('multipart fields follow the contract', () => {
  const a = new File([new Uint8Array(3)], 'a.mp3', { type: 'audio/mpeg' });
  const form = buildSmeltForm({ files: [a], text: 'ignored', mode: 'separate', promptNames: ['summarize', 'qa_format'] });
  assert.deepEqual([...form.keys()], ['files[]', 'mode', 'default_prompt_names[]', 'default_prompt_names[]']);
  assert.equal(form.get('files[]').name, 'a.mp3');
  assert.deepEqual(form.getAll('default_prompt_names[]'), ['summarize', 'qa_format']);

  const text = buildSmeltForm({ text: 'hello', mode: 'separate', promptNames: [] });
  assert.deepEqual([...text.entries()], [['text', 'hello'], ['mode', 'separate']]);
});

test('a link travels as url, alone and trimmed, with the speech fields of audio', () => {
  const speech = { model: 'base', language: 'auto', task: 'transcribe' };
  const form = buildSmeltForm({ url: ' https://example.com/a.mp3 ', text: 'ignored', mode: 'separate', promptNames: ['summarize'], speech });
  assert.deepEqual([...form.entries()], [
    ['url', 'https://example.com/a.mp3'],
    ['mode', 'separate'],
    ['default_prompt_names[]', 'summarize'],
    ['model', 'base'],
    ['language', 'auto'],
    ['task', 'transcribe'],
  ]);
  const a = new File([new Uint8Array(3)], 'a.mp3', { type: 'audio/mpeg' });
  const files = buildSmeltForm({ files: [a], url: 'https://example.com/a.mp3', mode: 'separate', promptNames: [] });
  assert.deepEqual([...files.keys()], ['files[]', 'mode'], 'files win over a link');
  const blank = buildSmeltForm({ url: '   ', text: 'hello', mode: 'separate', promptNames: [] });
  assert.deepEqual([...blank.entries()], [['text', 'hello'], ['mode', 'separate']]);
});

test('error bodies: message shown as is, otherwise a generic one', () => {
  const e = errorFromResponse(429, JSON.stringify({ error: { code: 'daily_limit', message: 'DAILY LIMIT HIT. TRY TOMORROW' } }));
  assert.equal(e.message, 'DAILY LIMIT HIT. TRY TOMORROW');
  assert.equal(e.code, 'daily_limit');
  assert.equal(e.status, 429);
  assert.equal(errorFromResponse(502, '<html>bad gateway</html>').message, 'SOMETHING WENT WRONG (HTTP 502). TRY AGAIN');
  assert.match(errorFromResponse(413, '').message, /^FILE TOO CHUNKY/);
});

test('format helpers', () => {
  assert.equal(formatEta(3), 'almost there');
  assert.equal(formatEta(42), 'about 42 s left');
  assert.equal(formatEta(130), 'about 2 min left');
  assert.equal(formatEta(3900), 'about 1 h 5 min left');
  assert.equal(formatEta(undefined), '');
  assert.equal(markdownFilename('Team sync.m4a'), 'Team sync.md');
  assert.equal(markdownFilename('a/b:c?.wav'), 'a_b_c_.md');
  assert.equal(markdownFilename(null), 'smelt-notes.md');
  assert.equal(clampPercent(140), 100);
  assert.equal(clampPercent('x'), 0);
});
