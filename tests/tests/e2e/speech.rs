//! Real speech, synthesised with espeak-ng, through the whole path.

use smelt_core::events::EventKind;

use crate::helpers::{
    assert_progress_is_monotonic, encode, file_part, follow_from_start, spawn_idle_app, speak,
    stage_rank, word_recall,
};

const SENTENCE: &str = "The quarterly budget review will start at nine tomorrow morning and \
    everyone should bring their updated project numbers and hiring plans";

async fn spoken_file_is_transcribed(extension: &str, mime: &str) {
    let app = spawn_idle_app().await;
    let dir = tempfile::tempdir().unwrap();
    let wav = speak(dir.path(), SENTENCE);
    let path = if extension == "wav" {
        wav
    } else {
        encode(&wav, extension)
    };
    let bytes = std::fs::read(&path).unwrap();
    let form = reqwest::multipart::Form::new().part(
        "files[]",
        file_part(bytes, &format!("meeting.{extension}"), mime),
    );

    let response = app.create(form, None).await;
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    let got = follow_from_start(&app, &created).await;

    assert_eq!(
        got.events[0].event,
        EventKind::Snapshot,
        "a snapshot comes first"
    );
    let progress = got.of(EventKind::Progress);
    assert!(!progress.is_empty(), "progress events arrive");
    let stages: Vec<&str> = progress
        .iter()
        .map(|e| e.payload["progress"]["stage"].as_str().unwrap())
        .collect();
    for expected in ["validating", "decoding", "transcribing", "synthesizing"] {
        assert!(
            stages.contains(&expected),
            "stage {expected} is announced: {stages:?}"
        );
    }
    assert!(
        stages
            .windows(2)
            .all(|w| stage_rank(w[0]) <= stage_rank(w[1])),
        "stages in order: {stages:?}"
    );
    assert_progress_is_monotonic(&got.events[1..]);

    let completed = got.last();
    assert_eq!(completed.event, EventKind::Completed);
    let content = completed.payload["results"][0]["content"].as_str().unwrap();
    let recall = word_recall(SENTENCE, content);
    assert!(
        recall >= 0.7,
        "only {:.0}% of the words in {content:?}",
        recall * 100.0
    );
    assert_eq!(got.close_code, Some(1000));
}

#[tokio::test]
async fn a_spoken_wav_is_transcribed_with_live_progress() {
    spoken_file_is_transcribed("wav", "audio/wav").await;
}

#[tokio::test]
async fn a_spoken_mp3_is_transcribed_with_live_progress() {
    spoken_file_is_transcribed("mp3", "audio/mpeg").await;
}

#[tokio::test]
async fn a_spoken_m4a_is_transcribed_with_live_progress() {
    spoken_file_is_transcribed("m4a", "audio/mp4").await;
}

#[tokio::test]
async fn a_spoken_webm_opus_recording_is_transcribed_with_live_progress() {
    spoken_file_is_transcribed("webm", "audio/webm;codecs=opus").await;
}

#[tokio::test]
async fn a_spoken_ogg_opus_recording_is_transcribed_with_live_progress() {
    spoken_file_is_transcribed("ogg", "audio/ogg").await;
}
