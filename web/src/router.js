// Hash routes, so every page is index.html and a reload keeps the page:
//   #/                  create
//   #/smelts/<id>       one smelt: live progress, then results
//   #/history?status=&sort=&order=&page=
//   #/account           credits, API key, custom prompts
//   #/login, #/signup

/**
 * @typedef {{name: 'create'|'smelt'|'history'|'account'|'login'|'signup'|'not-found',
 *   params: Record<string, string>, query: URLSearchParams}} Route
 */

/**
 * Parses a location hash.
 * @param {string} hash e.g. "#/smelts/abc?x=1"
 * @returns {Route}
 */
export function parseRoute(hash) {
  const raw = (hash || '').replace(/^#/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  const path = pathPart.replace(/\/+$/, '') || '/';
  const query = new URLSearchParams(queryPart);
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) return { name: 'create', params: {}, query };
  if (parts[0] === 'smelts' && parts.length === 2) return { name: 'smelt', params: { id: decodeURIComponent(parts[1]) }, query };
  if (parts.length === 1 && ['history', 'account', 'login', 'signup'].includes(parts[0])) return { name: parts[0], params: {}, query };
  return { name: 'not-found', params: {}, query };
}

/**
 * Builds a hash for a route.
 * @param {Route['name']} name
 * @param {Record<string, string>} [params] `id` for 'smelt'
 * @param {Record<string, string|number|undefined|null>} [query] empty values are left out
 * @returns {string} e.g. "#/history?page=2"
 */
export function routeHash(name, params = {}, query = {}) {
  let path;
  if (name === 'create') path = '/';
  else if (name === 'smelt') path = `/smelts/${encodeURIComponent(params.id)}`;
  else path = `/${name}`;
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') qs.set(key, String(value));
  }
  const s = qs.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}
