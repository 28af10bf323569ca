//! Speech in other languages: German and Spanish read by espeak-ng, through the multilingual
//! model — detected, forced and translated — and what an English-only model refuses.

use reqwest::multipart::Form;
use serde_json::Value;
use smelt_core::events::EventKind;
use std::path::Path;
use uuid::Uuid;

use crate::audio_support::{speech_wav_in, word_error_rate, GERMAN, GERMAN_KEY_WORDS};
use crate::helpers::{file_part, follow_from_start, spawn_idle_app, TestApp, Transcript};

/// A Spanish reading of the same kind.
const SPANISH: &str = "Buenos días, hoy tenemos una reunión importante con el equipo. Por \
    favor, envíe el informe antes del viernes. Necesitamos hablar sobre el presupuesto y las \
    fechas del proyecto.";

/// Speaks `text` with espeak-ng's `voice` into `dir/{voice}.wav`; returns the WAV's bytes.
fn speak_in(dir: &Path, voice: &str, text: &str) -> Vec<u8> {
    std::fs::read(speech_wav_in(dir, voice, voice, text)).unwrap()
}

/// Creates a smelt of one spoken file with the given speech fields and prompts (signed in),
/// follows it to its end with an in-process worker, and returns the socket transcript and the
/// smelt as `GET` shows it.
async fn smelt_of(
    app: &TestApp,
    token: &str,
    wav: Vec<u8>,
    fields: &[(&str, &str)],
    prompts: &[&str],
) -> (Transcript, Value) {
    let mut form = Form::new().part("files[]", file_part(wav, "meeting.wav", "audio/wav"));
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    for prompt in prompts {
        form = form.text("default_prompt_names[]", prompt.to_string());
    }
    let response = app.create(form, Some(token)).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let got = follow_from_start(app, &created).await;
    assert_eq!(got.last().event, EventKind::Completed, "{:?}", got.last());
    let (_, smelt) = app
        .get(
            &format!("/api/smelts/{}", created["id"].as_str().unwrap()),
            Some(token),
        )
        .await;
    (got, smelt)
}

/// A completed smelt's transcript: its text (from the JSON export) and its result.
async fn transcript_of(app: &TestApp, token: &str, smelt: &Value) -> (String, Value) {
    let result = smelt["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "transcript")
        .expect("a transcript")
        .clone();
    let id = smelt["id"].as_str().unwrap();
    let (_, json) = app
        .get(
            &format!("/api/smelts/{id}/transcript?format=json"),
            Some(token),
        )
        .await;
    (json["text"].as_str().unwrap().to_owned(), result)
}

/// The first progress event that tells a file's language, and that language.
fn first_language(got: &Transcript) -> (&'static str, Value) {
    let progress = got.of(EventKind::Progress);
    let first = progress
        .iter()
        .find(|e| !e.payload["files"][0]["language"].is_null())
        .expect("a progress event tells the language");
    let stage = match first.payload["progress"]["stage"].as_str().unwrap() {
        "transcribing" => "transcribing",
        other => panic!("the language is first told at stage {other}"),
    };
    (stage, first.payload["files"][0]["language"].clone())
}

#[tokio::test]
async fn german_and_spanish_on_auto_are_detected_and_transcribed_word_for_word() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    for (voice, text, code) in [("de", GERMAN, "de"), ("es", SPANISH, "es")] {
        let wav = speak_in(dir.path(), voice, text);
        let fields = [("model", "base"), ("language", "auto")];
        let (got, smelt) = smelt_of(&app, &token, wav, &fields, &[]).await;

        let (stage, told) = first_language(&got);
        assert_eq!((stage, told["code"].as_str()), ("transcribing", Some(code)));
        let probability = told["probability"]
            .as_f64()
            .expect("a detected probability");
        assert!(probability > 0.5, "{code}: detected with {probability}");
        assert_eq!(
            (smelt["model"].as_str(), smelt["language"].as_str()),
            (Some("base"), Some("auto"))
        );
        assert_eq!(
            smelt["files"][0]["language"], told,
            "GET shows what was told"
        );
        let (heard, result) = transcript_of(&app, &token, &smelt).await;
        assert_eq!(result["language"]["code"], code);
        let wer = word_error_rate(text, &heard);
        assert!(wer <= 0.2, "{code}: word error rate {wer:.2}: {heard}");

        let id = smelt["id"].as_str().unwrap();
        let (_, json) = app
            .get(
                &format!("/api/smelts/{id}/transcript?format=json"),
                Some(&token),
            )
            .await;
        assert_eq!(json["language"]["code"], code);
        assert_eq!(json["files"][0]["language"]["code"], code);
        let vtt = app
            .get_text(&format!("/api/smelts/{id}/transcript?format=vtt"), &token)
            .await;
        assert!(
            vtt.starts_with(&format!("WEBVTT\nLanguage: {code}\n")),
            "{vtt}"
        );
    }
}

#[tokio::test]
async fn a_chosen_language_is_used_and_its_notes_are_sentences_of_the_transcript() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    let wav = speak_in(dir.path(), "de", GERMAN);
    let fields = [("model", "base"), ("language", "de")];
    let (got, smelt) = smelt_of(&app, &token, wav, &fields, &["summarize"]).await;

    let (_, told) = first_language(&got);
    assert_eq!(told["code"], "de");
    assert!(
        told["probability"].is_null(),
        "a chosen language has no probability"
    );
    let (heard, _) = transcript_of(&app, &token, &smelt).await;
    let wer = word_error_rate(GERMAN, &heard);
    assert!(wer <= 0.2, "word error rate {wer:.2}: {heard}");

    let notes = smelt["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "notes")
        .expect("a summary")["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let quoted: Vec<&str> = heard
        .split_inclusive(['.', '!', '?'])
        .map(str::trim)
        .filter(|s| s.split_whitespace().count() >= 4 && notes.contains(s))
        .collect();
    assert!(
        !quoted.is_empty(),
        "the summary quotes German sentences of the transcript:\n{notes}\n---\n{heard}"
    );
}

#[tokio::test]
async fn translating_german_speech_gives_english_with_its_key_words() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    let wav = speak_in(dir.path(), "de", GERMAN);
    let fields = [("model", "base"), ("task", "translate")];
    let (_, smelt) = smelt_of(&app, &token, wav, &fields, &[]).await;

    assert_eq!(smelt["task"], "translate");
    let (english, result) = transcript_of(&app, &token, &smelt).await;
    assert_eq!(result["language"]["code"], "de", "the language spoken");
    let lower = english.to_lowercase();
    let key_words = GERMAN_KEY_WORDS;
    let found: Vec<&str> = key_words
        .iter()
        .copied()
        .filter(|w| lower.contains(w))
        .collect();
    assert!(
        found.len() >= 4,
        "an English translation with the key words {key_words:?}: {english}"
    );
    for german in ["guten", "wir ", "unterlagen", "sprechen"] {
        assert!(!lower.contains(german), "no German left: {english}");
    }
}

#[tokio::test]
async fn an_english_only_model_refuses_other_languages_and_translation() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    let wav = speak_in(dir.path(), "de", GERMAN);
    for (fields, names) in [
        (vec![("model", "tiny.en"), ("language", "de")], "BASE"),
        (vec![("model", "tiny.en"), ("task", "translate")], "BASE"),
        (vec![("model", "large-v3")], "TINY.EN, BASE"),
        (vec![("model", "base"), ("language", "xx")], "AUTO"),
    ] {
        let mut form = Form::new().part(
            "files[]",
            file_part(wav.clone(), "meeting.wav", "audio/wav"),
        );
        for (name, value) in &fields {
            form = form.text(name.to_string(), value.to_string());
        }
        let response = app.create(form, Some(&token)).await;
        assert_eq!(response.status(), 400, "{fields:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_data", "{fields:?}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(names), "{fields:?}: {message}");
    }
    assert_eq!(app.stored_uploads().await, 0, "nothing refused is kept");
}

#[tokio::test]
async fn the_config_offers_both_models_with_their_languages() {
    let app = spawn_idle_app().await;
    let (_, config) = app.get("/api/config", None).await;
    assert_eq!(config["default_model"], "tiny.en");
    let models = config["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["tiny.en", "base"]);
    assert_eq!(models[0]["languages"], serde_json::json!(["en"]));
    assert_eq!(models[1]["languages"].as_array().unwrap().len(), 99);
    assert_eq!(
        (
            models[0]["translates"].as_bool(),
            models[1]["translates"].as_bool()
        ),
        (Some(false), Some(true))
    );
}
