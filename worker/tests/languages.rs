//! The multilingual model on German speech read by espeak-ng: the language is detected once
//! for the recording, the transcript is close to what was read, and `translate` gives English.

#[path = "audio_support/mod.rs"]
#[allow(dead_code)] // each test binary uses a different part
mod common;

use std::sync::Arc;

use common::{multilingual_model, speech_wav_in, word_error_rate, GERMAN, GERMAN_KEY_WORDS};
use smelt_core::domain::speech::{Task, BASE};
use smelt_worker::audio::decode_file;
use smelt_worker::engines::whisper::long_form::LongForm;
use smelt_worker::engines::whisper::DecodeOptions;

/// 16 kHz samples of `text` read by espeak-ng's `voice`.
fn spoken(voice: &str, text: &str) -> Arc<Vec<f32>> {
    let dir = tempfile::tempdir().unwrap();
    let wav = speech_wav_in(dir.path(), "speech", voice, text);
    Arc::new(decode_file(&wav, 600.0, &mut |_| {}).unwrap().samples)
}

/// Every window's text, joined.
fn text_of(mut long_form: LongForm) -> String {
    let model = multilingual_model();
    let mut texts = Vec::new();
    while let Some(window) = long_form.next_window(model).unwrap() {
        texts.extend(window.segments.into_iter().map(|s| s.text));
    }
    texts.join(" ")
}

fn options(task: Task) -> DecodeOptions {
    DecodeOptions {
        beam_size: usize::from(BASE.beam_size),
        task,
        ..DecodeOptions::default()
    }
}

#[test]
fn german_speech_is_detected_and_transcribed_close_to_what_was_read() {
    let samples = spoken("de", GERMAN);
    let mut long_form = LongForm::new(samples, 0, Vec::new(), options(Task::Transcribe), None);
    let heard = long_form.language(multilingual_model()).unwrap();
    assert_eq!(heard.code, "de");
    assert!(heard.probability.unwrap() > 0.5, "{heard:?}");
    let text = text_of(long_form);
    let wer = word_error_rate(GERMAN, &text);
    assert!(wer <= 0.2, "word error rate {wer:.2}: {text}");
}

#[test]
fn a_chosen_language_is_not_detected_and_translation_gives_english() {
    let samples = spoken("de", GERMAN);
    let mut chosen = LongForm::new(
        samples.clone(),
        0,
        Vec::new(),
        options(Task::Transcribe),
        Some("de"),
    );
    let heard = chosen.language(multilingual_model()).unwrap();
    assert_eq!((heard.code, heard.probability), ("de", None));

    let english = text_of(LongForm::new(
        samples,
        0,
        Vec::new(),
        options(Task::Translate),
        Some("de"),
    ))
    .to_lowercase();
    let found = GERMAN_KEY_WORDS
        .iter()
        .filter(|w| english.contains(*w))
        .count();
    assert!(
        found >= 4,
        "the key words {GERMAN_KEY_WORDS:?} in {english}"
    );
    for german in ["guten", "wir ", "unterlagen", "sprechen"] {
        assert!(!english.contains(german), "no German left: {english}");
    }
}
