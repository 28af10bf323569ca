/**
 * The JSON shapes of Smelt's REST API and of its realtime events. Field names are the wire
 * names; times are ISO 8601 strings unless a field says otherwise.
 *
 * @module
 */

/**
 * Lifecycle of a smelt. The processing stages run in this order; `completed`, `failed` and
 * `cancelled` are terminal (nothing follows them).
 */
export type SmeltStatus =
  | 'pending'
  | 'validating'
  | 'decoding'
  | 'transcribing'
  | 'synthesizing'
  | 'completed'
  | 'failed'
  | 'cancelled';

/** The statuses after which a smelt changes no more. */
export type TerminalStatus = 'completed' | 'failed' | 'cancelled';

/** Every terminal status: `completed`, `failed`, `cancelled`. */
export const TERMINAL_STATUSES: readonly TerminalStatus[] = Object.freeze(['completed', 'failed', 'cancelled'] as const);

/**
 * Whether a status is terminal.
 * @param status any string (unknown statuses are not terminal)
 * @returns true for `completed`, `failed` and `cancelled`
 */
export function isTerminalStatus(status: unknown): status is TerminalStatus {
  return typeof status === 'string' && (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** How several files are processed: one result set per file, or one over all of them. */
export type SmeltMode = 'separate' | 'combine';

/** What a smelt file holds. */
export type InputType = 'audio' | 'text';

/** Lifecycle of one file of a smelt. */
export type FileStatus = 'pending' | 'processing' | 'completed' | 'failed';

/** The five built-in prompts. */
export type PromptName = 'summarize' | 'action_items' | 'detailed_notes' | 'qa_format' | 'table_of_contents';

/** What a result document holds: a transcript, or the notes of one prompt. */
export type ResultKind = 'transcript' | 'notes';

/**
 * Why a smelt failed (`error_code` of a failed or cancelled smelt). Other strings may appear
 * in later server versions.
 */
export type SmeltErrorCode =
  | 'file_too_large'
  | 'invalid_format'
  | 'duration_exceeded'
  | 'corrupted_file'
  | 'transcription_failed'
  | 'synthesis_failed'
  | 'api_rate_limited'
  | 'api_quota_exhausted'
  | 'api_key_invalid'
  | 'connection_lost'
  | 'internal_error'
  | 'cancelled'
  | (string & {});

/** One file of a smelt. */
export interface SmeltFile {
  /** UUID. */
  id: string;
  filename: string;
  /** Size of the upload (or of the pasted text), in bytes. */
  size_bytes: number;
  /** Audio duration in seconds; null for text and before decoding. */
  duration_seconds: number | null;
  input_type: InputType;
  status: FileStatus;
  /** 0-based order of the file within its smelt. */
  position: number;
  /** Why this file failed, when it did. */
  error_code?: string;
}

/** Overall progress of a smelt. */
export interface Progress {
  /** 0–100; never decreases over a smelt's life. */
  percentage: number;
  /** The stage the smelt is in (a status). */
  stage: SmeltStatus;
  /** A sentence for people, e.g. `Transcribing audio...`. */
  message: string;
  /** Estimated seconds until completion, when the worker can tell. */
  eta_seconds?: number;
  /** While pending: the smelt's place in its lane of the queue (1 = the lane's next to start). */
  queue_position?: number;
  /** While pending: estimated seconds until a worker starts it. */
  estimated_wait_seconds?: number;
}

/**
 * A queue lane: `fast` (pasted text and short audio), `normal`, or `bulk` (asked for by a
 * service key with `priority: 'bulk'`). Workers read them by weight.
 */
export type Lane = 'fast' | 'normal' | 'bulk';

/** The timing of one word (word-level timestamps). */
export interface Word {
  word: string;
  /** Milliseconds from the start of the file. */
  start_ms: number;
  /** Milliseconds from the start of the file. */
  end_ms: number;
  /** The model's confidence, 0.0–1.0, when the engine gives one. */
  probability?: number;
}

/** One finished piece of a file's transcript. */
export interface Segment {
  /** The file it belongs to (UUID). */
  file_id: string;
  /** 0-based position among the file's segments. */
  index: number;
  /** Milliseconds from the start of the file. */
  start_ms: number;
  /** Milliseconds from the start of the file. */
  end_ms: number;
  text: string;
  /** Word timings, when the smelt asked for them (`wordTimestamps`). */
  words?: Word[];
}

/** One result document: a transcript, or the notes of one prompt. */
export interface SmeltResult {
  /** The file it comes from; null for a combined result. */
  file_id: string | null;
  /** The source: the audio file's name, `Combined: a + b`, or `Pasted text`. */
  filename: string;
  /** Markdown. */
  content: string;
  kind: ResultKind;
  /** For notes: the built-in prompt's name or `custom`; null for a transcript. */
  prompt: PromptName | 'custom' | null;
  /**
   * Where the document can be downloaded as a `.md` file, for a limited time (the server's
   * `SMELT_DOWNLOAD_URL_TTL_SECS`). Only in `GET /api/smelts/{id}` answers.
   */
  download_url?: string;
}

/**
 * A smelt as `GET /api/smelts/{id}` returns it, and the payload of a `snapshot` event:
 * `progress` while processing, `results` when completed (and the transcripts kept when it
 * failed after transcription), `error_code`/`error_message` when failed or cancelled.
 */
export interface Smelt {
  /** UUID. */
  id: string;
  status: SmeltStatus;
  mode: SmeltMode;
  /** The queue lane it waits (or waited) in. */
  lane?: Lane;
  files: SmeltFile[];
  default_prompt_names: PromptName[];
  user_prompt_id: string | null;
  progress?: Progress;
  /** The transcript segments so far, while an audio smelt is being processed. */
  segments?: Segment[];
  results?: SmeltResult[];
  error_code?: SmeltErrorCode;
  error_message?: string;
  /** The prompt whose notes failed, when a failure came from synthesis. */
  failed_prompt?: string;
  created_at: string;
  completed_at: string | null;
  /**
   * Only in the answer to a cancel: whether the credit came back (`true` when it was cancelled
   * before transcription began).
   */
  credit_refunded?: boolean;
}

/** The answer of `POST /api/smelts` (201): the new smelt and how to follow it. */
export interface SmeltCreated {
  /** UUID. */
  id: string;
  status: SmeltStatus;
  mode: SmeltMode;
  /** The queue lane it waits in. */
  lane?: Lane;
  files: SmeltFile[];
  default_prompt_names: PromptName[];
  user_prompt_id: string | null;
  created_at: string;
  /** `smelt:{id}`, the channel name on `/api/ws`. */
  subscription_channel: string;
  /** Path of this smelt's WebSocket: `/api/smelts/{id}/ws`. */
  subscription_url: string;
  /** Signed token that lets its holder follow (and cancel) this one smelt. */
  subscription_token: string;
}

/** One row of `GET /api/smelts`. */
export interface SmeltListItem {
  id: string;
  status: SmeltStatus;
  mode: SmeltMode;
  file_count: number;
  default_prompt_names: PromptName[];
  created_at: string;
  completed_at: string | null;
}

/** Page information of a list. */
export interface Pagination {
  /** 1-based. */
  page: number;
  limit: number;
  total: number;
  total_pages: number;
}

/** The answer of `GET /api/smelts`. */
export interface SmeltList {
  smelts: SmeltListItem[];
  pagination: Pagination;
}

/** The query of `GET /api/smelts`; absent fields take the server's defaults. */
export interface ListQuery {
  /** `pending` means not finished yet. */
  status?: 'pending' | 'completed' | 'failed' | 'cancelled';
  sort?: 'created_at' | 'completed_at';
  order?: 'asc' | 'desc';
  /** 1-based page. */
  page?: number;
  /** Rows per page, at most 50. */
  limit?: number;
}

/** Progress of one file inside a `progress` event; `progress` is 0–100. */
export interface FileProgress {
  id: string;
  status: FileStatus;
  progress: number;
}

/** Payload of a `progress` event. */
export interface ProgressPayload {
  smelt_id: string;
  status: SmeltStatus;
  progress: Progress;
  files: FileProgress[];
}

/** Payload of a `segment` event: one finished piece of transcript. */
export interface SegmentPayload extends Segment {
  smelt_id: string;
}

/** Payload of a `completed` event. */
export interface CompletedPayload {
  smelt_id: string;
  status: 'completed';
  results: SmeltResult[];
}

/** Payload of a `failed` event. */
export interface FailedPayload {
  smelt_id: string;
  status: 'failed';
  error_code: SmeltErrorCode;
  /** A sentence for people, in the server's wording. */
  error_message: string;
  /** The prompt whose notes failed (`summarize`, …, or a custom prompt's title). */
  failed_prompt?: string;
  /** What was kept: the transcripts, when the failure came after transcription. */
  results?: SmeltResult[];
}

/** Payload of a `cancelled` event. */
export interface CancelledPayload {
  smelt_id: string;
  status: 'cancelled';
  error_code: 'cancelled';
  /** `CANCELLED`. */
  error_message: string;
  /**
   * Whether the credit came back: `true` when it was cancelled before transcription began
   * (pending, validating or decoding); `false` once transcription had begun, or when it cost
   * no credit.
   */
  credit_refunded?: boolean;
  /** What was made before the cancellation (transcripts, notes). */
  results?: SmeltResult[];
}

/**
 * The body of a completion webhook delivery (Standard Webhooks' `type` / `timestamp` / `data`
 * shape). Thin on purpose: it says what happened and where to read it, never the content —
 * reading the transcript or notes takes a token with `smelts:read`.
 */
export interface WebhookDelivery {
  type: 'smelt.completed' | 'smelt.failed' | 'smelt.cancelled';
  /** When the smelt ended (RFC 3339). */
  timestamp: string;
  data: {
    smelt_id: string;
    status: TerminalStatus;
    /** Set for `smelt.failed` and `smelt.cancelled`. */
    error_code: SmeltErrorCode | null;
    /** The terminal event's seq. */
    seq: number;
    /** Paths on the Smelt server. */
    links: { smelt: string; transcript: string; events: string };
  };
}

/** The kinds of realtime events. */
export type SmeltEventKind = 'snapshot' | 'progress' | 'segment' | 'completed' | 'failed' | 'cancelled';

/** Every event kind, in the order a smelt can produce them. */
export const EVENT_KINDS: readonly SmeltEventKind[] = Object.freeze([
  'snapshot',
  'progress',
  'segment',
  'completed',
  'failed',
  'cancelled',
] as const);

/** The events after which a smelt sends nothing more. */
export const TERMINAL_EVENT_KINDS: readonly SmeltEventKind[] = Object.freeze(['completed', 'failed', 'cancelled'] as const);

/**
 * The whole state of a smelt. Over a socket or an event stream its `seq` is the last event
 * it reflects; a snapshot read by REST polling (`GET /api/smelts/{id}`) has no seq (null).
 */
export interface SnapshotEvent {
  event: 'snapshot';
  seq: number | null;
  payload: Smelt;
}

/**
 * Stage, percentage and per-file progress. A pending smelt's place in the queue arrives as a
 * progress event with seq null: pushed live when the place changes, never stored or replayed.
 */
export interface ProgressEvent {
  event: 'progress';
  seq: number | null;
  payload: ProgressPayload;
}

/** One finished piece of transcript. */
export interface SegmentEvent {
  event: 'segment';
  seq: number;
  payload: SegmentPayload;
}

/** The smelt completed; terminal. */
export interface CompletedEvent {
  event: 'completed';
  seq: number;
  payload: CompletedPayload;
}

/** The smelt failed; terminal. */
export interface FailedEvent {
  event: 'failed';
  seq: number;
  payload: FailedPayload;
}

/** The smelt was cancelled; terminal. */
export interface CancelledEvent {
  event: 'cancelled';
  seq: number;
  payload: CancelledPayload;
}

/**
 * One realtime event: `{event, seq, payload}` as the server sends it over the WebSocket and
 * as the `data` of each Server-Sent Event. `seq` increases by one per stored event of a smelt.
 */
export type SmeltEvent = SnapshotEvent | ProgressEvent | SegmentEvent | CompletedEvent | FailedEvent | CancelledEvent;

/** The export formats of a transcript. */
export type TranscriptFormat = 'txt' | 'srt' | 'vtt' | 'json';

/** `GET /api/smelts/{id}/transcript?format=json` (and the per-file export). */
export interface TranscriptDocument {
  smelt_id: string;
  /** Present in a single file's export. */
  file_id?: string;
  /** Length of the timeline, in milliseconds. */
  duration_ms: number;
  /** The whole text. */
  text: string;
  /**
   * The segments; in a whole-smelt export the times run on across files (milliseconds from
   * the start of the first file). `words` only with `words: true`, when they were recorded.
   */
  segments: Segment[];
}

/** `GET /api/config`: the public limits a client can check before uploading. */
export interface SmeltConfig {
  /** Most files per smelt. */
  max_files: number;
  /** Largest file, in bytes. */
  max_file_bytes: number;
  /** Longest recording, in seconds. */
  max_duration_seconds: number;
  /** Longest pasted text, in Unicode code points. */
  max_text_chars: number;
  /** Accepted file extensions (e.g. `mp3`). */
  audio_extensions: string[];
  /** Accepted MIME types (e.g. `audio/mpeg`). */
  audio_mime_types: string[];
}

/** The signed-in user of an auth answer. */
export interface AuthUser {
  id: string;
  email: string;
}

/** The answer of `POST /api/auth/signup`, `/login` and `/refresh`. */
export interface AuthSession {
  /** JWT for `Authorization: Bearer`. */
  access_token: string;
  /** Lifetime of the access token, in seconds. */
  expires_in: number;
  /** Opaque and single-use: every refresh rotates it. */
  refresh_token: string;
  user: AuthUser;
}

/** `GET /api/profile`. */
export interface Profile {
  email: string | null;
  credits_remaining: number;
  weekly_credits_max: number;
  /** When the weekly credits reset (Monday 00:00 UTC). */
  credits_reset_at: string;
  api_key_status: 'none' | 'valid' | 'invalid';
  api_key_last4: string | null;
  api_key_base_url?: string | null;
}

/** A custom prompt (`/api/prompts`). */
export interface Prompt {
  id: string;
  /** At most 100 characters. */
  title: string;
  /** At most 4,000 characters. */
  body: string;
  created_at: string;
  updated_at: string;
}

/** The error envelope every refusal comes in: `{"error": {"code", "message"}}`. */
export interface ErrorEnvelope {
  error: {
    /** Machine code, e.g. `daily_limit`. */
    code: string;
    /** A sentence for people, meant to be shown as is. */
    message: string;
  };
}
