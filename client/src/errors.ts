/**
 * Errors thrown by the client.
 *
 * @module
 */

/**
 * The server answered with an error status. When the body is Smelt's envelope
 * (`{"error": {"code", "message"}}`), `code` and `message` are the server's (the message is
 * written for people and can be shown as is); otherwise `code` is null and `message` names the
 * status. A 2xx answer that is not the JSON expected has the code `invalid_response`.
 */
export class SmeltApiError extends Error {
  /** The HTTP status (e.g. 404). */
  readonly status: number;
  /** The envelope's machine code (`not_found`, `daily_limit`, …), or null without an envelope. */
  readonly code: string | null;
  /** The raw response body (for callers that want to word a non-envelope answer themselves). */
  readonly body: string;
  /** Seconds from `Retry-After` (429 and 503 answers), or null. */
  readonly retryAfterSeconds: number | null;

  /**
   * @param message what went wrong
   * @param details status, code, raw body and Retry-After in seconds
   */
  constructor(
    message: string,
    { status, code = null, body = '', retryAfterSeconds = null }: { status: number; code?: string | null; body?: string; retryAfterSeconds?: number | null },
  ) {
    super(message);
    this.name = 'SmeltApiError';
    this.status = status;
    this.code = code;
    this.body = body;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** Whether the body was the error envelope (so `message` is the server's own). */
  get fromEnvelope(): boolean {
    return envelopeOf(this.body) !== null;
  }

  /**
   * Builds the error of a failed answer.
   * @param status HTTP status
   * @param body the raw body
   * @param retryAfter the `Retry-After` header (seconds), if any
   * @returns the error with the envelope's code and message when there is one
   */
  static fromResponse(status: number, body: string, retryAfter: string | null = null): SmeltApiError {
    const seconds = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) : null;
    const envelope = envelopeOf(body);
    if (envelope) return new SmeltApiError(envelope.message, { status, code: envelope.code, body, retryAfterSeconds: seconds });
    return new SmeltApiError(`HTTP ${status}`, { status, body, retryAfterSeconds: seconds });
  }
}

/**
 * The request never got an HTTP answer: the server was not reached or the connection broke.
 * `cause` holds the underlying error.
 */
export class SmeltNetworkError extends Error {
  /**
   * @param message what failed
   * @param cause the underlying error (from `fetch`)
   */
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'SmeltNetworkError';
  }
}

/**
 * A subscription ended because the server refused it (a 4500–4999 close code, or the REST
 * fallback answered 4xx). Thrown by a subscription's async iterator after the events that did
 * arrive.
 */
export class SmeltFollowError extends Error {
  /** The close code (4500–4999), or the HTTP status of a refused REST read. */
  readonly code: number;
  /** The close frame's reason, or the server's message. */
  readonly reason: string;

  /**
   * @param code close code or HTTP status
   * @param reason close reason or server message
   */
  constructor(code: number, reason: string) {
    super(reason ? `cannot follow the smelt (${code}): ${reason}` : `cannot follow the smelt (${code})`);
    this.name = 'SmeltFollowError';
    this.code = code;
    this.reason = reason;
  }
}

/**
 * The envelope's code and message, if `body` is one.
 * @param body raw response text
 * @returns `{code, message}` or null
 */
export function envelopeOf(body: string): { code: string; message: string } | null {
  try {
    const value = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } } | null;
    const error = value?.error;
    if (error && typeof error.message === 'string' && error.message) {
      return { code: typeof error.code === 'string' ? error.code : '', message: error.message };
    }
  } catch {
    /* not JSON */
  }
  return null;
}
