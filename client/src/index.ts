/**
 * `@smelt/client`: the TypeScript client of Smelt's REST API and live progress.
 *
 * - {@link SmeltClient}: create, read, list, cancel and delete smelts, export transcripts,
 *   read the limits, and {@link SmeltClient.follow | follow} smelts live.
 * - {@link SmeltSubscription}: one smelt's events exactly once and in seq order, over its
 *   WebSocket, Server-Sent Events or REST polling.
 * - {@link MultiplexSocket}: several smelts over one socket (`/api/ws`).
 * - {@link CloseCode}: the realtime close codes and what to do about each.
 *
 * @packageDocumentation
 */
export * from './types.js';
export * from './close-codes.js';
export { SmeltApiError, SmeltFollowError, SmeltNetworkError, envelopeOf } from './errors.js';
export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF, defaultTimers, type Timers } from './timers.js';
export { isFinalEvent, isKnownEvent, parseFrame, type RawFrame, SeqFilter } from './frames.js';
export { buildEventsUrl, buildSocketUrl, smeltSocketPath } from './urls.js';
export { buildCreateForm, type CreateInput, type FileInput, guessMimeType, type NamedFile } from './form.js';
export {
  type CloseInfo,
  type ConnectionStatus,
  SmeltSocket,
  type SmeltSocketOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from './socket.js';
export { SmeltEventStream, type SmeltEventStreamOptions } from './event-stream.js';
export { POLL_INTERVAL_MS, SmeltPoller, type SmeltPollerOptions } from './poller.js';
export {
  type FollowEnd,
  type FollowOptions,
  MAX_FAILED_SOCKET_CONNECTS,
  SmeltSubscription,
  type SubscriptionOptions,
  type SubscriptionState,
  type TokenProvider,
  type TokenSource,
  type Transport,
} from './follow.js';
export { type ChannelError, type MultiplexOptions, MultiplexSocket, type MultiplexStatus, smeltIdOf } from './multiplex.js';
export { type FollowTarget, type RequestOptions, SmeltClient, type SmeltClientOptions, type TranscriptOptions } from './client.js';
