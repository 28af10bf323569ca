//! Recordings given by link (`url`): refused before anything is charged when the outbound
//! guard refuses the link, otherwise downloaded by the worker from a real HTTP server started
//! here, with an upload's limits, and transcribed like an upload.

use std::io;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::routing::{get, MethodRouter};
use axum::Router;
use reqwest::multipart::Form;
use serde_json::Value;
use smelt_core::events::EventKind;
use uuid::Uuid;

use crate::helpers::{
    file_part, follow_from_start, spawn_app_with, speak, word_recall, AppOptions, TestApp,
};
use crate::pipeline::silent_wav;

const SENTENCE: &str = "The quarterly budget review will start at nine tomorrow morning and \
    everyone should bring their updated project numbers and hiring plans";

/// An app without workers (each test processes its job in-process) whose recording links may
/// name 127.0.0.1 when `allow_loopback`, with `limits` applied to its settings.
async fn app_allowing_loopback(
    allow_loopback: bool,
    limits: impl FnOnce(&mut smelt::Settings) + Send + 'static,
) -> TestApp {
    spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(move |s| {
            if allow_loopback {
                s.server.ingest.ingest_allowed_hosts = vec!["127.0.0.1".into()];
            }
            limits(s);
        })),
        ..AppOptions::default()
    })
    .await
}

/// Serves `router` on a loopback port; returns its base URL (`http://127.0.0.1:port`).
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// A route answering `bytes` whole, with their length and an audio type.
fn file(bytes: Vec<u8>) -> MethodRouter {
    let bytes = Bytes::from(bytes);
    get(move || {
        let bytes = bytes.clone();
        async move { ([(header::CONTENT_TYPE, "audio/wav")], bytes) }
    })
}

/// A route answering `bytes` in 64 KiB chunks without a `Content-Length`: their size is known
/// only by counting them.
fn streamed(bytes: Vec<u8>) -> MethodRouter {
    let bytes = Bytes::from(bytes);
    get(move || {
        let chunks: Vec<Result<Bytes, io::Error>> = bytes
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        async move { Body::from_stream(futures::stream::iter(chunks)) }
    })
}

/// `POST /api/smelts` with `url` as `token`'s user; returns status and body.
async fn create_by_link(app: &TestApp, url: &str, token: &str) -> (u16, Value) {
    let response = app
        .create(Form::new().text("url", url.to_owned()), Some(token))
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Creates a smelt from `url` and processes it; returns the created body and the last event.
async fn run_link(app: &TestApp, url: &str, token: &str) -> (Value, smelt_core::events::WireEvent) {
    let (status, created) = create_by_link(app, url, token).await;
    assert_eq!(status, 201, "{created}");
    let got = follow_from_start(app, &created).await;
    (created, got.last().clone())
}

/// Asserts that the smelt of `created` failed with `code` (and `message`), its file too, that
/// no blob of it is left and that its credit came back.
async fn assert_failed_leaving_nothing(
    app: &TestApp,
    created: &Value,
    last: &smelt_core::events::WireEvent,
    token: &str,
    (code, message): (&str, &str),
) {
    assert_eq!(last.event, EventKind::Failed, "{:?}", last.payload);
    assert_eq!(last.payload["error_code"], code);
    assert_eq!(last.payload["error_message"], message);
    let id = created["id"].as_str().unwrap();
    let (_, smelt) = app.get(&format!("/api/smelts/{id}"), Some(token)).await;
    assert_eq!(smelt["files"][0]["error_code"], code, "{smelt}");
    assert!(
        app.stored_blobs(&format!("uploads/{id}/")).await.is_empty(),
        "no blob of the recording is left"
    );
    assert_eq!(credits_left(app, token).await, 5, "the credit came back");
}

async fn credits_left(app: &TestApp, token: &str) -> i64 {
    app.get("/api/profile", Some(token)).await.1["credits_remaining"]
        .as_i64()
        .unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn a_recording_given_by_link_to_an_allowed_host_is_downloaded_and_transcribed() {
    let app = app_allowing_loopback(true, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let wav = std::fs::read(speak(dir.path(), SENTENCE)).unwrap();
    let size = wav.len();
    let base = serve(Router::new().route("/talks/standup.wav", file(wav))).await;
    let token = app.token_for(Uuid::new_v4());

    let (status, created) = create_by_link(
        &app,
        &format!("{base}/talks/standup.wav?from=calendar"),
        &token,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let file = &created["files"][0];
    assert_eq!(file["filename"], "standup.wav");
    assert_eq!(file["input_type"], "audio");
    assert_eq!(file["size_bytes"], 0, "unknown until downloaded");
    assert!(file["duration_seconds"].is_null(), "{file}");

    let got = follow_from_start(&app, &created).await;
    assert!(got.completed(), "{:?}", got.last());
    let content = got.last().payload["results"][0]["content"]
        .as_str()
        .unwrap()
        .to_lowercase();
    for word in ["budget", "review", "morning", "project"] {
        assert!(content.contains(word), "{word:?} is heard in {content:?}");
    }
    let recall = word_recall(SENTENCE, &content);
    assert!(recall >= 0.7, "only {:.0}% of the words", recall * 100.0);

    let id = created["id"].as_str().unwrap();
    let (_, smelt) = app.get(&format!("/api/smelts/{id}"), Some(&token)).await;
    let file = &smelt["files"][0];
    assert_eq!(file["size_bytes"], size, "{file}");
    let duration = file["duration_seconds"].as_f64().unwrap();
    assert!((5.0..30.0).contains(&duration), "measured {duration} s");
}

#[tokio::test]
async fn a_link_to_loopback_without_the_allow_list_is_refused_before_anything_is_charged_or_queued()
{
    let app = app_allowing_loopback(false, |_| {}).await;
    let base = serve(Router::new().route("/a.wav", file(silent_wav(2)))).await;
    let port = base.rsplit(':').next().unwrap();
    let token = app.token_for(Uuid::new_v4());

    for url in [
        format!("{base}/a.wav"),
        format!("https://127.0.0.1:{port}/a.wav"),
        format!("https://localhost:{port}/a.wav"),
        "https://127.0.0.1/a.wav".to_owned(),
        "https://[::1]/a.wav".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "ftp://example.com/a.wav".to_owned(),
        "not a link".to_owned(),
    ] {
        let (status, body) = create_by_link(&app, &url, &token).await;
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["error"]["code"], "url_not_allowed", "{url}");
        assert_eq!(
            body["error"]["message"],
            "THIS LINK CANNOT BE FETCHED. USE A PUBLIC HTTPS LINK TO AN AUDIO FILE"
        );
    }
    // Anonymous callers are refused the same way, their smelt of the day untouched.
    let anonymous = app
        .create(Form::new().text("url", format!("{base}/a.wav")), None)
        .await;
    assert_eq!(anonymous.status(), 400);

    assert_eq!(count(&app, "select count(*) from smelt").await, 0, "no row");
    assert_eq!(
        count(&app, "select count(*) from pgmq.q_smelt_jobs").await,
        0,
        "nothing queued"
    );
    assert_eq!(credits_left(&app, &token).await, 5, "no credit taken");
    assert_eq!(app.stored_uploads().await, 0, "nothing stored");
}

#[tokio::test]
async fn a_link_next_to_files_or_text_or_a_second_link_is_refused() {
    let app = app_allowing_loopback(true, |_| {}).await;
    let token = app.token_for(Uuid::new_v4());
    let url = "http://127.0.0.1:9/a.wav";

    let with_text = Form::new().text("url", url).text("text", "Some notes.");
    let with_file = Form::new()
        .text("url", url)
        .part("files[]", file_part(silent_wav(2), "a.wav", "audio/wav"));
    for form in [with_text, with_file] {
        let response = app.create(form, Some(&token)).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "mixed_input", "{body}");
        assert_eq!(
            body["error"]["message"],
            "CHOOSE ONE: FILES, A LINK OR TEXT"
        );
    }
    let twice = Form::new().text("url", url).text("url", url);
    let response = app.create(twice, Some(&token)).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_data", "{body}");

    // A link field left blank is no input at all.
    let response = app.create(Form::new().text("url", " "), Some(&token)).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "no_input", "{body}");
    assert_eq!(app.stored_uploads().await, 0);
    assert_eq!(count(&app, "select count(*) from smelt").await, 0);
}

#[tokio::test]
async fn a_linked_recording_over_the_size_limit_fails_as_too_large_and_leaves_no_blob() {
    let app = app_allowing_loopback(true, |s| s.server.limits.max_file_mb = 1).await;
    // 1.6 MB of audio: with its length declared, and counted as it streams.
    let base = serve(
        Router::new()
            .route("/declared.wav", file(silent_wav(200)))
            .route("/streamed.wav", streamed(silent_wav(200))),
    )
    .await;
    let token = app.token_for(Uuid::new_v4());

    for path in ["declared.wav", "streamed.wav"] {
        let (created, last) = run_link(&app, &format!("{base}/{path}"), &token).await;
        assert_failed_leaving_nothing(
            &app,
            &created,
            &last,
            &token,
            ("file_too_large", "FILE TOO CHUNKY. MAX 1MB"),
        )
        .await;
    }
}

#[tokio::test]
async fn a_linked_recording_over_the_duration_limit_fails_as_too_long_and_leaves_no_blob() {
    let app = app_allowing_loopback(true, |s| s.server.limits.max_duration_minutes = 1).await;
    let base = serve(Router::new().route("/long.wav", streamed(silent_wav(90)))).await;
    let token = app.token_for(Uuid::new_v4());

    let (created, last) = run_link(&app, &format!("{base}/long.wav"), &token).await;
    assert_failed_leaving_nothing(
        &app,
        &created,
        &last,
        &token,
        ("duration_exceeded", "AUDIO TOO LONG. MAX 1 MINUTES"),
    )
    .await;
}

#[tokio::test]
async fn a_linked_page_that_is_not_audio_fails_as_an_invalid_format_whatever_its_name() {
    let app = app_allowing_loopback(true, |_| {}).await;
    let page = b"<!doctype html><title>Not a recording</title>".to_vec();
    let base = serve(Router::new().route("/talk.mp3", file(page))).await;
    let token = app.token_for(Uuid::new_v4());

    let (created, last) = run_link(&app, &format!("{base}/talk.mp3"), &token).await;
    assert_failed_leaving_nothing(
        &app,
        &created,
        &last,
        &token,
        (
            "invalid_format",
            "CAN'T READ THAT. TRY .MP3 .WAV .M4A .WEBM .OGG",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_link_that_cannot_be_reached_fails_as_unreachable_and_gives_the_credit_back() {
    let app = app_allowing_loopback(true, |_| {}).await;
    let base = serve(Router::new().route("/here.wav", file(silent_wav(2)))).await;
    // A port nothing listens on any more.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let token = app.token_for(Uuid::new_v4());

    for url in [
        format!("{base}/gone.wav"),
        format!("http://127.0.0.1:{closed}/here.wav"),
    ] {
        let (created, last) = run_link(&app, &url, &token).await;
        assert_failed_leaving_nothing(
            &app,
            &created,
            &last,
            &token,
            (
                "url_unreachable",
                "COULDN'T DOWNLOAD THAT LINK. CHECK IT AND TRY AGAIN",
            ),
        )
        .await;
    }
}
