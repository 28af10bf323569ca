//! Hosted engines over the OpenAI protocol (an in-process stub provider): each provider
//! outcome ends in the right state and code after the right number of attempts.

use std::sync::Arc;

use reqwest::multipart::Form;
use serde_json::{json, Value};
use smelt_core::domain::ErrorCode;
use smelt_worker::{Outcome, Worker};
use uuid::Uuid;

use crate::helpers::{file_part, speak, TestApp};
use crate::provider_stub::{self, GOOD_KEY, STUB_TRANSCRIPT};

async fn worker(app: &TestApp) -> Worker {
    let mut settings = app.settings.worker_settings();
    settings.hosted.provider_max_attempts = 3;
    settings.hosted.provider_retry_base_ms = 10;
    // A provider that stays down is retried on later deliveries; with one delivery its
    // failure is final at once.
    settings.worker.max_deliveries = 1;
    let blobs = Arc::new(smelt_core::blob::FsBlobStore::new(
        app.data_dir.path().join("blobs"),
    ));
    Worker::new(app.pool.clone(), Arc::new(settings), blobs)
        .await
        .unwrap()
}

/// A user whose own key is saved (valid at the time), with a summarize text smelt queued.
async fn user_with_key(app: &TestApp, key: &str) -> (String, Value) {
    let token = app.token_for(Uuid::new_v4());
    let (status, body) = app
        .send_json(
            app.client.put(app.url("/api/profile/api-key")),
            json!({"api_key": key}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let created = app
        .create_text(
            "Alice will send the report on Friday. Bob agreed.",
            &["summarize"],
            Some(&token),
        )
        .await;
    (token, created)
}

#[tokio::test]
async fn each_provider_outcome_ends_in_its_state_after_the_right_number_of_attempts() {
    let (stub, app) = provider_stub::app_with_stub().await;
    let w = worker(&app).await;
    let cases: [(&str, Option<ErrorCode>, usize); 6] = [
        (GOOD_KEY, None, 1),
        (
            "sk-test-revoked-0000000000",
            Some(ErrorCode::ApiKeyInvalid),
            1,
        ),
        (
            "sk-test-ratelimit-00000000",
            Some(ErrorCode::ApiRateLimited),
            3,
        ),
        (
            "sk-test-quota-000000000000",
            Some(ErrorCode::ApiQuotaExhausted),
            1,
        ),
        ("sk-test-flaky-000000000000", None, 2),
        (
            "sk-test-down-0000000000000",
            Some(ErrorCode::SynthesisFailed),
            3,
        ),
    ];
    for (key, expected, attempts) in cases {
        let (token, created) = user_with_key(&app, key).await;
        let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
        let outcome = w.try_process_one().await.unwrap();
        match expected {
            None => assert_eq!(outcome, Outcome::Completed(id), "{key}"),
            Some(code) => assert_eq!(outcome, Outcome::Failed(id, code), "{key}"),
        }
        assert_eq!(stub.calls(key), attempts, "{key}: provider calls");
        let (_, smelt) = app.get(&format!("/api/smelts/{id}"), Some(&token)).await;
        let (_, profile) = app.get("/api/profile", Some(&token)).await;
        assert_eq!(
            profile["credits_remaining"], 5,
            "{key}: an own key never costs a credit"
        );
        match expected {
            None => {
                assert!(
                    smelt["results"][0]["content"]
                        .as_str()
                        .unwrap()
                        .starts_with("# Summary"),
                    "{smelt}"
                );
                let engine: String =
                    sqlx::query_scalar("select engine from smelt_result where smelt_id = $1")
                        .bind(id)
                        .fetch_one(&app.pool)
                        .await
                        .unwrap();
                assert_eq!(
                    engine, "hosted:own-key:gpt-4o-mini",
                    "the result records its engine"
                );
            }
            Some(ErrorCode::ApiKeyInvalid) => {
                assert_eq!(smelt["error_message"], "API KEY INVALID");
                assert_eq!(
                    profile["api_key_status"], "invalid",
                    "the profile learns the key is invalid"
                );
            }
            Some(ErrorCode::ApiRateLimited) => assert_eq!(
                smelt["error_message"],
                "RATE LIMITED. TRY AGAIN IN 1 SECONDS"
            ),
            Some(ErrorCode::ApiQuotaExhausted) => {
                assert_eq!(smelt["error_message"], "API QUOTA EXHAUSTED")
            }
            Some(_) => assert_eq!(smelt["error_message"], "PROCESSING FAILED. TRY AGAIN"),
        }
    }
}

#[tokio::test]
async fn audio_with_an_own_key_is_transcribed_by_the_provider() {
    let (stub, app) = provider_stub::app_with_stub().await;
    let token = app.token_for(Uuid::new_v4());
    let (status, _) = app
        .send_json(
            app.client.put(app.url("/api/profile/api-key")),
            json!({"api_key": GOOD_KEY}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().unwrap();
    let wav = std::fs::read(speak(dir.path(), "A short recording for the hosted engine")).unwrap();
    let created: Value = app
        .create(
            Form::new().part("files[]", file_part(wav, "memo.wav", "audio/wav")),
            Some(&token),
        )
        .await
        .json()
        .await
        .unwrap();
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        worker(&app).await.try_process_one().await.unwrap(),
        Outcome::Completed(id)
    );
    let (_, smelt) = app.get(&format!("/api/smelts/{id}"), Some(&token)).await;
    let content = smelt["results"][0]["content"].as_str().unwrap();
    assert!(content.contains(STUB_TRANSCRIPT), "{content}");
    assert_eq!(
        stub.calls(GOOD_KEY),
        1,
        "one transcription request, no synthesis call for a transcript"
    );
}
