// The create page's recorder: Record asks for the microphone, then a running
// timer and a level meter until Stop (or a limit) ends it; the recording can
// be listened back, then smelted like a picked file or discarded.
import { Recorder, recordingFilename } from '../recorder.js';
import { announce, byId } from '../dom.js';
import { formatBytes, formatTimestamp } from '../format.js';
import { currentLimits } from '../limits.js';
import { MB } from '../config.js';

const els = {};
let recorder = null;
let recording = null; // {file, url, durationSeconds} once stopped
let onUse = () => {};

const STOP_REASONS = {
  duration: 'Recording stopped at the longest length Smelt takes.',
  size: 'Recording stopped at the largest file size Smelt takes.',
  user: '',
};

function show(state) {
  // idle | starting | recording | recorded
  els.panel.hidden = state === 'idle' && els.error.hidden;
  els.panel.dataset.state = state;
  els.live.hidden = state !== 'recording' && state !== 'starting';
  els.limit.hidden = els.live.hidden;
  els.stop.disabled = state !== 'recording';
  els.done.hidden = state !== 'recorded';
  els.record.disabled = state === 'starting' || state === 'recording';
  els.record.setAttribute('aria-expanded', String(!els.panel.hidden));
}

function setStatus(text) {
  els.status.textContent = text;
}

function setError(message) {
  els.error.textContent = message || '';
  els.error.hidden = !message;
}

function setLevel(level) {
  const pct = Math.round(level * 100);
  els.level.style.setProperty('--level', `${pct}%`);
  els.level.setAttribute('aria-valuenow', String(pct));
}

function limitText() {
  const { maxDurationSeconds, maxFileBytes } = currentLimits();
  return `Stops by itself after ${Math.round(maxDurationSeconds / 60)} minutes or ${Math.floor(maxFileBytes / MB)} MB, the most Smelt takes.`;
}

function forgetRecording() {
  if (recording) URL.revokeObjectURL(recording.url);
  recording = null;
  els.playback.removeAttribute('src');
  els.playback.load();
}

async function start() {
  forgetRecording();
  setError('');
  setLevel(0);
  els.time.textContent = formatTimestamp(0);
  els.limit.textContent = limitText();
  setStatus('Waiting for the microphone… Your browser may ask whether Smelt may use it.');
  show('starting');
  const { maxDurationSeconds, maxFileBytes } = currentLimits();
  const current = new Recorder({
    maxDurationSeconds,
    maxBytes: maxFileBytes,
    onTick: ({ elapsedMs, level }) => {
      els.time.textContent = formatTimestamp(elapsedMs);
      els.time.setAttribute('datetime', `PT${Math.floor(elapsedMs / 1000)}S`);
      setLevel(level);
    },
    onStop: (result) => stopped(result),
    onError: (error) => {
      recorder = null;
      setError(error.message);
      show('idle');
      els.record.focus();
    },
  });
  recorder = current;
  try {
    await current.start();
  } catch (error) {
    if (recorder !== current) return;
    recorder = null;
    setStatus('');
    setError(error.message);
    show('idle');
    els.record.focus();
    return;
  }
  if (recorder !== current) return; // discarded while the browser asked
  setStatus('Recording…');
  show('recording');
  announce('Recording. Press Stop when you are done.');
  els.stop.focus();
}

function stopped({ blob, type, durationMs, startedAt, reason }) {
  recorder = null;
  const file = new File([blob], recordingFilename(startedAt, type), { type, lastModified: Date.now() });
  recording = { file, url: URL.createObjectURL(blob), durationSeconds: durationMs / 1000 };
  els.playback.src = recording.url;
  els.details.textContent = `${file.name} · ${formatTimestamp(durationMs)} · ${formatBytes(file.size)}`;
  const why = STOP_REASONS[reason] || '';
  setStatus(`${why ? `${why} ` : ''}Listen back, then smelt it or discard it.`);
  show('recorded');
  announce(`Recording stopped after ${formatTimestamp(durationMs)}. ${why}`);
  els.playback.focus();
}

function discard() {
  recorder?.cancel();
  recorder = null;
  forgetRecording();
  setError('');
  setStatus('');
  show('idle');
}

/**
 * Wires the recorder once at start-up.
 * @param {{onUse: (recording: {file: File, durationSeconds: number}) => void}} o
 *   called by "Smelt it" with the recording as a file
 */
export function initRecorder({ onUse: use }) {
  onUse = use;
  Object.assign(els, {
    record: byId('record'),
    panel: byId('recorder'),
    status: byId('record-status'),
    live: byId('recorder-live'),
    time: byId('record-time'),
    level: byId('record-level'),
    stop: byId('record-stop'),
    limit: byId('record-limit'),
    done: byId('recorder-done'),
    playback: byId('record-playback'),
    details: byId('record-details'),
    submit: byId('record-submit'),
    discard: byId('record-discard'),
    error: byId('record-error'),
  });
  els.record.addEventListener('click', start);
  els.stop.addEventListener('click', () => recorder?.stop());
  els.discard.addEventListener('click', () => {
    discard();
    announce('Recording discarded');
    els.record.focus();
  });
  els.submit.addEventListener('click', () => {
    if (!recording) return;
    const { file, durationSeconds } = recording;
    discard();
    onUse({ file, durationSeconds });
  });
  show('idle');
}

/** Stops and drops a recording in progress (leaving the page). */
export function stopRecorder() {
  if (recorder) discard();
}
