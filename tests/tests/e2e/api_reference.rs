//! `docs/api.md`, the API reference: every `sh` example in it runs against a real server, and
//! it names exactly the routes and error codes of the OpenAPI document.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::helpers::{
    eventually, file_part, spawn_app_with, spawn_idle_app, speak, worker, workspace_root,
    AppOptions, TestApp,
};

/// Longest one example may run.
const EXAMPLE_DEADLINE: Duration = Duration::from_secs(120);

/// The methods an OpenAPI path item can hold, as its keys.
const OPERATION_KEYS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The reference's text.
fn reference() -> String {
    std::fs::read_to_string(workspace_root().join("docs/api.md")).expect("docs/api.md exists")
}

/// The bodies of the fenced ```` ```sh ```` blocks of a Markdown text, in order.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match current.as_mut() {
            None if line.trim_end() == "```sh" => current = Some(Vec::new()),
            None => {}
            Some(lines) if line.trim_end() == "```" => {
                blocks.push(lines.join("\n") + "\n");
                current = None;
            }
            Some(lines) => lines.push(line),
        }
    }
    assert!(current.is_none(), "an sh block is never closed");
    blocks
}

/// One delivery the receiver got: its three signature headers and raw body.
#[derive(Debug, Clone)]
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

/// A webhook receiver on a loopback port that accepts every delivery (204) and keeps it.
async fn start_receiver() -> (String, Arc<Mutex<Vec<Delivery>>>) {
    async fn hook(
        State(received): State<Arc<Mutex<Vec<Delivery>>>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        received.lock().unwrap().push(Delivery {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body: String::from_utf8(body.to_vec()).expect("a JSON body"),
        });
        StatusCode::NO_CONTENT
    }
    let received = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/smelt", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/hooks/smelt", post(hook))
        .with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// Processes the next queued job with an in-process worker; fails unless it completed `id`.
async fn process(app: &TestApp, id: &str, token: &str) {
    worker(app).await.try_process_one().await.unwrap();
    let (status, smelt) = app.get(&format!("/api/smelts/{id}"), Some(token)).await;
    assert_eq!(
        (status, smelt["status"].as_str()),
        (200, Some("completed")),
        "{smelt}"
    );
}

/// A JSON string field of a 201 body.
fn field(body: &Value, name: &str) -> String {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        .to_owned()
}

/// The environment the examples read (the table under "About the examples"): a user with a
/// key, a webhook that received a delivery, a completed text smelt and a completed audio smelt.
/// Smelts the examples create stay queued (the app runs no worker), so they can be cancelled.
async fn prepare(app: &TestApp, audio_dir: &Path) -> Vec<(&'static str, String)> {
    let (receiver_url, received) = start_receiver().await;
    let session = app.sign_up("reference@example.com").await;
    let token = field(&session, "access_token");
    let (status, key) = app
        .post_json(
            "/api/keys",
            json!({"name": "reference", "scopes": ["smelts:write", "smelts:read", "webhooks"]}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let (status, webhook) = app
        .post_json("/api/webhooks", json!({"url": receiver_url}), Some(&token))
        .await;
    assert_eq!(status, 201, "{webhook}");

    let text = app
        .create_text(
            "The release ships on Friday. Ada writes the notes and Grace reviews them.",
            &["summarize"],
            Some(&token),
        )
        .await;
    process(app, &field(&text, "id"), &token).await;

    let audio = speak(
        audio_dir,
        "The reference shows every route with an example.",
    );
    let form = reqwest::multipart::Form::new()
        .part(
            "files[]",
            file_part(std::fs::read(&audio).unwrap(), "speech.wav", "audio/wav"),
        )
        .text("word_timestamps", "true");
    let response = app.create(form, Some(&token)).await;
    assert_eq!(response.status(), 201);
    let recording: Value = response.json().await.unwrap();
    process(app, &field(&recording, "id"), &token).await;

    eventually(
        Duration::from_secs(60),
        "the webhook receives a delivery",
        || {
            let received = received.clone();
            async move { !received.lock().unwrap().is_empty() }
        },
    )
    .await;
    let delivery = received.lock().unwrap()[0].clone();

    vec![
        ("SMELT_URL", app.url("")),
        ("TOKEN", token),
        ("KEY", field(&key, "secret")),
        ("KEY_ID", field(&key, "id")),
        ("SMELT_ID", field(&text, "id")),
        ("SUBSCRIPTION_TOKEN", field(&text, "subscription_token")),
        ("AUDIO", audio.to_string_lossy().into_owned()),
        ("AUDIO_SMELT_ID", field(&recording, "id")),
        (
            "AUDIO_SUBSCRIPTION_TOKEN",
            field(&recording, "subscription_token"),
        ),
        ("FILE_ID", field(&recording["files"][0], "id")),
        ("WEBHOOK_ID", field(&webhook, "id")),
        ("WEBHOOK_SECRET", field(&webhook, "secret")),
        ("DELIVERY_ID", delivery.id),
        ("DELIVERY_TIMESTAMP", delivery.timestamp),
        ("DELIVERY_SIGNATURE", delivery.signature),
        ("DELIVERY_BODY", delivery.body),
    ]
}

/// Runs one example with `bash -euo pipefail -c` in `dir`; `Err` describes a failure.
async fn run_example(
    block: &str,
    env: &[(&'static str, String)],
    dir: &Path,
) -> Result<(), String> {
    let mut command = tokio::process::Command::new("bash");
    command
        .args(["-euo", "pipefail", "-c", block])
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(EXAMPLE_DEADLINE, command.output())
        .await
        .map_err(|_| format!("did not finish within {EXAMPLE_DEADLINE:?}"))?
        .map_err(|e| format!("bash could not run: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "exited with {}\n--- stdout\n{}--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn sh_blocks_are_read_whole_and_other_blocks_are_left_out() {
    let markdown = "text\n```sh\necho one\necho two\n```\n```json\n{}\n```\n```sh\ntrue\n```\n";
    assert_eq!(sh_blocks(markdown), vec!["echo one\necho two\n", "true\n"]);
}

#[tokio::test]
async fn every_sh_example_of_the_api_reference_succeeds_against_a_real_server() {
    for tool in ["curl", "jq", "openssl"] {
        let found = std::process::Command::new("bash")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "the examples need {tool} (scripts/setup.sh installs it)"
        );
    }
    let blocks = sh_blocks(&reference());
    assert!(blocks.len() >= 15, "only {} sh blocks found", blocks.len());

    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| {
            // The webhook examples register loopback receivers.
            s.server.webhooks.webhook_allowed_hosts = vec!["127.0.0.1".into()];
            // Every example creates smelts from the same address and user.
            s.server.limits.anonymous_daily_smelts = 1_000;
            s.server.limits.weekly_credits = 1_000;
        })),
        ..AppOptions::default()
    })
    .await;
    let audio_dir = tempfile::tempdir().unwrap();
    let env = prepare(&app, audio_dir.path()).await;

    let mut failures = Vec::new();
    for (n, block) in blocks.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        if let Err(why) = run_example(block, &env, dir.path()).await {
            failures.push(format!("example {} failed:\n{block}{why}", n + 1));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples failed:\n\n{}",
        failures.len(),
        blocks.len(),
        failures.join("\n\n")
    );
}

#[tokio::test]
async fn the_api_reference_names_every_route_and_exactly_the_error_codes_of_the_openapi_document() {
    let app = spawn_idle_app().await;
    let (status, document) = app.get("/api/openapi.json", None).await;
    assert_eq!(status, 200);
    let reference = reference();

    let paths = document["paths"]
        .as_object()
        .expect("the document has paths");
    let routes: Vec<String> = paths
        .iter()
        .flat_map(|(path, item)| {
            OPERATION_KEYS
                .iter()
                .filter(|key| item.get(**key).is_some())
                .map(move |key| format!("`{} {path}`", key.to_uppercase()))
        })
        .collect();
    assert!(routes.len() > 10, "too few routes: {routes:?}");
    let missing: Vec<&String> = routes.iter().filter(|r| !reference.contains(*r)).collect();
    assert!(
        missing.is_empty(),
        "docs/api.md does not name these routes: {missing:?}"
    );

    let codes: BTreeSet<&str> = document["components"]["schemas"]["ApiErrorCode"]["enum"]
        .as_array()
        .expect("ApiErrorCode lists the error codes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let section = reference
        .split("\n## Error codes\n")
        .nth(1)
        .expect("docs/api.md has an Error codes section");
    let documented: BTreeSet<&str> = section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2) // the header and its rule
        .filter_map(|row| row.split('`').nth(1))
        .collect();
    assert_eq!(
        documented,
        codes,
        "only in docs/api.md: {:?}; only in ApiErrorCode: {:?}",
        documented.difference(&codes).collect::<Vec<_>>(),
        codes.difference(&documented).collect::<Vec<_>>()
    );
}

/// The numbers in the first column of the first markdown table after the line starting with
/// `heading`.
fn table_codes(markdown: &str, heading: &str) -> BTreeSet<u16> {
    let after = markdown
        .split_once(heading)
        .unwrap_or_else(|| panic!("no {heading}"))
        .1;
    after
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(1)?.trim().parse().ok())
        .collect()
}

#[test]
fn the_close_code_tables_and_the_client_list_exactly_the_closes_the_server_sends() {
    use smelt_server::realtime::close::Close;
    let server: BTreeSet<u16> = Close::ALL.iter().map(|c| c.code()).collect();
    assert_eq!(table_codes(&reference(), "## Close codes"), server);
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let in_readme = table_codes(&readme, "Close codes (all of them");
    assert!(in_readme.is_subset(&server), "{in_readme:?}");
    let client =
        std::fs::read_to_string(workspace_root().join("client/src/close-codes.ts")).unwrap();
    let in_client: BTreeSet<u16> = client
        .lines()
        .filter_map(|l| l.trim().split_once(": info(")?.0.parse().ok())
        .collect();
    assert_eq!(in_client, server, "the client library's CLOSE_CODES");
}
