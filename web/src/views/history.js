// The signed-in user's smelts: status filter, sort, pages. Smelts still
// running update live over ONE multiplexed socket (/api/ws), whatever their
// number; a finished one reloads the page of the list so its row shows the
// server's final state.
import { HISTORY_PAGE_SIZE, PROMPT_LABELS, RUNNING_STATUSES, STAGE_LABELS } from '../config.js';
import { MultiplexSocket } from '../multiplex.js';
import { byId, h, setBar, showInlineError } from '../dom.js';
import { clampPercent, formatDateTime } from '../format.js';
import { statusLabel } from '../messages.js';
import { listSmelts } from '../endpoints.js';
import { navigate, refreshProfile, session } from '../context.js';
import { routeHash } from '../router.js';

const els = {};
let live = null; // MultiplexSocket while the page is shown
let query = null; // {status, sort, order, page}
let loadSeq = 0;
let reloadTimer = null;

const FILTERS = Object.freeze({
  status: ['', 'pending', 'completed', 'failed', 'cancelled'],
  sort: ['created_at', 'completed_at'],
  order: ['desc', 'asc'],
});

/**
 * Reads the list query from the route, falling back to defaults for unknown values.
 * @param {URLSearchParams} params
 * @returns {{status: string, sort: string, order: string, page: number}}
 */
export function historyQuery(params) {
  const pick = (name) => (FILTERS[name].includes(params.get(name) ?? '') ? params.get(name) ?? '' : FILTERS[name][0]);
  const page = Number.parseInt(params.get('page') || '1', 10);
  return { status: pick('status'), sort: pick('sort'), order: pick('order'), page: Number.isFinite(page) && page >= 1 ? page : 1 };
}

function hrefFor(q) {
  return routeHash('history', {}, {
    status: q.status || undefined,
    sort: q.sort !== 'created_at' ? q.sort : undefined,
    order: q.order !== 'desc' ? q.order : undefined,
    page: q.page > 1 ? q.page : undefined,
  });
}

function promptsText(item) {
  const names = (item.default_prompt_names || []).map((n) => PROMPT_LABELS[n] || n);
  return names.length ? names.join(', ') : 'Transcript';
}

function row(item) {
  const running = RUNNING_STATUSES.includes(item.status);
  const bar = h('div', { class: 'bar bar-small', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0', 'aria-label': 'Progress', 'data-testid': 'history-progress' }, h('div', { class: 'bar-fill' }));
  bar.hidden = !running;
  const files = `${item.file_count} file${item.file_count === 1 ? '' : 's'}`;
  return h(
    'li',
    { class: 'history-item card', 'data-testid': 'history-item', 'data-smelt-id': item.id, 'data-status': item.status },
    h(
      'div',
      { class: 'history-main' },
      h('a', { class: 'history-link', href: routeHash('smelt', { id: item.id }), text: `Smelt of ${formatDateTime(item.created_at)}` }),
      h('span', { class: `badge badge-${running ? 'running' : item.status}`, 'data-testid': 'history-status', text: statusLabel(item.status) }),
    ),
    h('p', { class: 'history-meta hint', text: `${files} · ${item.mode === 'combine' ? 'combined' : 'separate'} · ${promptsText(item)}` }),
    h('p', { class: 'history-meta hint', 'data-testid': 'history-finished', text: item.completed_at ? `Finished ${formatDateTime(item.completed_at)}` : running ? 'Running' : '' }),
    bar,
  );
}

function applyLive(id, message) {
  const li = els.list.querySelector(`li[data-smelt-id="${CSS.escape(id)}"]`);
  if (!li) return;
  const p = message.payload || {};
  const status = p.status || li.dataset.status;
  li.dataset.status = status;
  const badge = li.querySelector('[data-testid="history-status"]');
  const bar = li.querySelector('[role="progressbar"]');
  if (RUNNING_STATUSES.includes(status)) {
    const progress = p.progress || {};
    const pct = clampPercent(progress.percentage ?? 0);
    badge.textContent = `${STAGE_LABELS[status] || statusLabel(status)} · ${pct}%`;
    badge.className = 'badge badge-running';
    setBar(bar, pct, `${pct}%`);
    bar.hidden = false;
  } else {
    badge.textContent = statusLabel(status);
    badge.className = `badge badge-${status}`;
    bar.hidden = true;
    // completed_at and the filter's view of the list come from the server.
    scheduleReload();
    // A failed or cancelled smelt gives its credit back.
    if (status === 'failed' || status === 'cancelled') refreshProfile();
  }
}

function scheduleReload() {
  // Several smelts may finish together: one reload for all of them.
  if (reloadTimer !== null) return;
  reloadTimer = setTimeout(() => {
    reloadTimer = null;
    if (query) load({ quiet: true });
  }, 300);
}

function setLiveNote(state) {
  els.liveNote.dataset.state = state;
  els.liveNote.textContent = state === 'live' ? 'Updating live' : state === 'reconnecting' ? 'Reconnecting…' : state === 'connecting' ? 'Connecting…' : '';
}

function follow(items) {
  const running = items.filter((i) => RUNNING_STATUSES.includes(i.status)).map((i) => i.id);
  if (!live) {
    live = new MultiplexSocket({
      token: () => session.accessToken(),
      onEvent: applyLive,
      onStateChange: setLiveNote,
    });
  }
  const wanted = new Set(running);
  for (const id of live.subscribed()) if (!wanted.has(id)) live.unsubscribe(id);
  for (const id of running) live.subscribe(id);
}

async function load({ quiet = false } = {}) {
  const seq = ++loadSeq;
  els.list.setAttribute('aria-busy', 'true');
  if (!quiet) showInlineError(els.error, '');
  try {
    const body = await listSmelts(session, { ...query, status: query.status || undefined, limit: HISTORY_PAGE_SIZE });
    if (seq !== loadSeq || !query) return;
    const items = Array.isArray(body.smelts) ? body.smelts : [];
    els.list.replaceChildren(...items.map(row));
    els.empty.hidden = items.length > 0;
    const { page, total_pages: totalPages, total } = body.pagination || { page: 1, total_pages: 1, total: items.length };
    els.pagination.hidden = totalPages <= 1 && page <= 1;
    els.page.textContent = `Page ${page} of ${Math.max(1, totalPages)} · ${total} smelt${total === 1 ? '' : 's'}`;
    setPageLink(els.prev, page > 1 ? { ...query, page: page - 1 } : null);
    setPageLink(els.next, page < totalPages ? { ...query, page: page + 1 } : null);
    follow(items);
  } catch (err) {
    if (seq !== loadSeq) return;
    showInlineError(els.error, err.message);
  } finally {
    if (seq === loadSeq) els.list.setAttribute('aria-busy', 'false');
  }
}

function setPageLink(link, q) {
  if (q) {
    link.href = hrefFor(q);
    link.removeAttribute('aria-disabled');
    link.classList.remove('is-disabled');
  } else {
    link.removeAttribute('href');
    link.setAttribute('aria-disabled', 'true');
    link.classList.add('is-disabled');
  }
}

/** The history page. */
export const historyView = {
  /** Wires the filters; once at start-up. */
  init() {
    Object.assign(els, {
      form: byId('history-filters'),
      status: byId('history-status'),
      sort: byId('history-sort'),
      order: byId('history-order'),
      list: byId('history-list'),
      empty: byId('history-empty'),
      error: byId('history-error'),
      pagination: byId('history-pagination'),
      page: byId('history-page'),
      prev: byId('history-prev'),
      next: byId('history-next'),
      liveNote: byId('history-live'),
    });
    // A change of filter or sort starts again at page 1.
    els.form.addEventListener('change', () => {
      navigate('history', {}, {
        status: els.status.value || undefined,
        sort: els.sort.value !== 'created_at' ? els.sort.value : undefined,
        order: els.order.value !== 'desc' ? els.order.value : undefined,
      });
    });
    els.form.addEventListener('submit', (e) => e.preventDefault());
  },

  /**
   * Shows a page of the list.
   * @param {object} params
   * @param {URLSearchParams} q the route's query
   */
  mount(params, q) {
    if (!session.isSignedIn()) {
      navigate('login', {}, { next: 'history' }, { replace: true });
      return;
    }
    query = historyQuery(q);
    els.status.value = query.status;
    els.sort.value = query.sort;
    els.order.value = query.order;
    load();
  },

  /** Closes the live socket. */
  unmount() {
    query = null;
    loadSeq++;
    clearTimeout(reloadTimer);
    reloadTimer = null;
    live?.stop();
    live = null;
    setLiveNote('idle');
  },
};
