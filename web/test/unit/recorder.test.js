// Recording in the browser: the type chosen, the file name, the meter, the
// plain-words errors, and the limits that stop a recording by themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECORDER_MESSAGES, Recorder, chooseRecordingType, extensionForType, levelFromSamples, recorderErrorMessage, recordingFilename } from '../../src/recorder.js';

test('the recording type: WebM/Opus, then Ogg/Opus, then MP4 (Safari), else the browser decides', () => {
  const supports = (...types) => (t) => types.includes(t);
  assert.equal(chooseRecordingType(supports('audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4')), 'audio/webm;codecs=opus');
  assert.equal(chooseRecordingType(supports('audio/ogg;codecs=opus', 'audio/mp4')), 'audio/ogg;codecs=opus');
  assert.equal(chooseRecordingType(supports('audio/mp4')), 'audio/mp4');
  assert.equal(chooseRecordingType(supports('audio/x-something')), '');
  assert.equal(chooseRecordingType(undefined), '');
});

test('recordings are named after their start in local time, with the extension of their type', () => {
  const at = new Date(2026, 10, 30, 17, 12, 45); // local time
  assert.equal(recordingFilename(at, 'audio/webm;codecs=opus'), 'recording-2026-11-30-1712.webm');
  assert.equal(recordingFilename(at, 'audio/ogg;codecs=opus'), 'recording-2026-11-30-1712.ogg');
  assert.equal(recordingFilename(at, 'audio/mp4'), 'recording-2026-11-30-1712.m4a');
  assert.equal(recordingFilename(new Date(2027, 0, 2, 3, 4), 'audio/mp4;codecs=mp4a.40.2'), 'recording-2027-01-02-0304.m4a');
  assert.equal(extensionForType('video/webm;codecs=vp8,opus'), '.webm');
  assert.equal(extensionForType('audio/wav'), '.wav');
  assert.equal(extensionForType(''), '.webm');
});

test('the level meter follows loudness in decibels', () => {
  assert.equal(levelFromSamples(new Float32Array(128)), 0, 'silence');
  assert.equal(levelFromSamples([]), 0);
  assert.equal(levelFromSamples(new Float32Array(128).fill(1)), 1, 'full scale');
  const quiet = levelFromSamples(new Float32Array(128).fill(0.01)); // -40 dBFS
  const loud = levelFromSamples(new Float32Array(128).fill(0.3));
  assert.ok(Math.abs(quiet - 1 / 3) < 1e-6, `-40 dB is a third of the way: ${quiet}`);
  assert.ok(loud > quiet && loud < 1);
  assert.equal(levelFromSamples(new Float32Array(128).fill(0.0001)), 0, 'below -60 dB reads as silence');
});

test('errors are explained in plain words', () => {
  assert.equal(recorderErrorMessage({ name: 'NotAllowedError' }), RECORDER_MESSAGES.denied);
  assert.equal(recorderErrorMessage({ name: 'NotFoundError' }), RECORDER_MESSAGES.noMicrophone);
  assert.equal(recorderErrorMessage({ name: 'NotReadableError' }), RECORDER_MESSAGES.busy);
  assert.equal(recorderErrorMessage({ name: 'NotSupportedError' }), RECORDER_MESSAGES.unsupported);
  assert.equal(recorderErrorMessage(new Error('?')), RECORDER_MESSAGES.failed);
  for (const message of Object.values(RECORDER_MESSAGES)) assert.doesNotMatch(message, /Error|DOMException|getUserMedia/, 'no jargon');
});

// A browser's recording objects, driven by the test.
function fakeBrowser({ supported = ['audio/webm;codecs=opus'], denied = null } = {}) {
  const world = { now: 0, intervals: new Map(), nextId: 1, tracksStopped: 0, recorders: [] };
  class FakeMediaRecorder extends EventTarget {
    static isTypeSupported(t) {
      return supported.includes(t);
    }
    constructor(stream, options) {
      super();
      this.mimeType = options?.mimeType || 'audio/webm';
      this.state = 'inactive';
      world.recorders.push(this);
    }
    start(timeslice) {
      this.timeslice = timeslice;
      this.state = 'recording';
    }
    emit(size) {
      const e = new Event('dataavailable');
      e.data = new Blob([new Uint8Array(size)], { type: this.mimeType });
      this.dispatchEvent(e);
    }
    stop() {
      this.state = 'inactive';
      this.emit(10); // the last piece
      this.dispatchEvent(new Event('stop'));
    }
  }
  const env = {
    secure: true,
    mediaDevices: {
      getUserMedia: async () => {
        if (denied) throw Object.assign(new Error('denied'), { name: denied });
        return { getTracks: () => [{ stop: () => world.tracksStopped++ }] };
      },
    },
    MediaRecorder: FakeMediaRecorder,
    AudioContext: undefined,
    now: () => world.now,
    setInterval: (fn) => {
      const id = world.nextId++;
      world.intervals.set(id, fn);
      return id;
    },
    clearInterval: (id) => world.intervals.delete(id),
  };
  world.advance = (ms) => {
    for (let t = 0; t < ms; t += 100) {
      world.now += 100;
      for (const fn of [...world.intervals.values()]) fn();
    }
  };
  return { env, world };
}

test('a recording stops by itself just before the longest duration the server takes', async () => {
  const { env, world } = fakeBrowser();
  const stops = [];
  const ticks = [];
  const recorder = new Recorder({ maxDurationSeconds: 60, maxBytes: 10_000_000, env, onStop: (r) => stops.push(r), onTick: (t) => ticks.push(t) });
  await recorder.start();
  assert.equal(world.recorders[0].mimeType, 'audio/webm;codecs=opus');
  assert.equal(world.recorders[0].timeslice, 1000, 'chunks every second, so the size is known while recording');
  world.advance(30_000);
  assert.equal(stops.length, 0);
  world.advance(30_000);
  assert.equal(stops.length, 1);
  assert.equal(stops[0].reason, 'duration');
  assert.ok(stops[0].durationMs <= 60_000 && stops[0].durationMs >= 59_000, `stopped within the limit: ${stops[0].durationMs}`);
  assert.equal(stops[0].type, 'audio/webm;codecs=opus');
  assert.equal(stops[0].blob.type, 'audio/webm;codecs=opus');
  assert.equal(world.tracksStopped, 1, 'the microphone is released');
  assert.equal(world.intervals.size, 0, 'the timer stopped');
  assert.ok(ticks.length > 500 && ticks.at(-1).elapsedMs > 59_000);
});

test('a recording stops by itself before it outgrows the largest file the server takes', async () => {
  const { env, world } = fakeBrowser();
  const stops = [];
  const recorder = new Recorder({ maxDurationSeconds: 1800, maxBytes: 10_000, env, onStop: (r) => stops.push(r) });
  await recorder.start();
  for (let i = 0; i < 7; i++) world.recorders[0].emit(1000);
  assert.equal(stops.length, 0, '7,000 bytes and room for two more chunks');
  world.recorders[0].emit(1000);
  assert.equal(stops.length, 1);
  assert.equal(stops[0].reason, 'size');
  assert.ok(stops[0].blob.size <= 10_000, `the file fits: ${stops[0].blob.size}`);
});

test('the user stops it; a refused microphone and a missing MediaRecorder are reported in plain words', async () => {
  const { env } = fakeBrowser({ supported: ['audio/mp4'] });
  let got = null;
  const recorder = new Recorder({ maxDurationSeconds: 1800, maxBytes: 1e9, env, onStop: (r) => (got = r) });
  await recorder.start();
  recorder.stop();
  assert.equal(got.reason, 'user');
  assert.equal(got.type, 'audio/mp4');

  const denied = fakeBrowser({ denied: 'NotAllowedError' });
  await assert.rejects(new Recorder({ maxDurationSeconds: 1, maxBytes: 1, env: denied.env }).start(), { name: 'RecorderError', message: RECORDER_MESSAGES.denied });
  const none = fakeBrowser({ denied: 'NotFoundError' });
  await assert.rejects(new Recorder({ maxDurationSeconds: 1, maxBytes: 1, env: none.env }).start(), { message: RECORDER_MESSAGES.noMicrophone });
  await assert.rejects(new Recorder({ maxDurationSeconds: 1, maxBytes: 1, env: { ...env, MediaRecorder: undefined } }).start(), { message: RECORDER_MESSAGES.unsupported });
  await assert.rejects(new Recorder({ maxDurationSeconds: 1, maxBytes: 1, env: { ...env, secure: false } }).start(), { message: RECORDER_MESSAGES.insecure });
});

test('cancel drops the recording and releases the microphone', async () => {
  const { env, world } = fakeBrowser();
  let stopped = false;
  const recorder = new Recorder({ maxDurationSeconds: 1800, maxBytes: 1e9, env, onStop: () => (stopped = true) });
  await recorder.start();
  recorder.cancel();
  assert.equal(stopped, false);
  assert.equal(world.tracksStopped, 1);
  assert.equal(world.intervals.size, 0);
});

test('the meter reads the microphone through an AnalyserNode made before the permission prompt', async () => {
  const { env } = fakeBrowser();
  const order = [];
  class FakeAudioContext {
    constructor() {
      order.push('audio context');
      this.closed = false;
    }
    resume() {
      return Promise.resolve();
    }
    createMediaStreamSource() {
      return { connect: () => order.push('connected') };
    }
    createAnalyser() {
      return { fftSize: 0, getFloatTimeDomainData: (buffer) => buffer.fill(0.1) }; // -20 dBFS
    }
    close() {
      this.closed = true;
      return Promise.resolve();
    }
  }
  const getUserMedia = env.mediaDevices.getUserMedia;
  env.mediaDevices = { getUserMedia: async (c) => (order.push('microphone'), getUserMedia(c)) };
  const ticks = [];
  const recorder = new Recorder({ maxDurationSeconds: 60, maxBytes: 1e9, env: { ...env, AudioContext: FakeAudioContext }, onTick: (t) => ticks.push(t) });
  await recorder.start();
  assert.deepEqual(order, ['audio context', 'microphone', 'connected']);
  recorder.tick();
  assert.ok(Math.abs(ticks[0].level - 2 / 3) < 1e-6, `-20 dB reads two thirds: ${ticks[0].level}`);
  const audio = recorder.audio;
  recorder.stop();
  assert.equal(audio.closed, true, 'the audio graph is released with the microphone');
});
