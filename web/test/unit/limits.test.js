// The upload limits: the server's (GET /api/config) with the built-in ones as fallback.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { currentLimits, limitsFromConfig, loadLimits, onLimitsChange, resetLimits } from '../../src/limits.js';
import { MESSAGES, fileHint, validateFile, validateSubmission } from '../../src/validation.js';

const MB = 1024 * 1024;
const SERVER = {
  max_files: 3,
  max_file_bytes: 10 * MB,
  max_duration_seconds: 600,
  max_text_chars: 20_000,
  audio_extensions: ['mp3', 'WAV', '.webm'],
  audio_mime_types: ['audio/mpeg', 'audio/wav', 'audio/webm', 'video/webm'],
};

beforeEach(() => resetLimits());

test('the server config replaces the defaults field by field; malformed fields keep them', () => {
  const limits = limitsFromConfig(SERVER);
  assert.equal(limits.maxFiles, 3);
  assert.equal(limits.maxFileBytes, 10 * MB);
  assert.equal(limits.maxDurationSeconds, 600);
  assert.equal(limits.maxTextChars, 20_000);
  assert.deepEqual(limits.audioExtensions, ['.mp3', '.wav', '.webm'], 'extensions normalised');
  assert.equal(limits.anonymousMaxFiles, 1);

  const partial = limitsFromConfig({ max_files: 0, max_file_bytes: 'big', audio_extensions: [], audio_mime_types: [3], max_text_chars: 100 });
  assert.equal(partial.maxFiles, DEFAULT_LIMITS.maxFiles);
  assert.equal(partial.maxFileBytes, DEFAULT_LIMITS.maxFileBytes);
  assert.equal(partial.maxTextChars, 100);
  assert.deepEqual(partial.audioExtensions, DEFAULT_LIMITS.audioExtensions);
  assert.deepEqual(partial.audioMimeTypes, DEFAULT_LIMITS.audioMimeTypes);
  assert.deepEqual(limitsFromConfig('nonsense'), limitsFromConfig(null));
});

test('loaded once; a missing route or a network failure keeps the built-in limits', async () => {
  let calls = 0;
  const seen = [];
  onLimitsChange((l) => seen.push(l.maxFiles));
  const fetchConfig = async () => {
    calls++;
    return SERVER;
  };
  const [a, b] = await Promise.all([loadLimits(fetchConfig), loadLimits(fetchConfig)]);
  assert.equal(calls, 1);
  assert.equal(a, b);
  assert.equal(currentLimits().maxFiles, 3);
  assert.deepEqual(seen, [3]);

  resetLimits();
  const notFound = Object.assign(new Error('NOT FOUND'), { status: 404 });
  const limits = await loadLimits(async () => {
    throw notFound;
  });
  assert.equal(limits.maxFiles, DEFAULT_LIMITS.maxFiles);
  assert.equal(currentLimits().maxFileBytes, 25 * MB);
});

test('validation uses the limits in force, worded like the server', async () => {
  const f = (name, size = 1000, type = 'audio/mpeg') => ({ name, size, type });
  // Built-in: 25 MB, the formats browsers record included.
  assert.equal(validateFile(f('rec.webm', 1000, 'audio/webm;codecs=opus')), null);
  assert.equal(validateFile(f('rec.ogg', 1000, 'audio/ogg;codecs=opus')), null);
  assert.equal(validateFile(f('rec.opus', 1000, 'audio/opus')), null);
  assert.equal(validateFile(f('clip.mp4', 1000, 'video/mp4')), null);
  assert.equal(validateFile(f('clip.webm', 1000, 'video/webm')), null);
  assert.equal(validateFile(f('a.mp3', 26 * MB)), 'FILE TOO CHUNKY. MAX 25MB. YOUR FILE: 26.0MB');
  assert.equal(validateFile(f('a.mp3'), { durationSeconds: 1801 }), 'AUDIO TOO LONG. MAX 30 MINUTES');
  assert.equal(validateFile(f('a.mp3'), { durationSeconds: 1800 }), null);
  assert.equal(validateFile(f('a.mp3'), { durationSeconds: Infinity }), null, 'an unknown length is left to the server');

  await loadLimits(async () => SERVER);
  assert.equal(validateFile(f('a.mp3', 11 * MB)), 'FILE TOO CHUNKY. MAX 10MB. YOUR FILE: 11.0MB');
  assert.equal(validateFile(f('a.ogg', 10, 'audio/ogg')), MESSAGES.badType, 'the server did not list .ogg');
  assert.equal(validateFile(f('a.wav'), { durationSeconds: 601 }), 'AUDIO TOO LONG. MAX 10 MINUTES');
  const four = Array.from({ length: 4 }, (_, i) => f(`${i}.mp3`));
  assert.equal(validateSubmission({ files: four, text: '', signedIn: true }), 'MAX 3 FILES ALLOWED');
  assert.equal(validateSubmission({ files: [], text: 'x'.repeat(20_001) }), 'TOO MUCH TEXT. MAX 20,000 CHARACTERS');
  assert.equal(validateSubmission({ files: [f('a.mp3')], text: '', durations: [700] }), 'AUDIO TOO LONG. MAX 10 MINUTES');
});

test('the file hint names the formats and limits', () => {
  assert.equal(fileHint(DEFAULT_LIMITS, { signedIn: true }), 'MP3, WAV, M4A, WebM, Ogg or MP4, up to 25 MB and 30 minutes each, up to 5 files.');
  assert.equal(fileHint(DEFAULT_LIMITS, { signedIn: false }), 'MP3, WAV, M4A, WebM, Ogg or MP4, up to 25 MB and 30 minutes. One file at a time without an account.');
  assert.equal(fileHint(limitsFromConfig(SERVER), { signedIn: true }), 'MP3, WAV or WebM, up to 10 MB and 10 minutes each, up to 3 files.');
});
