// Client-side checks that mirror the server's limits, with the server's wording.
import { ACCOUNT_LIMITS, AUDIO_EXTENSIONS, LIMITS, MB } from './config.js';

/** The server's messages for what the page can check itself (spec smelts-api §5). */
export const MESSAGES = Object.freeze({
  tooManyFiles: 'MAX 5 FILES ALLOWED',
  fileTooBig: (bytes) => `FILE TOO CHUNKY. MAX 25MB. YOUR FILE: ${formatMb(bytes)}MB`,
  badType: "CAN'T READ THAT. TRY .MP3 .WAV .M4A",
  nothing: 'NOTHING TO PROCESS. UPLOAD A FILE OR ENTER TEXT',
  both: 'CHOOSE EITHER FILES OR TEXT, NOT BOTH',
  textTooLong: 'TOO MUCH TEXT. MAX 50,000 CHARACTERS',
  // Anonymous with more than one file (the server's generic 401 for account-only features).
  anonymousOneFile: 'LOGIN REQUIRED FOR THIS FEATURE',
  combineNeedsAccount: 'COMBINE MODE REQUIRES LOGIN',
  combineNeedsTwoFiles: 'COMBINE MODE NEEDS 2+ FILES',
});

/**
 * Size in MB with one decimal, as the server prints it ("31.2").
 * @param {number} bytes
 * @returns {string}
 */
export function formatMb(bytes) {
  return (bytes / MB).toFixed(1);
}

/**
 * Unicode code points, like Rust's `str::chars().count()`.
 * @param {string} text
 * @returns {number}
 */
export function countChars(text) {
  let n = 0;
  // eslint-disable-next-line no-unused-vars
  for (const _ of text) n++;
  return n;
}

/**
 * @param {unknown} text
 * @returns {boolean} whether it is a string with something besides whitespace
 */
export function hasText(text) {
  return typeof text === 'string' && text.trim().length > 0;
}

function extensionOf(name) {
  const dot = name.lastIndexOf('.');
  return dot === -1 ? '' : name.slice(dot).toLowerCase();
}

/**
 * Extension must be .mp3/.wav/.m4a. Browsers report MIME types loosely
 * (m4a is audio/mp4, audio/x-m4a or even video/mp4; some OSes give nothing),
 * so a MIME type only rejects a file when it is clearly not audio.
 * @param {{name: string, type?: string}} file
 * @returns {boolean}
 */
export function isAcceptedAudio(file) {
  if (!AUDIO_EXTENSIONS.includes(extensionOf(file.name || ''))) return false;
  const type = (file.type || '').toLowerCase();
  return (
    type === '' ||
    type.startsWith('audio/') ||
    type === 'application/octet-stream' ||
    type === 'video/mp4'
  );
}

/**
 * The first problem with one file.
 * @param {{name: string, size: number, type?: string}} file size in bytes
 * @returns {string|null} the server's message, or null
 */
export function validateFile(file) {
  if (!isAcceptedAudio(file)) return MESSAGES.badType;
  if (file.size > LIMITS.maxFileBytes) return MESSAGES.fileTooBig(file.size);
  return null;
}

/**
 * The first problem with what the user is about to submit, or null.
 * Checks run in the server's order, so both sides report the same problem
 * first: file count, each file, text length, then no input / mixed input,
 * combine mode, and the anonymous one-file limit.
 * @param {{files: {name:string,size:number,type?:string}[], text: string, mode: string, signedIn: boolean}} input
 * @returns {string|null} the server's message for the first problem, or null
 */
export function validateSubmission({ files, text = '', mode = 'separate', signedIn = false }) {
  const withText = hasText(text);

  if (files.length > LIMITS.maxFiles) return MESSAGES.tooManyFiles;
  for (const file of files) {
    const problem = validateFile(file);
    if (problem) return problem;
  }
  // The text is sent when there are no files (or when it is real text next to files).
  if ((withText || files.length === 0) && countChars(text) > LIMITS.maxTextChars) return MESSAGES.textTooLong;

  if (files.length === 0 && !withText) return MESSAGES.nothing;
  if (files.length > 0 && withText) return MESSAGES.both;

  if (mode === 'combine') {
    if (!signedIn) return MESSAGES.combineNeedsAccount;
    if (files.length < 2) return MESSAGES.combineNeedsTwoFiles;
  }
  if (!signedIn && files.length > LIMITS.anonymousMaxFiles) return MESSAGES.anonymousOneFile;
  return null;
}

/**
 * Checks sign-up/login input before it is sent, with the server's wording.
 * The server decides in the end (address syntax, taken addresses).
 * @param {{email: string, password: string}} input
 * @param {{signup?: boolean}} [o] sign-up also checks the password length
 * @returns {string|null} the first problem, or null
 */
export function validateCredentials({ email, password }, { signup = false } = {}) {
  const address = (email || '').trim();
  if (!address || !/^[^\s@]+@[^\s@]+$/.test(address)) return 'INVALID EMAIL ADDRESS';
  const n = countChars(password || '');
  if (n === 0) return 'ENTER YOUR PASSWORD';
  if (signup && (n < ACCOUNT_LIMITS.minPassword || n > ACCOUNT_LIMITS.maxPassword)) {
    return 'PASSWORD MUST BE 8 TO 256 CHARACTERS';
  }
  return null;
}

/**
 * Checks a custom prompt with the server's limits and wording (title 1-100,
 * body 1-4,000 characters after trimming).
 * @param {{title: string, body: string}} prompt
 * @returns {string|null} the first problem, or null
 */
export function validatePrompt({ title, body }) {
  const t = countChars((title || '').trim());
  const b = countChars((body || '').trim());
  if (t === 0) return 'TITLE IS REQUIRED';
  if (t > ACCOUNT_LIMITS.maxPromptTitle) return `TITLE MUST BE 1 TO ${ACCOUNT_LIMITS.maxPromptTitle} CHARACTERS`;
  if (b === 0) return 'BODY IS REQUIRED';
  if (b > ACCOUNT_LIMITS.maxPromptBody) return `BODY MUST BE 1 TO ${ACCOUNT_LIMITS.maxPromptBody} CHARACTERS`;
  return null;
}
