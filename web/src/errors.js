// Errors the page shows. The server always answers with
// {"error": {"code", "message"}} and its message is written for people, so
// the page shows it verbatim; anything else gets a generic sentence.

/**
 * An API refusal or a transport failure.
 * `message` is what to show; `status` is the HTTP status (0 when no answer
 * arrived); `code` is the server's machine code (`daily_limit`, ...) or a
 * page-side one (`network`, `session_expired`), null when unknown.
 */
export class ApiError extends Error {
  /**
   * @param {string} message text to show as is
   * @param {{status?: number, code?: string|null}} [details]
   */
  constructor(message, { status = 0, code = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** The user cancelled an upload. */
export class AbortedError extends Error {
  constructor() {
    super('Upload cancelled');
    this.name = 'AbortedError';
  }
}

/** Shown when no request reached the server. */
export const NETWORK_MESSAGE = "CAN'T REACH SMELT. CHECK YOUR CONNECTION AND TRY AGAIN";

/**
 * Turns a failed HTTP answer into an ApiError.
 * @param {number} status HTTP status
 * @param {string} bodyText the raw body (JSON envelope or anything else)
 * @returns {ApiError} with the server's message and code when the body is the
 *   error envelope; otherwise a generic message naming the status (413 gets
 *   the file-size sentence, since proxies answer it without a body).
 */
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
