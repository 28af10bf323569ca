// The account page: credits, the own API key (add, status, last four
// characters, remove), custom prompts (create, edit, delete) and the
// Developers section (service keys and webhooks, developers.js).
import { announce, byId, h, showInlineError } from '../dom.js';
import { creditsText } from '../format.js';
import { validatePrompt } from '../validation.js';
import { createPrompt, deleteApiKey, deletePrompt, saveApiKey, updatePrompt } from '../endpoints.js';
import { developersSection } from './developers.js';
import { currentProfile, currentPrompts, navigate, onAccountChange, refreshProfile, refreshPrompts, session, setProfile, setPrompts } from '../context.js';

const els = {};
let editing = null; // id of the prompt being edited, or null
let shown = false;

const KEY_STATUS_TEXT = Object.freeze({
  none: 'No key saved. Smelts use your weekly credits.',
  valid: 'Key saved and working',
  invalid: 'The provider refused the saved key. Replace it or remove it.',
});

function renderProfile(profile) {
  if (!profile) {
    els.email.textContent = '';
    els.credits.textContent = '';
    return;
  }
  els.email.textContent = profile.email ? `Signed in as ${profile.email}` : '';
  els.credits.textContent = creditsText(profile);
  const status = profile.api_key_status || 'none';
  els.keyStatus.dataset.status = status;
  let text = KEY_STATUS_TEXT[status] || status;
  if (status !== 'none' && profile.api_key_last4) text += ` (ends in ${profile.api_key_last4})`;
  if (status !== 'none' && profile.api_key_base_url) text += ` · ${profile.api_key_base_url}`;
  els.keyStatus.textContent = text;
  els.keyRemove.hidden = status === 'none';
  els.keySave.textContent = status === 'none' ? 'Check and save' : 'Check and replace';
}

function renderPrompts(prompts) {
  const items = prompts.map((prompt) => {
    const edit = h('button', { type: 'button', class: 'button button-small button-secondary', 'data-testid': 'prompt-edit', text: 'Edit', 'aria-label': `Edit ${prompt.title}` });
    edit.addEventListener('click', () => startEditing(prompt));
    const remove = h('button', { type: 'button', class: 'button button-small button-ghost', 'data-testid': 'prompt-delete', text: 'Delete', 'aria-label': `Delete ${prompt.title}` });
    remove.addEventListener('click', () => removePrompt(prompt));
    return h(
      'li',
      { class: 'prompt-item', 'data-testid': 'prompt-item', 'data-prompt-id': prompt.id },
      h('div', { class: 'prompt-text' }, h('p', { class: 'prompt-title', 'data-testid': 'prompt-item-title', text: prompt.title }), h('p', { class: 'prompt-body hint', 'data-testid': 'prompt-item-body', text: prompt.body })),
      h('div', { class: 'prompt-actions' }, edit, remove),
    );
  });
  els.promptList.replaceChildren(...items);
  if (items.length === 0) els.promptList.append(h('li', { class: 'hint', 'data-testid': 'prompt-empty', text: 'No prompts yet.' }));
}

function startEditing(prompt) {
  editing = prompt.id;
  els.promptTitle.value = prompt.title;
  els.promptBody.value = prompt.body;
  els.promptHeading.textContent = `Edit “${prompt.title}”`;
  els.promptSave.textContent = 'Save changes';
  els.promptCancel.hidden = false;
  showInlineError(els.promptError, '');
  els.promptTitle.focus();
}

function stopEditing() {
  editing = null;
  els.promptForm.reset();
  els.promptHeading.textContent = 'New prompt';
  els.promptSave.textContent = 'Add prompt';
  els.promptCancel.hidden = true;
}

async function submitPrompt(event) {
  event.preventDefault();
  const input = { title: els.promptTitle.value.trim(), body: els.promptBody.value.trim() };
  const problem = validatePrompt(input);
  if (problem) {
    showInlineError(els.promptError, problem);
    (problem.startsWith('TITLE') ? els.promptTitle : els.promptBody).focus();
    return;
  }
  showInlineError(els.promptError, '');
  els.promptSave.disabled = true;
  try {
    if (editing) {
      const saved = await updatePrompt(session, editing, input);
      setPrompts(currentPrompts().map((p) => (p.id === saved.id ? saved : p)));
      announce(`Saved ${saved.title}`);
    } else {
      const saved = await createPrompt(session, input);
      setPrompts([saved, ...currentPrompts()]);
      announce(`Added ${saved.title}`);
    }
    stopEditing();
  } catch (err) {
    showInlineError(els.promptError, err.message);
  } finally {
    els.promptSave.disabled = false;
  }
}

async function removePrompt(prompt) {
  if (!window.confirm(`Delete the prompt “${prompt.title}”?`)) return;
  try {
    await deletePrompt(session, prompt.id);
    setPrompts(currentPrompts().filter((p) => p.id !== prompt.id));
    if (editing === prompt.id) stopEditing();
    announce(`Deleted ${prompt.title}`);
    els.promptTitle.focus();
  } catch (err) {
    showInlineError(els.promptError, err.message);
  }
}

async function submitKey(event) {
  event.preventDefault();
  const apiKey = els.keyInput.value.trim();
  if (!apiKey) {
    showInlineError(els.keyError, 'ENTER AN API KEY');
    els.keyInput.focus();
    return;
  }
  const body = { api_key: apiKey };
  const baseUrl = els.keyBaseUrl.value.trim();
  if (baseUrl) body.base_url = baseUrl;
  showInlineError(els.keyError, '');
  els.keySave.disabled = true;
  els.keyForm.setAttribute('aria-busy', 'true');
  try {
    setProfile(await saveApiKey(session, body));
    els.keyForm.reset();
    announce('API key saved');
  } catch (err) {
    showInlineError(els.keyError, err.message);
    els.keyInput.focus();
  } finally {
    els.keySave.disabled = false;
    els.keyForm.removeAttribute('aria-busy');
  }
}

async function removeKey() {
  if (!window.confirm('Remove your API key? Smelts will use your weekly credits again.')) return;
  try {
    await deleteApiKey(session);
    await refreshProfile();
    announce('API key removed');
    els.keyInput.focus();
  } catch (err) {
    showInlineError(els.keyError, err.message);
  }
}

/** The account page. */
export const accountView = {
  /** Wires the forms; once at start-up. */
  init() {
    Object.assign(els, {
      email: byId('account-email'),
      credits: byId('account-credits'),
      keyStatus: byId('api-key-status'),
      keyForm: byId('api-key-form'),
      keyInput: byId('api-key-input'),
      keyBaseUrl: byId('api-key-base-url'),
      keyError: byId('api-key-error'),
      keySave: document.querySelector('[data-testid="api-key-save"]'),
      keyRemove: byId('api-key-remove'),
      promptList: byId('prompt-list'),
      promptForm: byId('prompt-form'),
      promptHeading: byId('prompt-form-heading'),
      promptTitle: byId('prompt-title'),
      promptBody: byId('prompt-body'),
      promptError: byId('prompt-error'),
      promptSave: byId('prompt-save'),
      promptCancel: byId('prompt-cancel'),
    });
    els.keyForm.addEventListener('submit', submitKey);
    els.keyRemove.addEventListener('click', removeKey);
    els.promptForm.addEventListener('submit', submitPrompt);
    els.promptCancel.addEventListener('click', () => {
      stopEditing();
      els.promptTitle.focus();
    });
    developersSection.init();
    onAccountChange(({ profile, prompts }) => {
      if (!shown) return;
      if (profile !== undefined) renderProfile(profile);
      if (prompts !== undefined) renderPrompts(prompts);
    });
  },

  /** Shows the page with fresh data. */
  mount() {
    if (!session.isSignedIn()) {
      navigate('login', {}, { next: 'account' }, { replace: true });
      return;
    }
    shown = true;
    renderProfile(currentProfile());
    renderPrompts(currentPrompts());
    refreshProfile();
    refreshPrompts();
    developersSection.mount();
  },

  unmount() {
    shown = false;
    stopEditing();
    showInlineError(els.keyError, '');
    showInlineError(els.promptError, '');
    developersSection.unmount();
  },
};
