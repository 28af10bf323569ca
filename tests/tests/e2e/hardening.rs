//! What an attacker or a careless operator would try first: provider URLs pointing into the
//! operator's network, workers holding the wrong encryption key, racing first starts, sprayed
//! source addresses, slow clients, metrics that appear late, and dead letters with no way out.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use futures::StreamExt;
use serde_json::{json, Value};
use smelt_core::domain::ErrorCode;
use smelt_worker::{Outcome, Worker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use crate::helpers::{
    eventually, spawn_app_with, spawn_idle_app, workspace_root, AppOptions, TestApp,
};
use crate::processes::{admin_binary, free_port, worker_binary, ServerProcess};
use crate::provider_stub::{self, GOOD_KEY};

/// `PUT /api/profile/api-key` with a base URL; returns status and body.
async fn save_key(app: &TestApp, token: &str, key: &str, base_url: &str) -> (u16, Value) {
    app.send_json(
        app.client.put(app.url("/api/profile/api-key")),
        json!({"api_key": key, "base_url": base_url}),
        Some(token),
    )
    .await
}

#[tokio::test]
async fn provider_urls_inside_the_network_are_refused_alike_and_never_called() {
    let stub = provider_stub::spawn().await;
    let port = stub
        .base_url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let closed = free_port();
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let urls = [
        format!("http://127.0.0.1:{port}/v1"),
        format!("https://127.0.0.1:{port}/v1"),
        format!("https://127.0.0.1:{closed}/v1"),
        format!("http://[::1]:{port}/v1"),
        format!("https://[::ffff:127.0.0.1]:{port}/v1"),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "https://10.0.0.1/v1".to_owned(),
        format!("https://localhost:{port}/v1"),
        // IPv6 forms that reach IPv4 or a site's network, and documentation ranges.
        "https://[64:ff9b::7f00:1]/v1".to_owned(),
        "https://[64:ff9b:1::a00:1]/v1".to_owned(),
        "https://[2002:7f00:1::1]/v1".to_owned(),
        "https://[::7f00:1]/v1".to_owned(),
        "https://[fec0::1]/v1".to_owned(),
        "https://[2001:db8::1]/v1".to_owned(),
        "https://192.0.2.10/v1".to_owned(),
        // A public address on a port that is not the scheme's.
        "https://8.8.8.8:5432/v1".to_owned(),
    ];
    let mut answers = Vec::new();
    for url in &urls {
        let (status, body) = save_key(&app, &token, GOOD_KEY, url).await;
        assert_eq!(status, 400, "{url}: {body}");
        answers.push((
            body["error"]["code"].clone(),
            body["error"]["message"].clone(),
        ));
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "one answer for all: {answers:?}"
    );
    assert_eq!(answers[0].0, "provider_not_allowed");
    assert_eq!(stub.models_calls(), 0, "nothing was called");
    let (_, profile) = app.get("/api/profile", Some(&token)).await;
    assert_eq!(profile["api_key_status"], "none");
}

#[tokio::test]
async fn a_host_the_operator_lists_may_use_plain_http_on_its_network() {
    let stub = provider_stub::spawn().await;
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| {
            s.server.provider.provider_allowed_hosts = vec!["127.0.0.1".into()]
        })),
        ..AppOptions::default()
    })
    .await;
    let token = app.token_for(Uuid::new_v4());
    let (status, body) = save_key(&app, &token, GOOD_KEY, &stub.base_url).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stub.models_calls(), 1);
    assert_eq!(body["api_key_base_url"], stub.base_url);
}

#[tokio::test]
async fn a_provider_redirecting_to_loopback_is_not_followed() {
    // The target of the redirect counts what reaches it.
    let reached = Arc::new(AtomicUsize::new(0));
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_port = target.local_addr().unwrap().port();
    let counter = reached.clone();
    tokio::spawn(async move {
        let app = axum::Router::new().fallback(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { axum::Json(json!({"data": []})) }
        });
        axum::serve(target, app).await.unwrap();
    });
    // The listed provider answers every request with a redirect to it.
    let provider = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let provider_port = provider.local_addr().unwrap().port();
    tokio::spawn(async move {
        let location = format!("http://127.0.0.1:{target_port}/v1/models");
        let app = axum::Router::new().fallback(move || {
            let location = location.clone();
            async move { axum::response::Redirect::temporary(&location).into_response() }
        });
        axum::serve(provider, app).await.unwrap();
    });
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| {
            s.server.provider.provider_allowed_hosts = vec!["127.0.0.2".into()]
        })),
        ..AppOptions::default()
    })
    .await;
    let token = app.token_for(Uuid::new_v4());
    let (status, body) = save_key(
        &app,
        &token,
        GOOD_KEY,
        &format!("http://127.0.0.2:{provider_port}/v1"),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("provider_unreachable"))
    );
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );
}

/// Runs `smelt-worker` with `env` until it exits (or fails the test after a minute); returns
/// its exit status and what it wrote to stderr.
async fn worker_exit(env: &[(&str, &str)]) -> (bool, String) {
    let mut child = tokio::process::Command::new(worker_binary())
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .env("SMELT_CLEANUP_INTERVAL_SECS", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the worker exits")
        .unwrap();
    (status.success(), stderr)
}

#[tokio::test]
async fn a_worker_whose_encryption_key_cannot_open_the_stored_keys_refuses_to_start() {
    let (_stub, app) = provider_stub::app_with_stub().await;
    let token = app.token_for(Uuid::new_v4());
    let (status, _) = app
        .send_json(
            app.client.put(app.url("/api/profile/api-key")),
            json!({"api_key": GOOD_KEY}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200);
    // A worker on another host, which generated a key of its own.
    let elsewhere = tempfile::tempdir().unwrap();
    let data_dir = elsewhere.path().to_str().unwrap();
    let (ok, stderr) = worker_exit(&[
        ("DATABASE_URL", &app.settings.server.database.database_url),
        ("SMELT_DATA_DIR", data_dir),
    ])
    .await;
    assert!(!ok, "the worker exits with an error");
    assert!(stderr.contains("SMELT_ENCRYPTION_KEY differs"), "{stderr}");
    // A malformed key.
    let (ok, stderr) = worker_exit(&[
        ("DATABASE_URL", &app.settings.server.database.database_url),
        ("SMELT_DATA_DIR", data_dir),
        ("SMELT_ENCRYPTION_KEY", "not-a-key"),
    ])
    .await;
    assert!(!ok);
    assert!(
        stderr.contains("SMELT_ENCRYPTION_KEY is unusable"),
        "{stderr}"
    );
}

/// An app with no worker whose default provider is `provider`, and a user who saved a valid
/// own key for it; returns the app and the user's access token.
async fn app_with_an_own_key_user(provider: &provider_stub::Stub) -> (TestApp, String) {
    let app = spawn_app_with(AppOptions {
        workers: 0,
        openai_base_url: Some(provider.base_url.clone()),
        ..AppOptions::default()
    })
    .await;
    let token = app.token_for(Uuid::new_v4());
    let (status, _) = app
        .send_json(
            app.client.put(app.url("/api/profile/api-key")),
            json!({"api_key": GOOD_KEY}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200);
    (app, token)
}

#[tokio::test]
async fn a_smelt_its_owners_key_was_to_pay_for_fails_when_the_key_is_gone_and_never_runs_on_the_operators_account(
) {
    let user_provider = provider_stub::spawn().await;
    let operator = provider_stub::spawn().await;
    let (app, token) = app_with_an_own_key_user(&user_provider).await;
    // Created while the key is valid: no credit is taken, the key is to pay.
    let created = app
        .create_text(
            "Alice sends the report on Friday. Bob books the room.",
            &["summarize"],
            Some(&token),
        )
        .await;
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let (_, profile) = app.get("/api/profile", Some(&token)).await;
    assert_eq!(profile["credits_remaining"], 5, "no credit was taken");
    // The key is deleted while the smelt waits for a worker.
    assert_eq!(app.delete("/api/profile/api-key", &token).await, 204);

    let worker = provider_stub::operator_worker(&app, &operator, GOOD_KEY, |_| {}).await;
    assert_eq!(
        worker.try_process_one().await.unwrap(),
        Outcome::Failed(id, ErrorCode::ApiKeyInvalid)
    );
    assert_eq!(
        operator.calls(GOOD_KEY),
        0,
        "the operator's account was not used"
    );
    assert_eq!(user_provider.calls(GOOD_KEY), 0);
    let (_, smelt) = app.get(&format!("/api/smelts/{id}"), Some(&token)).await;
    assert_eq!(smelt["error_code"], "api_key_invalid");
    assert!(
        smelt.get("results").is_none(),
        "the local engines made nothing either: {smelt}"
    );
    let (_, profile) = app.get("/api/profile", Some(&token)).await;
    assert_eq!(
        profile["credits_remaining"], 5,
        "the failure took no credit and gave none"
    );

    // A smelt created without a key is paid by a credit and runs on the operator's account.
    let paid = app
        .create_text("Carol reviews the budget.", &["summarize"], Some(&token))
        .await;
    let paid_id: Uuid = paid["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        worker.try_process_one().await.unwrap(),
        Outcome::Completed(paid_id)
    );
    assert!(operator.calls(GOOD_KEY) > 0);
}

#[tokio::test]
async fn a_provider_asking_to_wait_for_years_or_answering_without_end_cannot_park_a_worker() {
    let stub = provider_stub::spawn().await;
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let worker_on = |key: &'static str| provider_stub::operator_worker(&app, &stub, key, |_| {});
    let create = |text: &'static str| app.create_text(text, &["summarize"], Some(&token));
    let id_of = |created: &Value| -> Uuid { created["id"].as_str().unwrap().parse().unwrap() };

    // 429 with `Retry-After: 99999999`: not waited for, not retried.
    let tarpit_key = "sk-test-tarpit-000000000";
    let parked = id_of(&create("Alice sends the report on Friday.").await);
    assert_eq!(
        worker_on(tarpit_key).await.try_process_one().await.unwrap(),
        Outcome::Failed(parked, ErrorCode::ApiRateLimited)
    );
    assert_eq!(stub.calls(tarpit_key), 1, "one call, no wait for the next");
    let (_, smelt) = app
        .get(&format!("/api/smelts/{parked}"), Some(&token))
        .await;
    assert_eq!(
        smelt["error_message"],
        "RATE LIMITED. TRY AGAIN IN 99999999 SECONDS"
    );

    // An answer that never ends: read up to the cap, then the smelt fails.
    let endless_key = "sk-test-endless-000000000";
    let flooded = id_of(&create("Bob books the room for the review.").await);
    assert_eq!(
        worker_on(endless_key)
            .await
            .try_process_one()
            .await
            .unwrap(),
        Outcome::Failed(flooded, ErrorCode::SynthesisFailed)
    );
    assert_eq!(stub.calls(endless_key), 1, "not retried");

    // The next smelt in the queue completes.
    let next = id_of(&create("Carol reviews the budget next week.").await);
    assert_eq!(
        worker_on(GOOD_KEY).await.try_process_one().await.unwrap(),
        Outcome::Completed(next)
    );
}

#[tokio::test]
async fn a_job_past_its_deadline_fails_and_its_worker_takes_the_next() {
    // The deadline is two seconds (the fast lane's own timeout is longer).
    provider_stub::a_stuck_job_fails_and_its_worker_takes_the_next("fast", |s| {
        s.worker.job_deadline_secs = Some(2);
    })
    .await;
}

#[tokio::test]
async fn a_smelt_whose_key_cannot_be_opened_fails_and_never_runs_on_the_operators_account() {
    let user_provider = provider_stub::spawn().await;
    let operator = provider_stub::spawn().await;
    let (app, token) = app_with_an_own_key_user(&user_provider).await;
    // The stored ciphertext no longer opens (as after a key change).
    sqlx::query("update user_profile set api_key_ciphertext = decode(repeat('00', 48), 'hex')")
        .execute(&app.pool)
        .await
        .unwrap();
    let created = app
        .create_text("Alice sends the report.", &["summarize"], Some(&token))
        .await;
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let worker = provider_stub::operator_worker(&app, &operator, GOOD_KEY, |_| {}).await;
    assert_eq!(
        worker.try_process_one().await.unwrap(),
        Outcome::Failed(id, ErrorCode::ApiKeyUnreadable)
    );
    assert_eq!(
        operator.calls(GOOD_KEY),
        0,
        "the operator's account was not used"
    );
    assert_eq!(user_provider.calls(GOOD_KEY), 0);
    let (_, smelt) = app.get(&format!("/api/smelts/{id}"), Some(&token)).await;
    assert_eq!(smelt["error_code"], "api_key_unreadable");
    assert_eq!(
        smelt["error_message"],
        "YOUR SAVED API KEY CAN'T BE READ. SAVE IT AGAIN"
    );
}

#[tokio::test]
async fn processes_creating_secrets_on_a_fresh_data_directory_at_once_agree_on_one() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let run = || {
            Command::new(admin_binary())
                .arg("secrets")
                .env("SMELT_DATA_DIR", dir.path())
                .env("RUST_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        };
        let (first, second) = (run(), run());
        let (first, second) = (
            first.wait_with_output().unwrap(),
            second.wait_with_output().unwrap(),
        );
        assert!(first.status.success() && second.status.success());
        assert_eq!(first.stdout, second.stdout, "the same secrets");
        let files: Vec<_> = std::fs::read_dir(dir.path().join("secrets"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            files.len(),
            3,
            "one file per secret, nothing half-written left: {files:?}"
        );
    }
}

/// The value of one series (its name and labels as rendered, e.g.
/// `smelt_rate_limiter_keys{limit="login"}`) in a Prometheus text scrape.
fn series(scrape: &str, key: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// One login attempt from each of `count` addresses (as a trusted proxy forwards them).
async fn login_from_many(port: u16, round: u32, count: u32) {
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/auth/login");
    futures::stream::iter(0..count)
        .map(|i| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let address = format!("2001:db8:{round:x}::{:x}:{:x}", i >> 16, i & 0xffff);
                let response = client
                    .post(&url)
                    .header("x-forwarded-for", address)
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 400);
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::test]
async fn sprayed_source_addresses_leave_the_limiter_state_bounded_after_pruning() {
    let app = spawn_idle_app().await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = ServerProcess::start_with(
        &app.settings.server.database.database_url,
        data.path(),
        port,
        0,
        &[
            ("SMELT_TRUSTED_PROXIES", "127.0.0.1"),
            ("SMELT_RATE_LIMIT_PRUNE_SECS", "1"),
        ],
    )
    .await;
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let keys = || async {
        let scrape = reqwest::get(&metrics_url)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        series(&scrape, "smelt_rate_limiter_keys{limit=\"login\"}").unwrap()
    };
    let mut after_rounds = Vec::new();
    for round in 0..2 {
        login_from_many(port, round, 100_000).await;
        eventually(
            Duration::from_secs(60),
            "the login limiter is pruned",
            || async { keys().await == 0.0 },
        )
        .await;
        after_rounds.push(rss_kib(server.pid()));
    }
    // A second round of 100,000 new addresses reuses the memory the first one left.
    assert!(
        after_rounds[1] < after_rounds[0] + 16 * 1024,
        "resident memory after each round (KiB): {after_rounds:?}"
    );
}

/// Reads from `stream` until the server closes it; fails the test after 20 s.
async fn closed_by_server(stream: &mut tokio::net::TcpStream) {
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server closes the connection");
}

#[tokio::test]
async fn slow_clients_are_disconnected_and_others_are_served_meanwhile() {
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| {
            s.server.http.header_read_timeout_secs = 1;
            s.server.http.body_idle_timeout_secs = 1;
        })),
        ..AppOptions::default()
    })
    .await;
    // Half the headers, then nothing.
    let mut half = tokio::net::TcpStream::connect(&app.address).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: smelt\r\n")
        .await
        .unwrap();
    // Half an upload, then nothing.
    let mut stalled = tokio::net::TcpStream::connect(&app.address).await.unwrap();
    let boundary = "stall";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files[]\"; filename=\"a.wav\"\r\n\
         Content-Type: audio/wav\r\n\r\n"
    );
    stalled
        .write_all(
            format!(
                "POST /api/smelts HTTP/1.1\r\nHost: smelt\r\nContent-Type: multipart/form-data; \
                 boundary={boundary}\r\nContent-Length: 4000000\r\n\r\n{head}"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    stalled.write_all(&vec![1u8; 256 * 1024]).await.unwrap();
    // Another client is served while both hang.
    let other = app.client_from("127.0.0.3");
    let ok = other.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(ok.status(), 200);

    closed_by_server(&mut half).await;
    closed_by_server(&mut stalled).await;
    eventually(
        Duration::from_secs(10),
        "the stalled upload leaves nothing",
        || async {
            let parts = walk_files(&app.data_dir.path().join("blobs"));
            app.stored_uploads().await == 0 && parts == 0
        },
    )
    .await;
    let rows: i64 = sqlx::query_scalar("select count(*) from smelt")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

/// Files under a directory (none when it does not exist).
fn walk_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk_files(&path)
            } else {
                1
            }
        })
        .sum()
}

/// The metric names the README's metrics table lists.
fn documented_series() -> Vec<String> {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let table = readme
        .split("| series | type |")
        .nth(1)
        .expect("the README has a metrics table");
    table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.split('`').nth(1).unwrap().to_owned())
        .collect()
}

/// Each documented series with its documented label values: `(name, label, value)` for every
/// value the README lists in parentheses after a label.
fn documented_label_values() -> Vec<(String, String, String)> {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let table = readme
        .split("| series | type |")
        .nth(1)
        .expect("the README has a metrics table");
    let mut values = Vec::new();
    for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`');
        let Some((label, listed)) = cells[3].split_once(" (") else {
            continue;
        };
        for value in listed.trim_end_matches(')').split(", ") {
            values.push((
                name.to_owned(),
                label.trim_matches('`').to_owned(),
                value.trim_matches('`').to_owned(),
            ));
        }
    }
    values
}

#[tokio::test]
async fn the_first_scrape_after_startup_holds_every_documented_label_value() {
    let app = spawn_idle_app().await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = ServerProcess::start(
        &app.settings.server.database.database_url,
        data.path(),
        port,
        0,
    )
    .await;
    let scrape = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let documented = documented_label_values();
    assert!(
        documented
            .iter()
            .any(|(n, _, v)| n == "smelt_rate_limited_total" && v == "service_key"),
        "{documented:?}"
    );
    for (name, label, value) in documented {
        let present = scrape.lines().any(|l| {
            !l.starts_with('#')
                && l.starts_with(&name)
                && l.contains(&format!("{label}=\"{value}\""))
        });
        assert!(
            present,
            "{name}{{{label}=\"{value}\"}} is missing from the first scrape"
        );
    }
}

#[tokio::test]
async fn the_first_scrape_after_startup_holds_every_documented_series() {
    let app = spawn_idle_app().await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = ServerProcess::start(
        &app.settings.server.database.database_url,
        data.path(),
        port,
        0,
    )
    .await;
    let scrape = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let documented = documented_series();
    assert!(documented.len() >= 20, "{documented:?}");
    for name in documented {
        let present = scrape.lines().any(|l| {
            !l.starts_with('#')
                && (l.starts_with(&format!("{name} "))
                    || l.starts_with(&format!("{name}{{"))
                    || l.starts_with(&format!("{name}_bucket")))
        });
        assert!(present, "{name} is missing from the first scrape");
    }
    assert!(series(&scrape, "smelt_ready").is_some());
    eventually(
        Duration::from_secs(30),
        "the server reports ready",
        || async {
            let scrape = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            series(&scrape, "smelt_ready") == Some(1.0)
        },
    )
    .await;
}

#[test]
fn the_alert_rules_pass_promtool_and_fire_on_their_failures() {
    let dir = workspace_root().join("ops/prometheus");
    for args in [
        vec!["check", "rules", "alerts.yml"],
        vec!["test", "rules", "alerts.test.yml"],
    ] {
        let output = Command::new("promtool")
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("promtool runs (Debian package prometheus)");
        assert!(
            output.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Runs `smelt-admin` against the app's database; returns its standard output.
fn admin(app: &TestApp, args: &[&str]) -> String {
    let output = Command::new(admin_binary())
        .args(args)
        .env("DATABASE_URL", &app.settings.server.database.database_url)
        .env("SMELT_DATA_DIR", app.data_dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "smelt-admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn a_job_dead_lettered_by_a_failing_provider_is_listed_requeued_and_completes() {
    let (stub, app) = provider_stub::app_with_stub().await;
    let key = "sk-test-chatdown-000000000";
    let user = Uuid::new_v4();
    let token = app.token_for(user);
    // A webhook of the owner (its receiver never answers; only the deliveries count here).
    sqlx::query(
        "insert into webhook (webhook_id, user_id, url, secret_cipher, secret_nonce) \
         values ($1, $2, 'https://receiver.invalid/hook', '\\x00', '\\x00')",
    )
    .bind(Uuid::new_v4())
    .bind(user)
    .execute(&app.pool)
    .await
    .unwrap();
    let (status, _) = app
        .send_json(
            app.client.put(app.url("/api/profile/api-key")),
            json!({"api_key": key}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200);
    let created = app
        .create_text(
            "Alice sends the report on Friday.",
            &["summarize"],
            Some(&token),
        )
        .await;
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let mut settings = app.settings.worker_settings();
    settings.hosted.provider_max_attempts = 1;
    settings.worker.max_deliveries = 2;
    settings.worker.retry_base_ms = 0;
    let worker = Worker::new(app.pool.clone(), Arc::new(settings), app.blobs.clone())
        .await
        .unwrap();
    assert_eq!(worker.try_process_one().await.unwrap(), Outcome::Retry(id));
    assert_eq!(
        worker.try_process_one().await.unwrap(),
        Outcome::Failed(id, ErrorCode::SynthesisFailed)
    );

    let listed: Vec<Value> = admin(&app, &["dead-letters", "list", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["smelt_id"], id.to_string());
    assert_eq!(listed[0]["error_code"], "synthesis_failed");
    assert!(
        listed[0]["last_error"].as_str().unwrap().contains("500"),
        "{}",
        listed[0]
    );

    stub.recover();
    let requeued = admin(&app, &["dead-letters", "requeue", "--all"]);
    assert!(requeued.contains("requeued"), "{requeued}");
    assert_eq!(
        worker.try_process_one().await.unwrap(),
        Outcome::Completed(id)
    );
    let (_, smelt) = app.get(&format!("/api/smelts/{id}"), Some(&token)).await;
    assert_eq!(smelt["status"], "completed");
    assert!(admin(&app, &["dead-letters", "list", "--json"])
        .trim()
        .is_empty());
    // Each ending was announced: the failure, then the completion after the requeue.
    let announced: Vec<String> = sqlx::query_scalar(
        "select body->>'type' from webhook_delivery where smelt_id = $1 order by seq",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(announced, ["smelt.failed", "smelt.completed"]);
}

#[tokio::test]
async fn checks_of_user_chosen_urls_never_go_through_a_proxy_from_the_environment() {
    // A "proxy" that counts the connections it gets.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = proxy.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let app = spawn_idle_app().await;
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _server = ServerProcess::start_with(
        &app.settings.server.database.database_url,
        data_dir.path(),
        port,
        0,
        &[
            ("HTTP_PROXY", proxy_url.as_str()),
            ("HTTPS_PROXY", proxy_url.as_str()),
            ("ALL_PROXY", proxy_url.as_str()),
            ("http_proxy", proxy_url.as_str()),
            ("https_proxy", proxy_url.as_str()),
            ("SMELT_PROVIDER_ALLOWED_HOSTS", "127.0.0.2"),
        ],
    )
    .await;
    let token = smelt_core::tokens::TokenKeys::new(crate::helpers::TEST_SECRET.as_bytes()).sign(
        Uuid::new_v4(),
        smelt_core::tokens::ACCESS_AUDIENCE,
        600,
        Some("authenticated"),
    );
    // A listed host on a closed port: without a proxy the check fails to connect.
    let closed = free_port();
    let answer = reqwest::Client::new()
        .put(format!("http://127.0.0.1:{port}/api/profile/api-key"))
        .bearer_auth(&token)
        .json(&json!({"api_key": GOOD_KEY, "base_url": format!("http://127.0.0.2:{closed}/v1")}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "provider_unreachable", "{body}");
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "nothing went to the proxy"
    );
}

#[tokio::test]
async fn two_anonymous_ipv6_clients_of_one_64_share_one_daily_credit() {
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| {
            s.server.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]
        })),
        ..AppOptions::default()
    })
    .await;
    let create_from = |address: &'static str| {
        let form = reqwest::multipart::Form::new().text("text", "Notes from a phone on IPv6.");
        app.client
            .post(app.url("/api/smelts"))
            .header("x-forwarded-for", address)
            .multipart(form)
            .send()
    };
    let first = create_from("2001:db8::1").await.unwrap();
    assert_eq!(first.status(), 201);
    let second = create_from("2001:db8::2").await.unwrap();
    assert_eq!(second.status(), 403, "the same /64 is the same client");
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "daily_limit");
    let other = create_from("2001:db8:0:1::1").await.unwrap();
    assert_eq!(other.status(), 201, "another /64 is another client");
}

#[tokio::test]
async fn an_upload_that_trickles_past_its_deadline_is_refused_and_leaves_nothing() {
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| {
            s.server.http.body_idle_timeout_secs = 30;
            s.server.http.upload_deadline_secs = 2;
        })),
        ..AppOptions::default()
    })
    .await;
    // 64 bytes every 200 ms, a slow client's pace: never idle long enough for the idle
    // timeout, never done before the deadline.
    let pace = tokio::time::interval(Duration::from_millis(200));
    let trickle = futures::stream::unfold(pace, |mut pace| async move {
        pace.tick().await;
        Some((Ok::<_, std::io::Error>(vec![b'x'; 64]), pace))
    })
    .take(200);
    let head = "--trickle\r\nContent-Disposition: form-data; name=\"files[]\"; \
                filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n";
    let body = futures::stream::once(async move { Ok(head.as_bytes().to_vec()) }).chain(trickle);
    let answer = app
        .client
        .post(app.url("/api/smelts"))
        .header("content-type", "multipart/form-data; boundary=trickle")
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 408);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upload_timeout");
    eventually(Duration::from_secs(10), "nothing is stored", || async {
        app.stored_uploads().await == 0
    })
    .await;
    let rows: i64 = sqlx::query_scalar("select count(*) from smelt")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn one_address_sends_a_bounded_number_of_uploads_at_once() {
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| {
            s.server.http.max_uploads_per_address = 1;
            s.server.limits.weekly_credits = 1000;
        })),
        ..AppOptions::default()
    })
    .await;
    let token = app.token_for(Uuid::new_v4());
    // One upload that keeps its slot: headers and the start of a part, then nothing.
    let mut held = tokio::net::TcpStream::connect(&app.address).await.unwrap();
    held.write_all(
        format!(
            "POST /api/smelts HTTP/1.1\r\nHost: smelt\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: multipart/form-data; boundary=held\r\nContent-Length: 4000000\r\n\r\n\
             --held\r\nContent-Disposition: form-data; name=\"files[]\"; filename=\"a.wav\"\r\n\
             Content-Type: audio/wav\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    held.write_all(&vec![1u8; 256 * 1024]).await.unwrap();
    // Only an admitted upload stores anything: once its bytes reach the store, it holds the
    // address's one slot.
    let blobs = app.data_dir.path().join("blobs");
    eventually(
        Duration::from_secs(10),
        "the first upload is being stored",
        || async { walk_files(&blobs) > 0 },
    )
    .await;
    let create = || async {
        let form = reqwest::multipart::Form::new().text("text", "Another note.");
        app.create(form, Some(&token)).await.status().as_u16()
    };
    assert_eq!(create().await, 429, "a second upload from the address");
    drop(held);
    eventually(
        Duration::from_secs(10),
        "the slot is free again once the first ends",
        || async { create().await == 201 },
    )
    .await;
}
