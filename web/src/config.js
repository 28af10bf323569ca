// Limits and names shared with the server's API contract. Keep in sync with it
// (server/src/http/smelts/form.rs, core/src/domain).

/** Prefix of every API path (same origin). */
export const API_BASE = '/api';

/** One MB as the server counts it, in bytes. */
export const MB = 1024 * 1024;

/**
 * Upload limits built into the page: the server's defaults. The server's own
 * values (GET /api/config, see limits.js) replace them when it answers.
 */
export const DEFAULT_LIMITS = Object.freeze({
  maxFiles: 5,
  maxFileBytes: 25 * MB,
  maxDurationSeconds: 30 * 60,
  maxTextChars: 50_000,
  // Accepted audio: extensions (lower case, with the dot) and MIME types.
  // WebM, Ogg and MP4 are what browsers record (MediaRecorder).
  audioExtensions: Object.freeze(['.mp3', '.wav', '.m4a', '.webm', '.ogg', '.opus', '.mp4']),
  audioMimeTypes: Object.freeze([
    'audio/mpeg',
    'audio/mp3',
    'audio/wav',
    'audio/x-wav',
    'audio/wave',
    'audio/mp4',
    'audio/x-m4a',
    'audio/aac',
    'audio/webm',
    'video/webm',
    'audio/ogg',
    'audio/opus',
    'video/mp4',
  ]),
  // Anonymous users: one file, "separate" mode only (not in /api/config: an account rule).
  anonymousMaxFiles: 1,
});

/** The default prompts' names, in the form's order. */
export const PROMPT_NAMES = Object.freeze([
  'summarize',
  'action_items',
  'detailed_notes',
  'qa_format',
  'table_of_contents',
]);

/** Processing modes. */
export const MODES = Object.freeze(['separate', 'combine']);

// The steps shown in the stage indicator, in order. Server stages "pending"
// (before the first step) and "completed" (= "done") map onto these.
export const STEPS = Object.freeze(['validating', 'decoding', 'transcribing', 'synthesizing', 'done']);

// Steps a text input skips.
export const TEXT_SKIPPED_STEPS = Object.freeze(['decoding', 'transcribing']);

/** Labels of server stages and page states. */
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
  cancelled: 'Cancelled',
});

// Human names of the default prompts, in the order of the form.
export const PROMPT_LABELS = Object.freeze({
  summarize: 'Summary',
  action_items: 'Action items',
  detailed_notes: 'Detailed notes',
  qa_format: 'Q&A',
  table_of_contents: 'Table of contents',
});

// Statuses a smelt can have while it is not finished (the list filter calls them "pending").
export const RUNNING_STATUSES = Object.freeze(['pending', 'validating', 'decoding', 'transcribing', 'synthesizing']);

// Smelts per page in the history.
export const HISTORY_PAGE_SIZE = 10;

// Longest link of a recording given instead of a file, in bytes (server: smelts/link.rs).
export const MAX_LINK_BYTES = 2000;

// Limits of accounts and custom prompts (server: accounts.rs, prompts.rs).
export const ACCOUNT_LIMITS = Object.freeze({
  minPassword: 8,
  maxPassword: 256,
  maxPromptTitle: 100,
  maxPromptBody: 4000,
  maxKeyName: 100,
  maxWebhookUrlBytes: 2000,
});
