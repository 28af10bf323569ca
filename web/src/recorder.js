// Recording from the microphone: getUserMedia, MediaRecorder for the file,
// a Web Audio AnalyserNode for the level meter. The recording keeps to the
// upload limits: it stops by itself before the longest duration or the
// largest file the server takes. The browser objects are injectable, so the
// logic is unit-tested without a browser.

/**
 * What to record, best first: Opus in WebM (Chrome, Firefox, Edge), Opus in
 * Ogg (older Firefox), AAC in MP4 (Safari).
 */
export const RECORDING_TYPES = Object.freeze(['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4']);

/** Milliseconds of audio in each chunk MediaRecorder hands over. */
const TIMESLICE_MS = 1000;
/** How often the timer and the level meter update. */
const TICK_MS = 100;
/**
 * Stop this long before the duration limit: the last chunk and the
 * container's framing can run a little past the moment stop() is called,
 * and the server refuses anything longer than the limit.
 */
const DURATION_MARGIN_MS = 500;

/**
 * The first type the browser can record.
 * @param {((type: string) => boolean)|undefined} isTypeSupported `MediaRecorder.isTypeSupported`
 * @returns {string} a MIME type, or '' to let the browser choose
 */
export function chooseRecordingType(isTypeSupported) {
  if (typeof isTypeSupported !== 'function') return '';
  return RECORDING_TYPES.find((type) => isTypeSupported(type)) || '';
}

/**
 * The file extension of a recorded MIME type.
 * @param {string} type e.g. "audio/webm;codecs=opus"
 * @returns {string} ".webm", ".ogg", ".m4a", …
 */
export function extensionForType(type) {
  const base = String(type || '').split(';')[0].trim().toLowerCase();
  if (base === 'audio/webm' || base === 'video/webm') return '.webm';
  if (base === 'audio/ogg' || base === 'audio/opus') return '.ogg';
  // AAC in MP4 is what .m4a means; every version of the server accepts it.
  if (base === 'audio/mp4' || base === 'video/mp4' || base === 'audio/aac' || base === 'audio/x-m4a') return '.m4a';
  if (base === 'audio/mpeg') return '.mp3';
  if (base === 'audio/wav' || base === 'audio/x-wav' || base === 'audio/wave') return '.wav';
  return '.webm';
}

/**
 * A recording's file name from when it started, in local time:
 * "recording-2026-11-30-1712.webm".
 * @param {Date} date
 * @param {string} type the recorded MIME type
 * @returns {string}
 */
export function recordingFilename(date, type) {
  const two = (n) => String(n).padStart(2, '0');
  const stamp = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}-${two(date.getHours())}${two(date.getMinutes())}`;
  return `recording-${stamp}${extensionForType(type)}`;
}

/**
 * The meter's level from one frame of samples: the RMS in dBFS, mapped from
 * -60 dB (silence) … 0 dB (full scale) onto 0 … 1, which follows loudness as
 * people hear it better than the raw amplitude.
 * @param {Float32Array|number[]} samples -1 … 1
 * @returns {number} 0 … 1
 */
export function levelFromSamples(samples) {
  if (!samples || samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  const rms = Math.sqrt(sum / samples.length);
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.max(0, Math.min(1, (db + 60) / 60));
}

/** Why recording cannot start or went wrong, in plain words. */
export const RECORDER_MESSAGES = Object.freeze({
  unsupported: "This browser can't record audio here. Use a current Chrome, Firefox, Edge or Safari, or choose a file instead.",
  insecure: 'Recording needs a secure (https) connection. Choose a file instead.',
  denied: "Smelt isn't allowed to use your microphone. Allow it for this site in your browser's settings, then press Record again.",
  noMicrophone: 'No microphone was found. Connect one and press Record again, or choose a file instead.',
  busy: "Your microphone couldn't be started. It may be in use by another app: close it and press Record again.",
  failed: 'Recording stopped because of an error. Press Record to try again, or choose a file instead.',
});

/**
 * The plain-words reason for an error of getUserMedia or MediaRecorder.
 * @param {unknown} error a DOMException (by name) or anything
 * @returns {string}
 */
export function recorderErrorMessage(error) {
  switch (error?.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return RECORDER_MESSAGES.denied;
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return RECORDER_MESSAGES.noMicrophone;
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return RECORDER_MESSAGES.busy;
    case 'NotSupportedError':
      return RECORDER_MESSAGES.unsupported;
    default:
      return RECORDER_MESSAGES.failed;
  }
}

/** An error whose message is already in plain words. */
export class RecorderError extends Error {
  constructor(message, cause) {
    super(message);
    this.name = 'RecorderError';
    this.cause = cause;
  }
}

/**
 * What the page's browser offers for recording.
 * @returns {RecorderEnv}
 */
function browserEnv() {
  const g = globalThis;
  return {
    mediaDevices: g.navigator?.mediaDevices,
    MediaRecorder: g.MediaRecorder,
    AudioContext: g.AudioContext || g.webkitAudioContext,
    secure: g.isSecureContext !== false,
    now: () => g.performance.now(),
    setInterval: (fn, ms) => g.setInterval(fn, ms),
    clearInterval: (id) => g.clearInterval(id),
  };
}

/**
 * @typedef {object} RecorderEnv
 * @property {{getUserMedia: (c: object) => Promise<MediaStream>}|undefined} mediaDevices
 * @property {any} MediaRecorder
 * @property {any} AudioContext
 * @property {boolean} secure
 * @property {() => number} now
 * @property {(fn: () => void, ms: number) => unknown} setInterval
 * @property {(id: unknown) => void} clearInterval
 *
 * @typedef {object} Recording
 * @property {Blob} blob
 * @property {string} type its MIME type, as MediaRecorder made it
 * @property {number} durationMs
 * @property {Date} startedAt
 * @property {'user'|'duration'|'size'} reason why it stopped
 */

/** One recording session: start(), then stop() (or a limit stops it). */
export class Recorder {
  /**
   * @param {object} o
   * @param {number} o.maxDurationSeconds the longest audio the server takes
   * @param {number} o.maxBytes the largest file the server takes
   * @param {(t: {elapsedMs: number, bytes: number, level: number}) => void} [o.onTick] every 100 ms while recording
   * @param {(r: Recording) => void} [o.onStop] the recording, once it is complete
   * @param {(e: RecorderError) => void} [o.onError] recording failed after it started
   * @param {Partial<RecorderEnv>} [o.env] the browser (tests pass fakes)
   */
  constructor({ maxDurationSeconds, maxBytes, onTick = () => {}, onStop = () => {}, onError = () => {}, env = {} }) {
    this.env = { ...browserEnv(), ...env };
    this.limits = { maxDurationMs: Math.max(1000, maxDurationSeconds * 1000 - DURATION_MARGIN_MS), maxBytes };
    this.callbacks = { onTick, onStop, onError };
    this.state = 'idle'; // idle | starting | recording | stopping | stopped
    this.chunks = [];
    this.bytes = 0;
    this.largestChunk = 0;
    this.reason = 'user';
  }

  /**
   * Asks for the microphone and starts recording.
   * @returns {Promise<void>}
   * @throws {RecorderError} with the reason in plain words (unsupported, denied, no microphone, busy)
   */
  async start() {
    if (this.state !== 'idle') return;
    const { mediaDevices, MediaRecorder, secure } = this.env;
    if (!secure) throw new RecorderError(RECORDER_MESSAGES.insecure);
    if (!mediaDevices?.getUserMedia || typeof MediaRecorder !== 'function') throw new RecorderError(RECORDER_MESSAGES.unsupported);
    this.state = 'starting';
    // Made before the permission prompt, while the click still counts as the
    // user's gesture: some browsers (Safari) keep a later one suspended.
    this.createAudioContext();
    try {
      this.stream = await mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      this.state = 'idle';
      this.release();
      throw new RecorderError(recorderErrorMessage(err), err);
    }
    if (this.state !== 'starting') {
      // Cancelled while the permission prompt was open.
      this.release();
      return;
    }
    const type = chooseRecordingType(MediaRecorder.isTypeSupported?.bind(MediaRecorder));
    try {
      this.media = new MediaRecorder(this.stream, type ? { mimeType: type } : undefined);
    } catch (err) {
      this.release();
      this.state = 'idle';
      throw new RecorderError(recorderErrorMessage(err), err);
    }
    this.media.addEventListener('dataavailable', (e) => this.onData(e.data));
    this.media.addEventListener('stop', () => this.finish());
    this.media.addEventListener('error', (e) => this.fail(e.error || e));
    this.startMeter();
    this.startedAt = new Date();
    this.startMs = this.env.now();
    this.media.start(TIMESLICE_MS);
    this.state = 'recording';
    this.timer = this.env.setInterval(() => this.tick(), TICK_MS);
  }

  /** @returns {number} milliseconds recorded so far */
  elapsedMs() {
    return this.startMs === undefined ? 0 : Math.max(0, this.env.now() - this.startMs);
  }

  /**
   * Stops recording; onStop follows with the file.
   * @param {'user'|'duration'|'size'} [reason]
   */
  stop(reason = 'user') {
    if (this.state === 'starting') {
      this.state = 'idle';
      return;
    }
    if (this.state !== 'recording') return;
    this.state = 'stopping';
    this.reason = reason;
    this.durationMs = this.elapsedMs();
    this.env.clearInterval(this.timer);
    this.media.stop();
  }

  /** Stops without keeping anything (leaving the page, Discard). */
  cancel() {
    this.callbacks = { onTick: () => {}, onStop: () => {}, onError: () => {} };
    if (this.state === 'recording') this.stop();
    else if (this.state === 'starting') this.state = 'idle';
    this.release();
  }

  onData(blob) {
    if (!blob || blob.size === 0) return;
    this.chunks.push(blob);
    this.bytes += blob.size;
    this.largestChunk = Math.max(this.largestChunk, blob.size);
    // Two more chunks like the biggest so far must still fit under the limit.
    if (this.state === 'recording' && this.bytes + 2 * this.largestChunk >= this.limits.maxBytes) this.stop('size');
  }

  tick() {
    if (this.state !== 'recording') return;
    const elapsedMs = this.elapsedMs();
    this.callbacks.onTick({ elapsedMs, bytes: this.bytes, level: this.level() });
    if (elapsedMs >= this.limits.maxDurationMs) this.stop('duration');
  }

  createAudioContext() {
    const { AudioContext } = this.env;
    if (typeof AudioContext !== 'function') return; // no meter, the recording still works
    try {
      this.audio = new AudioContext();
    } catch {
      this.audio = null;
    }
  }

  startMeter() {
    if (!this.audio) return;
    try {
      this.audio.resume?.().catch?.(() => {});
      const source = this.audio.createMediaStreamSource(this.stream);
      this.analyser = this.audio.createAnalyser();
      this.analyser.fftSize = 2048;
      source.connect(this.analyser);
      this.samples = new Float32Array(this.analyser.fftSize);
    } catch {
      this.analyser = null;
    }
  }

  level() {
    if (!this.analyser) return 0;
    this.analyser.getFloatTimeDomainData(this.samples);
    return levelFromSamples(this.samples);
  }

  finish() {
    if (this.state === 'stopped') return;
    const type = this.media.mimeType || this.chunks[0]?.type || '';
    const blob = new Blob(this.chunks, { type });
    this.state = 'stopped';
    this.release();
    this.callbacks.onStop({ blob, type, durationMs: this.durationMs ?? this.elapsedMs(), startedAt: this.startedAt, reason: this.reason });
  }

  fail(error) {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.env.clearInterval(this.timer);
    this.release();
    this.callbacks.onError(new RecorderError(RECORDER_MESSAGES.failed, error));
  }

  /** Lets go of the microphone (the browser's recording indicator goes off) and the audio graph. */
  release() {
    this.env.clearInterval(this.timer);
    for (const track of this.stream?.getTracks?.() || []) track.stop();
    this.stream = null;
    this.audio?.close?.().catch?.(() => {});
    this.audio = null;
    this.analyser = null;
  }
}
