// POST /api/smelts with upload progress (XMLHttpRequest exposes upload bytes).
import { API_BASE } from './config.js';
import { authHeaders } from './auth.js';

export class ApiError extends Error {
  constructor(message, { status = 0, code = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export class AbortedError extends Error {
  constructor() {
    super('Upload cancelled');
    this.name = 'AbortedError';
  }
}

/** Builds the multipart body exactly as the API expects it. */
export function buildSmeltForm({ files = [], text = '', mode = 'separate', promptNames = [] }) {
  const form = new FormData();
  if (files.length > 0) {
    for (const file of files) form.append('files[]', file, file.name);
  } else {
    form.append('text', text);
  }
  form.append('mode', mode);
  for (const name of promptNames) form.append('default_prompt_names[]', name);
  return form;
}

/** `{"error": {"code", "message"}}` -> ApiError; anything else -> a generic one. */
export function errorFromResponse(status, bodyText) {
  try {
    const body = JSON.parse(bodyText);
    if (body && body.error && typeof body.error.message === 'string' && body.error.message) {
      return new ApiError(body.error.message, { status, code: body.error.code ?? null });
    }
  } catch {
    /* not JSON */
  }
  if (status === 413) return new ApiError('FILE TOO CHUNKY. MAX 25MB', { status, code: 'payload_too_large' });
  return new ApiError(`SOMETHING WENT WRONG (HTTP ${status}). TRY AGAIN`, { status });
}

/**
 * Creates a smelt. Resolves with the 201 body.
 * @returns {{promise: Promise<object>, abort: () => void}}
 */
export function createSmelt(input, { onUploadProgress } = {}) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', `${API_BASE}/smelts`);
    xhr.responseType = 'text';
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);

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
    xhr.addEventListener('error', () =>
      reject(new ApiError("CAN'T REACH SMELT. CHECK YOUR CONNECTION AND TRY AGAIN", { code: 'network' })),
    );
    xhr.addEventListener('abort', () => reject(new AbortedError()));
    xhr.send(buildSmeltForm(input));
  });
  return { promise, abort: () => xhr.abort() };
}
