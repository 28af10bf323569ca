//! The queue's lanes and fairness: short work does not wait behind long recordings, bulk
//! work still runs while short work keeps arriving, a user beyond the running limit yields to
//! other users, and the wait a smelt is promised is close to the wait it gets.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::multipart::Form;
use serde_json::{json, Value};
use smelt_core::events::EventKind;
use uuid::Uuid;

use crate::audio_support::reading;
use crate::helpers::{
    eventually, file_part, spawn_app, spawn_app_with, speak, AppOptions, TestApp, FINISH_DEADLINE,
};

/// espeak-ng's WAV: 16-bit mono at 22,050 Hz, after a 44-byte header.
fn wav_seconds(wav: &[u8]) -> f64 {
    (wav.len() - 44) as f64 / 44_100.0
}

/// A recording of speech at least `seconds` long: the reading of the long-speech tests
/// (`reading.txt`, about seven minutes of varied prose) from its start: espeak-ng reads it at
/// about 3.1 words a second, so 3.5 words of text a second leave a margin.
fn recording(dir: &Path, seconds: f64) -> Vec<u8> {
    let text = reading(usize::MAX).join(" ");
    let words: Vec<&str> = text.split_whitespace().collect();
    let wanted = (seconds * 3.5).ceil() as usize;
    assert!(wanted <= words.len(), "the reading is long enough");
    let wav = std::fs::read(speak(dir, &words[..wanted].join(" "))).unwrap();
    assert!(
        wav_seconds(&wav) >= seconds,
        "the recording lasts {:.0} s, not {seconds} s",
        wav_seconds(&wav)
    );
    wav
}

async fn create_audio(app: &TestApp, wav: &[u8], name: &str, token: &str) -> Value {
    let form = Form::new().part("files[]", file_part(wav.to_vec(), name, "audio/wav"));
    let response = app.create(form, Some(token)).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

fn id_of(created: &Value) -> Uuid {
    created["id"].as_str().unwrap().parse().unwrap()
}

/// When a worker first took the smelt (`None` while it waits).
async fn started_at(app: &TestApp, created: &Value) -> Option<DateTime<Utc>> {
    sqlx::query_scalar("select started_at from smelt where smelt_id = $1")
        .bind(id_of(created))
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn wait_until_started(app: &TestApp, created: &Value) {
    eventually(FINISH_DEADLINE, "the smelt starts", || async {
        started_at(app, created).await.is_some()
    })
    .await;
}

#[tokio::test]
async fn a_short_clip_queued_behind_three_long_recordings_starts_before_the_second_of_them() {
    let app = spawn_app().await;
    let (a, b) = (app.token_for(Uuid::new_v4()), app.token_for(Uuid::new_v4()));
    let dir = tempfile::tempdir().unwrap();
    let long = recording(dir.path(), 125.0);
    let clip = recording(dir.path(), 8.0);
    assert!(wav_seconds(&clip) < 15.0);

    let a1 = create_audio(&app, &long, "a1.wav", &a).await;
    assert_eq!(a1["lane"], "normal", "over two minutes: the normal lane");
    wait_until_started(&app, &a1).await;
    let a2 = create_audio(&app, &long, "a2.wav", &a).await;
    let a3 = create_audio(&app, &long, "a3.wav", &a).await;
    let b1 = create_audio(&app, &clip, "b1.wav", &b).await;
    assert_eq!(b1["lane"], "fast", "a short clip: the fast lane");
    let (_, first) = app
        .get(&format!("/api/smelts/{}", id_of(&a1)), Some(&a))
        .await;
    assert_ne!(
        first["status"], "completed",
        "the worker is still busy with the first recording when the clip arrives"
    );
    let (_, waiting) = app
        .get(&format!("/api/smelts/{}", id_of(&b1)), Some(&b))
        .await;
    assert_eq!(waiting["lane"], "fast");
    assert_eq!(
        waiting["progress"]["queue_position"], 1,
        "the clip is first in its lane: {waiting}"
    );

    for (created, token) in [(&a1, &a), (&a2, &a), (&a3, &a), (&b1, &b)] {
        app.finish(created, token).await;
    }
    let started = [
        started_at(&app, &a2).await.unwrap(),
        started_at(&app, &b1).await.unwrap(),
    ];
    assert!(
        started[1] < started[0],
        "B's clip started at {} and A's second recording at {}",
        started[1],
        started[0]
    );
}

#[tokio::test]
async fn a_bulk_smelt_completes_while_fast_work_keeps_arriving() {
    let app = spawn_app_with(AppOptions {
        configure: Some(Box::new(|s| s.server.limits.weekly_credits = 500)),
        ..AppOptions::default()
    })
    .await;
    let session = app.sign_up("bulk@example.com").await;
    let token = session["access_token"].as_str().unwrap().to_owned();
    let (status, key) = app
        .post_json(
            "/api/keys",
            json!({"name": "nightly import", "scopes": ["smelts:write", "smelts:read"]}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let key = key["secret"].as_str().unwrap().to_owned();
    let text = "The archive of last year's interviews is processed overnight. Each interview \
        is summarised and filed under its speaker's name for the editors to review.";

    // Nobody asks for the fast lane, and only a service key for bulk.
    for (priority, who) in [("fast", &key), ("bulk", &token), ("urgent", &key)] {
        let form = Form::new()
            .text("text", text)
            .text("priority", priority.to_owned());
        let refused = app.create(form, Some(who)).await;
        assert_eq!(refused.status(), 400, "priority {priority}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_data", "{body}");
    }

    // Fast work first, so that the lane is busy before the bulk smelt arrives.
    let mut fast = Vec::new();
    for i in 0..3 {
        fast.push(
            app.create_text(
                &format!("Memo {i}: call the printer."),
                &["summarize"],
                Some(&token),
            )
            .await,
        );
    }
    let form = Form::new()
        .text("text", text)
        .text("default_prompt_names[]", "summarize")
        .text("priority", "bulk");
    let response = app.create(form, Some(&key)).await;
    assert_eq!(response.status(), 201);
    let bulk: Value = response.json().await.unwrap();
    assert_eq!(bulk["lane"], "bulk");

    // Keep at least three fast smelts waiting until the bulk smelt is done.
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let bulk_id = id_of(&bulk);
    let finished = tokio::time::timeout(FINISH_DEADLINE, async {
        loop {
            tick.tick().await;
            let status: String = sqlx::query_scalar("select status from smelt where smelt_id = $1")
                .bind(bulk_id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
            if status == "completed" {
                return;
            }
            let waiting: i64 = sqlx::query_scalar(
                "select count(*) from smelt where lane = 'fast' and started_at is null",
            )
            .fetch_one(&app.pool)
            .await
            .unwrap();
            for i in waiting..3 {
                assert!(fast.len() < 300, "the bulk smelt never ran");
                fast.push(
                    app.create_text(
                        &format!("Memo {i}: the delivery is late again."),
                        &["summarize"],
                        Some(&token),
                    )
                    .await,
                );
            }
        }
    })
    .await;
    assert!(finished.is_ok(), "the bulk smelt completes");
    let bulk_started = started_at(&app, &bulk).await.unwrap();
    let mut passed_over = 0;
    for created in &fast {
        if started_at(&app, created)
            .await
            .is_none_or(|t| t > bulk_started)
        {
            passed_over += 1;
        }
    }
    assert!(
        passed_over >= 1,
        "fast smelts were still waiting when the bulk smelt started"
    );
}

#[tokio::test]
async fn a_users_next_recordings_wait_while_another_users_recording_runs_when_they_are_at_the_limit(
) {
    let app = spawn_app_with(AppOptions {
        workers: 2,
        configure: Some(Box::new(|s| {
            s.worker.max_running_per_user = 1;
            // Every recording here goes to the normal lane: only fairness decides.
            s.server.http.fast_lane_seconds = 5;
        })),
        ..AppOptions::default()
    })
    .await;
    let (a, b) = (app.token_for(Uuid::new_v4()), app.token_for(Uuid::new_v4()));
    let dir = tempfile::tempdir().unwrap();
    let wav = recording(dir.path(), 45.0);
    let mut mine = Vec::new();
    for i in 0..4 {
        mine.push(create_audio(&app, &wav, &format!("a{i}.wav"), &a).await);
    }
    // Nobody else waits: both workers take A's recordings rather than idle.
    wait_until_started(&app, &mine[0]).await;
    wait_until_started(&app, &mine[1]).await;
    let theirs = create_audio(&app, &wav, "b.wav", &b).await;
    assert_eq!(theirs["lane"], "normal");
    assert!(
        started_at(&app, &mine[2]).await.is_none(),
        "A's third recording still waits when B's arrives"
    );

    for created in &mine {
        app.finish(created, &a).await;
    }
    app.finish(&theirs, &b).await;
    let b_started = started_at(&app, &theirs).await.unwrap();
    for (i, created) in mine.iter().enumerate().skip(2) {
        let started = started_at(&app, created).await.unwrap();
        assert!(
            b_started < started,
            "B's recording started at {b_started}, before A's recording {} at {started}",
            i + 1
        );
    }
}

#[tokio::test]
async fn the_wait_estimated_behind_two_five_minute_recordings_is_within_half_of_the_wait() {
    let app = spawn_app_with(AppOptions {
        configure: Some(Box::new(|s| {
            // The clip waits in the same lane as the recordings ahead of it.
            s.server.http.fast_lane_seconds = 0;
        })),
        ..AppOptions::default()
    })
    .await;
    let token = app.token_for(Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    let five = recording(dir.path(), 300.0);
    let clip = recording(dir.path(), 8.0);

    let first = create_audio(&app, &five, "first.wav", &token).await;
    // Once its transcript reaches well into the audio (transcribing runs from 20 to 70 %), the
    // worker's pace is measured, the model's loading a small share of it.
    let mut socket = app.subscribe(&first).await;
    socket
        .read_until(|e| {
            e.event == EventKind::Progress
                && e.payload["progress"]["percentage"].as_u64().unwrap_or(0) >= 55
        })
        .await;
    let second = create_audio(&app, &five, "second.wav", &token).await;
    let third = create_audio(&app, &clip, "clip.wav", &token).await;
    let asked = Instant::now();
    let (_, waiting) = app
        .get(&format!("/api/smelts/{}", id_of(&third)), Some(&token))
        .await;
    assert_eq!(waiting["lane"], "normal");
    assert_eq!(waiting["progress"]["queue_position"], 2, "{waiting}");
    let estimate = waiting["progress"]["estimated_wait_seconds"]
        .as_f64()
        .unwrap_or_else(|| panic!("an estimate: {waiting}"));

    let mut clip_socket = app.subscribe(&third).await;
    clip_socket
        .read_until(|e| {
            e.event == EventKind::Progress && e.payload["progress"]["stage"] != "pending"
        })
        .await;
    let waited = asked.elapsed().as_secs_f64();
    assert!(
        (estimate - waited).abs() <= 0.5 * waited,
        "estimated {estimate:.0} s, waited {waited:.1} s"
    );
    app.finish(&second, &token).await;
    app.finish(&third, &token).await;
}

#[tokio::test]
async fn a_fast_lane_job_past_its_lanes_timeout_fails_and_its_worker_takes_the_next() {
    // The job deadline would allow minutes, the fast lane two seconds.
    crate::provider_stub::a_stuck_job_fails_and_its_worker_takes_the_next("fast", |s| {
        s.worker.job_deadline_secs = None;
        s.worker.fast_lane_timeout_secs = 2;
    })
    .await;
}
