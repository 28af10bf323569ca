/**
 * The multipart body of `POST /api/smelts`.
 *
 * @module
 */
import type { PromptName, SmeltMode } from './types.js';

/**
 * Bytes with a file name, for runtimes without `File` at hand (a Node `Buffer` is a
 * `Uint8Array`).
 */
export interface NamedFile {
  /** The file name; its extension tells the server the format (`.mp3`, `.wav`, `.m4a` …). */
  name: string;
  /** The content. */
  data: Blob | Uint8Array | ArrayBuffer;
  /** MIME type; guessed from the extension when absent. */
  type?: string;
}

/** An uploaded recording: a browser `File`, a `Blob` (named `audio`), or {@link NamedFile}. */
export type FileInput = Blob | NamedFile;

/** What to smelt: recordings or text (the server refuses both or neither). */
export interface CreateInput {
  /** Up to 5 recordings of at most 25 MB each (anonymous callers: one). */
  files?: FileInput[];
  /** Pasted text of up to 50,000 characters (Unicode code points). */
  text?: string;
  /** `separate` (default: a result set per file) or `combine` (signed in, 2+ files). */
  mode?: SmeltMode;
  /** Built-in prompts to run; none gives a summary of text or just the transcript of audio. */
  prompts?: readonly PromptName[];
  /** One of the signed-in user's custom prompts (UUID). */
  userPromptId?: string | null;
  /** Ask for word-level timings (slower). */
  wordTimestamps?: boolean;
  /**
   * `bulk` to queue work that can wait (service keys only); `normal` (default) lets the
   * server choose the lane from the input.
   */
  priority?: 'normal' | 'bulk';
}

const MIME_BY_EXTENSION: Readonly<Record<string, string>> = Object.freeze({
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  m4a: 'audio/mp4',
  mp4: 'audio/mp4',
  aac: 'audio/aac',
  webm: 'audio/webm',
  ogg: 'audio/ogg',
  opus: 'audio/opus',
});

/**
 * A MIME type for a file name.
 * @param name file name
 * @returns the audio type of a known extension, else `application/octet-stream`
 */
export function guessMimeType(name: string): string {
  const ext = name.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? '';
  return MIME_BY_EXTENSION[ext] ?? 'application/octet-stream';
}

function isNamedFile(file: FileInput): file is NamedFile {
  return typeof (file as NamedFile).name === 'string' && 'data' in file;
}

function toBlobAndName(file: FileInput): { blob: Blob; name: string } {
  if (isNamedFile(file)) {
    const type = file.type ?? guessMimeType(file.name);
    const blob = file.data instanceof Blob ? file.data : new Blob([file.data as BlobPart], { type });
    return { blob, name: file.name };
  }
  const name = typeof (file as File).name === 'string' && (file as File).name ? (file as File).name : 'audio';
  return { blob: file, name };
}

/**
 * Builds the form exactly as the API expects it: `files[]` (each with its name) or `text`,
 * then `mode`, `default_prompt_names[]`, `user_prompt_id`, `word_timestamps` and `priority`. Whatever is
 * given is sent; the server checks the combination.
 * @param input files or text, and options
 * @returns the multipart form
 */
export function buildCreateForm(input: CreateInput): FormData {
  const form = new FormData();
  for (const file of input.files ?? []) {
    const { blob, name } = toBlobAndName(file);
    form.append('files[]', blob, name);
  }
  if (input.text !== undefined) form.append('text', input.text);
  form.append('mode', input.mode ?? 'separate');
  for (const name of input.prompts ?? []) form.append('default_prompt_names[]', name);
  if (input.userPromptId) form.append('user_prompt_id', input.userPromptId);
  if (input.wordTimestamps) form.append('word_timestamps', 'true');
  if (input.priority) form.append('priority', input.priority);
  return form;
}
