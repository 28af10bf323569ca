//! Retention: the cleanup removes exactly the expired anonymous smelts, completed, failed or
//! cancelled (rows, events, blobs),
//! uploads past their retention and old queue archives; a dry run only reports; the same
//! cleanup runs as the `smelt-cleanup` command.

use std::num::NonZeroU32;
use std::process::Command;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use reqwest::multipart::Form;
use serde_json::Value;
use smelt_core::blob;
use smelt_core::queue::JobQueue;
use smelt_core::retention::{self, CleanupReport, RetentionPolicy};
use uuid::Uuid;

use crate::helpers::{
    eventually, file_part, spawn_app, spawn_app_with, spawn_idle_app, speak, AppOptions, TestApp,
};
use crate::processes::cleanup_binary;

fn policy(archive_ttl: TimeDelta) -> RetentionPolicy {
    RetentionPolicy {
        anonymous_ttl: TimeDelta::hours(24),
        upload_ttl: TimeDelta::zero(),
        archive_ttl,
        rate_per_sec: NonZeroU32::new(1000).unwrap(),
    }
}

/// An anonymous text smelt from client address `ip`, followed until it completes.
async fn anonymous_smelt(app: &TestApp, ip: &str) -> Uuid {
    let form = Form::new()
        .text(
            "text",
            "Ship the beta on Friday. Dana writes the release notes.",
        )
        .text("default_prompt_names[]", "summarize");
    let response = app
        .client_from(ip)
        .post(app.url("/api/smelts"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert!(app.follow(&created).await.completed());
    created["id"].as_str().unwrap().parse().unwrap()
}

/// A signed-in user's text smelt, followed until it completes.
async fn user_smelt(app: &TestApp) -> Uuid {
    let token = app.token_for(Uuid::new_v4());
    let created = app
        .create_text("Budget review moved to May.", &["summarize"], Some(&token))
        .await;
    assert!(app.follow(&created).await.completed());
    created["id"].as_str().unwrap().parse().unwrap()
}

async fn age(app: &TestApp, ids: &[Uuid], by: TimeDelta) {
    sqlx::query("update smelt set created_at = created_at - $2 where smelt_id = any($1)")
        .bind(ids)
        .bind(by)
        .execute(&app.pool)
        .await
        .unwrap();
}

async fn count(app: &TestApp, table: &str, id: Uuid) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table} where smelt_id = $1"))
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn blobs_of(app: &TestApp, id: Uuid) -> usize {
    let mut n = 0;
    for prefix in blob::smelt_prefixes(id) {
        n += app.stored_blobs(&prefix).await.len();
    }
    n
}

/// Two expired anonymous smelts, a fresh anonymous one and an old signed-in one.
struct Scene {
    expired: Vec<Uuid>,
    kept: Vec<Uuid>,
}

async fn scene(app: &TestApp) -> Scene {
    let expired = vec![
        anonymous_smelt(app, "127.0.0.21").await,
        anonymous_smelt(app, "127.0.0.22").await,
    ];
    let fresh = anonymous_smelt(app, "127.0.0.23").await;
    let signed_in = user_smelt(app).await;
    age(app, &expired, TimeDelta::hours(25)).await;
    age(app, &[signed_in], TimeDelta::days(30)).await;
    // The worker archives each job just after its smelt's last event: wait for all four, so
    // that a dry run and the run after it see the same archive.
    crate::helpers::eventually(
        std::time::Duration::from_secs(30),
        "every job is archived",
        || async { app.archived_jobs().await == 4 },
    )
    .await;
    Scene {
        expired,
        kept: vec![fresh, signed_in],
    }
}

async fn run(app: &TestApp, policy: &RetentionPolicy, dry_run: bool) -> CleanupReport {
    let queue = JobQueue::new(app.pool.clone()).await;
    retention::run(
        &app.pool,
        app.blobs.as_ref(),
        &queue,
        policy,
        Utc::now(),
        dry_run,
    )
    .await
    .expect("the cleanup runs")
}

#[tokio::test]
async fn a_dry_run_deletes_nothing_and_reports_what_it_would_delete() {
    let app = spawn_app().await;
    let scene = scene(&app).await;
    let all: Vec<Uuid> = scene.expired.iter().chain(&scene.kept).copied().collect();
    let mut events_before = Vec::new();
    for id in &all {
        events_before.push((
            count(&app, "smelt_event", *id).await,
            blobs_of(&app, *id).await,
        ));
    }

    let report = run(&app, &policy(TimeDelta::zero()), true).await;

    assert!(report.dry_run);
    let mut reported = report.anonymous_smelts.clone();
    reported.sort();
    let mut expected = scene.expired.clone();
    expected.sort();
    assert_eq!(reported, expected, "exactly the expired anonymous smelts");
    let expired_events: i64 = events_before[..2].iter().map(|(e, _)| e).sum();
    assert_eq!(report.events, expired_events as u64);
    assert_eq!(report.smelt_blobs, 2, "one result document each");
    assert_eq!(
        report.archived_messages, 4,
        "every acknowledged job is in the archive"
    );

    for (id, before) in all.iter().zip(&events_before) {
        assert_eq!(
            count(&app, "smelt", *id).await,
            1,
            "the smelt is still there"
        );
        assert_eq!(
            (
                count(&app, "smelt_event", *id).await,
                blobs_of(&app, *id).await
            ),
            *before
        );
    }
    assert_eq!(app.archived_jobs().await, 4, "the archive is untouched");
}

#[tokio::test]
async fn a_cleanup_deletes_exactly_the_expired_items() {
    let app = spawn_app().await;
    let scene = scene(&app).await;
    let policy = policy(TimeDelta::zero());
    let preview = run(&app, &policy, true).await;

    let report = run(&app, &policy, false).await;

    assert!(!report.dry_run);
    let mut deleted = report.anonymous_smelts.clone();
    deleted.sort();
    let mut expected = scene.expired.clone();
    expected.sort();
    assert_eq!(deleted, expected);
    assert_eq!(
        (report.events, report.smelt_blobs, report.archived_messages),
        (
            preview.events,
            preview.smelt_blobs,
            preview.archived_messages
        ),
        "the run deletes what the dry run announced"
    );
    for id in &scene.expired {
        for table in ["smelt", "smelt_file", "smelt_result", "smelt_event"] {
            assert_eq!(
                count(&app, table, *id).await,
                0,
                "{table} of an expired smelt"
            );
        }
        assert_eq!(blobs_of(&app, *id).await, 0, "blobs of an expired smelt");
    }
    for id in &scene.kept {
        assert_eq!(count(&app, "smelt", *id).await, 1, "a kept smelt stays");
        assert!(count(&app, "smelt_event", *id).await > 0, "with its events");
        assert_eq!(blobs_of(&app, *id).await, 1, "and its document");
    }
    assert_eq!(
        app.archived_jobs().await,
        0,
        "old archive messages are pruned"
    );

    let again = run(&app, &policy, false).await;
    assert!(
        again.anonymous_smelts.is_empty(),
        "nothing is left to delete"
    );
}

#[tokio::test]
async fn a_cancelled_anonymous_smelt_past_its_retention_is_deleted_with_its_events_and_blobs() {
    let app = spawn_idle_app().await;
    let form = Form::new().text("text", "Cancel this before it starts.");
    let created: Value = app
        .client_from("127.0.0.24")
        .post(app.url("/api/smelts"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let token = created["subscription_token"].as_str().unwrap();
    let cancelled = app
        .client
        .post(app.url(&format!("/api/smelts/{id}/cancel?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    // A document a running delivery wrote just before it stopped.
    let left_over = blob::result_key(id, Uuid::new_v4());
    app.blobs
        .put(&left_over, blob::once("# Notes"))
        .await
        .unwrap();
    let events = count(&app, "smelt_event", id).await;
    assert!(events > 0, "the cancellation is in the event log");
    age(&app, &[id], TimeDelta::hours(25)).await;

    let report = run(&app, &policy(TimeDelta::days(7)), false).await;

    assert_eq!(report.anonymous_smelts, vec![id]);
    assert_eq!(report.events, events as u64);
    assert_eq!(report.smelt_blobs, 1);
    for table in ["smelt", "smelt_file", "smelt_event"] {
        assert_eq!(
            count(&app, table, id).await,
            0,
            "{table} of the cancelled smelt"
        );
    }
    assert_eq!(blobs_of(&app, id).await, 0, "its blobs");
}

#[tokio::test]
async fn uploads_are_kept_for_their_retention_then_deleted() {
    let app = spawn_app_with(AppOptions {
        configure: Some(Box::new(|s| s.retention.upload_retention_hours = 1)),
        ..AppOptions::default()
    })
    .await;
    let token = app.token_for(Uuid::new_v4());
    let wav = speak(app.data_dir.path(), "Remember to water the plants.");
    let form = Form::new().part(
        "files[]",
        file_part(std::fs::read(&wav).unwrap(), "plants.wav", "audio/wav"),
    );
    let created: Value = app.create(form, Some(&token)).await.json().await.unwrap();
    let smelt = app.finish(&created, &token).await;
    let id = smelt["id"].as_str().unwrap();
    assert_eq!(app.stored_uploads().await, 1, "kept after completion");

    let policy = RetentionPolicy::from_settings(&app.settings.retention);
    let queue = JobQueue::new(app.pool.clone()).await;
    let now = Utc::now();
    let early = retention::run(&app.pool, app.blobs.as_ref(), &queue, &policy, now, false)
        .await
        .unwrap();
    assert_eq!(early.expired_uploads, 0);
    assert_eq!(app.stored_uploads().await, 1, "still within its retention");

    let later = now + TimeDelta::hours(2);
    let report = retention::run(&app.pool, app.blobs.as_ref(), &queue, &policy, later, false)
        .await
        .unwrap();
    assert_eq!(report.expired_uploads, 1);
    assert_eq!(app.stored_uploads().await, 0, "deleted after its retention");
    let (status, after) = app.get(&format!("/api/smelts/{id}"), Some(&token)).await;
    assert_eq!(status, 200, "the smelt itself stays");
    assert_eq!(
        after["results"][0]["content"], smelt["results"][0]["content"],
        "with its results"
    );
}

#[tokio::test]
async fn the_cleanup_command_reports_json_and_honours_dry_run() {
    let app = spawn_app().await;
    let expired = anonymous_smelt(&app, "127.0.0.31").await;
    age(&app, &[expired], TimeDelta::days(2)).await;

    let run_command = |dry_run: bool| {
        let mut command = Command::new(cleanup_binary());
        command
            .env("DATABASE_URL", &app.settings.server.database.database_url)
            .env("SMELT_DATA_DIR", app.data_dir.path())
            .env("RUST_LOG", "warn");
        if dry_run {
            command.arg("--dry-run");
        }
        let output = command.output().expect("smelt-cleanup runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).expect("stdout is the JSON report")
    };

    let preview = run_command(true);
    assert_eq!(preview["dry_run"], true);
    assert_eq!(preview["anonymous_smelts"], serde_json::json!([expired]));
    assert_eq!(count(&app, "smelt", expired).await, 1);

    let report = run_command(false);
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["anonymous_smelts"], serde_json::json!([expired]));
    assert_eq!(report["smelt_blobs"], 1);
    assert_eq!(count(&app, "smelt", expired).await, 0);
    assert_eq!(blobs_of(&app, expired).await, 0);
}

#[tokio::test]
async fn an_idle_worker_runs_the_cleanup_periodically() {
    let app = spawn_app_with(AppOptions {
        configure: Some(Box::new(|s| s.retention.cleanup_interval_secs = 1)),
        ..AppOptions::default()
    })
    .await;
    let expired = anonymous_smelt(&app, "127.0.0.41").await;
    let fresh = anonymous_smelt(&app, "127.0.0.42").await;
    assert_eq!(blobs_of(&app, expired).await, 1, "its result document");
    age(&app, &[expired], TimeDelta::hours(25)).await;

    eventually(
        Duration::from_secs(30),
        "the worker deletes the expired smelt",
        || async { count(&app, "smelt", expired).await == 0 },
    )
    .await;
    assert_eq!(count(&app, "smelt_event", expired).await, 0);
    assert_eq!(blobs_of(&app, expired).await, 0);
    assert_eq!(count(&app, "smelt", fresh).await, 1, "the fresh one stays");
}
