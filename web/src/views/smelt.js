// One smelt's page (#/smelts/<id>): the overall bar with stage, message and
// ETA (or the place in the queue), a bar per file, the transcript as it is
// made, then the results, the failure or the cancellation. Progress comes
// from SmeltFollower (WebSocket, then SSE, then polling); a reload lands here
// again and resumes from a fresh snapshot.
import { STAGE_LABELS, STEPS, TEXT_SKIPPED_STEPS } from '../config.js';
import { SmeltFollower } from '../follow.js';
import { terminalCloseMessage } from '../follow.js';
import { announce, byId, h, saveFile, setBar } from '../dom.js';
import { clampPercent, formatEta, laneText, queueText } from '../format.js';
import { formatLanguage } from '../speech.js';
import { nextStepFor } from '../messages.js';
import { isTranscript, promptName } from '../result-groups.js';
import { forgetSmelt, recallSmelt } from '../storage.js';
import { cancelSmelt, deleteSmelt, getSmelt, getTranscript } from '../endpoints.js';
import { currentPrompts, navigate, refreshProfile, session } from '../context.js';
import { clearAlert, showAlert } from './alert.js';
import { connectionClosed, setConnection } from './header.js';
import { renderResults } from './results.js';
import { addSegments, endTranscript, initTranscript, resetTranscript, setTranscriptFiles } from './transcript.js';

/** Content types of the transcript exports, for the saved files. */
const EXPORT_TYPES = Object.freeze({
  txt: 'text/plain;charset=utf-8',
  srt: 'application/x-subrip;charset=utf-8',
  vtt: 'text/vtt;charset=utf-8',
  json: 'application/json',
});

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

const STEP_STATE_TEXT = { done: ' (done)', active: ' (in progress)', skipped: ' (skipped)', failed: ' (failed)', cancelled: ' (cancelled)', upcoming: '' };

function renderSteps(stage, { failed = false, cancelled = false } = {}) {
  const index = stepIndex(stage);
  const skipped = smelt?.inputKind === 'text' ? TEXT_SKIPPED_STEPS : [];
  els.steps.querySelectorAll('.step').forEach((li, i) => {
    const step = li.dataset.step;
    let stepState;
    if (skipped.includes(step) && !(failed && i === index)) stepState = 'skipped';
    else if (i < index) stepState = 'done';
    else if (i === index) stepState = failed ? 'failed' : cancelled ? 'cancelled' : step === 'done' ? 'done' : 'active';
    else stepState = 'upcoming';
    li.dataset.state = stepState;
    if (stepState === 'active') li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
    li.querySelector('.step-state').textContent = STEP_STATE_TEXT[stepState];
  });
}

function capitalise(text) {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

// Until transcription begins a cancel gives the credit back; after, the credit is spent and
// what was made is kept (the server's rule). The page says which before the click.
const REFUNDABLE_STAGES = new Set(['pending', 'validating', 'decoding']);

function cancelRefunds() {
  return !!smelt && REFUNDABLE_STAGES.has(smelt.stage);
}

function cancelConsequence() {
  return cancelRefunds()
    ? 'Cancelling now returns your credit.'
    : 'Transcription has begun: cancelling now keeps what was made, and the credit stays spent.';
}

// Cancelling is offered while the smelt waits or works, to whoever may cancel it.
function renderCancel() {
  const open = !!smelt && smelt.canCancel && !smelt.terminal && !!smelt.stage && smelt.stage !== 'connecting';
  els.cancel.hidden = !open;
  els.cancelHint.hidden = !open;
  if (open && els.cancelHint.textContent !== cancelConsequence()) els.cancelHint.textContent = cancelConsequence();
  if (!open && els.cancelDialog.open) els.cancelDialog.close('finished');
}

function setProgress(progress) {
  const { percentage, stage, message, eta_seconds: etaSeconds } = progress;
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
  // While it waits: its place in the queue, updated as the smelts ahead start.
  const queue = current === 'pending' ? capitalise(queueText(progress)) : '';
  els.queue.textContent = queue;
  els.queue.hidden = !queue;
  // And why it waits there: short work goes first.
  const lane = current === 'pending' ? laneText(smelt.lane) : '';
  els.lane.textContent = lane;
  els.lane.hidden = !lane;
  if (current !== smelt.stage) {
    smelt.stage = current;
    smelt.queue = queue;
    if (current !== 'connecting' && current !== 'completed') announce([news ? `${label}: ${news}` : label, queue].filter(Boolean).join('. '));
  } else if (queue && queue !== smelt.queue) {
    smelt.queue = queue;
    announce(queue);
  }
  renderCancel();
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
      // The language of its speech, once transcription began (detected, or as chosen).
      language: validLanguage(f.language) ?? existing.language ?? null,
    });
  }
  renderFileBars();
  setTranscriptFiles([...smelt.files.values()]);
}

function validLanguage(language) {
  return language && typeof language === 'object' && typeof language.code === 'string' && language.code ? language : null;
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
        h(
          'div',
          { class: 'file-bar-head' },
          h('span', { class: 'file-bar-name' }),
          h('span', { class: 'file-bar-language', 'data-testid': 'file-language', hidden: true }, h('span', { class: 'visually-hidden', text: 'Language: ' }), h('span', { class: 'file-bar-language-name' })),
          h('span', { class: 'file-bar-status' }),
        ),
        h('div', { class: 'bar bar-small', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }, h('div', { class: 'bar-fill' })),
      );
      els.fileBars.append(li);
    }
    li.querySelector('.file-bar-name').textContent = file.filename;
    li.querySelector('.file-bar-status').textContent = `${stageLabel(file.status)} · ${file.progress}%`;
    li.dataset.status = file.status;
    const language = formatLanguage(file.language);
    const languageEl = li.querySelector('.file-bar-language');
    languageEl.querySelector('.file-bar-language-name').textContent = language;
    languageEl.hidden = !language;
    if (language) languageEl.dataset.code = file.language.code;
    else delete languageEl.dataset.code;
    const bar = li.querySelector('.bar');
    bar.setAttribute('aria-label', file.filename);
    setBar(bar, file.progress, [`${file.progress}%`, stageLabel(file.status), language].filter(Boolean).join(', '));
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
  else if (event === 'segment') applySegment(p);
  else if (event === 'completed') applyCompleted(p);
  else if (event === 'failed') applyFailed(p);
  else if (event === 'cancelled') applyCancelled(p.credit_refunded);
}

function applySnapshot(s) {
  if (s.mode) smelt.mode = s.mode;
  if (s.task) smelt.task = s.task;
  if (s.lane) smelt.lane = s.lane;
  if (s.user_prompt_id) smelt.customPromptTitle = currentPrompts().find((p) => p.id === s.user_prompt_id)?.title ?? null;
  if (Array.isArray(s.files)) {
    smelt.inputKind = s.files.length > 0 && s.files.every((f) => f.input_type === 'text') ? 'text' : 'audio';
    mergeFiles(s.files);
  }
  if (s.status === 'completed') applyCompleted({ results: s.results || [] });
  else if (s.status === 'failed') applyFailed(s);
  else if (s.status === 'cancelled') applyCancelled(s.credit_refunded);
  else {
    setProgress(s.progress || { percentage: 0, stage: s.status || 'pending' });
    // Everything said so far: on the first snapshot (a reload, a late join) it
    // is summarised for screen readers rather than read out line by line.
    if (Array.isArray(s.segments)) addSegments(s.segments, { catchUp: !smelt.sawSnapshot });
    smelt.sawSnapshot = true;
  }
}

function applySegment(p) {
  if (smelt.terminal) return;
  addSegments([p]);
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
  showResults(results);
  renderCancel();
  document.body.dataset.view = 'done';
  announce(`Done. ${results.length} result${results.length === 1 ? '' : 's'} ready.`);
  els.resultsHeading.focus();
}

function showResults(results) {
  renderResults(els.results, results, smelt, { onExport: exportTranscript });
  els.resultsPanel.hidden = false;
  // The results hold the transcripts in full; without them what was said so far stays.
  endTranscript({ keep: !results.some(isTranscript) });
}

async function exportTranscript({ format, fileId, filename }) {
  const { id, subscriptionToken } = smelt;
  // The tab's subscription token works for anyone holding it; else the owner's access token.
  const body = await getTranscript(session, id, { format, fileId, token: subscriptionToken });
  const text = format === 'json' ? `${JSON.stringify(body, null, 2)}\n` : String(body);
  saveFile(filename, new Blob([text], { type: EXPORT_TYPES[format] }));
  announce(`Downloaded ${filename}`);
}

function applyFailed(p) {
  smelt.terminal = true;
  renderCancel();
  for (const file of smelt.files.values()) if (file.status !== 'completed') file.status = 'failed';
  renderFileBars();
  // A page that first sees the smelt already failed (its snapshot) saw no stage; a failure
  // naming the prompt that failed came from synthesis.
  const named = typeof p.failed_prompt === 'string' && p.failed_prompt;
  const at = STEPS.includes(smelt.stage) ? smelt.stage : named ? 'synthesizing' : smelt.stage;
  renderSteps(at, { failed: true });
  els.stage.textContent = STEPS.includes(at) ? `Failed while ${stageLabel(at).toLowerCase()}` : stageLabel('failed');
  els.stage.dataset.stage = 'failed';
  els.eta.hidden = true;
  els.stageMessage.hidden = true;
  els.panel.dataset.state = 'failed';
  els.heading.textContent = 'Smelt failed';
  document.body.dataset.view = 'failed';
  const message = p.error_message || 'SOMETHING WENT WRONG. TRY AGAIN';
  showAlert(message, { kind: 'smelt', next: nextStepFor(p.error_code), action: 'Start a new smelt', onAction: () => navigate('create') });
  // A failure after transcription keeps the transcripts: they are still shown, with their exports.
  const kept = Array.isArray(p.results) ? p.results : [];
  const failedPrompt = typeof p.failed_prompt === 'string' && p.failed_prompt ? promptName(p.failed_prompt) : '';
  els.failedPrompt.textContent = failedPrompt
    ? `The notes for “${failedPrompt}” could not be made.${kept.some(isTranscript) ? ' The transcript was kept: it is below.' : ''}`
    : '';
  els.failedPrompt.hidden = !failedPrompt;
  if (kept.length > 0) {
    els.resultsHeading.textContent = kept.every(isTranscript) ? 'Your transcript' : 'What was kept';
    showResults(kept);
  } else {
    endTranscript({ keep: true });
  }
  announce(`Failed: ${message}${failedPrompt ? `. The notes for ${failedPrompt} could not be made` : ''}${kept.length ? '. The transcript was kept.' : ''}`);
  // A failed smelt gives its credit back.
  if (session.isSignedIn()) refreshProfile();
}

// `refunded`: whether the credit came back (from the event or the cancel answer; unknown
// for a smelt cancelled before this page opened).
function applyCancelled(refunded) {
  if (!smelt || smelt.cancelled) return;
  // Cancelled from this page (its own event may beat the answer), or the button had the focus.
  const focusHeading = smelt.cancelling || document.activeElement === els.cancel;
  smelt.terminal = true;
  smelt.cancelled = true;
  // Nothing more will come; a REST cancel may land before the socket's own event.
  follower?.stop();
  follower = null;
  connectionClosed();
  for (const file of smelt.files.values()) if (file.status !== 'completed') file.status = 'cancelled';
  renderFileBars();
  renderSteps(smelt.stage, { cancelled: true });
  els.stage.textContent = stageLabel('cancelled');
  els.stage.dataset.stage = 'cancelled';
  els.eta.hidden = true;
  els.queue.hidden = true;
  els.lane.hidden = true;
  const outcome = refunded === true
    ? 'Your credit was returned.'
    : refunded === false
      ? 'The credit was spent: transcription had begun. What was made is kept.'
      : '';
  els.stageMessage.textContent = outcome;
  els.stageMessage.hidden = !outcome;
  els.panel.dataset.state = 'cancelled';
  els.heading.textContent = 'Cancelled';
  els.afterCancel.hidden = false;
  document.body.dataset.view = 'cancelled';
  renderCancel();
  endTranscript({ keep: true });
  announce(`Smelt cancelled.${outcome ? ` ${outcome}` : ''}`);
  // The button that had the focus is gone: the heading says what happened.
  if (focusHeading) els.heading.focus();
  if (session.isSignedIn()) refreshProfile();
}

function openCancelDialog() {
  if (!smelt || smelt.terminal) return;
  els.cancelDialog.returnValue = '';
  els.cancelDialogText.textContent = `Smelt stops working on it and makes nothing more. ${cancelRefunds()
    ? 'Your credit is returned.'
    : 'Transcription has begun, so the credit stays spent; you keep what was made so far.'} This cannot be undone.`;
  els.cancelDialog.showModal();
  els.cancelKeep.focus();
}

async function onCancelDialogClosed() {
  const answer = els.cancelDialog.returnValue;
  if (answer === 'finished') return;
  if (answer !== 'cancel' || !smelt || smelt.terminal) {
    if (!els.cancel.hidden) els.cancel.focus();
    return;
  }
  const current = smelt;
  current.cancelling = true;
  els.cancel.disabled = true;
  els.cancel.textContent = 'Cancelling…';
  try {
    const answer = await cancelSmelt(session, current.id, { token: current.subscriptionToken });
    if (smelt === current) applyCancelled(answer?.credit_refunded);
  } catch (err) {
    if (smelt !== current) return;
    // 409 already_finished: the smelt ended meanwhile; its final event shows how.
    showAlert(err.message, { kind: 'smelt' });
    announce(err.message);
    if (err.code === 'already_finished') {
      current.canCancel = false;
      renderCancel();
      els.heading.focus();
    }
  } finally {
    current.cancelling = false;
    els.cancel.disabled = false;
    els.cancel.textContent = 'Cancel smelt';
  }
}

function onCannotFollow({ code, reason, message }) {
  if (!smelt || smelt.terminal) return;
  smelt.terminal = true;
  renderCancel();
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
  els.resultsHeading.textContent = 'Your notes';
  els.queue.hidden = true;
  els.queue.textContent = '';
  els.lane.hidden = true;
  els.lane.textContent = '';
  els.failedPrompt.hidden = true;
  els.afterCancel.hidden = true;
  els.cancel.hidden = true;
  if (els.cancelDialog.open) els.cancelDialog.close('finished');
  resetTranscript();
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
      queue: byId('queue-position'),
      lane: byId('queue-lane'),
      failedPrompt: byId('failed-prompt'),
      cancel: byId('cancel-smelt'),
      cancelDialog: byId('cancel-dialog'),
      cancelDialogText: byId('cancel-dialog-text'),
      cancelHint: byId('cancel-hint'),
      cancelKeep: byId('cancel-keep'),
      afterCancel: byId('after-cancel'),
    });
    els.heading.setAttribute('tabindex', '-1');
    els.newSmelt.addEventListener('click', () => navigate('create'));
    els.delete.addEventListener('click', onDelete);
    els.cancel.addEventListener('click', openCancelDialog);
    els.cancelDialog.addEventListener('close', onCancelDialogClosed);
    initTranscript();
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
      subscriptionToken: kept?.subscription_token || null,
      // The holder of the smelt's token may cancel it, and so may its owner (who
      // follows it with their access token: nobody else can).
      canCancel: !!kept || session.isSignedIn(),
      customPromptTitle: null,
      task: 'transcribe', // or 'translate' (into English), from the snapshot
      lane: kept?.lane || null, // the queue lane, from the snapshot
      files: new Map(),
      stage: null,
      queue: '',
      percentage: 0,
      terminal: false,
      cancelled: false,
      sawSnapshot: false,
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
