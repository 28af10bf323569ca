// The create page's speech choices for audio: the model ("Fast" or
// "Accurate", with the server's description), the language (Auto-detect or
// one the model hears, searchable by name through a <datalist>) and "Translate
// to English" (only where the model translates). Shown once the server has
// named its models (speech.js); the last choice is remembered and restored.
import {
  AUTO,
  SPEECH_MESSAGES,
  allLanguageOptions,
  chooseLanguage,
  chooseModel,
  currentCatalogue,
  findLanguage,
  languageName,
  languageOptions,
  offeredModel,
  onCatalogueChange,
  restoreChoice,
  saveChoice,
} from '../speech.js';
import { byId, h } from '../dom.js';

const els = {};
/** @type {import('../speech.js').SpeechChoice|null} */
let choice = null;
let renderedModels = null; // the catalogue the radios were made for
let languageInvalid = false;
let onChange = () => {};

function catalogue() {
  return currentCatalogue();
}

function model() {
  return choice ? offeredModel(catalogue(), choice.model) : null;
}

function setNote(text) {
  els.note.textContent = text || '';
}

function setLanguageInvalid(typed) {
  const was = languageInvalid;
  languageInvalid = typed !== null;
  els.language.setAttribute('aria-invalid', String(languageInvalid));
  if (languageInvalid) setNote(`No language called “${typed}” here. Pick one from the list, or ${languageName(AUTO)}.`);
  else if (was) setNote('');
}

function renderModels() {
  const { models } = catalogue();
  if (renderedModels === catalogue()) return;
  renderedModels = catalogue();
  const labels = models.map((m) => {
    const hint = m.offered ? m.description : [m.description, 'Not available on this server right now.'].filter(Boolean).join(' · ');
    const hintId = `model-hint-${m.name.replace(/[^a-z0-9]+/gi, '-')}`;
    const input = h('input', {
      type: 'radio',
      name: 'model',
      value: m.name,
      'data-testid': `model-${m.name}`,
      'aria-describedby': hint ? hintId : null,
      disabled: !m.offered,
    });
    input.addEventListener('change', () => {
      if (input.checked) pickModel(m.name);
    });
    return h(
      'label',
      { class: 'choice', 'data-model': m.name },
      input,
      h('span', { class: 'choice-text' }, h('span', { class: 'choice-label', text: m.label }), hint ? h('span', { class: 'choice-hint', id: hintId, text: hint }) : null),
    );
  });
  els.models.replaceChildren(...labels);
}

/** Puts the choice into the controls (also after the form was reset). */
function render() {
  const { models } = catalogue();
  els.fieldset.hidden = models.length === 0 || !choice;
  if (els.fieldset.hidden) return;
  renderModels();
  for (const input of els.models.querySelectorAll('input[name="model"]')) input.checked = input.value === choice.model;
  const current = model();
  const options = languageOptions(current);
  if (els.datalist.dataset.model !== current.name) {
    els.datalist.replaceChildren(...options.map((o) => h('option', { value: o.name })));
    els.datalist.dataset.model = current.name;
  }
  els.language.value = languageName(choice.language);
  setLanguageInvalid(null);
  els.languageHint.textContent = current.detectsLanguage
    ? `${languageName(AUTO)} listens to the start of each file. Type to search ${options.length - 1} languages.`
    : current.languages.length === 1
      ? `${current.label} hears ${languageName(current.languages[0])} only.`
      : `${current.label} hears ${current.languages.map((c) => languageName(c)).join(', ')}.`;
  const translator = models.find((m) => m.offered && m.translates);
  els.translateChoice.hidden = !translator;
  els.translate.disabled = !current.translates;
  els.translate.checked = current.translates && choice.task === 'translate';
  els.translateHint.textContent = current.translates
    ? 'An English translation instead of a transcript in the language spoken.'
    : translator
      ? `Only ${translator.label} translates.`
      : '';
}

function update(next, note = '') {
  choice = next;
  saveChoice(choice);
  render();
  setNote(note);
  onChange(choice);
}

function pickModel(name) {
  if (!choice) return;
  const { choice: next, note } = chooseModel(choice, name, catalogue());
  update(next, note);
}

/**
 * Applies what the language field holds.
 * @param {{commit: boolean}} o commit: the field was left or Enter pressed (a
 *   unique beginning counts, the text is tidied, a miss is flagged); else only
 *   an exact name or code counts and the text is left as typed
 * @returns {boolean} whether the field holds a language
 */
function applyTypedLanguage({ commit }) {
  if (!choice) return true;
  const typed = els.language.value;
  const found = findLanguage(allLanguageOptions(catalogue()), typed, { prefix: commit });
  if (!found) {
    if (commit) setLanguageInvalid(typed.trim());
    return false;
  }
  const chosen = chooseLanguage(choice, found.code, catalogue());
  if (!chosen) return false;
  const changed = chosen.choice.model !== choice.model || chosen.choice.language !== choice.language;
  if (commit && !changed) {
    // Confirming what typing already chose: tidy the text, keep the note it left.
    render();
    return true;
  }
  if (changed) {
    const caret = commit ? null : [els.language.selectionStart, els.language.selectionEnd];
    update(chosen.choice, chosen.note);
    // While typing, the text stays as typed (render() writes the language's name).
    if (!commit) {
      els.language.value = typed;
      if (caret[0] !== null) els.language.setSelectionRange(caret[0], caret[1]);
    }
  }
  return true;
}

function bind() {
  els.language.addEventListener('input', () => {
    const wasInvalid = languageInvalid;
    if (wasInvalid) setLanguageInvalid(null);
    // A language typed in full after a refused one answers the refusal.
    if (applyTypedLanguage({ commit: false }) && wasInvalid) onChange(choice);
  });
  els.language.addEventListener('change', () => applyTypedLanguage({ commit: true }));
  els.language.addEventListener('keydown', (event) => {
    // Enter takes the language typed, as in a list box; it does not send the form.
    if (event.key !== 'Enter' || event.isComposing) return;
    event.preventDefault();
    applyTypedLanguage({ commit: true });
  });
  // Typing replaces the whole name, so the list shows every match at once.
  els.language.addEventListener('focus', () => els.language.select());
  els.translate.addEventListener('change', () => {
    if (choice) update({ ...choice, task: els.translate.checked ? 'translate' : 'transcribe' });
  });
  onCatalogueChange(() => {
    choice = restoreChoice(catalogue());
    render();
  });
}

/**
 * Finds the elements and wires events; once at start-up.
 * @param {{onChange?: (choice: import('../speech.js').SpeechChoice) => void}} [o] after each change made in the form
 */
export function initSpeech({ onChange: changed = () => {} } = {}) {
  onChange = changed;
  Object.assign(els, {
    fieldset: byId('speech-options'),
    models: byId('model-choices'),
    language: byId('language-input'),
    datalist: byId('language-options'),
    languageHint: byId('language-hint'),
    translate: byId('translate'),
    translateChoice: byId('translate-choice'),
    translateHint: byId('translate-hint'),
    note: byId('speech-note'),
    textHint: byId('speech-text-hint'),
  });
  bind();
  choice = restoreChoice(catalogue());
  render();
}

/** The controls again from the choice (after `form.reset()`). */
export function renderSpeech() {
  render();
  setNote('');
}

/**
 * Whether the choices apply: they do to audio, not to pasted text alone.
 * @param {boolean} applies
 */
export function setSpeechApplies(applies) {
  els.fieldset.disabled = !applies;
  els.textHint.hidden = applies;
}

/**
 * What to send with audio: the language field is read once more (a name
 * typed but not yet confirmed counts).
 * @returns {{fields: {model: string, language: string, task: string}|null, problem: string|null}}
 *   no fields when the server named no models (it uses its default)
 */
export function speechSelection() {
  if (!choice || els.fieldset.hidden) return { fields: null, problem: null };
  if (!applyTypedLanguage({ commit: true })) return { fields: null, problem: SPEECH_MESSAGES.unknownLanguage };
  return { fields: { model: choice.model, language: choice.language, task: choice.task }, problem: null };
}

/** Moves the focus to the language field (after it was refused). */
export function focusLanguage() {
  els.language.focus();
}
