// What an audio smelt asks of speech recognition: the Whisper model ("Fast"
// or "Accurate"), the language spoken ("auto" or a code the model hears) and
// the task (a transcript, or a translation into English). The models are the
// server's own (GET /api/config `models`, read once); the last choice is
// remembered in localStorage. Pure apart from the loader at the end and the
// storage it is handed: unit-tested without a browser.

/** The language of a smelt that lets the model detect it. */
export const AUTO = 'auto';
/** What "auto" is called in the form. */
export const AUTO_LABEL = 'Auto-detect';
/** Where the last choice is kept (localStorage). */
export const STORAGE_KEY = 'smelt.speech';

/** The form's messages, in the server's style. */
export const SPEECH_MESSAGES = Object.freeze({
  unknownLanguage: 'PICK A LANGUAGE FROM THE LIST, OR AUTO-DETECT',
});

// Whisper spells Javanese "jw"; the standard code is "jv".
const NAME_CODES = Object.freeze({ jw: 'jv' });

/**
 * @typedef {object} Model
 * @property {string} name what `model` takes (`tiny.en`, `base`)
 * @property {string} label what the form calls it ("Fast", "Accurate", else the name)
 * @property {string} description one line for people choosing it
 * @property {readonly string[]} languages the codes it hears, lower case
 * @property {boolean} detectsLanguage whether it detects the language itself
 * @property {boolean} translates whether it translates into English
 * @property {boolean} offered whether the form offers it (a worker serves it, or no worker is alive to say)
 *
 * @typedef {object} Catalogue
 * @property {readonly Model[]} models fastest first; empty when the server names none
 * @property {string|null} defaultModel the name of the model a smelt gets unless one is chosen
 *
 * @typedef {{model: string, language: string, task: 'transcribe'|'translate'}} SpeechChoice
 * @typedef {{code: string, name: string}} LanguageOption
 */

let englishNames;

function defaultNames() {
  if (englishNames === undefined) {
    try {
      englishNames = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });
    } catch {
      englishNames = null; // a browser without Intl.DisplayNames: the codes are shown
    }
  }
  return englishNames;
}

/**
 * A language's English name: "de" -> "German", "haw" -> "Hawaiian".
 * @param {string} code a Whisper language code
 * @param {{of: (code: string) => string|undefined}|null} [names] an `Intl.DisplayNames`
 * @returns {string} the name, or the code when the browser has none
 */
export function languageName(code, names = defaultNames()) {
  const c = String(code ?? '').trim().toLowerCase();
  if (c === AUTO) return AUTO_LABEL;
  const standard = NAME_CODES[c] ?? c;
  try {
    const name = names?.of(standard);
    if (typeof name === 'string' && name && name.toLowerCase() !== standard) return name;
  } catch {
    /* not a code the browser can name */
  }
  return c;
}

/**
 * A file's language for people: "German (97 %)", or "German" without a probability.
 * @param {{code?: string, probability?: number}|null|undefined} language
 * @param {Parameters<typeof languageName>[1]} [names]
 * @returns {string} empty when there is no code
 */
export function formatLanguage(language, names = defaultNames()) {
  const code = language && typeof language.code === 'string' ? language.code.trim() : '';
  if (!code) return '';
  const name = languageName(code, names);
  const p = language.probability;
  if (typeof p !== 'number' || !Number.isFinite(p)) return name;
  return `${name} (${Math.round(Math.max(0, Math.min(1, p)) * 100)} %)`;
}

/**
 * What a transcript says about its language: "Language: German (97 %)", and
 * for a translation "Language: German (97 %), translated into English".
 * @param {{language?: {code?: string, probability?: number}|null}} result a transcript result
 * @param {{task?: string}} [smelt] the smelt's `task`
 * @param {Parameters<typeof languageName>[1]} [names]
 * @returns {string} empty when the server gave no language
 */
export function transcriptLanguage(result, smelt = {}, names = defaultNames()) {
  const spoken = formatLanguage(result?.language, names);
  if (!spoken) return '';
  return `Language: ${spoken}${smelt?.task === 'translate' ? ', translated into English' : ''}`;
}

function codeList(value) {
  if (!Array.isArray(value)) return [];
  return [...new Set(value.filter((c) => typeof c === 'string' && c.trim()).map((c) => c.trim().toLowerCase()))];
}

/**
 * The models from a GET /api/config body. The first is "Fast", the first
 * other one that hears several languages "Accurate"; any other keeps its name.
 * When some worker is alive and serves none of a model, the model is not
 * offered (a smelt asking for it would fail); when no worker is alive, every
 * model is (the smelt waits for one).
 * @param {unknown} config `{models: [{name, languages, detects_language, translates, description, available}], default_model}`
 * @returns {Catalogue} frozen; no models from a server that names none
 */
export function catalogueFromConfig(config) {
  const c = config && typeof config === 'object' ? config : {};
  const raw = (Array.isArray(c.models) ? c.models : []).filter(
    (m, i, all) => m && typeof m.name === 'string' && m.name.trim() && codeList(m.languages).length > 0 && all.findIndex((o) => o?.name === m.name) === i,
  );
  const anyServed = raw.some((m) => m.available === true);
  const accurate = raw.findIndex((m, i) => i > 0 && codeList(m.languages).length > 1);
  const models = raw.map((m, i) => {
    const languages = Object.freeze(codeList(m.languages));
    return Object.freeze({
      name: m.name.trim(),
      label: i === 0 ? 'Fast' : i === accurate ? 'Accurate' : m.name.trim(),
      description: typeof m.description === 'string' ? m.description : '',
      languages,
      detectsLanguage: typeof m.detects_language === 'boolean' ? m.detects_language : languages.length > 1,
      translates: m.translates === true,
      offered: !anyServed || m.available === true,
    });
  });
  const offered = models.filter((m) => m.offered);
  const named = offered.find((m) => m.name === c.default_model);
  return Object.freeze({ models: Object.freeze(models), defaultModel: (named ?? offered[0])?.name ?? null });
}

/**
 * @param {Catalogue} catalogue
 * @param {string} name
 * @returns {Model|null} the model of that name when the form offers it
 */
export function offeredModel(catalogue, name) {
  return catalogue.models.find((m) => m.name === name && m.offered) ?? null;
}

/**
 * @param {Model} model
 * @param {string} language "auto" or a code
 * @returns {boolean} whether the model takes that language
 */
export function hears(model, language) {
  return language === AUTO || model.languages.includes(language);
}

const byName = (a, b) => a.name.localeCompare(b.name, 'en');

/**
 * What the language field offers for a model: "Auto-detect", then its
 * languages by name.
 * @param {Model|null} model
 * @param {Parameters<typeof languageName>[1]} [names]
 * @returns {LanguageOption[]}
 */
export function languageOptions(model, names = defaultNames()) {
  const languages = (model?.languages ?? []).map((code) => ({ code, name: languageName(code, names) })).sort(byName);
  return [{ code: AUTO, name: AUTO_LABEL }, ...languages];
}

/**
 * Every language some offered model hears (what can be typed into the field,
 * whichever model is chosen), "Auto-detect" first.
 * @param {Catalogue} catalogue
 * @param {Parameters<typeof languageName>[1]} [names]
 * @returns {LanguageOption[]}
 */
export function allLanguageOptions(catalogue, names = defaultNames()) {
  const codes = new Set(catalogue.models.filter((m) => m.offered).flatMap((m) => m.languages));
  return languageOptions({ languages: [...codes] }, names);
}

/** "Māori " -> "maori": case, accents and outer spaces do not count. */
function fold(text) {
  return String(text ?? '')
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .trim()
    .toLowerCase();
}

/**
 * The options matching what was typed: the name contains it, or it is the code.
 * @param {LanguageOption[]} options
 * @param {string} query
 * @returns {LanguageOption[]} in their order; all of them for an empty query
 */
export function filterLanguages(options, query) {
  const q = fold(query);
  if (!q) return [...options];
  return options.filter((o) => fold(o.name).includes(q) || o.code === q);
}

/**
 * The language meant by what was typed: an exact name or code ("German",
 * "de", "auto"), else the only option whose name begins with it ("germ").
 * An empty field means Auto-detect.
 * @param {LanguageOption[]} options
 * @param {string} query
 * @param {{prefix?: boolean}} [o] prefix: false takes exact names and codes only (while typing)
 * @returns {LanguageOption|null}
 */
export function findLanguage(options, query, { prefix = true } = {}) {
  const q = fold(query);
  if (!q) return prefix ? (options.find((o) => o.code === AUTO) ?? null) : null;
  const exact = options.find((o) => fold(o.name) === q || o.code === q);
  if (exact || !prefix) return exact ?? null;
  const starting = options.filter((o) => fold(o.name).startsWith(q));
  return starting.length === 1 ? starting[0] : null;
}

/**
 * A choice made valid for the models offered: an unknown model becomes the
 * default, a language the model does not hear "auto", a translation the model
 * cannot make a transcript. Used to restore a remembered choice.
 * @param {Partial<SpeechChoice>|null|undefined} choice
 * @param {Catalogue} catalogue
 * @returns {SpeechChoice|null} null when no model is offered
 */
export function normaliseChoice(choice, catalogue) {
  const c = choice && typeof choice === 'object' ? choice : {};
  const model = offeredModel(catalogue, c.model) ?? offeredModel(catalogue, catalogue.defaultModel);
  if (!model) return null;
  const language = typeof c.language === 'string' ? c.language.trim().toLowerCase() : AUTO;
  return {
    model: model.name,
    language: hears(model, language) ? language : AUTO,
    task: c.task === 'translate' && model.translates ? 'translate' : 'transcribe',
  };
}

/**
 * Another model: the language and the task follow when it cannot keep them.
 * @param {SpeechChoice} choice
 * @param {string} name
 * @param {Catalogue} catalogue
 * @param {Parameters<typeof languageName>[1]} [names]
 * @returns {{choice: SpeechChoice, note: string}} `note` says what changed besides the model
 */
export function chooseModel(choice, name, catalogue, names = defaultNames()) {
  const model = offeredModel(catalogue, name);
  if (!model) return { choice, note: '' };
  const notes = [];
  let { language, task } = choice;
  if (!hears(model, language)) {
    notes.push(`${model.label} does not hear ${languageName(language, names)}: the language is ${AUTO_LABEL} again.`);
    language = AUTO;
  }
  if (task === 'translate' && !model.translates) {
    notes.push(`${model.label} does not translate: you get a transcript.`);
    task = 'transcribe';
  }
  return { choice: { model: model.name, language, task }, note: notes.join(' ') };
}

/**
 * Another language. One the chosen model does not hear switches to the first
 * offered model that does (Fast -> Accurate), and says so.
 * @param {SpeechChoice} choice
 * @param {string} code "auto" or a code
 * @param {Catalogue} catalogue
 * @param {Parameters<typeof languageName>[1]} [names]
 * @returns {{choice: SpeechChoice, note: string}|null} null when no offered model hears it
 */
export function chooseLanguage(choice, code, catalogue, names = defaultNames()) {
  const language = String(code ?? '').trim().toLowerCase() || AUTO;
  const current = offeredModel(catalogue, choice.model);
  if (current && hears(current, language)) return { choice: { ...choice, language }, note: '' };
  const other = catalogue.models.find((m) => m.offered && hears(m, language));
  if (!other) return null;
  const task = choice.task === 'translate' && !other.translates ? 'transcribe' : choice.task;
  const from = current ? `${current.label} does not hear ${languageName(language, names)}` : `${languageName(language, names)} needs ${other.label}`;
  return { choice: { model: other.name, language, task }, note: `${from}: switched to ${other.label}.` };
}

function storageOr(storage) {
  if (storage !== undefined) return storage;
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage disabled
  }
}

/**
 * The remembered choice, as stored (check it with {@link normaliseChoice}).
 * @param {Storage|null} [storage] localStorage
 * @returns {Partial<SpeechChoice>|null}
 */
export function loadChoice(storage) {
  try {
    const value = JSON.parse(storageOr(storage)?.getItem(STORAGE_KEY) || 'null');
    return value && typeof value === 'object' ? value : null;
  } catch {
    return null;
  }
}

/**
 * Remembers a choice for the next visit.
 * @param {SpeechChoice} choice
 * @param {Storage|null} [storage] localStorage
 */
export function saveChoice({ model, language, task }, storage) {
  try {
    storageOr(storage)?.setItem(STORAGE_KEY, JSON.stringify({ model, language, task }));
  } catch {
    /* quota or disabled: the defaults come back next time */
  }
}

/**
 * The remembered choice, with whatever is no longer offered replaced.
 * @param {Catalogue} catalogue
 * @param {Storage|null} [storage] localStorage
 * @returns {SpeechChoice|null} null when no model is offered
 */
export function restoreChoice(catalogue, storage) {
  return normaliseChoice(loadChoice(storage), catalogue);
}

// ------------------------------------------------------------------ loading

let current = catalogueFromConfig(null);
const listeners = new Set();
let loading = null;

/** @returns {Catalogue} the models known now (none until the server named them) */
export function currentCatalogue() {
  return current;
}

/**
 * Calls `fn(catalogue)` once the server's models are known.
 * @param {(catalogue: Catalogue) => void} fn
 * @returns {() => void} unsubscribe
 */
export function onCatalogueChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Reads the server's models once (later calls share the first answer). An
 * older server names none, and a failure leaves none: the form then offers no
 * choice and sends none, and the server uses its default.
 * @param {() => Promise<unknown>} fetchConfig GET /api/config
 * @returns {Promise<Catalogue>}
 */
export function loadCatalogue(fetchConfig) {
  if (!loading) {
    loading = Promise.resolve()
      .then(fetchConfig)
      .then((config) => catalogueFromConfig(config), () => current)
      .then((catalogue) => {
        current = catalogue;
        for (const fn of listeners) fn(catalogue);
        return catalogue;
      });
  }
  return loading;
}

/** Forgets the loaded models (tests). */
export function resetCatalogue() {
  current = catalogueFromConfig(null);
  loading = null;
  listeners.clear();
}
