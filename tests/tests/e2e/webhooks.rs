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
/// 204 after — or, as a tarpit, holds every POST unanswered until released.
#[derive(Clone)]
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    release: Arc<tokio::sync::Notify>,
}

impl Receiver {
    async fn start(failures: usize) -> Receiver {
        Self::start_with(failures, false).await
    }

    /// A receiver that answers nothing until [`Receiver::release`].
    async fn tarpit() -> Receiver {
        Self::start_with(0, true).await
    }

    fn release(&self) {
        self.release.notify_waiters();
    }

    async fn start_with(failures: usize, tarpit: bool) -> Receiver {
        #[derive(Clone)]
        struct Shared {
            received: Arc<Mutex<Vec<Received>>>,
            failures_left: Arc<AtomicUsize>,
            tarpit: bool,
            release: Arc<tokio::sync::Notify>,
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
            if shared.tarpit {
                shared.release.notified().await;
            }
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
            tarpit,
            release: Arc::new(tokio::sync::Notify::new()),
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
            release: shared.release,
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
        assert_eq!(body["type"], "smelt.completed");
        assert_eq!(body["data"]["smelt_id"], smelt_id.as_str());
        assert_eq!(body["data"]["status"], "completed");
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

#[tokio::test]
async fn a_receiver_registered_with_a_webhooks_only_key_gets_no_transcript_or_notes() {
    let receiver = Receiver::start(0).await;
    let app = app_allowing_loopback_receivers().await;
    let session = app.sign_up("thin@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let (_, hooks_key) = app
        .post_json(
            "/api/keys",
            json!({"name": "hooks only", "scopes": ["webhooks"]}),
            Some(token),
        )
        .await;
    let hooks_key = hooks_key["secret"].as_str().unwrap();
    let (status, _) = app
        .post_json(
            "/api/webhooks",
            json!({"url": receiver.url}),
            Some(hooks_key),
        )
        .await;
    assert_eq!(status, 201);
    let words = "Marmalade budgets approved; Quentin ships the zeppelin on Thursday.";
    let created = app.create_text(words, &["summarize"], Some(token)).await;
    let id = created["id"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(60), "the delivery arrives", || async {
        !receiver.received().is_empty()
    })
    .await;
    let delivery = &receiver.received()[0];
    let text = String::from_utf8(delivery.body.clone()).unwrap();
    for word in ["Marmalade", "Quentin", "zeppelin", "Thursday"] {
        assert!(
            !text.contains(word),
            "{word} leaked into the delivery: {text}"
        );
    }
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["type"], "smelt.completed");
    assert_eq!(body["data"]["smelt_id"], id.as_str());
    assert_eq!(body["data"]["links"]["smelt"], format!("/api/smelts/{id}"));
    // Reading the content the links point to takes `smelts:read`, which this key lacks.
    let (status, answer) = app
        .get(
            body["data"]["links"]["smelt"].as_str().unwrap(),
            Some(hooks_key),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
}

#[tokio::test]
async fn one_users_tarpit_receivers_do_not_hold_up_another_users_delivery() {
    let tarpit = Receiver::tarpit().await;
    let prompt = Receiver::start(0).await;
    let app = spawn_app_with(AppOptions {
        configure: Some(Box::new(|s| {
            s.server.webhooks.webhook_allowed_hosts = vec!["127.0.0.1".into()];
            // Far longer than the test: A's attempts stay in flight throughout.
            s.server.webhooks.webhook_timeout_secs = 300;
            s.server.limits.weekly_credits = 100;
        })),
        ..AppOptions::default()
    })
    .await;
    let a = app.sign_up("tarpit-owner@example.com").await;
    let a = a["access_token"].as_str().unwrap();
    let b = app.sign_up("bystander@example.com").await;
    let b = b["access_token"].as_str().unwrap();
    for _ in 0..3 {
        let (status, _) = app
            .post_json("/api/webhooks", json!({"url": tarpit.url}), Some(a))
            .await;
        assert_eq!(status, 201);
    }
    let (status, _) = app
        .post_json("/api/webhooks", json!({"url": prompt.url}), Some(b))
        .await;
    assert_eq!(status, 201);
    // Six of A's smelts: eighteen deliveries, more than every slot of the dispatcher.
    for n in 0..6 {
        app.create_text(&format!("Tarpit smelt number {n}."), &[], Some(a))
            .await;
    }
    eventually(
        Duration::from_secs(60),
        "A's receivers are held",
        || async { !tarpit.received().is_empty() },
    )
    .await;
    app.create_text("The bystander's smelt.", &[], Some(b))
        .await;
    eventually(
        Duration::from_secs(60),
        "B's delivery arrives while A's are held",
        || async { !prompt.received().is_empty() },
    )
    .await;
    assert!(
        tarpit.received().len() <= smelt_core::webhooks::PER_USER_IN_FLIGHT,
        "A never holds more than its share of attempts: {}",
        tarpit.received().len()
    );
    tarpit.release();
}

#[tokio::test]
async fn concurrent_registrations_never_pass_the_cap_on_webhooks() {
    let receiver = Receiver::start(0).await;
    let app = app_allowing_loopback_receivers().await;
    let session = app.sign_up("racer@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    let attempts =
        (0..16).map(|_| app.post_json("/api/webhooks", json!({"url": receiver.url}), Some(token)));
    let answers = futures::future::join_all(attempts).await;
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 10, "{answers:?}");
    assert!(answers
        .iter()
        .all(|(status, body)| *status == 201 || body["error"]["code"] == "invalid_data"));
    let (_, listed) = app.get("/api/webhooks", Some(token)).await;
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 10);
}
