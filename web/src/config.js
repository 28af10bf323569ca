// Limits and names shared with the server's API contract. Keep in sync with it.

export const API_BASE = '/api';

export const MB = 1024 * 1024;

export const LIMITS = Object.freeze({
  maxFiles: 5,
  maxFileBytes: 25 * MB,
  maxTextChars: 50_000,
  // Anonymous users: one file, "separate" mode only.
  anonymousMaxFiles: 1,
});

export const AUDIO_EXTENSIONS = Object.freeze(['.mp3', '.wav', '.m4a']);

export const PROMPT_NAMES = Object.freeze([
  'summarize',
  'action_items',
  'detailed_notes',
  'qa_format',
  'table_of_contents',
]);

export const MODES = Object.freeze(['separate', 'combine']);

// The steps shown in the stage indicator, in order. Server stages "pending"
// (before the first step) and "completed" (= "done") map onto these.
export const STEPS = Object.freeze(['validating', 'decoding', 'transcribing', 'synthesizing', 'done']);

// Steps a text input skips.
export const TEXT_SKIPPED_STEPS = Object.freeze(['decoding', 'transcribing']);

export const STAGE_LABELS = Object.freeze({
  connecting: 'Connecting…',
  pending: 'Queued',
  validating: 'Validating',
  decoding: 'Decoding audio',
  transcribing: 'Transcribing',
  synthesizing: 'Synthesizing notes',
  completed: 'Done',
  done: 'Done',
  failed: 'Failed',
});

export const RECONNECT = Object.freeze({ baseMs: 1000, maxMs: 30_000 });
