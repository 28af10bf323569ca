// POST /api/smelts with upload progress: fetch reports no upload progress,
// XMLHttpRequest does (xhr.upload "progress" events). The form itself is
// @smelt/client's.
import { buildCreateForm } from '@smelt/client';
import { API_BASE } from './config.js';
import { AbortedError, ApiError, NETWORK_MESSAGE, errorFromResponse } from './errors.js';

/** Re-exported so callers of createSmelt need one import. */
export { AbortedError, ApiError, errorFromResponse } from './errors.js';

/** The speech fields of an audio smelt, in the order sent. */
const SPEECH_FIELDS = Object.freeze(['model', 'language', 'task']);

/**
 * Builds the multipart body exactly as the API expects it: `files[]`, or a
 * recording's `url`, or `text` (one of them: files win, then the link),
 * `mode`, `default_prompt_names[]`, `user_prompt_id` (@smelt/client's form),
 * then for audio (files or a link) `model`, `language` and `task` when given.
 * They are given only when the server named its models: an older server
 * refuses fields it does not know.
 * @param {{files?: File[], url?: string, text?: string, mode?: string, promptNames?: string[], userPromptId?: string|null,
 *   speech?: {model?: string, language?: string, task?: string}|null}} input
 * @returns {FormData}
 */
export function buildSmeltForm({ files = [], url = '', text = '', mode = 'separate', promptNames = [], userPromptId = null, speech = null }) {
  const common = { mode, prompts: promptNames, userPromptId };
  const link = files.length === 0 ? (url || '').trim() : '';
  let form;
  if (files.length > 0) {
    form = buildCreateForm({ files, ...common });
  } else if (link) {
    // The client's form knows files and text; the link goes first, as files would.
    form = new FormData();
    form.append('url', link);
    for (const [name, value] of buildCreateForm(common)) form.append(name, value);
  } else {
    form = buildCreateForm({ text, ...common });
  }
  if ((files.length > 0 || link) && speech) {
    for (const field of SPEECH_FIELDS) if (typeof speech[field] === 'string' && speech[field]) form.append(field, speech[field]);
  }
  return form;
}

/**
 * Creates a smelt.
 * @param {Parameters<typeof buildSmeltForm>[0]} input
 * @param {object} [o]
 * @param {string|null} [o.token] access token of a signed-in user
 * @param {(p: {loaded: number, total: number|null, done?: boolean}) => void} [o.onUploadProgress]
 *   bytes sent so far; `done` once the whole body is sent
 * @returns {{promise: Promise<object>, abort: () => void}} the promise
 *   resolves with the 201 body (the smelt plus `subscription_url` and
 *   `subscription_token`) and rejects with ApiError (the server's message),
 *   or AbortedError after abort()
 */
export function createSmelt(input, { token = null, onUploadProgress } = {}) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', `${API_BASE}/smelts`);
    xhr.responseType = 'text';
    xhr.setRequestHeader('Accept', 'application/json');
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);

    if (onUploadProgress) {
      xhr.upload.addEventListener('progress', (e) => {
        onUploadProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : null });
      });
      xhr.upload.addEventListener('load', () => onUploadProgress({ loaded: 1, total: 1, done: true }));
    }

    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch {
          reject(new ApiError('UNEXPECTED ANSWER FROM THE SERVER. TRY AGAIN', { status: xhr.status }));
        }
      } else {
        reject(errorFromResponse(xhr.status, xhr.responseText));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError(NETWORK_MESSAGE, { code: 'network' })));
    xhr.addEventListener('abort', () => reject(new AbortedError()));
    xhr.send(buildSmeltForm(input));
  });
  return { promise, abort: () => xhr.abort() };
}
