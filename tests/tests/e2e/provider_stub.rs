//! An in-process stand-in for an OpenAI-compatible provider, speaking its HTTP protocol on a
//! loopback port. Behaviour depends on the API key presented:
//!
//! - [`GOOD_KEY`] — everything succeeds;
//! - `sk-test-revoked-…` — `/models` succeeds (the key was valid when saved), the rest 401;
//! - `sk-test-ratelimit-…` — 429 with `Retry-After: 1`;
//! - `sk-test-quota-…` — 429 `insufficient_quota`;
//! - `sk-test-flaky-…` — 500 on the first call, then success;
//! - `sk-test-down-…` — 500 always;
//! - `sk-test-chatdown-…` — transcriptions succeed, chat completions answer 500 always;
//! - `sk-test-tarpit-…` — 429 asking to retry after 99,999,999 s (about three years);
//! - `sk-test-endless-…` — 200 whose body never ends (spaces, streamed for ever);
//! - [`WHISPER_KEY`] — everything succeeds, and transcriptions are real: the WAV sent is
//!   transcribed by the local Whisper model, as a self-hosted OpenAI-compatible Whisper
//!   server would, and answered as `verbose_json` segments;
//! - any other key — 401 everywhere.
//!
//! It counts the calls made with each key (besides `/models`), in all and per endpoint.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// The key the stub accepts for everything.
pub const GOOD_KEY: &str = "sk-test-GOODKEY-a1b2c3d4e5f6-9z8y";
/// The key whose transcriptions are made by the local Whisper model.
pub const WHISPER_KEY: &str = "sk-test-whisper-a1b2c3d4e5f6-9z8y";
/// Transcript the stub returns.
pub const STUB_TRANSCRIPT: &str = "Hello from the stub provider transcript";

/// A running stub.
#[derive(Clone)]
pub struct Stub {
    /// `http://127.0.0.1:port/v1`.
    pub base_url: String,
    calls: Arc<Mutex<HashMap<String, usize>>>,
    /// Calls per `(key, endpoint)`, endpoint `transcriptions` or `chat`.
    endpoint_calls: Arc<Mutex<HashMap<(String, &'static str), usize>>>,
    /// Calls to `/models`, whatever the key.
    models_calls: Arc<AtomicUsize>,
    /// Once set, the keys that make it fail succeed instead (the provider recovered).
    recovered: Arc<AtomicBool>,
}

impl Stub {
    /// Calls made with `key` to the transcription and chat endpoints.
    pub fn calls(&self, key: &str) -> usize {
        self.calls.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    /// Calls to `/models` (key checks), whatever the key.
    pub fn models_calls(&self) -> usize {
        self.models_calls.load(Ordering::SeqCst)
    }

    /// From now on, answers every key as [`GOOD_KEY`] is answered.
    pub fn recover(&self) {
        self.recovered.store(true, Ordering::SeqCst);
    }

    /// Calls made with `key` to one endpoint: `transcriptions` or `chat`.
    pub fn calls_to(&self, key: &str, endpoint: &'static str) -> usize {
        self.endpoint_calls
            .lock()
            .unwrap()
            .get(&(key.to_owned(), endpoint))
            .copied()
            .unwrap_or(0)
    }
}

fn key_of(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned()
}

fn error(status: StatusCode, code: &str, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"message": message, "type": kind, "param": null, "code": code}})),
    )
        .into_response()
}

async fn models(State(stub): State<Stub>, headers: HeaderMap) -> Response {
    stub.models_calls.fetch_add(1, Ordering::SeqCst);
    let key = key_of(&headers);
    if key == GOOD_KEY || (key.starts_with("sk-test-") && !key.starts_with("sk-test-WRONG")) {
        Json(json!({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "owned_by": "stub"}]})).into_response()
    } else {
        error(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "invalid_request_error",
            "Incorrect API key provided.",
        )
    }
}

/// The failure a key calls for on its `n`th call (1-based) to `endpoint`, if any.
fn failure(key: &str, n: usize, endpoint: &str) -> Option<Response> {
    if key == GOOD_KEY
        || key == WHISPER_KEY
        || (key.starts_with("sk-test-chatdown") && endpoint != "chat")
    {
        return None;
    }
    if key.starts_with("sk-test-revoked") {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "invalid_request_error",
            "Incorrect API key provided.",
        ));
    }
    if key.starts_with("sk-test-ratelimit") {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "requests",
            "Rate limit reached.",
        );
        r.headers_mut().insert("retry-after", "1".parse().unwrap());
        return Some(r);
    }
    if key.starts_with("sk-test-tarpit") {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "requests",
            "Rate limit reached.",
        );
        r.headers_mut()
            .insert("retry-after", "99999999".parse().unwrap());
        return Some(r);
    }
    if key.starts_with("sk-test-endless") {
        let spaces = bytes::Bytes::from_static(&[b' '; 64 * 1024]);
        let endless =
            futures::stream::repeat_with(move || Ok::<_, std::convert::Infallible>(spaces.clone()));
        return Some(
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                axum::body::Body::from_stream(endless),
            )
                .into_response(),
        );
    }
    if key.starts_with("sk-test-quota") {
        return Some(error(
            StatusCode::TOO_MANY_REQUESTS,
            "insufficient_quota",
            "insufficient_quota",
            "You exceeded your current quota.",
        ));
    }
    let down = key.starts_with("sk-test-down")
        || (key.starts_with("sk-test-chatdown") && endpoint == "chat");
    if key.starts_with("sk-test-flaky") && n == 1 || down {
        return Some(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "server_error",
            "The server had an error.",
        ));
    }
    if key.starts_with("sk-test-flaky") {
        return None;
    }
    Some(error(
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
        "invalid_request_error",
        "Incorrect API key provided.",
    ))
}

fn count(stub: &Stub, key: &str, endpoint: &'static str) -> usize {
    *stub
        .endpoint_calls
        .lock()
        .unwrap()
        .entry((key.to_owned(), endpoint))
        .or_default() += 1;
    let mut calls = stub.calls.lock().unwrap();
    let n = calls.entry(key.to_owned()).or_default();
    *n += 1;
    *n
}

async fn chat(State(stub): State<Stub>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let key = key_of(&headers);
    let n = count(&stub, &key, "chat");
    if let Some(failed) =
        failure(&key, n, "chat").filter(|_| !stub.recovered.load(Ordering::SeqCst))
    {
        return failed;
    }
    let system = body["messages"][0]["content"].as_str().unwrap_or_default();
    let heading = system.split('`').nth(1).unwrap_or("# Notes");
    let content = format!(
        "{heading}\n\nWritten by the stub model {}.",
        body["model"].as_str().unwrap_or_default()
    );
    Json(json!({
        "id": "chatcmpl-stub", "object": "chat.completion", "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    }))
    .into_response()
}

async fn transcriptions(
    State(stub): State<Stub>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let key = key_of(&headers);
    let mut audio = None;
    let mut words = false;
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("file") => {
                audio = field.bytes().await.ok().filter(|b| b.starts_with(b"RIFF"));
            }
            Some("timestamp_granularities[]") => {
                words |= field.text().await.is_ok_and(|t| t == "word");
            }
            _ => {}
        }
    }
    let Some(audio) = audio else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_file",
            "invalid_request_error",
            "No audio file.",
        );
    };
    let n = count(&stub, &key, "transcriptions");
    if let Some(failed) =
        failure(&key, n, "transcriptions").filter(|_| !stub.recovered.load(Ordering::SeqCst))
    {
        return failed;
    }
    if key == WHISPER_KEY {
        return Json(whisper_transcription(audio).await).into_response();
    }
    let mut body = json!({"text": STUB_TRANSCRIPT, "segments": [{"id": 0, "start": 0.0, "end": 2.0, "text": STUB_TRANSCRIPT}]});
    if words {
        // The words of the transcript, spread evenly over its two seconds.
        let list: Vec<&str> = STUB_TRANSCRIPT.split_whitespace().collect();
        let step = 2.0 / list.len() as f64;
        body["words"] = list
            .iter()
            .enumerate()
            .map(
                |(i, w)| json!({"word": w, "start": i as f64 * step, "end": (i + 1) as f64 * step}),
            )
            .collect();
    }
    Json(body).into_response()
}

/// OpenAI's `verbose_json` answer for a 16 kHz mono 16-bit WAV, transcribed by the local
/// Whisper model.
async fn whisper_transcription(wav: bytes::Bytes) -> Value {
    let segments = tokio::task::spawn_blocking(move || {
        let reader = hound::WavReader::new(std::io::Cursor::new(wav)).expect("a WAV");
        let samples: Vec<f32> = reader
            .into_samples::<i16>()
            .map(|s| f32::from(s.expect("a sample")) / f32::from(i16::MAX))
            .collect();
        crate::audio_support::transcribe_with(&samples, Default::default())
    })
    .await
    .unwrap();
    let text = segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    json!({
        "task": "transcribe",
        "language": "english",
        "text": text,
        "segments": segments
            .iter()
            .enumerate()
            .map(|(id, s)| json!({"id": id, "start": s.start_secs, "end": s.end_secs, "text": s.text}))
            .collect::<Vec<_>>(),
    })
}

/// Starts the stub.
pub async fn spawn() -> Stub {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stub = Stub {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        calls: Arc::default(),
        endpoint_calls: Arc::default(),
        models_calls: Arc::default(),
        recovered: Arc::default(),
    };
    let app = Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/audio/transcriptions", post(transcriptions))
        .with_state(stub.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    stub
}

/// An idle app (no workers) whose OpenAI-compatible provider is a fresh stub.
pub async fn app_with_stub() -> (Stub, crate::helpers::TestApp) {
    let stub = spawn().await;
    let app = crate::helpers::spawn_app_with(crate::helpers::AppOptions {
        workers: 0,
        openai_base_url: Some(stub.base_url.clone()),
        ..crate::helpers::AppOptions::default()
    })
    .await;
    (stub, app)
}

/// A worker of `app` whose operator account is `key` at `stub` (the hosted engines for users
/// without a valid own key), its settings changed by `configure` last.
pub async fn operator_worker(
    app: &crate::helpers::TestApp,
    stub: &Stub,
    key: &str,
    configure: impl FnOnce(&mut smelt_worker::Settings),
) -> smelt_worker::Worker {
    let mut settings = app.settings.worker_settings();
    settings.hosted.hosted_api_key = Some(key.into());
    settings.hosted.hosted_base_url = stub.base_url.clone();
    configure(&mut settings);
    smelt_worker::Worker::new(
        app.pool.clone(),
        std::sync::Arc::new(settings),
        app.blobs.clone(),
    )
    .await
    .unwrap()
}

/// The scene of a job stopped by a time limit: two pasted-text smelts are queued, the first
/// with notes; the operator's provider fails every chat call and would be retried only a
/// minute later, so only `limit` (a change to the worker's settings: a job deadline or a lane
/// timeout of a few seconds) can end the first. Asserts that the first fails with
/// `synthesis_failed`, reads `failed`, and that once the provider recovers the same worker
/// completes the second. `lane` is the lane the first must wait in.
pub async fn a_stuck_job_fails_and_its_worker_takes_the_next(
    lane: &str,
    limit: impl FnOnce(&mut smelt_worker::Settings),
) {
    use smelt_core::domain::ErrorCode;
    use smelt_worker::Outcome;

    let stub = spawn().await;
    let app = crate::helpers::spawn_idle_app().await;
    let token = app.token_for(uuid::Uuid::new_v4());
    let id_of = |created: &serde_json::Value| -> uuid::Uuid {
        created["id"].as_str().unwrap().parse().unwrap()
    };
    let stuck = app
        .create_text(
            "Alice sends the report on Friday.",
            &["summarize"],
            Some(&token),
        )
        .await;
    assert_eq!(stuck["lane"], lane);
    let next = app
        .create_text("Bob books the room for the review.", &[], Some(&token))
        .await;

    let worker = operator_worker(&app, &stub, "sk-test-chatdown-000000000", |s| {
        s.hosted.provider_retry_base_ms = 60_000;
        limit(s);
    })
    .await;
    assert_eq!(
        worker.try_process_one().await.unwrap(),
        Outcome::Failed(id_of(&stuck), ErrorCode::SynthesisFailed)
    );
    let (_, smelt) = app
        .get(&format!("/api/smelts/{}", id_of(&stuck)), Some(&token))
        .await;
    assert_eq!(smelt["status"], "failed");
    // The provider recovers; the same worker takes the next job and completes it.
    stub.recover();
    assert_eq!(
        worker.try_process_one().await.unwrap(),
        Outcome::Completed(id_of(&next)),
        "the worker moved on"
    );
}
