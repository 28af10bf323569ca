// Follows one audio smelt through Smelt's own client library and reports, as JSON, when its
// transcript started to arrive and when it finished.
//
//   node loadtest/transcription/measure.mjs <server URL> <audio file> [--words]
//
// Signs up a fresh user (so no anonymous limit applies), creates the smelt with the file (and
// word timings with --words), follows it over the WebSocket, and prints:
//   audio_seconds        the file's duration, as the server measured it
//   first_segment_s      from the 201 to the first `segment` event
//   transcribed_s        from the 201 to the last `segment` event
//   finished_s           from the 201 to the terminal event
//   segments             `segment` events received
//   real_time_factor     (last segment − first progress of `transcribing`) / audio_seconds:
//                        processing time per second of audio (below 1: faster than real time)
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename } from 'node:path';

// The client library and its `ws` dependency, from client/ (built with `npm run build`).
const clientDir = new URL('../../client/', import.meta.url);
const WebSocket = createRequire(new URL('package.json', clientDir))('ws');
const { SmeltClient } = await import(new URL('dist/index.js', clientDir).href);

const [baseUrl, audioPath, ...flags] = process.argv.slice(2);
if (!baseUrl || !audioPath) {
  console.error('usage: measure.mjs <server URL> <audio file> [--words]');
  process.exit(2);
}
const words = flags.includes('--words');

const email = `measure-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
const signup = await fetch(new URL('/api/auth/signup', baseUrl), {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email, password: 'measure transcription speed' }),
});
if (signup.status !== 201) throw new Error(`sign-up failed: ${signup.status} ${await signup.text()}`);
const { access_token: accessToken } = await signup.json();

const client = new SmeltClient({ baseUrl, WebSocket, accessToken });
const bytes = await readFile(audioPath);
const t0 = performance.now();
const created = await client.create({
  files: [{ data: new Blob([bytes]), name: basename(audioPath) }],
  wordTimestamps: words,
});
const since = () => (performance.now() - t0) / 1000;

let firstSegment = null;
let lastSegment = null;
let transcribingFrom = null;
let segments = 0;
let outcome = null;
for await (const event of client.follow(created)) {
  if (event.event === 'progress' && event.payload.progress?.stage === 'transcribing') {
    transcribingFrom ??= since();
  } else if (event.event === 'segment') {
    const now = since();
    firstSegment ??= now;
    lastSegment = now;
    segments += 1;
  } else if (['completed', 'failed', 'cancelled'].includes(event.event)) {
    outcome = event.event;
  }
}
const finished = since();
const smelt = await client.get(created.id);
const audioSeconds = (smelt.files ?? []).reduce((sum, f) => sum + (f.duration_seconds ?? 0), 0);
const transcribing = lastSegment !== null && transcribingFrom !== null ? lastSegment - transcribingFrom : null;
console.log(JSON.stringify({
  file: basename(audioPath),
  words,
  outcome,
  audio_seconds: audioSeconds,
  first_segment_s: firstSegment,
  transcribed_s: lastSegment,
  finished_s: finished,
  segments,
  real_time_factor: transcribing && audioSeconds ? transcribing / audioSeconds : null,
}));
