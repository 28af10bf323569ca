//! Completion webhooks: signed, retried from the durable queue until accepted, logged, and
//! only ever sent to addresses the operator allows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::helpers::{eventually, spawn_app_with, AppOptions, TestApp};

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: i64,
    signature: String,
    body: Vec<u8>,
}

/// A webhook receiver on a loopback port that answers 500 to its first `failures` POSTs and
/// 204 after.
#[derive(Clone)]
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(failures: usize) -> Receiver {
        #[derive(Clone)]
        struct Shared {
            received: Arc<Mutex<Vec<Received>>>,
            failures_left: Arc<AtomicUsize>,
        }
        async fn hook(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
            let header = |name: &str| {
                headers
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default()
            };
            shared.received.lock().unwrap().push(Received {
                id: header("webhook-id"),
                timestamp: header("webhook-timestamp").parse().unwrap_or(0),
                signature: header("webhook-signature"),
                body: body.to_vec(),
            });
            let failing = shared
                .failures_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if failing {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::NO_CONTENT
            }
        }
        let shared = Shared {
            received: Arc::new(Mutex::new(Vec::new())),
            failures_left: Arc::new(AtomicUsize::new(failures)),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url,
            received: shared.received,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn app_allowing_loopback_receivers() -> TestApp {
    spawn_app_with(AppOptions {
        configure: Some(Box::new(|s| {
            s.server.webhooks.webhook_allowed_hosts = vec!["127.0.0.1".into()];
            s.server.webhooks.webhook_retry_base_ms = 50;
        })),
        ..AppOptions::default()
    })
    .await
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_one_accepted_signed_delivery_with_one_idempotency_id() {
    let receiver = Receiver::start(2).await;
    let app = app_allowing_loopback_receivers().await;
    let session = app.sign_up("hooks@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let (status, webhook) = app
        .post_json("/api/webhooks", json!({"url": receiver.url}), Some(token))
        .await;
    assert_eq!(status, 201, "{webhook}");
    let secret = webhook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));

    let created = app
        .create_text(
            "Webhooks tell other programs a smelt is done.",
            &[],
            Some(token),
        )
        .await;
    let smelt_id = created["id"].as_str().unwrap().to_owned();
    let webhook_id = webhook["id"].as_str().unwrap().to_owned();
    let log_path = format!("/api/webhooks/{webhook_id}/deliveries");
    eventually(Duration::from_secs(60), "the delivery is accepted", || {
        let app = &app;
        let log_path = &log_path;
        async move {
            let (_, log) = app.get(log_path, Some(token)).await;
            log["deliveries"][0]["status"] == "delivered"
        }
    })
    .await;

    let attempts = receiver.received();
    assert_eq!(attempts.len(), 3, "two failures, then the accepted one");
    let (_, log) = app.get(&log_path, Some(token)).await;
    let deliveries = log["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "one delivery per smelt: {log}");
    assert_eq!(deliveries[0]["attempts"], 3);
    assert_eq!(deliveries[0]["smelt_id"], smelt_id.as_str());
    assert_eq!(deliveries[0]["event"], "completed");
    let delivery_id = deliveries[0]["id"].as_str().unwrap();
    for attempt in &attempts {
        assert_eq!(
            attempt.id, delivery_id,
            "the same webhook-id on every attempt"
        );
        assert!(
            smelt_core::webhooks::verify(
                &secret,
                &attempt.id,
                attempt.timestamp,
                &attempt.body,
                &attempt.signature
            ),
            "a valid signature: {attempt:?}"
        );
        let body: Value = serde_json::from_slice(&attempt.body).unwrap();
        assert_eq!(body["event"], "completed");
        assert_eq!(body["payload"]["smelt_id"], smelt_id.as_str());
    }
    // Nothing is left to retry: the accepted delivery is the last.
    let queued: i64 = sqlx::query_scalar("select count(*) from pgmq.q_smelt_webhooks")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0);
}

#[tokio::test]
async fn a_receiver_on_a_private_address_is_refused_unless_allowed() {
    let receiver = Receiver::start(0).await;
    let app = spawn_app_with(AppOptions::default()).await;
    let session = app.sign_up("private@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let refusals = [
        receiver.url.clone(),
        "http://10.0.0.1/hook".to_owned(),
        "https://169.254.169.254/latest".to_owned(),
        "https://[::1]/hook".to_owned(),
        "http://example.com/hook".to_owned(),
    ];
    let mut messages = Vec::new();
    for url in refusals {
        let (status, body) = app
            .post_json("/api/webhooks", json!({"url": url}), Some(token))
            .await;
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["error"]["code"], "webhook_url_not_allowed");
        messages.push(body["error"]["message"].clone());
    }
    assert!(
        messages.windows(2).all(|w| w[0] == w[1]),
        "one message for every refusal"
    );
    assert!(receiver.received().is_empty());

    let allowed = app_allowing_loopback_receivers().await;
    let session = allowed.sign_up("allowed@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let (status, body) = allowed
        .post_json("/api/webhooks", json!({"url": receiver.url}), Some(token))
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_key_needs_the_webhooks_scope_to_manage_webhooks() {
    let app = app_allowing_loopback_receivers().await;
    let session = app.sign_up("scoped@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let (_, plain) = app
        .post_json("/api/keys", json!({"name": "plain"}), Some(token))
        .await;
    let (_, hooks) = app
        .post_json(
            "/api/keys",
            json!({"name": "hooks", "scopes": ["webhooks"]}),
            Some(token),
        )
        .await;
    let (status, body) = app
        .get("/api/webhooks", Some(plain["secret"].as_str().unwrap()))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
    let (status, body) = app
        .get("/api/webhooks", Some(hooks["secret"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200, "{body}");
}
