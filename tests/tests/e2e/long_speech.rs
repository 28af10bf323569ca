//! Long recordings read without pauses: across Whisper's 30 s windows, across a worker killed
//! in the middle of a file, and across the requests of a hosted engine, every sentence reaches
//! the transcript once, and the segments tile the speech.

use std::collections::BTreeMap;

use reqwest::multipart::Form;
use serde_json::Value;
use smelt_core::events::{EventKind, WireEvent};
use uuid::Uuid;

use crate::audio_support::{continuous_speech_wav, longest_pause_secs, reading, Coverage};
use crate::helpers::{file_part, spawn_app_with, spawn_idle_app, AppOptions, TestApp};
use crate::processes::start_worker;
use crate::provider_stub::{self, WHISPER_KEY};

/// Sentences read as one stream: about 125 s of speech, five 30 s windows.
const SENTENCES: usize = 12;

/// A reading of the first [`SENTENCES`] sentences as a WAV, with its 16 kHz samples.
struct Reading {
    sentences: Vec<String>,
    wav: Vec<u8>,
    duration_secs: f64,
    longest_pause_secs: f64,
}

fn read_aloud(dir: &std::path::Path) -> Reading {
    let sentences = reading(SENTENCES);
    let path = continuous_speech_wav(dir, "reading", &sentences);
    let audio =
        smelt_worker::audio::decode_file(&path, 600.0, &mut |_| {}).expect("the reading decodes");
    assert!(
        audio.duration_secs > 90.0,
        "{:.0} s is over three windows",
        audio.duration_secs
    );
    Reading {
        sentences,
        wav: std::fs::read(&path).unwrap(),
        duration_secs: audio.duration_secs,
        longest_pause_secs: longest_pause_secs(&audio.samples),
    }
}

async fn create(app: &TestApp, reading: &Reading, token: Option<&str>) -> Value {
    let form = Form::new().part(
        "files[]",
        file_part(reading.wav.clone(), "reading.wav", "audio/wav"),
    );
    let response = app.create(form, token).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// `(start_ms, end_ms, text)` of every segment a client learnt from its events, by index;
/// fails the test if one index comes twice.
fn segments_by_index(events: &[WireEvent]) -> BTreeMap<u64, (u64, u64, String)> {
    let mut known = BTreeMap::new();
    for e in events {
        let segments: Vec<&Value> = match e.event {
            EventKind::Snapshot => e.payload["segments"]
                .as_array()
                .into_iter()
                .flatten()
                .collect(),
            EventKind::Segment => vec![&e.payload],
            _ => continue,
        };
        for s in segments {
            let index = s["index"].as_u64().unwrap();
            let segment = (
                s["start_ms"].as_u64().unwrap(),
                s["end_ms"].as_u64().unwrap(),
                s["text"].as_str().unwrap().to_owned(),
            );
            let first = known.insert(index, segment.clone());
            assert!(
                e.event == EventKind::Snapshot || first.is_none(),
                "segment {index} arrived twice"
            );
        }
    }
    known
}

/// Every sentence heard once, in order, and segments that tile the speech.
fn assert_whole_and_once(reading: &Reading, segments: &BTreeMap<u64, (u64, u64, String)>) {
    assert_eq!(
        segments.keys().copied().collect::<Vec<_>>(),
        (0..segments.len() as u64).collect::<Vec<_>>(),
        "indexes 0, 1, 2, … without a hole"
    );
    let transcript = segments
        .values()
        .map(|s| s.2.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let coverage = Coverage::of(&reading.sentences, &transcript);
    assert!(
        coverage.missing(0.5).is_empty(),
        "sentences not heard: {:?} ({:?})\n{transcript}",
        coverage.missing(0.5),
        coverage.sentence_recall
    );
    assert!(
        coverage.doubled.is_empty(),
        "heard twice: {:?}\n{transcript}",
        coverage.doubled
    );
    // Whisper's timestamps are 20 ms tokens placed by the model: a second of slack.
    let slack_ms = ((reading.longest_pause_secs + 1.0) * 1000.0) as u64;
    let spans: Vec<(u64, u64)> = segments.values().map(|s| (s.0, s.1)).collect();
    assert!(spans[0].0 <= slack_ms, "starts at {} ms", spans[0].0);
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].0, "out of order: {pair:?}");
        assert!(
            pair[1].0.saturating_sub(pair[0].1) <= slack_ms,
            "a gap between {pair:?} longer than the longest pause ({:.2} s)",
            reading.longest_pause_secs
        );
    }
    let end_ms = (reading.duration_secs * 1000.0) as u64;
    assert!(
        spans.last().unwrap().1 + slack_ms >= end_ms,
        "ends at {} ms of {end_ms}",
        spans.last().unwrap().1
    );
}

#[tokio::test]
async fn speech_read_without_pauses_across_window_boundaries_reaches_the_transcript_whole_and_once()
{
    let app = spawn_idle_app().await;
    let dir = tempfile::tempdir().unwrap();
    let reading = read_aloud(dir.path());
    let created = create(&app, &reading, None).await;
    let got = crate::helpers::follow_from_start(&app, &created).await;

    assert_eq!(got.last().event, EventKind::Completed);
    let segments = segments_by_index(&got.events);
    assert_whole_and_once(&reading, &segments);
    // The export holds the same text as the live segments.
    let id = created["id"].as_str().unwrap();
    let token = created["subscription_token"].as_str().unwrap();
    let exported = app
        .client
        .get(app.url(&format!("/api/smelts/{id}/transcript?format=txt")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(exported.status(), 200);
    let exported = exported.text().await.unwrap();
    for (_, _, text) in segments.values() {
        assert!(exported.contains(text.as_str()), "{text} in the export");
    }
}

#[tokio::test]
async fn a_smelt_whose_worker_is_killed_in_the_middle_of_a_file_ends_with_every_sentence_once() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    let reading = read_aloud(dir.path());
    let created = create(&app, &reading, Some(&token)).await;
    let file_id: Uuid = sqlx::query_scalar("select smelt_file_id from smelt_file")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut socket = app.subscribe(&created).await;
    let data_dir = app.data_dir.path();

    let mut first = start_worker(&app.settings.server.database.database_url, data_dir, 3);
    let before = socket.read_until(|e| e.event == EventKind::Segment).await;
    first.kill().unwrap();
    first.wait().unwrap();
    let transcribed_ms: i32 =
        sqlx::query_scalar("select transcribed_ms from smelt_file where smelt_file_id = $1")
            .bind(file_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        transcribed_ms > 0 && (transcribed_ms as f64) < reading.duration_secs * 1000.0,
        "the worker died in the middle of the file ({transcribed_ms} ms)"
    );

    let mut second = start_worker(&app.settings.server.database.database_url, data_dir, 3);
    let rest = socket.collect().await;
    second.kill().unwrap();
    second.wait().unwrap();

    let events: Vec<WireEvent> = before.into_iter().chain(rest.events).collect();
    assert_eq!(events.last().unwrap().event, EventKind::Completed);
    assert_whole_and_once(&reading, &segments_by_index(&events));
    let stored: i64 = sqlx::query_scalar("select count(*) from smelt_segment")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        stored as usize,
        segments_by_index(&events).len(),
        "the stored segments are the published ones"
    );
}

#[tokio::test]
async fn a_hosted_transcription_in_several_requests_loses_and_doubles_no_word_at_the_cuts() {
    let stub = provider_stub::spawn().await;
    let base_url = stub.base_url.clone();
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(move |settings| {
            settings.hosted.hosted_api_key = Some(WHISPER_KEY.into());
            settings.hosted.hosted_base_url = base_url;
            settings.hosted.provider_chunk_seconds = 40;
        })),
        ..AppOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let reading = read_aloud(dir.path());
    let created = create(&app, &reading, None).await;
    let got = crate::helpers::follow_from_start(&app, &created).await;

    assert_eq!(got.last().event, EventKind::Completed);
    assert!(
        stub.calls_to(WHISPER_KEY, "transcriptions") >= 3,
        "{} s in requests of at most 40 s",
        reading.duration_secs
    );
    assert_whole_and_once(&reading, &segments_by_index(&got.events));
}
