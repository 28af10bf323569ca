//! Before and while waiting: refusals that come before the bytes, the place in the queue, and
//! cancelling a smelt that is queued or running (its credit comes back only before
//! transcription begins).

use std::process::Command;
use std::time::Duration;

use reqwest::multipart::Form;
use serde_json::{json, Value};
use smelt_core::events::EventKind;
use smelt_worker::Outcome;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use smelt_core::tokens::{TokenKeys, SUBSCRIPTION_AUDIENCE};

use crate::helpers::{
    encode, eventually, file_part, insert_pending_texts, run, spawn_app, spawn_app_with,
    spawn_idle_app, speak, worker, AppOptions, TestApp, Transcript, TEST_SECRET,
};
use crate::pipeline::silent_wav;
use crate::provider_stub;

async fn smelt_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from smelt")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn credits_left(app: &TestApp, token: &str) -> i64 {
    app.get("/api/profile", Some(token)).await.1["credits_remaining"]
        .as_i64()
        .unwrap()
}

/// Asserts a 400 `duration_exceeded` that left nothing behind and charged nothing.
async fn assert_refused_for_duration(app: &TestApp, form: Form, token: &str) {
    let response = app.create(form, Some(token)).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "duration_exceeded");
    assert_eq!(body["error"]["message"], "AUDIO TOO LONG. MAX 30 MINUTES");
    assert_eq!(app.stored_uploads().await, 0, "no blob");
    assert_eq!(smelt_rows(app).await, 0, "no row");
    assert_eq!(app.queued_jobs().await, 0, "no queue message");
    assert_eq!(credits_left(app, token).await, 5, "no credit taken");
}

#[tokio::test]
async fn a_file_over_thirty_minutes_is_refused_before_anything_is_stored_charged_or_queued() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    // A WAV declares its length in its header.
    let form = Form::new().part(
        "files[]",
        file_part(silent_wav(31 * 60), "long.wav", "audio/wav"),
    );
    assert_refused_for_duration(&app, form, &token).await;

    // An MP3 without a Xing header declares nothing: its frames are counted.
    let dir = tempfile::tempdir().unwrap();
    let mp3 = dir.path().join("long.mp3");
    run(Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=8000:cl=mono",
        ])
        .args([
            "-t",
            "1860",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "8k",
            "-write_xing",
            "0",
        ])
        .arg(&mp3));
    let form = Form::new().part(
        "files[]",
        file_part(std::fs::read(&mp3).unwrap(), "long.mp3", "audio/mpeg"),
    );
    assert_refused_for_duration(&app, form, &token).await;

    // A short file is measured and kept.
    let wav = std::fs::read(speak(dir.path(), "A short note")).unwrap();
    let form = Form::new().part("files[]", file_part(wav, "short.wav", "audio/wav"));
    let response = app.create(form, Some(&token)).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let seconds = created["files"][0]["duration_seconds"].as_f64().unwrap();
    assert!(
        (0.3..5.0).contains(&seconds),
        "measured on upload: {seconds} s"
    );
}

/// Sends a create request whose multipart body declares `body_len` bytes but writes only the
/// first 64 KiB, then reads the answer: it arrives while most of the body is still unsent.
async fn answer_to_a_partly_sent_upload(
    app: &TestApp,
    bearer: Option<&str>,
    forwarded: &str,
) -> (u16, Value) {
    let boundary = "smelt-test-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files[]\"; filename=\"big.wav\"\r\n\
         Content-Type: audio/wav\r\n\r\n"
    );
    let body_len = 20 * 1024 * 1024;
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST /api/smelts HTTP/1.1\r\nHost: {}\r\n{auth}X-Forwarded-For: {forwarded}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {body_len}\r\n\r\n{head}",
        app.address
    );
    let mut stream = tokio::net::TcpStream::connect(&app.address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(&vec![0u8; 64 * 1024]).await.unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            response.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&response);
            if let Some((_, body)) = text.split_once("\r\n\r\n") {
                if serde_json::from_str::<Value>(body.trim()).is_ok() {
                    break;
                }
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the answer came while 20 MB were still unsent"
    );
    let text = String::from_utf8_lossy(&response).into_owned();
    let status: u16 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1.trim()).unwrap();
    (status, body)
}

#[tokio::test]
async fn a_client_without_credits_is_refused_before_its_upload_is_read() {
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| {
            s.server.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]
        })),
        ..AppOptions::default()
    })
    .await;
    let token = app.token_for(Uuid::new_v4());
    for _ in 0..5 {
        app.create_text("Alice will send the report.", &[], Some(&token))
            .await;
    }
    let (status, body) = answer_to_a_partly_sent_upload(&app, Some(&token), "203.0.113.7").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "weekly_limit");
    assert_eq!(app.stored_uploads().await, 0);

    let anonymous = app
        .client
        .post(app.url("/api/smelts"))
        .header("x-forwarded-for", "203.0.113.8")
        .multipart(Form::new().text("text", "One smelt a day."))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 201);
    let (status, body) = answer_to_a_partly_sent_upload(&app, None, "203.0.113.8").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("daily_limit"))
    );
}

/// Queue positions a socket was told, in order: its snapshot's (when known), then each live
/// place, with the estimated wait of each.
fn positions(transcript: &Transcript) -> Vec<(u64, Option<u64>)> {
    let snapshot = transcript
        .events
        .iter()
        .filter(|e| e.event == EventKind::Snapshot)
        .map(|e| &e.payload["progress"]);
    let places = transcript.places.iter().map(|p| &p["progress"]);
    let mut seen: Vec<(u64, Option<u64>)> = Vec::new();
    for progress in snapshot.chain(places) {
        if let Some(p) = progress["queue_position"].as_u64() {
            if seen.last().map(|l| l.0) != Some(p) {
                seen.push((p, progress["estimated_wait_seconds"].as_u64()));
            }
        }
    }
    seen
}

/// How long a watcher may wait for its new place: one computation interval (1 s) and room.
const PLACE_DEADLINE: Duration = Duration::from_secs(2);

#[tokio::test]
async fn queued_smelts_are_told_their_place_as_the_queue_moves() {
    let app = spawn_app().await;
    let token = app.token_for(Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    let speech = "The worker is busy with this long recording while others wait. ".repeat(8);
    let wav = std::fs::read(speak(dir.path(), &speech)).unwrap();
    let busy: Value = app
        .create(
            Form::new().part("files[]", file_part(wav, "long.wav", "audio/wav")),
            Some(&token),
        )
        .await
        .json()
        .await
        .unwrap();
    app.subscribe(&busy)
        .await
        .read_until(|e| {
            e.event == EventKind::Progress && e.payload["progress"]["stage"] == "transcribing"
        })
        .await;

    let mut queued = Vec::new();
    for text in ["First in line.", "Second in line.", "Third in line."] {
        queued.push(app.create_text(text, &[], Some(&token)).await);
    }
    let last = app.subscribe(&queued[2]).await.collect().await;
    assert_eq!(last.last().event, EventKind::Completed);
    let seen = positions(&last);
    let places: Vec<u64> = seen.iter().map(|(p, _)| *p).collect();
    assert_eq!(places.first(), Some(&3), "{seen:?}");
    assert!(
        places.windows(2).all(|w| w[0] > w[1]),
        "places only move forward: {seen:?}"
    );
    let waits: Vec<u64> = seen
        .iter()
        .map(|(_, w)| w.expect("an estimate while a worker is alive"))
        .collect();
    assert!(waits[0] > 0, "a busy worker means a wait: {waits:?}");
    assert!(
        waits.windows(2).all(|w| w[0] >= w[1]),
        "the wait shrinks: {waits:?}"
    );
    let (_, first) = app
        .get(
            &format!("/api/smelts/{}", queued[0]["id"].as_str().unwrap()),
            Some(&token),
        )
        .await;
    assert_eq!(first["status"], "completed");
}

#[tokio::test]
async fn a_pending_smelt_shows_its_place_in_get_and_on_its_socket() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let first = app.create_text("One.", &[], Some(&token)).await;
    let second = app.create_text("Two.", &[], Some(&token)).await;
    let (_, smelt) = app
        .get(
            &format!("/api/smelts/{}", second["id"].as_str().unwrap()),
            Some(&token),
        )
        .await;
    assert_eq!(smelt["progress"]["queue_position"], 2);
    assert!(
        smelt["progress"]["estimated_wait_seconds"].is_null(),
        "no worker, no estimate"
    );
    let mut socket = app.subscribe(&second).await;
    socket.read_place(2, PLACE_DEADLINE).await;
    // The first is cancelled: the second moves up and is told so.
    let cancelled = app
        .client
        .post(app.url(&format!(
            "/api/smelts/{}/cancel",
            first["id"].as_str().unwrap()
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    socket.read_place(1, PLACE_DEADLINE).await;
    assert_eq!(
        socket.places.last().unwrap()["status"],
        "pending",
        "a place is a pending smelt's progress"
    );
    // A new subscriber learns the current place too.
    let mut late = app.subscribe(&second).await;
    late.read_place(1, PLACE_DEADLINE).await;
}

#[tokio::test]
async fn a_dequeue_writes_no_event_for_unwatched_smelts_and_a_watcher_sees_its_new_place() {
    let app = spawn_idle_app().await;
    // 2,000 pending text smelts, inserted as the create endpoint inserts them.
    let ids = insert_pending_texts(&app.pool, 2_000).await;
    let watched = ids[9];
    let token =
        TokenKeys::new(TEST_SECRET.as_bytes()).sign(watched, SUBSCRIPTION_AUDIENCE, 600, None);
    let mut socket = app
        .connect(&watched.to_string(), &format!("token={token}"))
        .await;
    socket.read_place(10, PLACE_DEADLINE).await;

    let others: Vec<Uuid> = ids[1..].to_vec();
    let before = smelt_core::db::smelts::events_written(&app.pool, &others)
        .await
        .unwrap();
    let outcome = worker(&app).await.try_process_one().await.unwrap();
    assert_eq!(outcome, Outcome::Completed(ids[0]), "the first in line ran");
    assert_eq!(
        smelt_core::db::smelts::events_written(&app.pool, &others)
            .await
            .unwrap(),
        before,
        "no event was written for the 1,999 smelts still waiting"
    );
    socket.read_place(9, PLACE_DEADLINE).await;
}

/// `POST /api/smelts/{id}/cancel` with a bearer token or `?token=`; returns status and body.
async fn cancel(app: &TestApp, id: &str, bearer: Option<&str>, query: &str) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url(&format!("/api/smelts/{id}/cancel{query}")));
    if let Some(t) = bearer {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_queued_smelt_that_is_cancelled_never_starts_and_its_credit_comes_back_once() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let created = app
        .create_text("Alice will send the report on Friday.", &[], Some(&token))
        .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(credits_left(&app, &token).await, 4);
    let mut socket = app.subscribe(&created).await;
    socket.read_until(|e| e.event == EventKind::Snapshot).await;

    assert_eq!(cancel(&app, id, None, "").await.0, 401, "no token");
    let stranger = app.token_for(Uuid::new_v4());
    assert_eq!(
        cancel(&app, id, Some(&stranger), "").await.0,
        404,
        "not the owner"
    );
    let (status, smelt) = cancel(&app, id, Some(&token), "").await;
    assert_eq!(status, 200, "{smelt}");
    assert_eq!(
        (smelt["status"].as_str(), smelt["error_code"].as_str()),
        (Some("cancelled"), Some("cancelled"))
    );
    assert_eq!(
        smelt["credit_refunded"], true,
        "queued: the credit comes back"
    );
    let ended = socket.collect().await;
    assert_eq!(ended.last().event, EventKind::Cancelled);
    assert_eq!(ended.last().payload["error_message"], "CANCELLED");
    assert_eq!(ended.last().payload["credit_refunded"], true);
    assert_eq!(ended.close_code, Some(1000));

    let (status, again) = cancel(&app, id, Some(&token), "").await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("already_finished"))
    );
    assert_eq!(credits_left(&app, &token).await, 5, "refunded once");
    let worker = worker(&app).await;
    assert_eq!(
        worker.try_process_one().await.unwrap(),
        Outcome::Skipped(id.parse().unwrap())
    );
    let (_, listed) = app.get("/api/smelts?status=cancelled", Some(&token)).await;
    assert_eq!(listed["smelts"][0]["id"], id);
}

#[tokio::test]
async fn the_holder_of_the_subscription_token_may_cancel_an_anonymous_smelt() {
    let app = spawn_idle_app().await;
    let anonymous = |ip: &'static str, text: &'static str| {
        let client = app.client_from(ip);
        let url = app.url("/api/smelts");
        async move {
            let response = client
                .post(url)
                .multipart(Form::new().text("text", text))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            response.json::<Value>().await.unwrap()
        }
    };
    let created = anonymous("127.0.0.21", "An anonymous note.").await;
    let other = anonymous("127.0.0.22", "Another note.").await;
    let id = created["id"].as_str().unwrap();
    let wrong = other["subscription_token"].as_str().unwrap();
    assert_eq!(
        cancel(&app, id, Some(wrong), "").await.0,
        403,
        "another smelt's token"
    );
    let token = created["subscription_token"].as_str().unwrap();
    let (status, smelt) = cancel(&app, id, None, &format!("?token={token}")).await;
    assert_eq!((status, smelt["status"].as_str()), (200, Some("cancelled")));
}

#[tokio::test]
async fn a_smelt_cancelled_while_transcribing_stops_at_the_next_window_and_the_worker_moves_on() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    // About ten minutes of speech.
    let speech = "We went through the plan for the next quarter in detail, one team at a time, \
        and wrote down who does what and by when. "
        .repeat(80);
    let wav = speak(dir.path(), &speech);
    let minutes = (std::fs::metadata(&wav).unwrap().len() - 44) as f64 / 44_100.0 / 60.0;
    assert!(minutes > 9.0, "{minutes:.1} minutes of speech");
    let mp3 = std::fs::read(encode(&wav, "mp3")).unwrap();
    let created: Value = app
        .create(
            Form::new().part("files[]", file_part(mp3, "long.mp3", "audio/mpeg")),
            Some(&token),
        )
        .await
        .json()
        .await
        .unwrap();
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let mut socket = app.subscribe(&created).await;
    let worker = worker(&app).await;
    let (queued, next_queued) = tokio::sync::oneshot::channel::<()>();
    let job = tokio::spawn(async move {
        let first = worker.try_process_one().await.unwrap();
        // The next job is queued while the first runs (pasted text would go first otherwise:
        // it waits in the fast lane).
        next_queued.await.unwrap();
        let second = worker.try_process_one().await.unwrap();
        (first, second)
    });
    socket.read_until(|e| e.event == EventKind::Segment).await;
    let next = app
        .create_text("The next job in the queue.", &[], Some(&token))
        .await;
    queued.send(()).unwrap();
    let (status, answer) = cancel(&app, &id.to_string(), Some(&token), "").await;
    assert_eq!(status, 200);
    assert_eq!(answer["credit_refunded"], false, "transcription had begun");
    let rest = socket.collect().await;
    assert_eq!(rest.last().event, EventKind::Cancelled);
    assert_eq!(rest.last().payload["credit_refunded"], false);
    assert_eq!(rest.close_code, Some(1000));

    let (first, second) = job.await.unwrap();
    assert_eq!(first, Outcome::Skipped(id), "the job stopped");
    assert_eq!(
        second,
        Outcome::Completed(next["id"].as_str().unwrap().parse().unwrap())
    );
    let (transcribed_ms, duration): (i32, Option<f64>) = sqlx::query_as(
        "select transcribed_ms, duration_seconds from smelt_file where smelt_id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let share = f64::from(transcribed_ms) / (duration.unwrap() * 1000.0);
    assert!(
        share < 0.25,
        "stopped early: {:.0}% transcribed",
        share * 100.0
    );
    assert_eq!(app.stored_uploads().await, 0, "the upload is deleted");
    assert_eq!(
        credits_left(&app, &token).await,
        3,
        "both credits are spent: the cancelled smelt's transcription had begun"
    );
}

#[tokio::test]
async fn a_smelt_cancelled_while_synthesizing_keeps_its_credit_spent_and_what_was_made() {
    let stub = provider_stub::spawn().await;
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let created = app
        .create_text(
            "Alice will send the report on Friday. Bob books the room for the review.",
            &["summarize"],
            Some(&token),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(credits_left(&app, &token).await, 4);
    let mut socket = app.subscribe(&created).await;

    // The operator's provider fails every chat call and waits a minute before the next
    // attempt: the smelt stays in `synthesizing` until it is cancelled.
    let worker = provider_stub::operator_worker(&app, &stub, "sk-test-chatdown-000000000", |s| {
        s.hosted.provider_retry_base_ms = 60_000;
    })
    .await;
    let job = tokio::spawn(async move { worker.try_process_one().await });
    socket
        .read_until(|e| {
            e.event == EventKind::Progress && e.payload["progress"]["stage"] == "synthesizing"
        })
        .await;

    let (status, answer) = cancel(&app, &id, Some(&token), "").await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("cancelled"))
    );
    assert_eq!(answer["credit_refunded"], false);
    let ended = socket.collect().await;
    assert_eq!(ended.last().event, EventKind::Cancelled);
    assert_eq!(ended.last().payload["credit_refunded"], false);
    assert_eq!(credits_left(&app, &token).await, 4, "the credit is spent");
    let (status, again) = cancel(&app, &id, Some(&token), "").await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("already_finished"))
    );
    assert_eq!(
        credits_left(&app, &token).await,
        4,
        "a second cancel changes nothing"
    );
    job.abort();
}

#[tokio::test]
async fn deleting_a_running_smelt_ends_its_subscribers_with_a_terminal_event() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let created = app.create_text("Soon deleted.", &[], Some(&token)).await;
    let mut socket = app.subscribe(&created).await;
    socket.read_until(|e| e.event == EventKind::Snapshot).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/smelts/{id}"), &token).await, 204);
    let ended = socket.collect().await;
    assert_eq!(ended.last().event, EventKind::Cancelled);
    assert_eq!(ended.close_code, Some(1000));
    eventually(Duration::from_secs(10), "the rows are gone", || async {
        smelt_rows(&app).await == 0
    })
    .await;
}

#[tokio::test]
async fn the_config_route_tells_clients_the_limits_in_force_and_the_formats() {
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| {
            s.server.limits.max_files = 3;
            s.server.limits.max_file_mb = 10;
            s.server.limits.max_duration_minutes = 20;
        })),
        ..AppOptions::default()
    })
    .await;
    let (status, config) = app.get("/api/config", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            config["max_files"].clone(),
            config["max_file_bytes"].clone(),
            config["max_duration_seconds"].clone()
        ),
        (json!(3), json!(10 * 1024 * 1024), json!(1200))
    );
    for format in ["mp3", "wav", "m4a", "webm", "ogg"] {
        assert!(
            config["audio_extensions"]
                .as_array()
                .unwrap()
                .contains(&json!(format)),
            "{format}"
        );
    }
    let form = || {
        let mut form = Form::new();
        for i in 0..4 {
            form = form.part(
                "files[]",
                file_part(
                    crate::pipeline::silent_wav(1),
                    &format!("{i}.wav"),
                    "audio/wav",
                ),
            );
        }
        form
    };
    let token = app.token_for(Uuid::new_v4());
    let response = app.create(form(), Some(&token)).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "MAX 3 FILES ALLOWED");
}
