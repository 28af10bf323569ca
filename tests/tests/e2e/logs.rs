//! Logs: lines about a smelt carry its id, and secrets are redacted whatever code logs them
//! (the capture here writes through the same redacting writer as the binaries).

use serde_json::json;
use smelt_core::events::EventKind;
use uuid::Uuid;

use crate::helpers::{captured_logs, spawn_app};

#[tokio::test]
async fn secrets_are_redacted_whatever_logs_them() {
    let app = spawn_app().await;
    let token = app.token_for(Uuid::new_v4());
    let created = app
        .create_text("Renew the domain before March.", &[], Some(&token))
        .await;
    let subscription = created["subscription_token"].as_str().unwrap().to_owned();
    let smelt = app.finish(&created, &token).await;
    let download = smelt["results"][0]["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let signature = download.split("sig=").nth(1).unwrap().to_owned();
    let password = "correct horse battery staple";
    let api_key = "sk-test-0123456789abcdefghij";

    // Code that logs carelessly: a URL with its signature, a body with a password and a key,
    // an authorization header.
    let body = json!({"email": "a@example.com", "password": password, "api_key": api_key});
    tracing::warn!(url = %app.url(&download), %body, "careless line");
    tracing::warn!("authorization: Bearer {subscription}");

    let logs = captured_logs();
    assert!(logs.contains("careless line"), "the lines were captured");
    for secret in [subscription.as_str(), &signature, password, api_key, &token] {
        assert!(!logs.contains(secret), "{secret} is redacted");
    }
}

#[tokio::test]
async fn every_line_about_a_smelt_carries_its_id() {
    let app = spawn_app().await;
    let token = app.token_for(Uuid::new_v4());
    let created = app
        .create_text("Order more coffee filters.", &[], Some(&token))
        .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.follow(&created).await.last().event,
        EventKind::Completed
    );
    app.get(&format!("/api/smelts/{id}"), Some(&token)).await;

    let logs = captured_logs();
    let tagged = |needle: &str| {
        logs.lines()
            .any(|l| l.contains(needle) && l.contains(&format!("smelt_id={id}")))
    };
    assert!(
        tagged("POST") || tagged("path=/api/smelts"),
        "the create request"
    );
    assert!(
        tagged(&format!("path=/api/smelts/{id}")),
        "the read and the socket"
    );
    assert!(tagged("smelt completed"), "the worker's lines");
}
