//! Service API keys: made through the API by a signed-in user, used by programs with no
//! browser session, stored only as a hash, revoked at once.

use serde_json::{json, Value};
use smelt_core::events::EventKind;

use crate::helpers::{captured_logs, spawn_app, spawn_idle_app, TestApp};

/// Signs up a user and makes a key with `body`; returns (session token, 201 body).
async fn user_with_key(app: &TestApp, email: &str, body: Value) -> (String, Value) {
    let session = app.sign_up(email).await;
    let token = session["access_token"].as_str().unwrap().to_owned();
    let (status, key) = app.post_json("/api/keys", body, Some(&token)).await;
    assert_eq!(status, 201, "{key}");
    (token, key)
}

#[tokio::test]
async fn a_key_made_through_the_api_creates_and_follows_a_smelt_without_a_session() {
    let app = spawn_app().await;
    let (_, key) = user_with_key(&app, "keys@example.com", json!({"name": "uploader"})).await;
    let secret = key["secret"].as_str().unwrap();
    assert!(secret.starts_with("ck_") && secret.len() == 46, "{secret}");
    assert_eq!(key["scopes"], json!(["smelts:read", "smelts:write"]));

    let created = app
        .create_text(
            "Service keys let programs call Smelt without a browser.",
            &["summarize"],
            Some(secret),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    // Followed with the key itself, not the smelt's subscription token.
    let transcript = app
        .connect(id, &format!("token={secret}"))
        .await
        .collect()
        .await;
    // Pasted text may be done before the socket subscribes: its snapshot then says so.
    assert!(transcript.completed(), "{:?}", transcript.last());
    assert_eq!(transcript.close_code, Some(1000));

    let (status, smelt) = app.get(&format!("/api/smelts/{id}"), Some(secret)).await;
    assert_eq!(status, 200, "{smelt}");
    assert_eq!(smelt["status"], "completed");
    let (status, list) = app.get("/api/smelts", Some(secret)).await;
    assert_eq!(status, 200);
    assert_eq!(list["smelts"][0]["id"], id);

    let (_, keys) = app.get("/api/keys", None).await;
    assert_eq!(keys["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn only_the_hash_of_a_key_is_stored_and_the_key_never_reaches_the_logs() {
    let app = spawn_app().await;
    let (session, key) = user_with_key(&app, "hash@example.com", json!({"name": "ci"})).await;
    let secret = key["secret"].as_str().unwrap();
    // Used once, so that every path that sees it has run.
    let (status, _) = app.get("/api/smelts", Some(secret)).await;
    assert_eq!(status, 200);

    let row: (String, Vec<u8>, String) =
        sqlx::query_as("select prefix, key_hash, array_to_string(scopes, ',') from service_key")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(row.1, smelt_core::service_keys::hash(secret));
    assert!(secret.starts_with(&row.0) && row.0.len() < 16);
    let dump: String =
        sqlx::query_scalar("select (select row_to_json(k) from service_key k)::text")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!dump.contains(&secret[3..]), "the key is stored: {dump}");

    let (_, listed) = app.get("/api/keys", Some(&session)).await;
    assert!(!listed.to_string().contains(secret), "{listed}");
    assert_eq!(listed["keys"][0]["prefix"], row.0);
    assert!(listed["keys"][0]["last_used_at"].is_string());
    assert!(
        !captured_logs().contains(&secret[3..]),
        "a key reached the logs"
    );
}

#[tokio::test]
async fn a_revoked_key_gets_401_on_its_next_request_and_its_open_socket_closes() {
    // No worker: the smelt stays pending, so only the revocation can close the socket.
    let app = spawn_idle_app().await;
    let (session, key) = user_with_key(&app, "revoke@example.com", json!({"name": "app"})).await;
    let secret = key["secret"].as_str().unwrap();
    let key_id = key["id"].as_str().unwrap();
    let created = app
        .create_text("Pending until revoked.", &[], Some(secret))
        .await;
    let id = created["id"].as_str().unwrap();
    let mut socket = app.connect(id, &format!("token={secret}")).await;
    socket.read_until(|e| e.event == EventKind::Snapshot).await;

    assert_eq!(
        app.delete(&format!("/api/keys/{key_id}"), &session).await,
        204
    );
    let mut close = None;
    while close.is_none() {
        close = socket.next_json().await.err();
    }
    assert_eq!(close, Some(Some(4501)), "terminal: do not reconnect");
    let (status, body) = app.get("/api/smelts", Some(secret)).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    let (_, listed) = app.get("/api/keys", Some(&session)).await;
    assert!(listed["keys"][0]["revoked_at"].is_string());
}

#[tokio::test]
async fn a_key_acts_only_within_its_scopes_and_never_manages_keys() {
    let app = spawn_idle_app().await;
    let (_, key) = user_with_key(
        &app,
        "scopes@example.com",
        json!({"name": "reader", "scopes": ["smelts:read"]}),
    )
    .await;
    let reader = key["secret"].as_str().unwrap();
    let form = reqwest::multipart::Form::new().text("text", "Readers cannot write.");
    let refused = app.create(form, Some(reader)).await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "insufficient_scope");
    let (status, _) = app.get("/api/smelts", Some(reader)).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post_json("/api/keys", json!({"name": "escalate"}), Some(reader))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
    let (status, body) = app.get("/api/profile", Some(reader)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
}

#[tokio::test]
async fn an_expired_key_is_refused_and_bad_key_requests_are_400() {
    let app = spawn_idle_app().await;
    let session = app.sign_up("expiry@example.com").await;
    let token = session["access_token"].as_str().unwrap();
    for bad in [
        json!({"name": ""}),
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "scopes": ["admin"]}),
        json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}),
    ] {
        let (status, body) = app.post_json("/api/keys", bad.clone(), Some(token)).await;
        assert_eq!(status, 400, "{bad} → {body}");
    }
    let (_, key) = app
        .post_json("/api/keys", json!({"name": "short-lived"}), Some(token))
        .await;
    let secret = key["secret"].as_str().unwrap();
    sqlx::query("update service_key set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, _) = app.get("/api/smelts", Some(secret)).await;
    assert_eq!(status, 401);
    let (status, _) = app
        .get(
            "/api/smelts",
            Some("ck_not-a-real-key-at-all-000000000000000"),
        )
        .await;
    assert_eq!(status, 401);
}
