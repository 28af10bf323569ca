// Smelt: the upload / progress / results page.
import { LIMITS, STAGE_LABELS, STEPS, TEXT_SKIPPED_STEPS } from './config.js';
import { isSignedIn } from './auth.js';
import { MESSAGES, countChars, validateFile, validateSubmission } from './validation.js';
import { AbortedError, createSmelt } from './api.js';
import { SmeltSocket, buildSocketUrl, terminalCloseMessage } from './socket.js';
import { renderMarkdown } from './markdown.js';
import * as store from './storage.js';
import { clampPercent, formatBytes, formatEta, markdownFilename } from './format.js';

const byId = (id) => document.getElementById(id);

const els = {
  form: byId('smelt-form'),
  dropzone: byId('dropzone'),
  fileInput: byId('file-input'),
  fileHint: byId('file-hint'),
  fileList: byId('file-list'),
  textInput: byId('text-input'),
  textCount: byId('text-count'),
  combineInput: document.querySelector('input[name="mode"][value="combine"]'),
  combineHint: byId('combine-hint'),
  submit: byId('submit'),
  error: byId('error'),
  errorMessage: byId('error-message'),
  retry: byId('retry'),
  uploadPanel: byId('upload-panel'),
  uploadHeading: byId('upload-heading'),
  uploadProgress: byId('upload-progress'),
  uploadPercent: byId('upload-percent'),
  uploadDetail: byId('upload-detail'),
  cancelUpload: byId('cancel-upload'),
  progressPanel: byId('progress-panel'),
  progressHeading: byId('progress-heading'),
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
  announcer: byId('announcer'),
  connection: byId('connection-state'),
};

const signedIn = isSignedIn();

const state = {
  view: 'form',
  files: [], // [{key, file}]
  nextFileKey: 1,
  errorKind: null, // 'validation' | 'upload' | 'smelt' | null
  upload: null, // {abort}
  socket: null,
  smelt: null, // see beginTracking()
};

const CONNECTION_LABELS = {
  idle: 'Idle',
  connecting: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  closed: 'Closed',
};

// ---------------------------------------------------------------- helpers

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function announce(message) {
  els.announcer.textContent = message;
}

function setBar(bar, percent, valueText) {
  const pct = clampPercent(percent);
  bar.setAttribute('aria-valuenow', String(pct));
  if (valueText) bar.setAttribute('aria-valuetext', valueText);
  bar.style.setProperty('--value', `${pct}%`);
  return pct;
}

function stageLabel(stage) {
  if (!stage) return STAGE_LABELS.pending;
  return STAGE_LABELS[stage] || stage.charAt(0).toUpperCase() + stage.slice(1).replace(/_/g, ' ');
}

// ---------------------------------------------------------------- views

function setView(view) {
  state.view = view;
  document.body.dataset.view = view;
  els.form.hidden = view !== 'form';
  els.uploadPanel.hidden = view !== 'uploading';
  els.progressPanel.hidden = !(view === 'processing' || view === 'done' || (view === 'failed' && state.smelt));
  els.resultsPanel.hidden = view !== 'done';
}

function showError(message, { kind = 'validation', retry = false, retryLabel = 'Try again' } = {}) {
  state.errorKind = kind;
  els.errorMessage.textContent = message;
  els.retry.textContent = retryLabel;
  els.retry.hidden = !retry;
  els.error.dataset.kind = kind;
  els.error.hidden = false;
  revealError();
}

const reducedMotion = () => window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;

/** On a phone the submit button is far below the alert: bring the message into view. */
function revealError() {
  requestAnimationFrame(() => {
    if (els.error.hidden) return;
    const box = els.error.getBoundingClientRect();
    if (box.top >= 0 && box.bottom <= window.innerHeight) return;
    els.error.scrollIntoView({ block: 'center', behavior: reducedMotion() ? 'auto' : 'smooth' });
  });
}

function clearError() {
  state.errorKind = null;
  els.error.hidden = true;
  els.errorMessage.textContent = '';
  els.retry.hidden = true;
  delete els.error.dataset.kind;
}

function setConnectionState(connState) {
  const previous = els.connection.dataset.state;
  els.connection.dataset.state = connState;
  els.connection.querySelector('.connection-label').textContent = CONNECTION_LABELS[connState] || connState;
  if (connState === 'reconnecting' && previous === 'live' && !state.smelt?.terminal) {
    announce('Connection lost. Reconnecting…');
  }
}

// ---------------------------------------------------------------- form

function applyAuthState() {
  els.combineInput.disabled = !signedIn;
  els.combineHint.hidden = signedIn;
  els.fileHint.textContent = signedIn
    ? `MP3, WAV or M4A, up to 25 MB each, up to ${LIMITS.maxFiles} files.`
    : 'MP3, WAV or M4A, up to 25 MB. One file at a time without an account.';
}

function sameFile(a, b) {
  return a.name === b.name && a.size === b.size && a.lastModified === b.lastModified;
}

function addFiles(fileList) {
  const incoming = Array.from(fileList || []);
  if (incoming.length === 0) return;
  for (const file of incoming) {
    if (state.files.some((f) => sameFile(f.file, file))) continue;
    state.files.push({ key: state.nextFileKey++, file });
  }
  renderFileList();
  revalidate();
  announce(`${state.files.length} file${state.files.length === 1 ? '' : 's'} selected`);
}

function removeFile(key) {
  const index = state.files.findIndex((f) => f.key === key);
  if (index === -1) return;
  const [removed] = state.files.splice(index, 1);
  renderFileList();
  revalidate();
  announce(`Removed ${removed.file.name}`);
  const buttons = els.fileList.querySelectorAll('button');
  (buttons[Math.min(index, buttons.length - 1)] || els.fileInput).focus();
}

function renderFileList() {
  const items = state.files.map(({ key, file }) => {
    const problem = validateFile(file);
    const problemId = `file-problem-${key}`;
    return h(
      'li',
      { class: `file-item${problem ? ' has-problem' : ''}`, 'data-testid': 'selected-file' },
      h('span', { class: 'file-item-icon', 'aria-hidden': 'true' }),
      h(
        'span',
        { class: 'file-item-text' },
        h('span', { class: 'file-item-name', text: file.name }),
        h('span', { class: 'file-item-size', text: formatBytes(file.size) }),
        problem ? h('span', { class: 'file-item-problem', id: problemId, text: problem }) : null,
      ),
      (() => {
        const button = h('button', {
          type: 'button',
          class: 'icon-button',
          'aria-label': `Remove ${file.name}`,
          'aria-describedby': problem ? problemId : null,
          text: '×',
        });
        button.addEventListener('click', () => removeFile(key));
        return button;
      })(),
    );
  });
  els.fileList.replaceChildren(...items);
  els.fileList.hidden = items.length === 0;
}

function updateCounter() {
  const chars = countChars(els.textInput.value);
  els.textCount.textContent = `${chars.toLocaleString('en-US')} / ${LIMITS.maxTextChars.toLocaleString('en-US')} characters`;
  els.textCount.classList.toggle('is-over', chars > LIMITS.maxTextChars);
}

function selectedMode() {
  const checked = els.form.querySelector('input[name="mode"]:checked');
  return checked && !checked.disabled ? checked.value : 'separate';
}

function readForm() {
  const files = state.files.map((f) => f.file);
  const text = els.textInput.value;
  const promptNames = Array.from(
    els.form.querySelectorAll('input[name="default_prompt_names[]"]:checked'),
    (input) => input.value,
  );
  return { files, text, mode: selectedMode(), promptNames };
}

function currentProblem() {
  const { files, text, mode } = readForm();
  return validateSubmission({ files, text, mode, signedIn });
}

/** Live feedback while editing: show problems as they appear, clear them once fixed. */
function revalidate() {
  const problem = currentProblem();
  const showingNothing = state.errorKind === 'validation' && els.errorMessage.textContent === MESSAGES.nothing;
  if (problem && (problem !== MESSAGES.nothing || showingNothing)) {
    showError(problem, { kind: 'validation' });
  } else if (state.errorKind === 'validation' || state.errorKind === 'upload') {
    clearError();
  }
}

function onSubmit(event) {
  event.preventDefault();
  if (state.upload || state.view !== 'form') return;
  const problem = currentProblem();
  if (problem) {
    showError(problem, { kind: 'validation' });
    return;
  }
  clearError();
  const input = readForm();
  startUpload(input.files.length > 0 ? { ...input, text: '' } : { ...input, files: [], mode: 'separate' });
}

// ---------------------------------------------------------------- upload

function setUploadProgress(loaded, total) {
  const pct = total ? Math.floor((loaded / total) * 100) : 0;
  setBar(els.uploadProgress, pct, `${pct}%`);
  els.uploadPercent.textContent = `${pct}%`;
  els.uploadDetail.textContent = total ? `${formatBytes(loaded)} of ${formatBytes(total)}` : '';
}

async function startUpload(input) {
  setView('uploading');
  els.uploadHeading.textContent = input.files.length > 0 ? 'Uploading' : 'Sending text';
  const approxTotal = input.files.reduce((sum, f) => sum + f.size, 0);
  setUploadProgress(0, approxTotal);
  els.uploadHeading.setAttribute('tabindex', '-1');
  els.uploadHeading.focus();

  const request = createSmelt(input, {
    onUploadProgress: ({ loaded, total, done }) => {
      if (done) setUploadProgress(1, 1);
      else setUploadProgress(loaded, total ?? approxTotal);
    },
  });
  state.upload = request;
  try {
    const smelt = await request.promise;
    state.upload = null;
    announce('Upload complete');
    onCreated(smelt, input);
  } catch (err) {
    state.upload = null;
    setView('form');
    if (err instanceof AbortedError) {
      announce('Upload cancelled');
    } else {
      showError(err.message || 'SOMETHING WENT WRONG. TRY AGAIN', { kind: 'upload' });
    }
    els.submit.focus();
  }
}

function onCreated(smelt, input) {
  const active = {
    id: smelt.id,
    subscription_url: smelt.subscription_url || `/api/smelts/${encodeURIComponent(smelt.id)}/ws`,
    subscription_token: smelt.subscription_token,
    last_seq: null,
    input_kind: input.files.length > 0 ? 'audio' : 'text',
    mode: smelt.mode || input.mode,
  };
  store.saveActive(active);
  store.setSmeltIdInUrl(smelt.id);
  beginTracking(active, smelt);
}

// ---------------------------------------------------------------- progress

function beginTracking(active, created) {
  state.smelt = {
    id: active.id,
    mode: active.mode || 'separate',
    inputKind: active.input_kind || 'audio',
    files: new Map(),
    stage: null,
    percentage: 0,
    terminal: false,
  };
  resetProgressUI();
  if (created && Array.isArray(created.files)) mergeFiles(created.files);
  setProgress(created ? { percentage: 0, stage: created.status || 'pending' } : { percentage: 0, stage: 'connecting' });
  setView('processing');
  els.progressHeading.setAttribute('tabindex', '-1');
  els.progressHeading.focus();
  connect(active);
}

function connect(active) {
  state.socket?.stop();
  const socket = new SmeltSocket({
    // A fresh connection (no after_seq) starts with a snapshot: after a reload
    // the page has no state to apply replayed events to, so that is what we use.
    // Within one page, reconnects resume with after_seq=<last seq seen>.
    url: (afterSeq) => buildSocketUrl(active.subscription_url, active.subscription_token, afterSeq),
    onEvent: (message) => {
      if (state.socket !== socket) return;
      store.updateActive({ last_seq: message.seq });
      handleEvent(message);
    },
    onStateChange: (connState) => {
      if (state.socket === socket || connState === 'closed') setConnectionState(connState);
    },
    onTerminalClose: (close) => {
      if (state.socket === socket) onSocketTerminal(close);
    },
  });
  state.socket = socket;
  socket.start();
}

function handleEvent({ event, payload }) {
  if (!state.smelt) return;
  const p = payload && typeof payload === 'object' ? payload : {};
  switch (event) {
    case 'snapshot':
      applySnapshot(p);
      break;
    case 'progress':
      applyProgress(p);
      break;
    case 'completed':
      applyCompleted(p);
      break;
    case 'failed':
      applyFailed(p);
      break;
    default:
      break; // unknown events are ignored
  }
}

function applySnapshot(s) {
  if (s.mode) state.smelt.mode = s.mode;
  if (Array.isArray(s.files)) {
    state.smelt.inputKind =
      s.files.length === 0 || s.files.every((f) => f.input_type === 'text') ? 'text' : 'audio';
    mergeFiles(s.files);
  }
  if (s.status === 'completed') {
    applyCompleted({ results: s.results || [] });
  } else if (s.status === 'failed') {
    applyFailed(s);
  } else {
    setProgress(s.progress || { percentage: 0, stage: s.status || 'pending' });
  }
}

function applyProgress(p) {
  if (state.smelt.terminal) return;
  if (Array.isArray(p.files)) mergeFiles(p.files);
  if (p.progress) setProgress(p.progress);
  else if (p.status) setProgress({ percentage: state.smelt.percentage, stage: p.status });
}

function applyCompleted(p) {
  state.smelt.terminal = true;
  for (const file of state.smelt.files.values()) {
    file.progress = 100;
    file.status = 'completed';
  }
  renderFileBars();
  setProgress({ percentage: 100, stage: 'completed' });
  els.progressHeading.textContent = 'Finished';
  const results = Array.isArray(p.results) ? p.results : [];
  renderResults(results);
  setView('done');
  announce(`Done. ${results.length} result${results.length === 1 ? '' : 's'} ready.`);
  els.resultsHeading.focus();
}

function applyFailed(p) {
  state.smelt.terminal = true;
  for (const file of state.smelt.files.values()) if (file.status !== 'completed') file.status = 'failed';
  renderFileBars();
  renderSteps(state.smelt.stage, { failed: true });
  const at = state.smelt.stage;
  els.stage.textContent = STEPS.includes(at) ? `Failed while ${stageLabel(at).toLowerCase()}` : stageLabel('failed');
  els.stage.dataset.stage = 'failed';
  els.eta.hidden = true;
  els.stageMessage.textContent = '';
  els.stageMessage.hidden = true;
  els.progressPanel.dataset.state = 'failed';
  els.progressHeading.textContent = 'Smelt failed';
  const message = p.error_message || 'SOMETHING WENT WRONG. TRY AGAIN';
  showError(message, { kind: 'smelt', retry: true });
  setView('failed');
  announce(`Failed: ${message}`);
}

function onSocketTerminal({ code, reason }) {
  if (!state.smelt || state.smelt.terminal) return;
  state.smelt.terminal = true;
  const message = terminalCloseMessage(code, reason);
  // The smelt itself may be fine; this page just can't follow it any more.
  els.progressPanel.dataset.state = 'stopped';
  els.progressHeading.textContent = 'Stopped following';
  els.eta.hidden = true;
  showError(message, { kind: 'smelt', retry: true, retryLabel: 'Start a new smelt' });
  setView('failed');
  // Nothing was ever received (e.g. after a reload): an empty "Connecting…" panel would only confuse.
  if (!state.smelt.stage || state.smelt.stage === 'connecting') els.progressPanel.hidden = true;
  announce(message);
}

function resetProgressUI() {
  delete els.progressPanel.dataset.state;
  els.progressHeading.textContent = 'Smelting';
  setBar(els.overall, 0, '0%');
  els.overallPercent.textContent = '0%';
  els.stage.textContent = stageLabel('connecting');
  els.stage.dataset.stage = 'connecting';
  els.stageMessage.textContent = '';
  els.eta.hidden = true;
  els.fileBars.replaceChildren();
  els.fileBars.hidden = true;
  renderSteps(null);
}

function setProgress({ percentage, stage, message, eta_seconds: etaSeconds }) {
  const smelt = state.smelt;
  const current = stage || smelt.stage || 'pending';
  const label = stageLabel(current);
  const pct = setBar(els.overall, percentage ?? smelt.percentage, null);
  els.overall.setAttribute('aria-valuetext', `${pct}%, ${label}`);
  smelt.percentage = pct;
  els.overallPercent.textContent = `${pct}%`;
  els.stage.textContent = label;
  els.stage.dataset.stage = current;
  // "Transcribing audio..." under "Transcribing" says nothing new: keep it out of sight.
  const news = message && !restatesLabel(message, label) ? message : '';
  els.stageMessage.textContent = message || '';
  els.stageMessage.hidden = !news;
  const eta = current !== 'completed' && Number.isFinite(etaSeconds) ? formatEta(etaSeconds) : '';
  els.eta.textContent = eta;
  els.eta.hidden = !eta;
  els.progressPanel.dataset.state = current === 'completed' ? 'done' : 'running';
  renderSteps(current);
  if (current !== smelt.stage) {
    smelt.stage = current;
    if (current !== 'connecting' && current !== 'completed') {
      announce(news ? `${label}: ${news}` : label);
    }
  }
}

function firstWord(text) {
  return (String(text).trim().toLowerCase().match(/^[\p{L}\p{N}]+/u) || [''])[0];
}

/** Whether a server message only repeats the stage label ("Decoding audio..." / "Decoding audio"). */
function restatesLabel(message, label) {
  const word = firstWord(message);
  return word !== '' && word === firstWord(label);
}

function stepIndex(stage) {
  if (stage === 'completed' || stage === 'done') return STEPS.length - 1;
  return STEPS.indexOf(stage); // -1 for pending / connecting / unknown
}

const STEP_STATE_TEXT = {
  done: ' (done)',
  active: ' (in progress)',
  skipped: ' (skipped)',
  failed: ' (failed)',
  upcoming: '',
};

function renderSteps(stage, { failed = false } = {}) {
  const index = stepIndex(stage);
  const skipped = state.smelt?.inputKind === 'text' ? TEXT_SKIPPED_STEPS : [];
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

function mergeFiles(files) {
  for (const f of files) {
    if (!f || f.id === undefined || f.id === null) continue;
    const existing = state.smelt.files.get(f.id) || {};
    const status = f.status ?? existing.status ?? 'pending';
    state.smelt.files.set(f.id, {
      id: f.id,
      filename: f.filename ?? existing.filename ?? 'File',
      position: f.position ?? existing.position ?? state.smelt.files.size,
      status,
      progress: clampPercent(f.progress ?? existing.progress ?? (status === 'completed' ? 100 : 0)),
    });
  }
  renderFileBars();
}

function renderFileBars() {
  const files = Array.from(state.smelt.files.values()).sort((a, b) => a.position - b.position);
  // Text input: the overall bar says it all.
  if (state.smelt.inputKind === 'text' || files.length === 0) {
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
        h('div', {
          class: 'bar bar-small',
          role: 'progressbar',
          'aria-valuemin': '0',
          'aria-valuemax': '100',
          'aria-valuenow': '0',
        }, h('div', { class: 'bar-fill' })),
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

// ---------------------------------------------------------------- results

function resultTitle(result) {
  if (result.filename) return result.filename;
  if (state.smelt?.inputKind === 'text') return 'Your text';
  if (result.file_id === null || result.file_id === undefined) return 'Combined notes';
  return 'Notes';
}

function downloadName(result) {
  if (result.filename) return markdownFilename(result.filename);
  const short = (state.smelt?.id || '').slice(0, 8);
  return markdownFilename(`smelt-${state.smelt?.mode === 'combine' ? 'combined' : 'notes'}${short ? `-${short}` : ''}`);
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      /* fall back below */
    }
  }
  const area = h('textarea', { readonly: true, 'aria-hidden': 'true', class: 'copy-buffer' });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

function downloadText(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/markdown;charset=utf-8' }));
  const link = h('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function flashButton(button, text) {
  const original = button.dataset.label || button.textContent;
  button.dataset.label = original;
  button.textContent = text;
  clearTimeout(Number(button.dataset.timer));
  button.dataset.timer = String(setTimeout(() => (button.textContent = original), 2000));
}

function resultSection(result, index) {
  const content = typeof result.content === 'string' ? result.content : '';
  const title = resultTitle(result);
  const titleId = `result-title-${index}`;

  const copy = h('button', { type: 'button', class: 'button button-small button-secondary', 'data-testid': 'copy', 'aria-describedby': titleId, text: 'Copy' });
  copy.addEventListener('click', async () => {
    const ok = await copyText(content);
    flashButton(copy, ok ? 'Copied' : 'Copy failed');
    announce(ok ? `Copied ${title} to the clipboard` : 'Could not copy. Select the text instead.');
  });

  const download = h('button', { type: 'button', class: 'button button-small button-secondary', 'data-testid': 'download', 'aria-describedby': titleId, text: 'Download .md' });
  download.addEventListener('click', () => downloadText(downloadName(result), content));

  const body = h('div', { class: 'markdown-body', 'data-testid': 'result-content' });
  body.innerHTML = renderMarkdown(content); // sanitised by DOMPurify

  return h(
    'section',
    { class: 'card result', 'data-testid': 'result', 'aria-labelledby': titleId, 'data-file-id': result.file_id ?? '' },
    h('header', { class: 'result-head' }, h('h3', { id: titleId, class: 'result-title', text: title }), h('div', { class: 'result-actions' }, copy, download)),
    body,
  );
}

function renderResults(results) {
  els.results.replaceChildren(...results.map(resultSection));
  if (results.length === 0) {
    els.results.append(h('p', { class: 'hint', text: 'Finished, but there was nothing to show.' }));
  }
}

// ---------------------------------------------------------------- reset

function resetAll() {
  state.upload?.abort();
  state.upload = null;
  state.socket?.stop();
  state.socket = null;
  state.smelt = null;
  store.clearActive();
  store.clearSmeltIdFromUrl();
  state.files = [];
  els.form.reset();
  applyAuthState();
  renderFileList();
  updateCounter();
  els.results.replaceChildren();
  resetProgressUI();
  clearError();
  setConnectionState('idle');
  setView('form');
  window.scrollTo({ top: 0 });
  els.fileInput.focus();
}

// ---------------------------------------------------------------- wiring

function hasDraggedFiles(event) {
  return Array.from(event.dataTransfer?.types || []).includes('Files');
}

function bindEvents() {
  els.form.addEventListener('submit', onSubmit);

  els.fileInput.addEventListener('change', () => {
    addFiles(els.fileInput.files);
    els.fileInput.value = ''; // picking the same file again still fires "change"
  });

  els.textInput.addEventListener('input', () => {
    updateCounter();
    revalidate();
  });
  els.form.addEventListener('change', (event) => {
    if (event.target.name === 'mode') revalidate();
  });

  let dragDepth = 0;
  els.dropzone.addEventListener('dragenter', (event) => {
    if (!hasDraggedFiles(event)) return;
    event.preventDefault();
    dragDepth++;
    els.dropzone.classList.add('is-dragging');
  });
  els.dropzone.addEventListener('dragover', (event) => {
    if (!hasDraggedFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  els.dropzone.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) els.dropzone.classList.remove('is-dragging');
  });
  els.dropzone.addEventListener('drop', (event) => {
    event.preventDefault();
    dragDepth = 0;
    els.dropzone.classList.remove('is-dragging');
    if (state.view === 'form') addFiles(event.dataTransfer?.files);
  });
  els.dropzone.addEventListener('click', (event) => {
    if (event.target.closest('label, input, button')) return;
    els.fileInput.click();
  });
  // A file dropped next to the zone must not navigate away from the page.
  for (const type of ['dragover', 'drop']) {
    window.addEventListener(type, (event) => {
      if (hasDraggedFiles(event) && !els.dropzone.contains(event.target)) {
        event.preventDefault();
        if (event.dataTransfer) event.dataTransfer.dropEffect = 'none';
      }
    });
  }

  els.cancelUpload.addEventListener('click', () => state.upload?.abort());
  els.retry.addEventListener('click', resetAll);
  els.newSmelt.addEventListener('click', resetAll);
  window.addEventListener('online', () => state.socket?.reconnectNow());
}

function init() {
  applyAuthState();
  bindEvents();
  renderFileList();
  updateCounter();
  setConnectionState('idle');

  const id = store.smeltIdFromUrl();
  if (!id) {
    setView('form');
    return;
  }
  const active = store.loadActive();
  if (active && active.id === id && active.subscription_token) {
    beginTracking(active, null);
  } else {
    // e.g. the link was opened in another tab: the subscription token is per tab.
    store.clearSmeltIdFromUrl();
    setView('form');
    showError("CAN'T FOLLOW THAT SMELT FROM THIS TAB. START A NEW ONE", { kind: 'upload' });
  }
}

init();
