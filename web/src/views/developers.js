// The account page's Developers section: service keys (create with scopes and
// an optional expiry, the secret shown once, list, revoke) and webhooks (add,
// the signing secret shown once, list, remove, each one's delivery log).
import { announce, byId, h, showInlineError } from '../dom.js';
import { copyText } from '../clipboard.js';
import { formatDateTime } from '../format.js';
import { SCOPES, deliveryRow, expiryFromDate, keyRow, todayDateValue } from '../developers.js';
import { validateNewKey, validateWebhookUrl } from '../validation.js';
import { createKey, createWebhook, deleteWebhook, listDeliveries, listKeys, listWebhooks, revokeKey } from '../endpoints.js';
import { session } from '../context.js';
import { routeHash } from '../router.js';

const els = {};
/** Bumped on mount and unmount: answers that arrive for an older showing are dropped. */
let generation = 0;
let webhooks = [];
/** Open delivery logs: webhook id -> {deliveries, error, loading}. */
const logs = new Map();
/** The delivery panel of each listed webhook, by id (rebuilt with the list). */
const panels = new Map();

const BADGE = Object.freeze({
  active: 'badge-completed',
  expired: 'badge-cancelled',
  revoked: 'badge-cancelled',
  delivered: 'badge-completed',
  pending: 'badge-running',
  given_up: 'badge-failed',
});

function smallButton(text, testid, { variant = 'secondary', ...attrs } = {}) {
  return h('button', { type: 'button', class: `button button-small button-${variant}`, 'data-testid': testid, text, ...attrs });
}

/** A term and its value in a `<dl>`. */
function pair(term, value, testid) {
  return h('div', { class: 'dev-meta-item' }, h('dt', { text: term }), h('dd', { 'data-testid': testid, text: value }));
}

function emptyItem(testid, text) {
  return h('li', { class: 'hint', 'data-testid': testid, text });
}

// ---------------------------------------------------------------- secrets

/**
 * Shows a secret the server returns only once, in a read-only field with a
 * Copy button and the warning that it will not be shown again.
 */
function showSecret(box, { title, label, secret, note }) {
  const testid = box.dataset.testid;
  const inputId = `${box.id}-value`;
  const field = h('input', { type: 'text', id: inputId, class: 'secret-value', readonly: true, spellcheck: 'false', autocomplete: 'off', 'data-testid': `${testid}-value` });
  field.value = secret;
  const status = h('p', { class: 'copy-status', role: 'status', 'data-testid': `${testid}-copied` });
  const copy = smallButton('Copy', `${testid}-copy`, { 'aria-label': `Copy the ${label.toLowerCase()}` });
  copy.addEventListener('click', async () => {
    const ok = await copyText(secret);
    status.dataset.state = ok ? 'copied' : 'failed';
    status.textContent = ok ? 'Copied' : 'Could not copy. Select the text and copy it yourself.';
    if (!ok) field.select();
  });
  const done = smallButton('Done', `${testid}-done`, { variant: 'ghost' });
  done.addEventListener('click', () => hideSecret(box));
  box.replaceChildren(
    h('p', { class: 'secret-title', text: title }),
    h('div', { class: 'secret-row' }, h('label', { for: inputId, class: 'visually-hidden', text: label }), field, copy),
    status,
    h('p', { class: 'secret-note', text: note }),
    h('div', { class: 'secret-actions' }, done),
  );
  box.hidden = false;
  field.focus();
  field.select();
}

function hideSecret(box) {
  box.replaceChildren();
  box.hidden = true;
}

// ---------------------------------------------------------------- keys

function renderKeys(keys) {
  const now = Date.now();
  const items = keys.map((key) => {
    const row = keyRow(key, { now });
    let actions = null;
    if (row.state !== 'revoked') {
      const revoke = smallButton('Revoke', 'key-revoke', { variant: 'ghost', 'aria-label': `Revoke ${key.name}` });
      revoke.addEventListener('click', () => revokeOne(key));
      actions = h('div', { class: 'dev-actions' }, revoke);
    }
    return h(
      'li',
      { class: 'dev-item', 'data-testid': 'key-item', 'data-key-id': key.id, 'data-state': row.state },
      h(
        'div',
        { class: 'dev-head' },
        h(
          'div',
          { class: 'dev-text' },
          h('p', { class: 'dev-title' }, h('span', { 'data-testid': 'key-item-name', text: key.name }), ' ', h('span', { class: `badge ${BADGE[row.state]}`, 'data-testid': 'key-item-state', text: row.stateText })),
          h('p', { class: 'dev-code' }, h('code', { 'data-testid': 'key-item-prefix', text: row.prefix })),
        ),
        actions,
      ),
      h(
        'dl',
        { class: 'dev-meta' },
        pair('Scopes', row.scopes, 'key-item-scopes'),
        pair('Created', row.created, 'key-item-created'),
        pair('Last used', row.lastUsed, 'key-item-last-used'),
        pair('Expires', row.expires, 'key-item-expires'),
        row.revoked && pair('Revoked', row.revoked, 'key-item-revoked'),
      ),
    );
  });
  els.keyList.replaceChildren(...items);
  if (items.length === 0) els.keyList.append(emptyItem('key-empty', 'No keys yet.'));
}

async function loadKeys() {
  const gen = generation;
  els.keyList.setAttribute('aria-busy', 'true');
  try {
    const keys = await listKeys(session);
    if (gen === generation) renderKeys(keys);
  } catch (err) {
    if (gen === generation) showInlineError(els.keysError, err.message);
  } finally {
    if (gen === generation) els.keyList.removeAttribute('aria-busy');
  }
}

async function submitKey(event) {
  event.preventDefault();
  const name = els.keyName.value.trim();
  const scopes = [...els.keyScopes.querySelectorAll('input[type="checkbox"]:checked')].map((box) => box.value);
  const expiresAt = expiryFromDate(els.keyExpires.value);
  const problem = validateNewKey({ name, scopes, expiresAt });
  if (problem) {
    showInlineError(els.keysError, problem);
    if (problem.startsWith('NAME')) els.keyName.focus();
    else if (problem.includes('SCOPE')) els.keyScopes.querySelector('input')?.focus();
    else els.keyExpires.focus();
    return;
  }
  showInlineError(els.keysError, '');
  els.keyCreate.disabled = true;
  els.keyForm.setAttribute('aria-busy', 'true');
  const gen = generation;
  try {
    const created = await createKey(session, { name, scopes, ...(expiresAt ? { expires_at: expiresAt } : {}) });
    if (gen !== generation) return;
    els.keyForm.reset();
    showSecret(els.keySecret, {
      title: `Your new key “${created.name}”`,
      label: 'Service key',
      secret: created.secret,
      note: 'Copy it now and keep it safe: you will not see it again. Smelt keeps only a fingerprint of it.',
    });
    announce(`Created the key ${created.name}. Copy it now: it is shown only once.`);
    await loadKeys();
  } catch (err) {
    if (gen !== generation) return;
    showInlineError(els.keysError, err.message);
    els.keyName.focus();
  } finally {
    els.keyCreate.disabled = false;
    els.keyForm.removeAttribute('aria-busy');
  }
}

async function revokeOne(key) {
  if (!window.confirm(`Revoke the key “${key.name}”? Programs using it stop working at once.`)) return;
  showInlineError(els.keysError, '');
  const gen = generation;
  try {
    await revokeKey(session, key.id);
    announce(`Revoked ${key.name}`);
  } catch (err) {
    if (gen === generation) showInlineError(els.keysError, err.message);
  }
  if (gen !== generation) return;
  els.keyName.focus();
  await loadKeys();
}

// ---------------------------------------------------------------- webhooks

function renderDelivery(delivery) {
  const row = deliveryRow(delivery);
  return h(
    'li',
    { class: 'dev-item delivery-item', 'data-testid': 'delivery-item', 'data-delivery-id': delivery.id, 'data-status': row.status },
    h('p', { class: 'dev-title' }, h('span', { 'data-testid': 'delivery-event', text: row.event }), ' ', h('span', { class: `badge ${BADGE[row.status] || ''}`, 'data-testid': 'delivery-status', text: row.statusText })),
    h(
      'dl',
      { class: 'dev-meta' },
      pair('Attempts', row.attempts, 'delivery-attempts'),
      pair('Last answer', row.lastAnswer, 'delivery-last-answer'),
      pair('Queued', row.created, 'delivery-created'),
      pair('Last attempt', row.lastAttempt, 'delivery-last-attempt'),
      pair('Delivered', row.delivered, 'delivery-delivered'),
    ),
    h('p', { class: 'dev-link' }, h('a', { href: routeHash('smelt', { id: delivery.smelt_id }), text: 'Open the smelt' })),
  );
}

/** Fills a webhook's delivery panel from its log's state. */
function renderLog(panel, hook) {
  const log = logs.get(hook.id);
  const refresh = smallButton('Refresh', 'webhook-deliveries-refresh', { 'aria-label': `Refresh the deliveries to ${hook.url}`, disabled: log.loading });
  refresh.addEventListener('click', () => loadLog(hook));
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'webhook-deliveries-error', hidden: true });
  if (log.error) showInlineError(error, log.error);
  let body;
  if (!log.deliveries) body = h('p', { class: 'hint', text: log.loading ? 'Loading…' : '' });
  else if (log.deliveries.length === 0) body = h('p', { class: 'hint', 'data-testid': 'delivery-empty', text: 'No deliveries yet. Smelts that end from now on are sent here.' });
  else body = h('ul', { class: 'dev-list', 'data-testid': 'delivery-list', 'aria-label': `Deliveries to ${hook.url}` }, ...log.deliveries.map(renderDelivery));
  if (log.loading) panel.setAttribute('aria-busy', 'true');
  else panel.removeAttribute('aria-busy');
  panel.replaceChildren(h('div', { class: 'deliveries-head' }, h('p', { class: 'deliveries-title', text: 'Deliveries, newest first' }), refresh), error, body);
}

async function loadLog(hook) {
  const gen = generation;
  const log = logs.get(hook.id);
  if (!log || log.loading) return;
  log.loading = true;
  const redraw = () => {
    const panel = panels.get(hook.id);
    if (panel && logs.has(hook.id)) renderLog(panel, hook);
  };
  redraw();
  try {
    const deliveries = await listDeliveries(session, hook.id);
    if (gen !== generation) return;
    Object.assign(log, { deliveries, error: null });
  } catch (err) {
    if (gen !== generation) return;
    log.error = err.message;
  }
  log.loading = false;
  redraw();
}

function toggleLog(hook, toggle, panel) {
  const open = !logs.has(hook.id);
  toggle.setAttribute('aria-expanded', String(open));
  panel.hidden = !open;
  if (!open) {
    logs.delete(hook.id);
    panel.replaceChildren();
    return;
  }
  logs.set(hook.id, { deliveries: null, error: null, loading: false });
  loadLog(hook);
}

function renderWebhooks() {
  panels.clear();
  const items = webhooks.map((hook) => {
    const panelId = `deliveries-${hook.id}`;
    const open = logs.has(hook.id);
    const panel = h('div', { class: 'deliveries', id: panelId, 'data-testid': 'webhook-deliveries', hidden: !open });
    panels.set(hook.id, panel);
    if (open) renderLog(panel, hook);
    const toggle = smallButton('Deliveries', 'webhook-deliveries-toggle', { 'aria-expanded': String(open), 'aria-controls': panelId, 'aria-label': `Deliveries to ${hook.url}` });
    toggle.addEventListener('click', () => toggleLog(hook, toggle, panel));
    const remove = smallButton('Remove', 'webhook-remove', { variant: 'ghost', 'aria-label': `Remove the webhook ${hook.url}` });
    remove.addEventListener('click', () => removeOne(hook));
    return h(
      'li',
      { class: 'dev-item', 'data-testid': 'webhook-item', 'data-webhook-id': hook.id },
      h(
        'div',
        { class: 'dev-head' },
        h('div', { class: 'dev-text' }, h('p', { class: 'dev-title dev-url', 'data-testid': 'webhook-item-url', text: hook.url }), h('p', { class: 'hint', text: `Added ${formatDateTime(hook.created_at)}` })),
        h('div', { class: 'dev-actions' }, toggle, remove),
      ),
      panel,
    );
  });
  els.webhookList.replaceChildren(...items);
  if (items.length === 0) els.webhookList.append(emptyItem('webhook-empty', 'No webhooks yet.'));
}

async function loadWebhooks() {
  const gen = generation;
  els.webhookList.setAttribute('aria-busy', 'true');
  try {
    const list = await listWebhooks(session);
    if (gen !== generation) return;
    webhooks = list;
    for (const id of logs.keys()) if (!list.some((hook) => hook.id === id)) logs.delete(id);
    renderWebhooks();
  } catch (err) {
    if (gen === generation) showInlineError(els.webhooksError, err.message);
  } finally {
    if (gen === generation) els.webhookList.removeAttribute('aria-busy');
  }
}

async function submitWebhook(event) {
  event.preventDefault();
  const url = els.webhookUrl.value.trim();
  const problem = validateWebhookUrl(url);
  if (problem) {
    showInlineError(els.webhooksError, problem);
    els.webhookUrl.focus();
    return;
  }
  showInlineError(els.webhooksError, '');
  els.webhookAdd.disabled = true;
  els.webhookForm.setAttribute('aria-busy', 'true');
  const gen = generation;
  try {
    const created = await createWebhook(session, { url });
    if (gen !== generation) return;
    els.webhookForm.reset();
    showSecret(els.webhookSecret, {
      title: `Signing secret for ${created.url}`,
      label: 'Signing secret',
      secret: created.secret,
      note: 'Copy it now: you will not see it again. Your receiver checks each delivery’s webhook-signature header with it.',
    });
    announce('Webhook added. Copy its signing secret now: it is shown only once.');
    await loadWebhooks();
  } catch (err) {
    if (gen !== generation) return;
    showInlineError(els.webhooksError, err.message);
    els.webhookUrl.focus();
  } finally {
    els.webhookAdd.disabled = false;
    els.webhookForm.removeAttribute('aria-busy');
  }
}

async function removeOne(hook) {
  if (!window.confirm(`Remove the webhook ${hook.url}? Its delivery log goes with it.`)) return;
  showInlineError(els.webhooksError, '');
  const gen = generation;
  try {
    await deleteWebhook(session, hook.id);
    logs.delete(hook.id);
    announce(`Removed the webhook ${hook.url}`);
  } catch (err) {
    if (gen === generation) showInlineError(els.webhooksError, err.message);
  }
  if (gen !== generation) return;
  els.webhookUrl.focus();
  await loadWebhooks();
}

// ---------------------------------------------------------------- section

/** The Developers section of the account page (service keys and webhooks). */
export const developersSection = {
  /** Wires the forms and builds the scope choices; once at start-up. */
  init() {
    Object.assign(els, {
      keysError: byId('keys-error'),
      keySecret: byId('key-secret'),
      keyList: byId('key-list'),
      keyForm: byId('key-form'),
      keyName: byId('key-name'),
      keyScopes: byId('key-scopes'),
      keyExpires: byId('key-expires'),
      keyCreate: byId('key-create'),
      webhooksError: byId('webhooks-error'),
      webhookSecret: byId('webhook-secret'),
      webhookList: byId('webhook-list'),
      webhookForm: byId('webhook-form'),
      webhookUrl: byId('webhook-url'),
      webhookAdd: byId('webhook-add'),
    });
    els.keyScopes.replaceChildren(
      ...SCOPES.map(({ scope, label, hint, preset }) =>
        h(
          'label',
          { class: 'choice' },
          // `checked` as an attribute: the form's reset() ticks the presets again.
          h('input', { type: 'checkbox', name: 'scopes', value: scope, checked: preset, 'data-testid': `key-scope-${scope.replace(':', '-')}` }),
          h('span', { class: 'choice-text' }, h('span', { class: 'choice-label', text: label }), h('span', { class: 'choice-hint', text: `${hint} (${scope})` })),
        ),
      ),
    );
    els.keyForm.addEventListener('submit', submitKey);
    els.webhookForm.addEventListener('submit', submitWebhook);
  },

  /** Loads the keys and webhooks (the user is signed in). */
  mount() {
    generation++;
    els.keyExpires.min = todayDateValue();
    loadKeys();
    loadWebhooks();
  },

  /** Forgets everything shown, secrets first: they are never shown twice. */
  unmount() {
    generation++;
    hideSecret(els.keySecret);
    hideSecret(els.webhookSecret);
    els.keyForm.reset();
    els.webhookForm.reset();
    showInlineError(els.keysError, '');
    showInlineError(els.webhooksError, '');
    webhooks = [];
    logs.clear();
    panels.clear();
    els.keyList.replaceChildren();
    els.webhookList.replaceChildren();
  },
};
