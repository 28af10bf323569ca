// The create page: pick, drop or record audio, paste a link to a recording,
// or paste text, choose the speech model, language and task for audio
// (speech.js), prompts and mode, check against the limits (the server's, see
// limits.js), upload with a progress bar.
import { currentLimits, onLimitsChange } from '../limits.js';
import { MESSAGES, countChars, fileHint, hasText, validateFile, validateSubmission } from '../validation.js';
import { SPEECH_MESSAGES } from '../speech.js';
import { probeDuration } from '../media.js';
import { AbortedError, createSmelt } from '../api.js';
import { announce, byId, h, setBar } from '../dom.js';
import { formatBytes } from '../format.js';
import { rememberSmelt } from '../storage.js';
import { currentPrompts, navigate, onAccountChange, refreshProfile, session } from '../context.js';
import { alertState, clearAlert, showAlert } from './alert.js';
import { initRecorder, stopRecorder } from './record.js';
import { focusLanguage, initSpeech, renderSpeech, setSpeechApplies, speechSelection } from './speech.js';

const els = {};
const state = {
  files: [], // [{key, file, durationSeconds}] (the length once the browser has read it)
  nextFileKey: 1,
  upload: null, // {abort} while bytes go up
};

function signedIn() {
  return session.isSignedIn();
}

// ------------------------------------------------------------------ files

function sameFile(a, b) {
  return a.name === b.name && a.size === b.size && a.lastModified === b.lastModified;
}

/**
 * Adds files to the selection.
 * @param {Iterable<File>} fileList
 * @param {{durationSeconds?: number}} [o] the length, when known already (a recording)
 */
function addFiles(fileList, { durationSeconds = null } = {}) {
  const incoming = Array.from(fileList || []);
  if (incoming.length === 0) return;
  for (const file of incoming) {
    if (state.files.some((f) => sameFile(f.file, file))) continue;
    const entry = { key: state.nextFileKey++, file, durationSeconds };
    state.files.push(entry);
    // The length limit can only be checked once the browser has read the file's header.
    if (durationSeconds === null) {
      probeDuration(file).then((seconds) => {
        if (seconds === null || !state.files.includes(entry)) return;
        entry.durationSeconds = seconds;
        renderFileList();
        revalidate();
      });
    }
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
  const items = state.files.map(({ key, file, durationSeconds }) => {
    const problem = validateFile(file, { durationSeconds });
    const problemId = `file-problem-${key}`;
    const remove = h('button', {
      type: 'button',
      class: 'icon-button',
      'aria-label': `Remove ${file.name}`,
      'aria-describedby': problem ? problemId : null,
      text: '×',
    });
    remove.addEventListener('click', () => removeFile(key));
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
      remove,
    );
  });
  els.fileList.replaceChildren(...items);
  els.fileList.hidden = items.length === 0;
  updateSpeechApplies();
}

// The speech choices are for audio: pasted text alone (no files, no link) leaves them aside.
function updateSpeechApplies() {
  setSpeechApplies(state.files.length > 0 || hasText(els.urlInput.value) || !hasText(els.textInput.value));
}

// ------------------------------------------------------------------ form

function updateCounter() {
  const chars = countChars(els.textInput.value);
  const max = currentLimits().maxTextChars;
  els.textCount.textContent = `${chars.toLocaleString('en-US')} / ${max.toLocaleString('en-US')} characters`;
  els.textCount.classList.toggle('is-over', chars > max);
}

function selectedMode() {
  const checked = els.form.querySelector('input[name="mode"]:checked');
  return checked && !checked.disabled ? checked.value : 'separate';
}

function readForm() {
  const promptNames = Array.from(els.form.querySelectorAll('input[name="default_prompt_names[]"]:checked'), (i) => i.value);
  return {
    files: state.files.map((f) => f.file),
    durations: state.files.map((f) => f.durationSeconds),
    url: els.urlInput.value,
    text: els.textInput.value,
    mode: selectedMode(),
    promptNames,
    userPromptId: signedIn() ? els.userPrompt.value || null : null,
  };
}

function currentProblem() {
  const { files, durations, url, text, mode } = readForm();
  return validateSubmission({ files, durations, url, text, mode, signedIn: signedIn() });
}

/** Live feedback while editing: show problems as they appear, clear them once fixed. */
function revalidate() {
  const problem = currentProblem();
  const shown = alertState();
  const showingNothing = shown.kind === 'validation' && shown.message === MESSAGES.nothing;
  if (problem && (problem !== MESSAGES.nothing || showingNothing)) showAlert(problem, { kind: 'validation' });
  else clearAlert('validation', 'upload');
}

function applyAuthState() {
  const inside = signedIn();
  els.combineInput.disabled = !inside;
  if (!inside && els.combineInput.checked) els.form.querySelector('input[name="mode"][value="separate"]').checked = true;
  els.combineHint.hidden = inside;
  els.fileHint.textContent = fileHint(currentLimits(), { signedIn: inside });
  renderUserPrompts();
}

function renderUserPrompts() {
  const selected = els.userPrompt.value;
  const options = [h('option', { value: '', text: 'None' })];
  for (const prompt of currentPrompts()) options.push(h('option', { value: prompt.id, text: prompt.title }));
  els.userPrompt.replaceChildren(...options);
  if (currentPrompts().some((p) => p.id === selected)) els.userPrompt.value = selected;
  els.userPromptField.hidden = !signedIn();
}

function onSubmit(event) {
  event.preventDefault();
  if (state.upload) return;
  const problem = currentProblem();
  if (problem) {
    showAlert(problem, { kind: 'validation' });
    return;
  }
  const { durations, ...input } = readForm();
  if (input.files.length === 0 && !hasText(input.url)) {
    clearAlert();
    startUpload({ ...input, files: [], url: '', mode: 'separate' });
    return;
  }
  const speech = speechSelection();
  if (speech.problem) {
    showAlert(speech.problem, { kind: 'validation' });
    focusLanguage();
    return;
  }
  clearAlert();
  startUpload({ ...input, text: '', speech: speech.fields });
}

// ------------------------------------------------------------------ upload

function setUploadProgress(loaded, total) {
  const pct = total ? Math.floor((loaded / total) * 100) : 0;
  setBar(els.uploadProgress, pct, `${pct}%`);
  els.uploadPercent.textContent = `${pct}%`;
  els.uploadDetail.textContent = total ? `${formatBytes(loaded)} of ${formatBytes(total)}` : '';
}

function showUploading(on) {
  els.form.hidden = on;
  els.uploadPanel.hidden = !on;
  document.body.dataset.view = on ? 'uploading' : 'create';
}

async function send(input, onUploadProgress) {
  const token = signedIn() ? await session.accessToken() : null;
  const request = createSmelt(input, { token, onUploadProgress });
  state.upload = request;
  try {
    return await request.promise;
  } catch (err) {
    // The access token was refused (expired or revoked elsewhere): renew once and send again.
    if (token && err.status === 401 && err.code === 'unauthorized') {
      const fresh = await session.refresh(token);
      if (fresh) {
        const again = createSmelt(input, { token: fresh.accessToken, onUploadProgress });
        state.upload = again;
        return again.promise;
      }
    }
    throw err;
  }
}

/** Whether a submission is audio: files, or a link to a recording. */
function isAudio(input) {
  return input.files.length > 0 || hasText(input.url);
}

async function startUpload(input) {
  showUploading(true);
  els.uploadHeading.textContent = input.files.length > 0 ? 'Uploading' : hasText(input.url) ? 'Sending link' : 'Sending text';
  const approxTotal = input.files.reduce((sum, f) => sum + f.size, 0);
  setUploadProgress(0, approxTotal);
  els.uploadHeading.focus();
  try {
    const smelt = await send(input, ({ loaded, total, done }) => {
      if (done) setUploadProgress(1, 1);
      else setUploadProgress(loaded, total ?? approxTotal);
    });
    state.upload = null;
    announce('Upload complete');
    rememberSmelt(smelt.id, {
      subscription_url: smelt.subscription_url || `/api/smelts/${encodeURIComponent(smelt.id)}/ws`,
      subscription_token: smelt.subscription_token,
      input_kind: isAudio(input) ? 'audio' : 'text',
      mode: smelt.mode || input.mode,
    });
    resetForm();
    if (signedIn()) refreshProfile();
    navigate('smelt', { id: smelt.id });
  } catch (err) {
    state.upload = null;
    showUploading(false);
    if (err instanceof AbortedError) {
      announce('Upload cancelled');
    } else {
      showAlert(err.message || 'SOMETHING WENT WRONG. TRY AGAIN', { kind: 'upload' });
      // A refused smelt may have changed nothing, but a credit refusal means the badge is stale.
      if (signedIn()) refreshProfile();
    }
    els.submit.focus();
  }
}

function resetForm() {
  state.files = [];
  els.form.reset();
  renderSpeech();
  renderFileList();
  updateCounter();
  applyAuthState();
  showUploading(false);
}

// ------------------------------------------------------------------ wiring

function hasDraggedFiles(event) {
  return Array.from(event.dataTransfer?.types || []).includes('Files');
}

function bind() {
  els.form.addEventListener('submit', onSubmit);
  els.fileInput.addEventListener('change', () => {
    addFiles(els.fileInput.files);
    els.fileInput.value = ''; // picking the same file again still fires "change"
  });
  els.textInput.addEventListener('input', () => {
    updateCounter();
    updateSpeechApplies();
    revalidate();
  });
  els.urlInput.addEventListener('input', () => {
    updateSpeechApplies();
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
    if (!state.upload) addFiles(event.dataTransfer?.files);
  });
  els.dropzone.addEventListener('click', (event) => {
    if (event.target.closest('label, input, button, a')) return;
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
  // A recording goes up exactly like a picked file.
  initRecorder({
    onUse: ({ file, durationSeconds }) => {
      addFiles([file], { durationSeconds });
      els.form.requestSubmit();
    },
  });
  onLimitsChange(applyLimits);
  onAccountChange(({ prompts }) => {
    if (prompts !== undefined) renderUserPrompts();
  });
  session.onChange(() => {
    applyAuthState();
    revalidate();
  });
}

/** The server's limits arrived: hints, the picker's filter and the checks follow them. */
function applyLimits(limits) {
  els.fileInput.accept = [...limits.audioExtensions, ...limits.audioMimeTypes].join(',');
  applyAuthState();
  updateCounter();
  renderFileList();
  if (alertState().kind === 'validation') revalidate();
}

/** The create page. */
export const createView = {
  /** Finds the elements and wires events; once at start-up. */
  init() {
    Object.assign(els, {
      form: byId('smelt-form'),
      dropzone: byId('dropzone'),
      fileInput: byId('file-input'),
      fileHint: byId('file-hint'),
      fileList: byId('file-list'),
      urlInput: byId('url-input'),
      textInput: byId('text-input'),
      textCount: byId('text-count'),
      combineInput: els.combineInput || document.querySelector('input[name="mode"][value="combine"]'),
      combineHint: byId('combine-hint'),
      userPrompt: byId('user-prompt'),
      userPromptField: byId('user-prompt-field'),
      submit: byId('submit'),
      uploadPanel: byId('upload-panel'),
      uploadHeading: byId('upload-heading'),
      uploadProgress: byId('upload-progress'),
      uploadPercent: byId('upload-percent'),
      uploadDetail: byId('upload-detail'),
      cancelUpload: byId('cancel-upload'),
    });
    els.uploadHeading.setAttribute('tabindex', '-1');
    initSpeech({
      // A language picked after the form refused the one typed: the refusal is answered.
      onChange: () => {
        if (alertState().message === SPEECH_MESSAGES.unknownLanguage) clearAlert('validation');
      },
    });
    bind();
    applyLimits(currentLimits());
    applyAuthState();
    renderFileList();
    updateCounter();
  },

  /** Shows the page; what was typed or picked stays. */
  mount() {
    applyAuthState();
    if (!state.upload) showUploading(false);
  },

  /** Leaving the page cancels an upload in flight: it has no place to report to. */
  unmount() {
    state.upload?.abort();
    stopRecorder();
    clearAlert('validation', 'upload');
  },
};
