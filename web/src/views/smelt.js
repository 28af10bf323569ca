// One smelt's page (#/smelts/<id>): the overall bar with stage, message and
// ETA, a bar per file, then the results or the failure. Progress comes from
// SmeltFollower (WebSocket, then SSE, then polling); a reload lands here
// again and resumes from a fresh snapshot.
import { STAGE_LABELS, STEPS, TEXT_SKIPPED_STEPS } from '../config.js';
import { SmeltFollower } from '../follow.js';
import { terminalCloseMessage } from '../follow.js';
import { announce, byId, h, setBar } from '../dom.js';
import { clampPercent, formatEta } from '../format.js';
import { nextStepFor } from '../messages.js';
import { forgetSmelt, recallSmelt } from '../storage.js';
import { deleteSmelt, getSmelt } from '../endpoints.js';
import { navigate, refreshProfile, session } from '../context.js';
import { clearAlert, showAlert } from './alert.js';
import { setConnection } from './header.js';
import { renderResults } from './results.js';

const els = {};
let follower = null;
let smelt = null; // see mount()

function stageLabel(stage) {
  if (!stage) return STAGE_LABELS.pending;
  return STAGE_LABELS[stage] || stage.charAt(0).toUpperCase() + stage.slice(1).replace(/_/g, ' ');
}

function firstWord(text) {
  return (String(text).trim().toLowerCase().match(/^[\p{L}\p{N}]+/u) || [''])[0];
}

// "Transcribing audio..." under "Transcribing" says nothing new.
function restatesLabel(message, label) {
  const word = firstWord(message);
  return word !== '' && word === firstWord(label);
}

function stepIndex(stage) {
  if (stage === 'completed' || stage === 'done') return STEPS.length - 1;
  return STEPS.indexOf(stage); // -1 for pending / connecting / unknown
}

const STEP_STATE_TEXT = { done: ' (done)', active: ' (in progress)', skipped: ' (skipped)', failed: ' (failed)', upcoming: '' };

function renderSteps(stage, { failed = false } = {}) {
  const index = stepIndex(stage);
  const skipped = smelt?.inputKind === 'text' ? TEXT_SKIPPED_STEPS : [];
  els.steps.querySelectorAll('.step').forEach((li, i) => {
    const step = li.dataset.step;
    let stepState;
    if (skipped.includes(step) && !(failed && i === index)) stepState = 'skipped';
    else if (i < index) stepState = 'done';
    else if (i === index) stepState = failed ? 'failed' : step === 'done' ? 'done' : 'active';
    else stepState = 'upcoming';
    li.dataset.state = stepState;
    if (stepState === 'active') li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
    li.querySelector('.step-state').textContent = STEP_STATE_TEXT[stepState];
  });
}

function setProgress({ percentage, stage, message, eta_seconds: etaSeconds }) {
  const current = stage || smelt.stage || 'pending';
  const label = stageLabel(current);
  // Percentages never go back (the server promises it; a stale snapshot must not either).
  const pct = Math.max(smelt.percentage, clampPercent(percentage ?? smelt.percentage));
  setBar(els.overall, pct, `${pct}%, ${label}`);
  smelt.percentage = pct;
  els.overallPercent.textContent = `${pct}%`;
  els.stage.textContent = label;
  els.stage.dataset.stage = current;
  const news = message && !restatesLabel(message, label) ? message : '';
  els.stageMessage.textContent = message || '';
  els.stageMessage.hidden = !news;
  const eta = current !== 'completed' && Number.isFinite(etaSeconds) ? formatEta(etaSeconds) : '';
  els.eta.textContent = eta;
  els.eta.hidden = !eta;
  els.panel.dataset.state = current === 'completed' ? 'done' : 'running';
  renderSteps(current);
  if (current !== smelt.stage) {
    smelt.stage = current;
    if (current !== 'connecting' && current !== 'completed') announce(news ? `${label}: ${news}` : label);
  }
}

function mergeFiles(files) {
  for (const f of files) {
    if (!f || f.id === undefined || f.id === null) continue;
    const existing = smelt.files.get(f.id) || {};
    const status = f.status ?? existing.status ?? 'pending';
    smelt.files.set(f.id, {
      id: f.id,
      filename: f.filename ?? existing.filename ?? 'File',
      position: f.position ?? existing.position ?? smelt.files.size,
      status,
      progress: Math.max(existing.progress ?? 0, clampPercent(f.progress ?? (status === 'completed' ? 100 : 0))),
    });
  }
  renderFileBars();
}

function renderFileBars() {
  const files = Array.from(smelt.files.values()).sort((a, b) => a.position - b.position);
  // Text input: the overall bar says it all.
  if (smelt.inputKind === 'text' || files.length === 0) {
    els.fileBars.hidden = true;
    return;
  }
  const seen = new Set();
  for (const file of files) {
    const key = String(file.id);
    seen.add(key);
    let li = els.fileBars.querySelector(`li[data-file-id="${CSS.escape(key)}"]`);
    if (!li) {
      li = h(
        'li',
        { class: 'file-bar', 'data-file-id': key, 'data-testid': 'file-progress' },
        h('div', { class: 'file-bar-head' }, h('span', { class: 'file-bar-name' }), h('span', { class: 'file-bar-status' })),
        h('div', { class: 'bar bar-small', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }, h('div', { class: 'bar-fill' })),
      );
      els.fileBars.append(li);
    }
    li.querySelector('.file-bar-name').textContent = file.filename;
    li.querySelector('.file-bar-status').textContent = `${stageLabel(file.status)} · ${file.progress}%`;
    li.dataset.status = file.status;
    const bar = li.querySelector('.bar');
    bar.setAttribute('aria-label', file.filename);
    setBar(bar, file.progress, `${file.progress}%, ${stageLabel(file.status)}`);
  }
  for (const li of els.fileBars.querySelectorAll('li')) if (!seen.has(li.dataset.fileId)) li.remove();
  els.fileBars.hidden = false;
}

// ------------------------------------------------------------------ events

function handleEvent({ event, payload }) {
  if (!smelt) return;
  const p = payload && typeof payload === 'object' ? payload : {};
  if (event === 'snapshot') applySnapshot(p);
  else if (event === 'progress') applyProgress(p);
  else if (event === 'completed') applyCompleted(p);
  else if (event === 'failed') applyFailed(p);
}

function applySnapshot(s) {
  if (s.mode) smelt.mode = s.mode;
  if (Array.isArray(s.files)) {
    smelt.inputKind = s.files.length > 0 && s.files.every((f) => f.input_type === 'text') ? 'text' : 'audio';
    mergeFiles(s.files);
  }
  if (s.status === 'completed') applyCompleted({ results: s.results || [] });
  else if (s.status === 'failed') applyFailed(s);
  else setProgress(s.progress || { percentage: 0, stage: s.status || 'pending' });
}

function applyProgress(p) {
  if (smelt.terminal) return;
  if (Array.isArray(p.files)) mergeFiles(p.files);
  if (p.progress) setProgress(p.progress);
  else if (p.status) setProgress({ percentage: smelt.percentage, stage: p.status });
}

function applyCompleted(p) {
  smelt.terminal = true;
  for (const file of smelt.files.values()) {
    file.progress = 100;
    file.status = 'completed';
  }
  renderFileBars();
  setProgress({ percentage: 100, stage: 'completed' });
  els.heading.textContent = 'Finished';
  const results = Array.isArray(p.results) ? p.results : [];
  renderResults(els.results, results, smelt);
  els.resultsPanel.hidden = false;
  document.body.dataset.view = 'done';
  announce(`Done. ${results.length} result${results.length === 1 ? '' : 's'} ready.`);
  els.resultsHeading.focus();
}

function applyFailed(p) {
  smelt.terminal = true;
  for (const file of smelt.files.values()) if (file.status !== 'completed') file.status = 'failed';
  renderFileBars();
  renderSteps(smelt.stage, { failed: true });
  const at = smelt.stage;
  els.stage.textContent = STEPS.includes(at) ? `Failed while ${stageLabel(at).toLowerCase()}` : stageLabel('failed');
  els.stage.dataset.stage = 'failed';
  els.eta.hidden = true;
  els.stageMessage.hidden = true;
  els.panel.dataset.state = 'failed';
  els.heading.textContent = 'Smelt failed';
  document.body.dataset.view = 'failed';
  const message = p.error_message || 'SOMETHING WENT WRONG. TRY AGAIN';
  showAlert(message, { kind: 'smelt', next: nextStepFor(p.error_code), action: 'Start a new smelt', onAction: () => navigate('create') });
  announce(`Failed: ${message}`);
  // A failed smelt gives its credit back.
  if (session.isSignedIn()) refreshProfile();
}

function onCannotFollow({ code, reason, message }) {
  if (!smelt || smelt.terminal) return;
  smelt.terminal = true;
  const text = message || terminalCloseMessage(code, reason);
  els.panel.dataset.state = 'stopped';
  els.heading.textContent = 'Stopped following';
  els.eta.hidden = true;
  document.body.dataset.view = 'failed';
  showAlert(text, { kind: 'smelt', action: 'Start a new smelt', onAction: () => navigate('create') });
  // Nothing was ever received (e.g. after a reload): an empty "Connecting…" panel would only confuse.
  if (!smelt.stage || smelt.stage === 'connecting') els.panel.hidden = true;
  announce(text);
}

function resetUi() {
  delete els.panel.dataset.state;
  els.panel.hidden = false;
  els.heading.textContent = 'Smelting';
  setBar(els.overall, 0, '0%');
  els.overallPercent.textContent = '0%';
  els.stage.textContent = stageLabel('connecting');
  els.stage.dataset.stage = 'connecting';
  els.stageMessage.textContent = '';
  els.eta.hidden = true;
  els.fileBars.replaceChildren();
  els.fileBars.hidden = true;
  els.results.replaceChildren();
  els.resultsPanel.hidden = true;
  renderSteps(null);
}

async function onDelete() {
  if (!smelt || !window.confirm('Delete this smelt with its files and notes? This cannot be undone.')) return;
  try {
    await deleteSmelt(session, smelt.id);
    forgetSmelt(smelt.id);
    announce('Smelt deleted');
    navigate('history');
  } catch (err) {
    showAlert(err.message, { kind: 'smelt' });
  }
}

/** The smelt page. */
export const smeltView = {
  /** Finds the elements; once at start-up. */
  init() {
    Object.assign(els, {
      panel: byId('progress-panel'),
      heading: byId('progress-heading'),
      overall: byId('overall-progress'),
      overallPercent: byId('overall-percent'),
      steps: byId('steps'),
      stage: byId('stage'),
      eta: byId('eta'),
      stageMessage: byId('stage-message'),
      fileBars: byId('file-bars'),
      resultsPanel: byId('results-panel'),
      resultsHeading: byId('results-heading'),
      results: byId('results'),
      newSmelt: byId('new-smelt'),
      delete: byId('delete-smelt'),
    });
    els.heading.setAttribute('tabindex', '-1');
    els.newSmelt.addEventListener('click', () => navigate('create'));
    els.delete.addEventListener('click', onDelete);
    window.addEventListener('online', () => follower?.reconnectNow());
  },

  /**
   * Starts following a smelt.
   * @param {{id: string}} params
   */
  mount({ id }) {
    const kept = recallSmelt(id);
    smelt = {
      id,
      mode: kept?.mode || 'separate',
      inputKind: kept?.input_kind || 'audio',
      files: new Map(),
      stage: null,
      percentage: 0,
      terminal: false,
    };
    resetUi();
    clearAlert();
    document.body.dataset.view = 'processing';
    els.delete.hidden = !session.isSignedIn();
    setProgress({ percentage: 0, stage: 'connecting' });
    els.heading.focus();
    if (!kept && !session.isSignedIn()) {
      onCannotFollow({ message: "CAN'T FOLLOW THAT SMELT FROM THIS TAB. LOG IN IF IT IS YOURS, OR START A NEW ONE" });
      return;
    }
    follower = new SmeltFollower({
      smeltId: id,
      subscriptionUrl: kept?.subscription_url,
      credentials: async (renew) => {
        if (kept) return { token: kept.subscription_token, kind: 'subscription' };
        const current = session.get();
        if (!current) return null;
        if (renew) {
          const fresh = await session.refresh(current.accessToken);
          return fresh ? { token: fresh.accessToken, kind: 'access' } : null;
        }
        const token = await session.accessToken();
        return token ? { token, kind: 'access' } : null;
      },
      canPoll: () => session.isSignedIn(),
      fetchSmelt: () => getSmelt(session, id),
      onEvent: handleEvent,
      onConnection: setConnection,
      onTerminal: onCannotFollow,
    }).start();
  },

  /** Stops following. */
  unmount() {
    follower?.stop();
    follower = null;
    smelt = null;
    setConnection({ state: 'idle' });
    clearAlert('smelt');
  },
};
