import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MESSAGES, countChars, formatMb, validateFile, validateLink, validateSubmission } from '../../src/validation.js';

const MB = 1024 * 1024;
const f = (name, size = 1000, type = 'audio/mpeg') => ({ name, size, type });

test('messages use the API wording', () => {
  assert.equal(MESSAGES.tooManyFiles(), 'MAX 5 FILES ALLOWED');
  assert.equal(MESSAGES.fileTooBig(31.2 * MB), 'FILE TOO CHUNKY. MAX 25MB. YOUR FILE: 31.2MB');
  assert.equal(MESSAGES.badType, "CAN'T READ THAT. TRY .MP3 .WAV .M4A .WEBM .OGG");
  assert.equal(MESSAGES.nothing, 'NOTHING TO PROCESS. UPLOAD A FILE OR ENTER TEXT');
  assert.equal(MESSAGES.both, 'CHOOSE EITHER FILES OR TEXT, NOT BOTH');
  assert.equal(MESSAGES.textTooLong(), 'TOO MUCH TEXT. MAX 50,000 CHARACTERS');
  assert.equal(MESSAGES.anonymousOneFile, 'LOGIN REQUIRED FOR THIS FEATURE');
  assert.equal(MESSAGES.combineNeedsAccount, 'COMBINE MODE REQUIRES LOGIN');
  assert.equal(MESSAGES.combineNeedsTwoFiles, 'COMBINE MODE NEEDS 2+ FILES');
});

test('formatMb: one decimal', () => {
  assert.equal(formatMb(25 * MB + 1), '25.0');
  assert.equal(formatMb(1.25 * MB), '1.3');
});

test('file type: extension required, MIME only rejects clear non-audio', () => {
  for (const name of ['a.mp3', 'b.WAV', 'c.m4a']) assert.equal(validateFile(f(name)), null, name);
  assert.equal(validateFile(f('c.m4a', 10, 'audio/x-m4a')), null);
  assert.equal(validateFile(f('c.m4a', 10, 'video/mp4')), null);
  assert.equal(validateFile(f('c.wav', 10, '')), null);
  assert.equal(validateFile(f('c.wav', 10, 'application/octet-stream')), null);
  assert.equal(validateFile(f('notes.txt', 10, 'text/plain')), MESSAGES.badType);
  assert.equal(validateFile(f('song.flac', 10, 'audio/flac')), MESSAGES.badType);
  assert.equal(validateFile(f('fake.mp3', 10, 'text/plain')), MESSAGES.badType);
  assert.equal(validateFile(f('noext', 10, 'audio/mpeg')), MESSAGES.badType);
});

test('file size: 25 MB allowed, one byte more is not', () => {
  assert.equal(validateFile(f('a.mp3', 25 * MB)), null);
  assert.equal(validateFile(f('a.mp3', 25 * MB + 1)), 'FILE TOO CHUNKY. MAX 25MB. YOUR FILE: 25.0MB');
});

test('submission: nothing, both, too many, anonymous limits', () => {
  assert.equal(validateSubmission({ files: [], text: '' }), MESSAGES.nothing);
  assert.equal(validateSubmission({ files: [], text: '   \n' }), MESSAGES.nothing);
  assert.equal(validateSubmission({ files: [f('a.mp3')], text: 'hi' }), MESSAGES.both);
  assert.equal(validateSubmission({ files: [f('a.mp3')], text: '  ' }), null);
  const six = Array.from({ length: 6 }, (_, i) => f(`${i}.mp3`));
  assert.equal(validateSubmission({ files: six, text: '', signedIn: true }), MESSAGES.tooManyFiles());
  assert.equal(validateSubmission({ files: six, text: '' }), MESSAGES.tooManyFiles());
  assert.equal(validateSubmission({ files: [f('a.mp3'), f('b.mp3')], text: '' }), MESSAGES.anonymousOneFile);
  assert.equal(validateSubmission({ files: [f('a.mp3')], text: '', mode: 'combine' }), MESSAGES.combineNeedsAccount);
  // The server checks combine mode before the anonymous one-file limit.
  assert.equal(validateSubmission({ files: [f('a.mp3'), f('b.mp3')], text: '', mode: 'combine' }), MESSAGES.combineNeedsAccount);
  assert.equal(validateSubmission({ files: [f('a.mp3')], text: '', mode: 'combine', signedIn: true }), MESSAGES.combineNeedsTwoFiles);
  assert.equal(validateSubmission({ files: [f('a.mp3'), f('b.wav')], text: '', mode: 'combine', signedIn: true }), null);
  assert.equal(validateSubmission({ files: [f('a.mp3'), f('bad.txt', 1, 'text/plain')], text: '', signedIn: true }), MESSAGES.badType);
});

test('text length counts code points like the server', () => {
  assert.equal(countChars('héllo'), 5);
  assert.equal(countChars('😀😀'), 2); // 4 UTF-16 units
  assert.equal(validateSubmission({ files: [], text: 'x'.repeat(50_000) }), null);
  assert.equal(validateSubmission({ files: [], text: '😀'.repeat(50_000) }), null);
  assert.equal(validateSubmission({ files: [], text: 'x'.repeat(50_001) }), 'TOO MUCH TEXT. MAX 50,000 CHARACTERS');
});

test('precedence follows the server: count, each file, text length, then the rules', () => {
  const six = Array.from({ length: 6 }, (_, i) => f(`${i}.txt`, 1, 'text/plain'));
  assert.equal(validateSubmission({ files: six, text: 'hi' }), MESSAGES.tooManyFiles());
  assert.equal(validateSubmission({ files: [f('bad.txt', 1, 'text/plain')], text: 'hi' }), MESSAGES.badType);
  assert.equal(validateSubmission({ files: [f('a.mp3', 26 * MB)], text: 'hi' }), MESSAGES.fileTooBig(26 * MB));
  assert.equal(validateSubmission({ files: [f('a.mp3')], text: 'x'.repeat(50_001) }), MESSAGES.textTooLong());
  assert.equal(validateSubmission({ files: [], text: ' '.repeat(50_001) }), MESSAGES.textTooLong());
  assert.equal(validateSubmission({ files: [f('a.mp3'), f('b.mp3')], text: 'hi' }), MESSAGES.both);
});

test('a link stands alone, like files or text, in the server\'s words', () => {
  const link = 'https://example.com/talks/keynote.mp3';
  assert.equal(MESSAGES.linkAndMore, 'CHOOSE ONE: FILES, A LINK OR TEXT');
  assert.equal(MESSAGES.badLink, 'THIS LINK CANNOT BE FETCHED. USE A PUBLIC HTTPS LINK TO AN AUDIO FILE');
  assert.equal(validateSubmission({ files: [], url: link, text: '' }), null);
  assert.equal(validateSubmission({ files: [], url: '  ', text: '' }), MESSAGES.nothing);
  assert.equal(validateSubmission({ files: [f('a.mp3')], url: link, text: '' }), MESSAGES.linkAndMore);
  assert.equal(validateSubmission({ files: [], url: link, text: 'notes' }), MESSAGES.linkAndMore);
  // The rules come before the link's own check, as on the server.
  assert.equal(validateSubmission({ files: [], url: 'nope', text: 'notes' }), MESSAGES.linkAndMore);
  assert.equal(validateSubmission({ files: [], url: link, text: '', mode: 'combine', signedIn: true }), MESSAGES.combineNeedsTwoFiles);
  assert.equal(validateSubmission({ files: [], url: 'nope', text: '' }), MESSAGES.badLink);
});

test('a link must be an absolute http(s) URL of at most 2,000 bytes; its host is for the server', () => {
  assert.equal(validateLink('https://example.com/a.mp3'), null);
  // Plain http may be allowed for a host the operator listed: the server decides.
  assert.equal(validateLink('http://media.lan:8080/a.wav'), null);
  assert.equal(validateLink('https://127.0.0.1/a.wav'), null);
  assert.equal(validateLink('example.com/a.mp3'), MESSAGES.badLink);
  assert.equal(validateLink('ftp://example.com/a.mp3'), MESSAGES.badLink);
  assert.equal(validateLink('javascript:alert(1)'), MESSAGES.badLink);
  assert.equal(validateLink(`https://example.com/${'a'.repeat(1980)}`), null);
  assert.equal(validateLink(`https://example.com/${'a'.repeat(1981)}`), MESSAGES.badLink);
});
