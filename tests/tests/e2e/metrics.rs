//! `GET /metrics`: what happened shows up in the Prometheus exposition. Metrics are
//! process-wide and tests run side by side, so each check compares a value before and after
//! this test's own actions and expects at least its own share.

use reqwest::multipart::Form;
use smelt_core::events::EventKind;
use uuid::Uuid;

use crate::helpers::{file_part, spawn_app, spawn_app_with, AppOptions, TestApp};

/// The sum of the samples of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name && labels.iter().all(|label| rest.contains(label)))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .sum()
}

async fn scrape(app: &TestApp) -> String {
    let response = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_smelt_shows_up_in_the_metrics() {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    let token = app.token_for(Uuid::new_v4());
    let wav = crate::helpers::speak(app.data_dir.path(), "Check the metrics dashboard.");
    let bytes = std::fs::read(&wav).unwrap();
    let size = bytes.len() as f64;
    let form = Form::new().part("files[]", file_part(bytes, "metrics.wav", "audio/wav"));
    let created: serde_json::Value = app.create(form, Some(&token)).await.json().await.unwrap();
    let transcript = app.follow(&created).await;
    assert_eq!(transcript.last().event, EventKind::Completed);
    let live_events = transcript.events.len() as f64 - 1.0; // all but the snapshot

    // The worker counts a finished smelt (and times its last stage) after its commit, which
    // is also when subscribers may already have the terminal event: wait for the count
    // instead of racing it, then scrape.
    crate::helpers::eventually(
        std::time::Duration::from_secs(10),
        "the finished smelt is counted",
        || async {
            let now = scrape(&app).await;
            sample(
                &now,
                "smelt_smelts_finished_total",
                &["status=\"completed\""],
            ) - sample(
                &before,
                "smelt_smelts_finished_total",
                &["status=\"completed\""],
            ) >= 1.0
        },
    )
    .await;
    let after = scrape(&app).await;
    let grew =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    assert!(
        grew("smelt_events_delivered_total", &["transport=\"ws\""]) >= live_events + 1.0,
        "every frame written counts, the snapshot included"
    );
    assert!(
        grew("smelt_delivery_latency_seconds_count", &[]) >= 1.0,
        "live events are timed"
    );
    for stage in ["validating", "decoding", "transcribing", "synthesizing"] {
        let label = format!("stage=\"{stage}\"");
        assert!(
            grew("smelt_stage_duration_seconds_count", &[&label]) >= 1.0,
            "{stage} is timed"
        );
    }
    assert!(
        grew("smelt_upload_bytes_total", &[]) >= size,
        "the upload's bytes count"
    );
    for gauge in [
        "smelt_queue_depth",
        "smelt_queue_oldest_message_age_seconds",
        "smelt_subscriptions",
        "smelt_channels",
    ] {
        assert!(after.contains(&format!("\n{gauge}")), "{gauge} is exposed");
    }
    assert!(after.contains("# TYPE smelt_delivery_latency_seconds histogram"));
}

/// Statuses of `n` text smelts created one after the other from client address `ip`.
async fn create_from(app: &TestApp, ip: &str, n: usize) -> Vec<u16> {
    let client = app.client_from(ip);
    let mut statuses = Vec::new();
    for _ in 0..n {
        let form = Form::new().text("text", "Water the office plants.");
        let response = client
            .post(app.url("/api/smelts"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn credit_refusals_and_rate_limits_are_counted() {
    let limited = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| s.server.rate_limits.rate_create_per_min = 1)),
        ..AppOptions::default()
    })
    .await;
    let before = scrape(&limited).await;
    assert_eq!(create_from(&limited, "127.0.0.41", 2).await, vec![201, 429]);
    let after = scrape(&limited).await;
    let limit = ["limit=\"create\""];
    assert!(
        sample(&after, "smelt_rate_limited_total", &limit)
            - sample(&before, "smelt_rate_limited_total", &limit)
            >= 1.0
    );

    let app = spawn_app_with(AppOptions {
        workers: 0,
        ..AppOptions::default()
    })
    .await;
    let before = scrape(&app).await;
    // An anonymous address has one smelt a day.
    assert_eq!(create_from(&app, "127.0.0.42", 2).await, vec![201, 403]);
    let after = scrape(&app).await;
    let account = ["account=\"anonymous\""];
    assert!(
        sample(&after, "smelt_credit_refusals_total", &account)
            - sample(&before, "smelt_credit_refusals_total", &account)
            >= 1.0
    );
}

#[tokio::test]
async fn a_metrics_token_guards_the_endpoint() {
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| {
            s.server.http.metrics_token = Some("scrape-me".into())
        })),
        ..AppOptions::default()
    })
    .await;
    let anonymous = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("smelt_queue_depth"));
}
