//! The pipeline at production strength: dead letters, combine mode, over-long audio, and a
//! worker killed in the middle of a job.

use std::io::Write;
use std::sync::Arc;

use reqwest::multipart::Form;
use serde_json::Value;
use smelt_core::domain::ErrorCode;
use smelt_core::events::EventKind;
use smelt_worker::{Outcome, Worker};
use uuid::Uuid;

use crate::helpers::{
    assert_progress_is_monotonic, file_part, spawn_app, spawn_app_with, spawn_idle_app, speak,
    word_recall, AppOptions,
};
use crate::processes::start_worker;

#[tokio::test]
async fn a_job_that_fails_every_delivery_is_dead_lettered_and_refunded() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let form = Form::new().part("files[]", file_part(silent_wav(1), "a.wav", "audio/wav"));
    let created: Value = app.create(form, Some(&token)).await.json().await.unwrap();
    let mut settings = app.settings.worker_settings();
    settings.worker.max_deliveries = 3;
    settings.worker.retry_base_ms = 0;
    // A store whose root is a file: every read fails with an I/O error, a transient failure.
    let broken_root = app.data_dir.path().join("not-a-directory");
    std::fs::File::create(&broken_root)
        .unwrap()
        .write_all(b"x")
        .unwrap();
    let blobs = Arc::new(smelt_core::blob::FsBlobStore::new(&broken_root));
    let worker = Worker::new(app.pool.clone(), Arc::new(settings), blobs)
        .await
        .unwrap();

    let mut outcomes = Vec::new();
    loop {
        let outcome = worker.try_process_one().await.unwrap();
        let done = !matches!(outcome, Outcome::Retry(_));
        outcomes.push(outcome);
        if done {
            break;
        }
    }
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        outcomes,
        vec![
            Outcome::Retry(id),
            Outcome::Retry(id),
            Outcome::Failed(id, ErrorCode::InternalError)
        ]
    );
    let dead: i64 = sqlx::query_scalar("select count(*) from pgmq.q_smelt_jobs_dlq")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(dead, 1, "the message is in the dead-letter queue");
    let (_, smelt) = app.get(&format!("/api/smelts/{id}"), Some(&token)).await;
    assert_eq!(
        (smelt["status"].as_str(), smelt["error_code"].as_str()),
        (Some("failed"), Some("internal_error"))
    );
    assert_eq!(
        app.get("/api/profile", Some(&token)).await.1["credits_remaining"],
        5,
        "refunded"
    );
    assert_eq!(
        worker.try_process_one().await.unwrap(),
        Outcome::Idle,
        "nothing left to redeliver"
    );
}

#[tokio::test]
async fn combine_mode_gives_one_result_over_three_spoken_files_in_order() {
    let app = spawn_app().await;
    let token = app.token_for(Uuid::new_v4());
    let sentences = [
        "The first recording talks about the marketing budget for the spring campaign",
        "The second recording covers hiring two engineers for the platform team",
        "The third recording is about moving the launch date to early September",
    ];
    let mut form = Form::new().text("mode", "combine");
    for (i, sentence) in sentences.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let wav = std::fs::read(speak(dir.path(), sentence)).unwrap();
        form = form.part(
            "files[]",
            file_part(wav, &format!("part{}.wav", i + 1), "audio/wav"),
        );
    }
    let response = app.create(form, Some(&token)).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let got = app.follow(&created).await;

    assert_progress_is_monotonic(&got.events[1..]);
    let done = got.last();
    assert_eq!(done.event, EventKind::Completed);
    let results = done.payload["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "one combined result");
    assert_eq!(results[0]["file_id"], Value::Null);
    assert_eq!(
        results[0]["filename"],
        "Combined: part1.wav + part2.wav + part3.wav"
    );
    let content = results[0]["content"].as_str().unwrap().to_lowercase();
    for sentence in sentences {
        assert!(
            word_recall(sentence, &content) >= 0.7,
            "{sentence:?} in {content}"
        );
    }
    let at = |word: &str| {
        content
            .find(word)
            .unwrap_or_else(|| panic!("{word} in {content}"))
    };
    assert!(
        at("marketing") < at("engineers") && at("engineers") < at("september"),
        "in file order"
    );
}

/// A real WAV of `seconds` of 8 kHz, 8-bit, mono silence (8,000 bytes per second).
pub fn silent_wav(seconds: u32) -> Vec<u8> {
    let data_len = seconds * 8000;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&8000u32.to_le_bytes()); // sample rate
    wav.extend_from_slice(&8000u32.to_le_bytes()); // byte rate
    wav.extend_from_slice(&1u16.to_le_bytes()); // block align
    wav.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.resize(44 + data_len as usize, 128); // 8-bit PCM silence is 128
    wav
}

#[tokio::test]
async fn audio_longer_than_the_workers_limit_fails_without_being_transcribed() {
    // The upload's own check allows an hour here, so the worker's check is the one that acts.
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| s.server.limits.max_duration_minutes = 60)),
        ..AppOptions::default()
    })
    .await;
    let form = Form::new().part(
        "files[]",
        file_part(silent_wav(31 * 60), "long.wav", "audio/wav"),
    );
    let response = app.create(form, None).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let mut socket = app.subscribe(&created).await;
    socket.read_until(|e| e.event == EventKind::Snapshot).await;
    let mut settings = app.settings.worker_settings();
    settings.limits.max_duration_minutes = 30;
    let worker = Worker::new(app.pool.clone(), Arc::new(settings), app.blobs.clone())
        .await
        .unwrap();
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        worker.try_process_one().await.unwrap(),
        Outcome::Failed(id, ErrorCode::DurationExceeded)
    );
    let got = socket.collect().await;

    let failed = got.last();
    assert_eq!(failed.event, EventKind::Failed);
    assert_eq!(failed.payload["error_code"], "duration_exceeded");
    assert_eq!(
        failed.payload["error_message"],
        "AUDIO TOO LONG. MAX 30 MINUTES"
    );
    let stages: Vec<&str> = got
        .of(EventKind::Progress)
        .iter()
        .map(|e| e.payload["progress"]["stage"].as_str().unwrap())
        .collect();
    assert!(
        !stages.contains(&"transcribing"),
        "never transcribed: {stages:?}"
    );
    assert_progress_is_monotonic(&got.events);
}

#[tokio::test]
async fn a_worker_killed_during_transcription_is_replaced_and_the_smelt_completes_once() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    let speech =
        "We reviewed the quarterly plan in detail and agreed on the next steps for the team. "
            .repeat(6);
    let wav = std::fs::read(speak(dir.path(), &speech)).unwrap();
    let form = Form::new().part("files[]", file_part(wav, "long-meeting.wav", "audio/wav"));
    let created: Value = app.create(form, Some(&token)).await.json().await.unwrap();
    let mut socket = app.subscribe(&created).await;
    let data_dir = app.data_dir.path();

    let mut first = start_worker(&app.settings.server.database.database_url, data_dir, 3);
    let before = socket
        .read_until(|e| {
            e.event == EventKind::Progress && e.payload["progress"]["stage"] == "transcribing"
        })
        .await;
    first.kill().unwrap();
    first.wait().unwrap();
    let mut second = start_worker(&app.settings.server.database.database_url, data_dir, 3);
    let rest = socket.collect().await;
    second.kill().unwrap();
    second.wait().unwrap();

    let events: Vec<_> = before.into_iter().chain(rest.events).collect();
    assert_eq!(events.last().unwrap().event, EventKind::Completed);
    assert_eq!(rest.close_code, Some(1000));
    assert_progress_is_monotonic(&events[1..]);
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let results: i64 = sqlx::query_scalar("select count(*) from smelt_result where smelt_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(results, 1, "exactly one set of results");
    // The second worker may not have acknowledged yet when it was stopped.
    let deliveries: i32 = sqlx::query_scalar(
        "select read_ct from pgmq.a_smelt_jobs_fast union all select read_ct from pgmq.q_smelt_jobs_fast
         union all select read_ct from pgmq.a_smelt_jobs union all select read_ct from pgmq.q_smelt_jobs",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(deliveries >= 2, "the job was redelivered ({deliveries})");
    assert_eq!(
        app.get("/api/profile", Some(&token)).await.1["credits_remaining"],
        4,
        "charged once"
    );
}

#[tokio::test]
async fn a_smelt_deleted_while_running_stops_at_the_next_progress_step() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    let speech =
        "This recording keeps going so that there is time to delete it while it runs. ".repeat(5);
    let wav = std::fs::read(speak(dir.path(), &speech)).unwrap();
    let form = Form::new().part("files[]", file_part(wav, "deleted.wav", "audio/wav"));
    let created: Value = app.create(form, Some(&token)).await.json().await.unwrap();
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let mut socket = app.subscribe(&created).await;
    let worker = crate::read::worker(&app).await;
    let job = tokio::spawn(async move { worker.try_process_one().await.unwrap() });

    socket
        .read_until(|e| {
            e.event == EventKind::Progress && e.payload["progress"]["stage"] == "transcribing"
        })
        .await;
    sqlx::query("delete from smelt where smelt_id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();

    assert_eq!(
        job.await.unwrap(),
        Outcome::Skipped(id),
        "the job stops and is acknowledged"
    );
    assert_eq!(app.queued_jobs().await, 0, "nothing is left to redeliver");
    assert_eq!(app.stored_uploads().await, 0, "the upload is deleted");
}
