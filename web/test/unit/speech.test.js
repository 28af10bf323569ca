// Speech choices of audio smelts: the server's models, language names and
// search, keeping a choice valid, and the remembered choice.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  AUTO,
  STORAGE_KEY,
  allLanguageOptions,
  catalogueFromConfig,
  chooseLanguage,
  chooseModel,
  currentCatalogue,
  filterLanguages,
  findLanguage,
  formatLanguage,
  languageName,
  languageOptions,
  loadCatalogue,
  loadChoice,
  normaliseChoice,
  onCatalogueChange,
  resetCatalogue,
  restoreChoice,
  saveChoice,
  transcriptLanguage,
} from '../../src/speech.js';
import { buildSmeltForm } from '../../src/api.js';

const BASE_LANGUAGES = ['en', 'zh', 'de', 'es', 'ru', 'fr', 'ja', 'pt', 'nl', 'mi', 'no', 'nn', 'haw', 'jw'];

/** GET /api/config as the server sends it (the base model's languages shortened). */
const CONFIG = {
  max_files: 5,
  models: [
    { name: 'tiny.en', languages: ['en'], detects_language: false, translates: false, size_bytes: 75_537_502, description: 'English only; the fastest', available: true },
    { name: 'base', languages: BASE_LANGUAGES, detects_language: true, translates: true, size_bytes: 145_217_532, description: '99 languages and translation into English; more accurate, about 3× slower', available: true },
  ],
  default_model: 'tiny.en',
};

class MemoryStorage {
  constructor(entries = {}) {
    this.map = new Map(Object.entries(entries));
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
}

beforeEach(() => resetCatalogue());

test('language names come from Intl.DisplayNames in English, with the code as fallback', () => {
  assert.equal(languageName('de'), 'German');
  assert.equal(languageName('DE'), 'German');
  assert.equal(languageName('haw'), 'Hawaiian');
  assert.equal(languageName('jw'), 'Javanese', "Whisper's code for Javanese");
  assert.equal(languageName('auto'), 'Auto-detect');
  assert.equal(languageName('qaa'), 'qaa', 'a code without a name stays a code');
  assert.equal(languageName('de', null), 'de', 'a browser without Intl.DisplayNames');
  const throwing = { of: () => { throw new RangeError('invalid'); } };
  assert.equal(languageName('x-!', throwing), 'x-!');
  // Some implementations answer an unknown code with the code itself.
  assert.equal(languageName('xx', { of: (c) => c }), 'xx');
});

test('a file language reads "German (97 %)", without a probability just the name', () => {
  assert.equal(formatLanguage({ code: 'de', probability: 0.9734 }), 'German (97 %)');
  assert.equal(formatLanguage({ code: 'de', probability: 1 }), 'German (100 %)');
  assert.equal(formatLanguage({ code: 'fr', probability: 0.004 }), 'French (0 %)');
  assert.equal(formatLanguage({ code: 'en' }), 'English');
  assert.equal(formatLanguage({ code: 'de', probability: null }), 'German');
  assert.equal(formatLanguage({ code: 'de', probability: 1.7 }), 'German (100 %)', 'clamped');
  assert.equal(formatLanguage(null), '');
  assert.equal(formatLanguage({ probability: 0.5 }), '');
  assert.equal(transcriptLanguage({ kind: 'transcript', language: { code: 'de', probability: 0.97 } }, { task: 'transcribe' }), 'Language: German (97 %)');
  assert.equal(transcriptLanguage({ language: { code: 'de' } }, { task: 'translate' }), 'Language: German, translated into English');
  assert.equal(transcriptLanguage({ kind: 'transcript' }, {}), '', 'an older server sends no language');
});

test('models from the config: Fast first, Accurate the multilingual one, the default as named', () => {
  const { models, defaultModel } = catalogueFromConfig(CONFIG);
  assert.deepEqual(models.map((m) => [m.name, m.label, m.offered]), [['tiny.en', 'Fast', true], ['base', 'Accurate', true]]);
  assert.equal(models[0].description, 'English only; the fastest');
  assert.equal(models[0].detectsLanguage, false);
  assert.equal(models[1].translates, true);
  assert.equal(models[1].languages.includes('haw'), true);
  assert.equal(defaultModel, 'tiny.en');
  assert.equal(catalogueFromConfig({ ...CONFIG, default_model: 'base' }).defaultModel, 'base');
  assert.equal(catalogueFromConfig({ ...CONFIG, default_model: 'large' }).defaultModel, 'tiny.en', 'an unknown default: the first offered');

  // An older server, or a broken answer: no choices at all.
  for (const config of [null, {}, { models: 'x' }, { models: [{ name: 'x', languages: [] }, null, { languages: ['en'] }] }]) {
    assert.deepEqual(catalogueFromConfig(config), { models: [], defaultModel: null }, JSON.stringify(config));
  }
  // A third model keeps its name; a repeated one is dropped.
  const three = catalogueFromConfig({ models: [...CONFIG.models, { name: 'small', languages: BASE_LANGUAGES, translates: true, available: true }, CONFIG.models[1]] });
  assert.deepEqual(three.models.map((m) => m.label), ['Fast', 'Accurate', 'small']);
});

test('a model no live worker serves is not offered, unless no worker is alive at all', () => {
  const onlyTiny = catalogueFromConfig({ ...CONFIG, models: [CONFIG.models[0], { ...CONFIG.models[1], available: false }], default_model: 'base' });
  assert.deepEqual(onlyTiny.models.map((m) => m.offered), [true, false]);
  assert.equal(onlyTiny.defaultModel, 'tiny.en', 'the default falls back to one that is served');
  const noWorker = catalogueFromConfig({ ...CONFIG, models: CONFIG.models.map((m) => ({ ...m, available: false })) });
  assert.deepEqual(noWorker.models.map((m) => m.offered), [true, true]);
  assert.deepEqual(allLanguageOptions(onlyTiny).map((o) => o.code), [AUTO, 'en'], 'only what an offered model hears can be typed');
});

test('the language list: Auto-detect, then the model’s languages by name; search by name or code', () => {
  const { models } = catalogueFromConfig(CONFIG);
  assert.deepEqual(languageOptions(models[0]), [{ code: 'auto', name: 'Auto-detect' }, { code: 'en', name: 'English' }]);
  const options = languageOptions(models[1]);
  assert.equal(options[0].code, AUTO);
  const names = options.slice(1).map((o) => o.name);
  assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b, 'en')), 'sorted by name');
  assert.equal(options.length, BASE_LANGUAGES.length + 1);

  assert.deepEqual(filterLanguages(options, 'ger').map((o) => o.code), ['de']);
  assert.deepEqual(filterLanguages(options, '  GERMAN ').map((o) => o.code), ['de']);
  assert.deepEqual(filterLanguages(options, 'maori').map((o) => o.code), ['mi'], 'accents do not count');
  assert.deepEqual(filterLanguages(options, 'nor').map((o) => o.code).sort(), ['nn', 'no']);
  assert.deepEqual(filterLanguages(options, 'zh').map((o) => o.code), ['zh'], 'a code finds its language');
  assert.deepEqual(filterLanguages(options, 'ja').map((o) => o.code), ['ja', 'jw'], 'Japanese by code, Javanese by name');
  assert.equal(filterLanguages(options, '').length, options.length);
  assert.deepEqual(filterLanguages(options, 'klingon'), []);

  assert.equal(findLanguage(options, 'German').code, 'de');
  assert.equal(findLanguage(options, 'de').code, 'de');
  assert.equal(findLanguage(options, 'germ').code, 'de', 'the only name beginning so');
  assert.equal(findLanguage(options, 'nor'), null, 'Norwegian or Norwegian Nynorsk');
  assert.equal(findLanguage(options, 'Norwegian').code, 'no', 'an exact name wins over a longer one');
  assert.equal(findLanguage(options, '').code, AUTO, 'an empty field is Auto-detect');
  assert.equal(findLanguage(options, 'auto-detect').code, AUTO);
  assert.equal(findLanguage(options, 'klingon'), null);
  assert.equal(findLanguage(options, 'germ', { prefix: false }), null, 'while typing, only exact names count');
  assert.equal(findLanguage(options, '', { prefix: false }), null);
});

test('choices stay valid: a language Fast does not hear switches to Accurate; Fast again resets what it cannot do', () => {
  const catalogue = catalogueFromConfig(CONFIG);
  const fast = { model: 'tiny.en', language: AUTO, task: 'transcribe' };

  assert.deepEqual(chooseLanguage(fast, 'en', catalogue), { choice: { ...fast, language: 'en' }, note: '' });
  const german = chooseLanguage(fast, 'de', catalogue);
  assert.deepEqual(german.choice, { model: 'base', language: 'de', task: 'transcribe' });
  assert.equal(german.note, 'Fast does not hear German: switched to Accurate.');
  assert.equal(chooseLanguage(fast, 'tlh', catalogue), null, 'no model hears it');

  const translating = { model: 'base', language: 'de', task: 'translate' };
  const back = chooseModel(translating, 'tiny.en', catalogue);
  assert.deepEqual(back.choice, fast);
  assert.equal(back.note, 'Fast does not hear German: the language is Auto-detect again. Fast does not translate: you get a transcript.');
  assert.deepEqual(chooseModel({ ...fast, language: 'en' }, 'base', catalogue), { choice: { model: 'base', language: 'en', task: 'transcribe' }, note: '' });
  assert.deepEqual(chooseModel(fast, 'large', catalogue).choice, fast, 'a model not offered changes nothing');

  assert.deepEqual(normaliseChoice({ model: 'base', language: 'DE', task: 'translate' }, catalogue), translating);
  assert.deepEqual(normaliseChoice({ model: 'tiny.en', language: 'de', task: 'translate' }, catalogue), fast);
  assert.deepEqual(normaliseChoice({ model: 'large', language: 'en', task: 'bogus' }, catalogue), { model: 'tiny.en', language: 'en', task: 'transcribe' });
  assert.deepEqual(normaliseChoice(null, catalogue), fast);
  assert.deepEqual(normaliseChoice({ model: 'base', language: 7 }, catalogue), { model: 'base', language: AUTO, task: 'transcribe' });
  assert.equal(normaliseChoice({ model: 'base' }, catalogueFromConfig(null)), null, 'no models, no choice');
});

test('the last choice is remembered and restored, minus what is no longer offered', () => {
  const storage = new MemoryStorage();
  const catalogue = catalogueFromConfig(CONFIG);
  assert.deepEqual(restoreChoice(catalogue, storage), { model: 'tiny.en', language: AUTO, task: 'transcribe' }, 'nothing remembered: the default');

  saveChoice({ model: 'base', language: 'de', task: 'translate', extra: 'dropped' }, storage);
  assert.deepEqual(JSON.parse(storage.getItem(STORAGE_KEY)), { model: 'base', language: 'de', task: 'translate' });
  assert.deepEqual(restoreChoice(catalogue, storage), { model: 'base', language: 'de', task: 'translate' });

  // The server no longer serves base: the default model, and what it cannot do is dropped.
  const onlyTiny = catalogueFromConfig({ ...CONFIG, models: [CONFIG.models[0], { ...CONFIG.models[1], available: false }] });
  assert.deepEqual(restoreChoice(onlyTiny, storage), { model: 'tiny.en', language: AUTO, task: 'transcribe' });
  // A language the model no longer lists.
  const fewer = catalogueFromConfig({ ...CONFIG, models: [CONFIG.models[0], { ...CONFIG.models[1], languages: ['en', 'fr'] }] });
  assert.deepEqual(restoreChoice(fewer, storage), { model: 'base', language: AUTO, task: 'translate' });

  // Garbage, or no storage at all.
  assert.equal(loadChoice(new MemoryStorage({ [STORAGE_KEY]: '{not json' })), null);
  assert.equal(loadChoice(new MemoryStorage({ [STORAGE_KEY]: '"base"' })), null);
  assert.deepEqual(restoreChoice(catalogue, new MemoryStorage({ [STORAGE_KEY]: '[1]' })).model, 'tiny.en');
  assert.equal(loadChoice(null), null);
  assert.doesNotThrow(() => saveChoice({ model: 'base', language: AUTO, task: 'transcribe' }, null));
  const full = { getItem: () => null, setItem: () => { throw new Error('QuotaExceededError'); } };
  assert.doesNotThrow(() => saveChoice({ model: 'base', language: AUTO, task: 'transcribe' }, full));
});

test('models are read once from the config; a failure leaves none', async () => {
  let calls = 0;
  const seen = [];
  onCatalogueChange((c) => seen.push(c.models.length));
  const fetchConfig = async () => {
    calls++;
    return CONFIG;
  };
  const [a, b] = await Promise.all([loadCatalogue(fetchConfig), loadCatalogue(fetchConfig)]);
  assert.equal(calls, 1);
  assert.equal(a, b);
  assert.equal(currentCatalogue().models.length, 2);
  assert.deepEqual(seen, [2]);

  resetCatalogue();
  const catalogue = await loadCatalogue(async () => {
    throw Object.assign(new Error('NOT FOUND'), { status: 404 });
  });
  assert.deepEqual(catalogue.models, []);
});

test('model, language and task travel with audio only, after the other fields', () => {
  const a = new File([new Uint8Array(3)], 'a.wav', { type: 'audio/wav' });
  const speech = { model: 'base', language: 'de', task: 'translate' };
  const form = buildSmeltForm({ files: [a], mode: 'separate', promptNames: ['summarize'], speech });
  assert.deepEqual([...form.keys()], ['files[]', 'mode', 'default_prompt_names[]', 'model', 'language', 'task']);
  assert.deepEqual(['model', 'language', 'task'].map((k) => form.get(k)), ['base', 'de', 'translate']);

  const text = buildSmeltForm({ text: 'hello', mode: 'separate', promptNames: [], speech });
  assert.deepEqual([...text.keys()], ['text', 'mode'], 'pasted text is not transcribed');
  const older = buildSmeltForm({ files: [a], mode: 'separate', promptNames: [], speech: null });
  assert.deepEqual([...older.keys()], ['files[]', 'mode'], 'a server without models gets none of them');
});
