//! Credits under concurrency, refunds, the weekly reset, own API keys.

use std::sync::Arc;

use chrono::TimeZone;
use futures::future::join_all;
use reqwest::multipart::Form;
use serde_json::json;
use smelt_core::clock::ManualClock;
use uuid::Uuid;

use crate::helpers::{
    captured_logs, file_part, spawn_app_with, spawn_idle_app, AppOptions, TestApp,
};
use crate::provider_stub;

fn text_form() -> Form {
    Form::new().text(
        "text",
        "A short note about the launch. Bob will send the slides on Monday.",
    )
}

async fn credits_left(app: &TestApp, token: &str) -> i64 {
    let (status, profile) = app.get("/api/profile", Some(token)).await;
    assert_eq!(status, 200);
    profile["credits_remaining"].as_i64().unwrap()
}

#[tokio::test]
async fn fifty_concurrent_creates_spend_exactly_five_credits() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let responses = join_all((0..50).map(|_| app.create(text_form(), Some(&token)))).await;
    let mut created = 0;
    let mut refused = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            403 => {
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "weekly_limit");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(
                    message.starts_with("5/5 SMELTS USED THIS WEEK. RESETS IN "),
                    "{message}"
                );
                assert!(
                    message.ends_with(" DAYS. OR ADD YOUR API KEY FOR UNLIMITED"),
                    "{message}"
                );
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((created, refused), (5, 45));
    assert_eq!(credits_left(&app, &token).await, 0);
}

#[tokio::test]
async fn one_address_gets_one_anonymous_smelt_a_day_and_another_address_its_own() {
    let app = spawn_idle_app().await;
    let client = app.client_from("127.0.0.5");
    let attempts = (0..20).map(|_| {
        client
            .post(app.url("/api/smelts"))
            .multipart(text_form())
            .send()
    });
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 403).count(),
        19,
        "{statuses:?}"
    );

    let refused = client
        .post(app.url("/api/smelts"))
        .multipart(text_form())
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "daily_limit");
    assert_eq!(
        body["error"]["message"],
        "DAILY LIMIT HIT. SIGN UP FOR 5/WEEK OR ADD YOUR API KEY FOR UNLIMITED"
    );

    let other = app
        .client_from("127.0.0.6")
        .post(app.url("/api/smelts"))
        .multipart(text_form())
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 201);
    let stored: Vec<String> = sqlx::query_scalar("select ip_hash from anonymous_usage")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|h| h.len() == 64 && !h.contains("127.0.0")),
        "addresses are stored only as HMACs"
    );
}

#[tokio::test]
async fn a_failed_smelt_refunds_its_credit_exactly_once() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let form = Form::new().part(
        "files[]",
        file_part(crate::pipeline::silent_wav(1), "broken.wav", "audio/wav"),
    );
    let created: serde_json::Value = app.create(form, Some(&token)).await.json().await.unwrap();
    // Damaged in storage after it was accepted: only the worker finds out, and fails it.
    app.damage_stored_uploads(&[3u8; 8192]).await;
    assert_eq!(credits_left(&app, &token).await, 4);

    let worker = crate::read::worker(&app).await;
    assert!(matches!(
        worker.try_process_one().await.unwrap(),
        smelt_worker::Outcome::Failed(..)
    ));
    assert_eq!(
        credits_left(&app, &token).await,
        5,
        "the failure gave the credit back"
    );

    // The failure processed again: a redelivered message and a second refund attempt.
    let smelt_id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    sqlx::query("select pgmq.send('smelt_jobs', $1)")
        .bind(json!({"smelt_id": smelt_id}))
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(matches!(
        worker.try_process_one().await.unwrap(),
        smelt_worker::Outcome::Skipped(_)
    ));
    let mut conn = app.pool.acquire().await.unwrap();
    assert!(!smelt_core::db::credits::refund(&mut conn, smelt_id)
        .await
        .unwrap());
    assert_eq!(credits_left(&app, &token).await, 5, "refunded once");
}

#[tokio::test]
async fn weekly_credits_reset_on_monday_at_midnight_utc() {
    let sunday = chrono::Utc
        .with_ymd_and_hms(2026, 11, 22, 23, 59, 0)
        .unwrap();
    let clock = Arc::new(ManualClock::new(sunday));
    let app = spawn_app_with(AppOptions {
        workers: 0,
        clock: Some(clock.clone()),
        ..AppOptions::default()
    })
    .await;
    let token = app.token_for(Uuid::new_v4());
    for _ in 0..5 {
        assert_eq!(app.create(text_form(), Some(&token)).await.status(), 201);
    }
    let refused = app.create(text_form(), Some(&token)).await;
    assert_eq!(refused.status(), 403);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "5/5 SMELTS USED THIS WEEK. RESETS IN 1 DAYS. OR ADD YOUR API KEY FOR UNLIMITED"
    );

    clock.set(
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 23, 59, 59)
            .unwrap(),
    );
    assert_eq!(
        app.create(text_form(), Some(&token)).await.status(),
        403,
        "still Sunday"
    );
    clock.set(chrono::Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap());
    assert_eq!(
        app.create(text_form(), Some(&token)).await.status(),
        201,
        "Monday 00:00 UTC"
    );
    let (_, profile) = app.get("/api/profile", Some(&token)).await;
    assert_eq!(profile["credits_remaining"], 4);
    assert_eq!(profile["credits_reset_at"], "2026-11-30T00:00:00Z");
}

#[tokio::test]
async fn a_valid_own_key_means_unlimited_and_a_rejected_key_is_not_saved() {
    let (_stub, app) = provider_stub::app_with_stub().await;
    let token = app.token_for(Uuid::new_v4());
    let put = |key: &str| {
        app.send_json(
            app.client.put(app.url("/api/profile/api-key")),
            json!({"api_key": key}),
            Some(&token),
        )
    };

    let (status, body) = put("sk-test-WRONGKEY-000000000000").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("api_key_invalid"))
    );
    let (_, profile) = app.get("/api/profile", Some(&token)).await;
    assert_eq!(
        profile["api_key_status"], "none",
        "a rejected key is not saved"
    );

    let (status, profile) = put(provider_stub::GOOD_KEY).await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["api_key_status"], "valid");
    assert_eq!(profile["api_key_last4"], "9z8y");
    for _ in 0..8 {
        assert_eq!(
            app.create(text_form(), Some(&token)).await.status(),
            201,
            "never refused for credits"
        );
    }
    assert_eq!(credits_left(&app, &token).await, 5, "nothing was charged");

    assert_eq!(app.delete("/api/profile/api-key", &token).await, 204);
    assert_eq!(
        app.get("/api/profile", Some(&token)).await.1["api_key_status"],
        "none"
    );
}

#[tokio::test]
async fn secrets_never_appear_in_responses_logs_or_the_database() {
    let (_stub, app) = provider_stub::app_with_stub().await;
    let token = app.token_for(Uuid::new_v4());
    let response = app
        .client
        .put(app.url("/api/profile/api-key"))
        .bearer_auth(&token)
        .json(&json!({"api_key": provider_stub::GOOD_KEY}))
        .send()
        .await
        .unwrap();
    let put_body = response.text().await.unwrap();
    let profile_body = app.get_text("/api/profile", &token).await;
    let secret = &provider_stub::GOOD_KEY[..24];
    assert!(!put_body.contains(secret) && !profile_body.contains(secret));
    assert!(!captured_logs().contains(secret), "the key is not logged");
    // Socket URLs carry subscription tokens; request logs show the path only.
    let created = app
        .create_text("A note to follow.", &[], Some(&token))
        .await;
    let subscription = created["subscription_token"].as_str().unwrap().to_owned();
    app.subscribe(&created)
        .await
        .read_until(|e| e.event == smelt_core::events::EventKind::Snapshot)
        .await;
    assert!(
        !captured_logs().contains(&subscription),
        "subscription tokens are not logged"
    );
    let stored: Vec<u8> = sqlx::query_scalar("select api_key_ciphertext from user_profile")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&stored).contains(secret),
        "the key is encrypted at rest"
    );
}
