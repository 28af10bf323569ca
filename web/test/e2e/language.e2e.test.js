// Speech model and language: the form offers the server's models as Fast and
// Accurate with their languages, remembers the choice across a reload, sends
// it with the audio, and shows each file's language while the smelt runs and
// on its transcript (German speech by espeak-ng; the base model must be
// installed next to tiny.en).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedSuite, withPage } from './harness.js';
import { PROCESSING_TIMEOUT, resultText, speak, waitForStage, watchSegments, wordCoverage } from './helpers.js';

const GERMAN_SPEECH = [
  'Guten Morgen und herzlich willkommen.',
  'Heute ist das Wetter in Berlin sonnig und warm.',
  'Am Nachmittag gehen wir in den Park und essen ein Eis.',
  'Morgen soll es regnen, deshalb bleiben wir zu Hause und lesen ein Buch.',
].join(' ');
/** Words of GERMAN_SPEECH a German transcript should hold (no umlauts: wordCoverage keeps a-z). */
const GERMAN_WORDS = ['morgen', 'wetter', 'berlin', 'sonnig', 'warm', 'nachmittag', 'park', 'regnen', 'hause', 'buch'];

/**
 * Records, in each document, every language the file bars show, with the stage
 * shown at that moment. Read it with `window.__languages`.
 * @param {import('playwright-core').Page} page
 */
function recordLanguages(page) {
  return page.addInitScript(() => {
    window.__languages = [];
    const record = () => {
      const stage = document.getElementById('stage')?.dataset.stage;
      for (const el of document.querySelectorAll('[data-testid="file-language"]')) {
        const text = el.querySelector('.file-bar-language-name')?.textContent || '';
        if (el.hidden || !text) continue;
        const last = window.__languages[window.__languages.length - 1];
        if (!last || last.text !== text) window.__languages.push({ text, code: el.dataset.code, stage });
      }
    };
    document.addEventListener('DOMContentLoaded', () => {
      const bars = document.getElementById('file-bars');
      if (bars) new MutationObserver(record).observe(bars, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['hidden'] });
    });
  });
}

/** The values the language field offers (its datalist). */
function languageList(page) {
  return page.getByTestId('language-options').locator('option').evaluateAll((options) => options.map((o) => o.value));
}

/** The smelt as the socket's first snapshot described it. */
function firstSnapshot(socket) {
  return socket.frames.find((f) => f.event === 'snapshot')?.payload;
}

/** Sets the language field as a person does: type, then Enter. */
async function chooseLanguage(page, text) {
  const field = page.getByLabel('Language', { exact: true });
  await field.fill(text);
  await field.press('Enter');
}

describe('speech model and language', () => {
  const suite = sharedSuite();

  test('Fast and Accurate with their languages; Accurate and German are remembered across a reload and a German recording shows German', { timeout: 300_000 }, async (t) => {
    const wav = await speak(suite.dir, 'wetter.wav', GERMAN_SPEECH, { voice: 'de' });
    const config = await (await fetch(`${suite.server.baseUrl}/api/config`)).json();
    const [fast, accurate] = config.models;
    assert.deepEqual([fast.name, accurate.name], ['tiny.en', 'base'], 'the server names its models, fastest first');
    assert.ok(accurate.languages.includes('de') && accurate.translates, 'base hears German and translates');

    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      const socket = watchSegments(page);
      await recordLanguages(page);
      await page.goto('/');
      await page.getByTestId('speech-options').waitFor();

      // The models under their labels, with the server's descriptions.
      const fastChoice = page.locator('label[data-model="tiny.en"]');
      const accurateChoice = page.locator('label[data-model="base"]');
      assert.equal(await fastChoice.locator('.choice-label').textContent(), 'Fast');
      assert.equal(await fastChoice.locator('.choice-hint').textContent(), fast.description);
      assert.equal(await accurateChoice.locator('.choice-label').textContent(), 'Accurate');
      assert.equal(await accurateChoice.locator('.choice-hint').textContent(), accurate.description);
      assert.equal(await page.getByTestId(`model-${config.default_model}`).isChecked(), true, 'the default model is chosen');

      // Fast hears English only and does not translate.
      await page.getByTestId('model-tiny.en').check();
      const language = page.getByLabel('Language', { exact: true });
      assert.equal(await language.inputValue(), 'Auto-detect');
      assert.deepEqual(await languageList(page), ['Auto-detect', 'English']);
      assert.equal(await page.getByTestId('translate').isDisabled(), true);

      // Accurate: every language of the model, by name, and translation.
      await page.getByTestId('model-base').check();
      const list = await languageList(page);
      assert.equal(list.length, accurate.languages.length + 1);
      assert.equal(list[0], 'Auto-detect');
      for (const name of ['German', 'English', 'Japanese', 'Hawaiian']) assert.ok(list.includes(name), `${name} is offered`);
      assert.equal(await page.getByTestId('translate').isEnabled(), true);
      await chooseLanguage(page, 'German');
      assert.equal(await language.inputValue(), 'German');
      assert.equal(await page.getByTestId('model-base').isChecked(), true);

      // Remembered across a reload.
      await page.reload();
      await page.getByTestId('speech-options').waitFor();
      assert.equal(await page.getByTestId('model-base').isChecked(), true, 'Accurate is still chosen');
      assert.equal(await language.inputValue(), 'German', 'German is still chosen');
      assert.equal(await page.getByTestId('translate').isChecked(), false);

      // A German recording: the smelt asks for base and German, and the page shows German.
      await page.getByTestId('file-input').setInputFiles(wav);
      await page.getByTestId('selected-file').filter({ hasText: 'wetter.wav' }).waitFor();
      await page.getByTestId('submit').click();
      await page.waitForURL(/#\/smelts\/[0-9a-f-]{36}$/);
      await page.getByTestId('file-language').filter({ hasText: 'German' }).waitFor({ state: 'attached', timeout: PROCESSING_TIMEOUT });
      await waitForStage(page, 'completed');

      const asked = firstSnapshot(socket);
      assert.deepEqual([asked?.model, asked?.language, asked?.task], ['base', 'de', 'transcribe'], 'the form sent the choice');
      const shown = await page.evaluate(() => window.__languages);
      const german = shown.find((l) => l.code === 'de');
      assert.ok(german && /^German\b/.test(german.text), `the file's language was shown as German: ${JSON.stringify(shown)}`);
      assert.notEqual(german.stage, 'completed', `German was shown while the smelt ran: ${JSON.stringify(shown)}`);
      assert.match(await page.getByTestId('result-language').first().textContent(), /^Language: German\b/);
      const transcript = await resultText(page);
      assert.ok(wordCoverage(transcript, GERMAN_WORDS).found.length >= 2, `a German transcript: ${transcript}`);
    });
  });

  test('a language Fast does not hear switches to Accurate; with Auto-detect the German recording is detected as German with its probability', { timeout: 300_000 }, async (t) => {
    const wav = await speak(suite.dir, 'park.wav', GERMAN_SPEECH, { voice: 'de' });
    await withPage({ ...suite, name: t.name }, async ({ page }) => {
      const socket = watchSegments(page);
      await recordLanguages(page);
      await page.goto('/');
      await page.getByTestId('speech-options').waitFor();
      await page.getByTestId('model-tiny.en').check();

      // German typed while Fast is chosen: Accurate takes over, and the page says why.
      await chooseLanguage(page, 'German');
      assert.equal(await page.getByTestId('model-base').isChecked(), true);
      assert.match(await page.getByTestId('speech-note').textContent(), /Fast does not hear German: switched to Accurate/);

      // Back to Auto-detect: the model finds the language itself.
      await chooseLanguage(page, 'Auto-detect');
      assert.equal(await page.getByLabel('Language', { exact: true }).inputValue(), 'Auto-detect');
      await page.getByTestId('file-input').setInputFiles(wav);
      await page.getByTestId('submit').click();
      await page.waitForURL(/#\/smelts\/[0-9a-f-]{36}$/);
      await page.getByTestId('file-language').filter({ hasText: 'German' }).waitFor({ state: 'attached', timeout: PROCESSING_TIMEOUT });
      await waitForStage(page, 'completed');

      const asked = firstSnapshot(socket);
      assert.deepEqual([asked?.model, asked?.language], ['base', 'auto']);
      const shown = await page.evaluate(() => window.__languages);
      const german = shown.find((l) => l.code === 'de');
      assert.ok(german && /^German \(\d{1,3} %\)$/.test(german.text), `detected as German with a probability: ${JSON.stringify(shown)}`);
      assert.notEqual(german.stage, 'completed');
      assert.match(await page.getByTestId('result-language').first().textContent(), /^Language: German\b/);
    });
  });
});
