// The smelt page's pure logic: timestamps, queue wording, segment merging, result grouping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTimestamp, formatWait, isoDuration, laneText, ordinal, queueText } from '../../src/format.js';
import { SegmentStore, insertionPoint } from '../../src/segments.js';
import { groupResults, promptName, resultLabel, withoutRepeatedTitle } from '../../src/result-groups.js';

test('timestamps: mm:ss under an hour, h:mm:ss from an hour on, seconds truncated', () => {
  assert.equal(formatTimestamp(0), '00:00');
  assert.equal(formatTimestamp(3_800), '00:03');
  assert.equal(formatTimestamp(59_999), '00:59');
  assert.equal(formatTimestamp(60_000), '01:00');
  assert.equal(formatTimestamp(187_400), '03:07');
  assert.equal(formatTimestamp(3_599_999), '59:59');
  assert.equal(formatTimestamp(3_600_000), '1:00:00');
  assert.equal(formatTimestamp(3_725_000), '1:02:05');
  assert.equal(formatTimestamp(36_000_000), '10:00:00');
  assert.equal(formatTimestamp(-1), '');
  assert.equal(formatTimestamp(Number.NaN), '');
  assert.equal(isoDuration(187_400), 'PT187.4S');
  assert.equal(isoDuration(0), 'PT0S');
});

test('ordinals in English', () => {
  const cases = { 1: '1st', 2: '2nd', 3: '3rd', 4: '4th', 10: '10th', 11: '11th', 12: '12th', 13: '13th', 14: '14th', 21: '21st', 22: '22nd', 23: '23rd', 101: '101st', 111: '111th', 112: '112th', 113: '113th', 122: '122nd' };
  for (const [n, text] of Object.entries(cases)) assert.equal(ordinal(Number(n)), text, n);
});

test('waits: less than a minute, whole minutes, then hours in five-minute steps', () => {
  assert.equal(formatWait(0), 'less than a minute');
  assert.equal(formatWait(59), 'less than a minute');
  assert.equal(formatWait(60), 'about 1 min');
  assert.equal(formatWait(89), 'about 1 min');
  assert.equal(formatWait(90), 'about 2 min');
  assert.equal(formatWait(130), 'about 2 min');
  assert.equal(formatWait(3_569), 'about 59 min');
  assert.equal(formatWait(3_600), 'about 1 h');
  assert.equal(formatWait(4_500), 'about 1 h 15 min');
  assert.equal(formatWait(4_620), 'about 1 h 15 min');
  assert.equal(formatWait(7_190), 'about 2 h');
  assert.equal(formatWait(undefined), '');
  assert.equal(formatWait(-5), '');
});

test('queue position: "next in line" for 1, ordinals after, the estimate only when given', () => {
  assert.equal(queueText({ queue_position: 3, estimated_wait_seconds: 130 }), '3rd in line, about 2 min');
  assert.equal(queueText({ queue_position: 2, estimated_wait_seconds: 45 }), '2nd in line, less than a minute');
  assert.equal(queueText({ queue_position: 1, estimated_wait_seconds: 20 }), 'next in line, less than a minute');
  assert.equal(queueText({ queue_position: 1 }), 'next in line');
  assert.equal(queueText({ queue_position: 11, estimated_wait_seconds: null }), '11th in line');
  assert.equal(queueText({ estimated_wait_seconds: 30 }), '');
  assert.equal(queueText({ queue_position: 0 }), '');
  assert.equal(queueText(), '');
});

test('a queued smelt says why it waits where it does, by its lane', () => {
  assert.match(laneText('fast'), /go first/);
  assert.match(laneText('normal'), /Short recordings go first/);
  assert.match(laneText('bulk'), /when other work leaves room/);
  assert.equal(laneText(undefined), '');
  assert.equal(laneText('express'), '');
});

test('segments are kept once per (file_id, index), in index order per file', () => {
  const store = new SegmentStore();
  const seg = (file_id, index, start_ms, text) => ({ file_id, index, start_ms, end_ms: start_ms + 1000, text });
  // A snapshot with what was said so far …
  assert.equal(store.addAll([seg('a', 0, 0, ' Hello there. '), seg('a', 1, 1000, 'Second.')]).length, 2);
  // … then a replay after a reconnect overlaps it: only the new one counts.
  const added = store.addAll([seg('a', 1, 1000, 'Second.'), seg('a', 2, 2000, 'Third.')]);
  assert.deepEqual(added.map((s) => s.index), [2]);
  assert.equal(store.add(seg('a', 0, 0, 'Hello there.')), null, 'a replayed segment is not new');
  // Same index in another file is another segment.
  assert.ok(store.add(seg('b', 0, 0, 'Other file.')));
  // Out of order arrival still reads in order.
  store.add(seg('b', 2, 2000, 'Late two.'));
  store.add(seg('b', 1, 1000, 'Late one.'));
  assert.deepEqual(store.forFile('a').map((s) => s.text), ['Hello there.', 'Second.', 'Third.']);
  assert.deepEqual(store.forFile('b').map((s) => s.index), [0, 1, 2]);
  assert.deepEqual(store.fileIds(), ['a', 'b']);
  assert.equal(store.size, 6);
  // Malformed payloads are ignored.
  assert.equal(store.add({ file_id: 'a', index: -1, start_ms: 0, text: 'x' }), null);
  assert.equal(store.add({ file_id: 'a', index: 9, text: 'no time' }), null);
  assert.equal(store.add(null), null);
  assert.equal(store.size, 6);
  store.clear();
  assert.equal(store.size, 0);
});

test('insertion point among the shown indexes', () => {
  assert.equal(insertionPoint([], 0), 0);
  assert.equal(insertionPoint([0, 1, 2], 3), 3);
  assert.equal(insertionPoint([0, 2, 3], 1), 1);
  assert.equal(insertionPoint([4, 5], 0), 0);
});

test('results are grouped per file in file order, the transcript first', () => {
  const files = [{ id: 'f2', position: 1, filename: 'two.wav' }, { id: 'f1', position: 0, filename: 'one.wav' }];
  const results = [
    { file_id: 'f2', filename: 'two.wav', kind: 'notes', prompt: 'summarize', content: '# Summary' },
    { file_id: 'f1', filename: 'one.wav', kind: 'notes', prompt: 'action_items', content: '# Action items' },
    { file_id: 'f2', filename: 'two.wav', kind: 'transcript', prompt: null, content: '# Transcript' },
    { file_id: 'f1', filename: 'one.wav', kind: 'transcript', prompt: null, content: '# Transcript' },
    { file_id: 'f1', filename: 'one.wav', kind: 'notes', prompt: 'summarize', content: '# Summary' },
  ];
  const groups = groupResults(results, files);
  assert.deepEqual(groups.map((g) => g.filename), ['one.wav', 'two.wav']);
  assert.deepEqual(groups[0].results.map((r) => r.prompt ?? r.kind), ['transcript', 'action_items', 'summarize'], 'transcript first, then the server order');
  assert.deepEqual(groups[1].results.map((r) => r.prompt ?? r.kind), ['transcript', 'summarize']);

  const combined = groupResults([
    { file_id: null, filename: 'Combined', kind: 'notes', prompt: 'custom', content: 'x' },
    { file_id: null, filename: 'Combined', kind: 'transcript', prompt: null, content: 'y' },
  ], files);
  assert.equal(combined.length, 1);
  assert.equal(combined[0].fileId, null);
  assert.deepEqual(combined[0].results.map((r) => r.kind), ['transcript', 'notes']);

  // Files the smelt list does not know come last, in the order they appeared; older results without kind are notes.
  const loose = groupResults([{ file_id: 'zz', filename: 'z.wav', content: 'a' }, { file_id: 'f1', filename: 'one.wav', content: 'b' }], files);
  assert.deepEqual(loose.map((g) => g.fileId), ['f1', 'zz']);
  assert.deepEqual(groupResults(null), []);
});

test('result headings and the repeated document title', () => {
  assert.equal(resultLabel({ kind: 'transcript', prompt: null }), 'Transcript');
  assert.equal(resultLabel({ kind: 'notes', prompt: 'summarize' }), 'Summary');
  assert.equal(resultLabel({ kind: 'notes', prompt: 'qa_format' }), 'Q&A');
  assert.equal(resultLabel({ kind: 'notes', prompt: 'custom' }), 'Your prompt');
  assert.equal(resultLabel({ kind: 'notes', prompt: 'custom' }, 'Decisions'), 'Your prompt: Decisions');
  assert.equal(resultLabel({ kind: 'notes', prompt: 'new_thing' }), 'New thing');
  assert.equal(resultLabel({}), 'Notes');
  assert.equal(promptName('action_items'), 'Action items');
  assert.equal(promptName('My own prompt'), 'My own prompt');

  assert.equal(withoutRepeatedTitle('# Transcript\n\n_Source: a.wav_\n', 'Transcript'), '_Source: a.wav_\n');
  assert.equal(withoutRepeatedTitle('# Action Items\nbody', 'Action items'), 'body');
  assert.equal(withoutRepeatedTitle('# Meeting notes\n\nbody', 'Summary'), '# Meeting notes\n\nbody', 'another title stays');
  assert.equal(withoutRepeatedTitle('## Summary\nbody', 'Summary'), '## Summary\nbody', 'only a level-one title');
  assert.equal(withoutRepeatedTitle('plain', 'Summary'), 'plain');
  assert.equal(withoutRepeatedTitle(undefined, 'Summary'), '');
});
