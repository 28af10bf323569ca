/**
 * URLs of the realtime endpoints.
 *
 * @module
 */

/**
 * The WebSocket URL of a path on the server: `ws(s)://host/path?token=…[&after_seq=N]`.
 * @param path a path (`/api/smelts/{id}/ws`, `/api/ws`) or an absolute http(s)/ws(s) URL
 * @param baseUrl the server's origin, e.g. `https://smelt.example`
 * @param token subscription or access token; omitted when null
 * @param afterSeq resume after this seq; null asks for a snapshot
 * @returns the URL, with `http` turned into `ws` and `https` into `wss`
 */
export function buildSocketUrl(path: string, baseUrl: string, token: string | null, afterSeq: number | null = null): string {
  const url = new URL(path, baseUrl);
  if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol === 'http:') url.protocol = 'ws:';
  if (token) url.searchParams.set('token', token);
  if (afterSeq !== null && afterSeq !== undefined) url.searchParams.set('after_seq', String(afterSeq));
  url.hash = '';
  return url.toString();
}

/**
 * The Server-Sent Events URL of a smelt: `/api/smelts/{id}/events?token=…[&after_seq=N]`.
 * @param smeltId the smelt's id
 * @param baseUrl the server's origin
 * @param token subscription or access token; omitted when null
 * @param afterSeq resume after this seq; null asks for a snapshot
 * @returns the absolute URL
 */
export function buildEventsUrl(smeltId: string, baseUrl: string, token: string | null, afterSeq: number | null = null): string {
  const url = new URL(`/api/smelts/${encodeURIComponent(smeltId)}/events`, baseUrl);
  if (token) url.searchParams.set('token', token);
  if (afterSeq !== null && afterSeq !== undefined) url.searchParams.set('after_seq', String(afterSeq));
  return url.toString();
}

/**
 * The path of a smelt's own WebSocket.
 * @param smeltId the smelt's id
 * @returns `/api/smelts/{id}/ws`
 */
export function smeltSocketPath(smeltId: string): string {
  return `/api/smelts/${encodeURIComponent(smeltId)}/ws`;
}
