/**
 * `SmeltClient`: the REST API and the realtime subscriptions of one Smelt server.
 *
 * @module
 */
import { SmeltApiError, SmeltNetworkError } from './errors.js';
import { buildCreateForm, type CreateInput } from './form.js';
import { type FollowOptions, SmeltSubscription, type TokenProvider, type TokenSource } from './follow.js';
import { type MultiplexOptions, MultiplexSocket } from './multiplex.js';
import type { WebSocketConstructor } from './socket.js';
import type { BackoffOptions, Timers } from './timers.js';
import type { ListQuery, Smelt, SmeltConfig, SmeltCreated, SmeltList, TranscriptDocument, TranscriptFormat } from './types.js';

/** Options of {@link SmeltClient}. */
export interface SmeltClientOptions {
  /** The server's origin, e.g. `https://smelt.example` (default: the page's origin). */
  baseUrl?: string;
  /**
   * The signed-in user's access token, or a provider that returns the current one and renews
   * it when asked (after a 401 or a 4501 close). Absent: anonymous.
   */
  accessToken?: TokenSource;
  /** `fetch` (default the global one). */
  fetch?: typeof fetch;
  /** WebSocket implementation (default `globalThis.WebSocket`; in Node 20 pass `ws`). */
  WebSocket?: WebSocketConstructor;
  /** Timers for reconnects and polling (default the global ones). */
  timers?: Timers;
  /** Reconnect delays in ms (default 1 s doubling to 30 s). */
  backoff?: BackoffOptions;
}

/** Options of {@link SmeltClient.request}. */
export interface RequestOptions {
  /** HTTP method (default GET). */
  method?: string;
  /** Query parameters; undefined, null and empty values are left out. */
  query?: Record<string, string | number | boolean | null | undefined>;
  /** A JSON body, or a `FormData` sent as multipart. */
  body?: unknown;
  /**
   * The bearer token of this request: a string sends it (no renewal), null sends none,
   * undefined uses the client's access token (renewed once after a 401).
   */
  token?: string | null;
  /** `json` (default; null for 204 or an empty body) or `text`. */
  responseType?: 'json' | 'text';
  /** The `Accept` header (default `application/json`). */
  accept?: string;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** What {@link SmeltClient.follow} accepts: the create answer, or an id with a token. */
export type FollowTarget =
  | SmeltCreated
  | {
      /** The smelt's id. */
      id: string;
      /** Its subscription token; without one the client's access token (the owner's) is used. */
      token?: string | null;
      /** The socket path (default `/api/smelts/{id}/ws`). */
      subscriptionUrl?: string;
    };

/** Options of {@link SmeltClient.transcript}. */
export interface TranscriptOptions<F extends TranscriptFormat = TranscriptFormat> {
  /** `txt` (default), `srt`, `vtt` or `json`. */
  format?: F;
  /** One file's transcript (times from its start) instead of the whole smelt's. */
  fileId?: string;
  /** Include word timings in JSON (when they were recorded). */
  words?: boolean;
  /** The smelt's subscription token (default: the client's access token, the owner's). */
  token?: string | null;
}

/**
 * A Smelt server's API: create, read, list, cancel and delete smelts, export transcripts, read
 * the public limits, and follow smelts live. Every method rejects with {@link SmeltApiError}
 * when the server answers with an error status (its envelope's code and message, and the HTTP
 * status) and with {@link SmeltNetworkError} when no answer arrived.
 */
export class SmeltClient {
  /** The server's origin. */
  readonly baseUrl: string;
  readonly #o: SmeltClientOptions;

  /**
   * @param options the server, the access token and implementations
   * @throws {TypeError} without `baseUrl` outside a browser page
   */
  constructor(options: SmeltClientOptions = {}) {
    const base = options.baseUrl ?? globalThis.location?.origin;
    if (!base) throw new TypeError('SmeltClient needs a baseUrl outside a browser page');
    this.baseUrl = base.replace(/\/+$/, '');
    this.#o = options;
  }

  /** Whether an access token (or a provider of one) is set: the caller is signed in. */
  get hasAccessToken(): boolean {
    const t = this.#o.accessToken;
    return typeof t === 'function' || (typeof t === 'string' && t !== '');
  }

  /**
   * `POST /api/smelts`: creates a smelt from recordings or text.
   * @param input files (≤ 5, ≤ 25 MB each) or text (≤ 50,000 characters), mode, prompts,
   *   custom prompt, word timestamps
   * @param options `signal` aborts the upload
   * @returns the smelt with `subscription_url` and `subscription_token` (pass it to {@link follow})
   * @throws {SmeltApiError} 400 (`invalid_format`, `file_too_large`, `duration_exceeded`,
   *   `invalid_data` …), 403 `daily_limit`/`weekly_limit`, 429 `rate_limited`
   */
  create(input: CreateInput, options: { signal?: AbortSignal } = {}): Promise<SmeltCreated> {
    return this.request<SmeltCreated>('/api/smelts', { method: 'POST', body: buildCreateForm(input), ...options });
  }

  /**
   * `GET /api/smelts/{id}` (the owner's access token).
   * @param id the smelt's id
   * @returns the smelt: `progress` while running, `results` when completed
   * @throws {SmeltApiError} 401 without a valid token, 404 `not_found`
   */
  get(id: string): Promise<Smelt> {
    return this.request<Smelt>(`/api/smelts/${encodeURIComponent(id)}`);
  }

  /**
   * `GET /api/smelts`: the signed-in user's smelts, newest first by default.
   * @param query status filter, sort, order, page (1-based), limit (≤ 50)
   * @returns one page and the pagination
   * @throws {SmeltApiError} 400 `invalid_data` for a bad query, 401 without a valid token
   */
  list(query: ListQuery = {}): Promise<SmeltList> {
    return this.request<SmeltList>('/api/smelts', { query: { ...query } });
  }

  /**
   * `POST /api/smelts/{id}/cancel`: stops a pending or running smelt (its followers get a
   * `cancelled` event). The credit is refunded only if transcription had not begun:
   * `credit_refunded` in the answer says which.
   * @param id the smelt's id
   * @param options `token`: the smelt's subscription token (default: the access token, the owner's)
   * @returns the smelt, now `cancelled`
   * @throws {SmeltApiError} 409 `already_finished`, 404 `not_found`, 401 without a valid token
   */
  cancel(id: string, options: { token?: string | null } = {}): Promise<Smelt> {
    return this.request<Smelt>(`/api/smelts/${encodeURIComponent(id)}/cancel`, { method: 'POST', ...tokenOption(options.token) });
  }

  /**
   * `DELETE /api/smelts/{id}`: the owner removes a smelt with its files and results.
   * @param id the smelt's id
   * @throws {SmeltApiError} 404 `not_found`, 401 without a valid token
   */
  async delete(id: string): Promise<void> {
    await this.request<null>(`/api/smelts/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  /**
   * `GET /api/smelts/{id}/transcript` (or one file's): the transcript as plain text, SubRip
   * (`HH:MM:SS,mmm`), WebVTT (`HH:MM:SS.mmm`) or JSON.
   * @param id the smelt's id
   * @param options format (default `txt`), file, word timings, token
   * @returns the text of `txt`/`srt`/`vtt`, or the parsed document of `json`
   * @throws {SmeltApiError} 404 before any transcript exists, 400 `invalid_data` for an unknown format
   */
  transcript(id: string, options: TranscriptOptions<'json'> & { format: 'json' }): Promise<TranscriptDocument>;
  transcript(id: string, options?: TranscriptOptions<'txt' | 'srt' | 'vtt'>): Promise<string>;
  transcript(id: string, options: TranscriptOptions = {}): Promise<string | TranscriptDocument> {
    const format = options.format ?? 'txt';
    const file = options.fileId ? `/files/${encodeURIComponent(options.fileId)}` : '';
    return this.request<string | TranscriptDocument>(`/api/smelts/${encodeURIComponent(id)}${file}/transcript`, {
      query: { format, words: options.words ? 'true' : undefined },
      ...tokenOption(options.token),
      responseType: format === 'json' ? 'json' : 'text',
      accept: format === 'json' ? 'application/json' : '*/*',
    });
  }

  /**
   * `GET /api/config`: the limits to check before uploading.
   * @returns files, bytes, seconds, characters, extensions and MIME types accepted
   */
  config(): Promise<SmeltConfig> {
    return this.request<SmeltConfig>('/api/config', { token: null });
  }

  /**
   * Follows one smelt live (WebSocket, then SSE, then polling for the owner); see
   * {@link SmeltSubscription}. It starts at once.
   * @param target the create answer, or `{id, token?}` (no token: the client's access token)
   * @param options callbacks, resume point and tuning
   * @returns the running subscription
   */
  follow(target: FollowTarget, options: FollowOptions = {}): SmeltSubscription {
    const created = 'subscription_token' in target ? target : null;
    const plain = created ? null : (target as Exclude<FollowTarget, SmeltCreated>);
    const token: TokenSource = created ? created.subscription_token : plain?.token ? plain.token : this.#o.accessToken;
    const subscriptionUrl = created ? created.subscription_url : plain?.subscriptionUrl;
    const o = this.#o;
    return new SmeltSubscription({
      canPoll: () => this.hasAccessToken,
      fetchSmelt: () => this.get(target.id),
      ...options,
      smeltId: target.id,
      baseUrl: this.baseUrl,
      token,
      ...(subscriptionUrl ? { subscriptionUrl } : {}),
      ...(o.WebSocket ? { WebSocket: o.WebSocket } : {}),
      ...(o.fetch ? { fetch: o.fetch } : {}),
      ...(o.timers ? { timers: o.timers } : {}),
      ...(o.backoff ? { backoff: o.backoff } : {}),
    }).start();
  }

  /**
   * A socket for several smelts (`/api/ws`), opened with the client's access token when the
   * first smelt is subscribed; see {@link MultiplexSocket}.
   * @param options callbacks and tuning
   * @returns the multiplexed socket (idle until {@link MultiplexSocket.subscribe})
   */
  multiplex(options: Omit<MultiplexOptions, 'baseUrl'>): MultiplexSocket {
    const o = this.#o;
    return new MultiplexSocket({
      token: o.accessToken,
      ...(o.WebSocket ? { WebSocket: o.WebSocket } : {}),
      ...(o.timers ? { timers: o.timers } : {}),
      ...(o.backoff ? { backoff: o.backoff } : {}),
      ...options,
      baseUrl: this.baseUrl,
    });
  }

  /**
   * Sends one request to the API, for endpoints without a method here (auth, profile,
   * prompts). With the client's access token a 401 is retried once after asking the token
   * provider to renew it.
   * @param path the path, e.g. `/api/profile`
   * @param options method, query, body (JSON or `FormData`), token, response type
   * @returns the parsed JSON (null for 204 or an empty body) or the text
   * @throws {SmeltApiError} for an error status, or a 2xx that is not the JSON expected
   *   (code `invalid_response`)
   * @throws {SmeltNetworkError} when no answer arrived
   */
  async request<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(path, this.baseUrl + '/');
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value));
    }
    const provider = options.token === undefined ? this.#provider() : null;
    let token = options.token === undefined ? await provider?.({ renew: false, stale: null }) : options.token;
    let response = await this.#send(url.toString(), options, token ?? null);
    if (response.status === 401 && provider && token) {
      const fresh = await provider({ renew: true, stale: token });
      if (fresh && fresh !== token) {
        token = fresh;
        response = await this.#send(url.toString(), options, fresh);
      }
    }
    const text = await readText(response);
    if (!response.ok) throw SmeltApiError.fromResponse(response.status, text, response.headers?.get('Retry-After') ?? null);
    if (options.responseType === 'text') return text as T;
    if (response.status === 204 || text === '') return null as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new SmeltApiError('the server answered with something that is not JSON', { status: response.status, code: 'invalid_response', body: text });
    }
  }

  #provider(): TokenProvider | null {
    const t = this.#o.accessToken;
    if (typeof t === 'function') return t;
    if (typeof t === 'string' && t) return ({ renew }) => (renew ? null : t);
    return null;
  }

  async #send(url: string, options: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
    let body: BodyInit | undefined;
    if (options.body instanceof FormData) body = options.body;
    else if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    if (token) headers['Authorization'] = `Bearer ${token}`;
    const fetchImpl = this.#o.fetch ?? globalThis.fetch;
    try {
      return await fetchImpl(url, {
        method: options.method ?? 'GET',
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new SmeltNetworkError(`no answer from ${new URL(url).origin}`, err);
    }
  }
}

function tokenOption(token: string | null | undefined): { token?: string } {
  return token ? { token } : {};
}

async function readText(response: Response): Promise<string> {
  try {
    return await response.text();
  } catch (err) {
    throw new SmeltNetworkError('the answer broke off', err);
  }
}
