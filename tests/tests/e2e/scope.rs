//! Scope and revocation: what a token allows is decided when it is used, and a smelt's
//! subscription token lives no longer than the key or session that created the smelt.

use std::time::Duration;

use serde_json::{json, Value};
use smelt_core::tokens::{TokenKeys, ACCESS_AUDIENCE};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::helpers::{eventually, spawn_idle_app, Socket, TestApp, TEST_SECRET};

async fn mux(app: &TestApp, token: &str) -> Socket {
    TestApp::connect_url(&format!("ws://{}/api/ws?token={token}", app.address)).await
}

async fn subscribe(socket: &mut Socket, message: Value) -> Value {
    socket.send(Message::text(message.to_string())).await;
    socket
        .next_json()
        .await
        .expect("an answer to the subscribe")
}

/// Reads until the server closes the socket; returns the close code.
async fn close_code(socket: &mut Socket) -> Option<u16> {
    loop {
        if let Err(code) = socket.next_json().await {
            return code;
        }
    }
}

/// Signs up a user and makes a key with `scopes`; returns (session body, key body).
async fn user_with_key(app: &TestApp, email: &str, scopes: &[&str]) -> (Value, Value) {
    let session = app.sign_up(email).await;
    let token = session["access_token"].as_str().unwrap();
    let (status, key) = app
        .post_json(
            "/api/keys",
            json!({"name": "program", "scopes": scopes}),
            Some(token),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    (session, key)
}

#[tokio::test]
async fn a_multiplexed_socket_opened_with_a_key_closes_4501_when_the_key_is_revoked() {
    let app = spawn_idle_app().await;
    let (session, key) = user_with_key(
        &app,
        "mux-revoke@example.com",
        &["smelts:read", "smelts:write"],
    )
    .await;
    let secret = key["secret"].as_str().unwrap();
    // The socket follows nothing yet: only the revocation itself can close it.
    let mut socket = mux(&app, secret).await;
    let session_token = session["access_token"].as_str().unwrap();
    let key_path = format!("/api/keys/{}", key["id"].as_str().unwrap());
    assert_eq!(app.delete(&key_path, session_token).await, 204);
    assert_eq!(close_code(&mut socket).await, Some(4501));

    // A socket opened just before the revocation and subscribing just after is closed too.
    let (session, key) = user_with_key(
        &app,
        "mux-late@example.com",
        &["smelts:read", "smelts:write"],
    )
    .await;
    let secret = key["secret"].as_str().unwrap();
    let created = app
        .create_text("Pending for ever.", &[], Some(secret))
        .await;
    let mut socket = mux(&app, secret).await;
    let key_path = format!("/api/keys/{}", key["id"].as_str().unwrap());
    sqlx::query("update service_key set revoked_at = now() where key_id = $1::uuid")
        .bind(key["id"].as_str().unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    let channel = format!("smelt:{}", created["id"].as_str().unwrap());
    socket
        .send(Message::text(
            json!({"type": "subscribe", "channel": channel}).to_string(),
        ))
        .await;
    assert_eq!(close_code(&mut socket).await, Some(4501));
    assert_eq!(
        app.delete(&key_path, session["access_token"].as_str().unwrap())
            .await,
        204
    );
}

#[tokio::test]
async fn a_socket_whose_access_token_expired_cannot_subscribe_to_another_smelt() {
    let app = spawn_idle_app().await;
    let user = Uuid::new_v4();
    let lasting = app.token_for(user);
    let first = app
        .create_text("The first smelt.", &[], Some(&lasting))
        .await;
    let second = app
        .create_text("The second smelt.", &[], Some(&lasting))
        .await;
    // Valid for one second (plus the verifier's five seconds of leeway).
    let short = TokenKeys::new(TEST_SECRET.as_bytes()).sign(
        user,
        ACCESS_AUDIENCE,
        1,
        Some("authenticated"),
    );
    let mut socket = mux(&app, &short).await;
    let channel = |v: &Value| format!("smelt:{}", v["id"].as_str().unwrap());
    let answer = subscribe(
        &mut socket,
        json!({"type": "subscribe", "channel": channel(&first)}),
    )
    .await;
    assert_eq!(answer["event"], "subscribed", "{answer}");
    socket
        .next_json()
        .await
        .expect("the first smelt's snapshot");

    eventually(
        Duration::from_secs(15),
        "the short token has expired",
        || async { app.get("/api/smelts", Some(&short)).await.0 == 401 },
    )
    .await;
    let refused = subscribe(
        &mut socket,
        json!({"type": "subscribe", "channel": channel(&second)}),
    )
    .await;
    assert_eq!(
        (refused["event"].as_str(), refused["code"].as_u64()),
        (Some("error"), Some(4501)),
        "{refused}"
    );
    // A fresh token in the subscribe itself is accepted on the same socket.
    let renewed = subscribe(
        &mut socket,
        json!({"type": "subscribe", "channel": channel(&second), "token": lasting}),
    )
    .await;
    assert_eq!(renewed["event"], "subscribed", "{renewed}");
}

#[tokio::test]
async fn a_subscription_token_dies_with_the_key_that_created_its_smelt() {
    let app = spawn_idle_app().await;
    let (session, key) = user_with_key(
        &app,
        "sub-key@example.com",
        &["smelts:read", "smelts:write"],
    )
    .await;
    let secret = key["secret"].as_str().unwrap();
    let created = app
        .create_text("Made by a program with its key.", &[], Some(secret))
        .await;
    let id = created["id"].as_str().unwrap();
    let sub = created["subscription_token"].as_str().unwrap();
    let transcript = format!("/api/smelts/{id}/transcript?format=txt");
    // While the key lives, the subscription token follows the smelt.
    let mut socket = app.connect(id, &format!("token={sub}")).await;
    assert_eq!(socket.next_json().await.unwrap()["event"], "snapshot");

    let key_path = format!("/api/keys/{}", key["id"].as_str().unwrap());
    assert_eq!(
        app.delete(&key_path, session["access_token"].as_str().unwrap())
            .await,
        204
    );
    assert_eq!(
        close_code(&mut socket).await,
        Some(4501),
        "the holder's open socket ends with the key"
    );
    let (status, body) = app.get(&transcript, Some(sub)).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    let mut late = app.connect(id, &format!("token={sub}")).await;
    assert_eq!(close_code(&mut late).await, Some(4501));
    let cancel = app
        .client
        .post(app.url(&format!("/api/smelts/{id}/cancel")))
        .bearer_auth(sub)
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 401);
}

#[tokio::test]
async fn a_subscription_token_dies_with_the_session_that_created_its_smelt() {
    let app = spawn_idle_app().await;
    let session = app.sign_up("sub-session@example.com").await;
    let access = session["access_token"].as_str().unwrap();
    let created = app
        .create_text("Made in a browser session.", &[], Some(access))
        .await;
    let id = created["id"].as_str().unwrap();
    let sub = created["subscription_token"].as_str().unwrap();
    let path = format!("/api/smelts/{id}/transcript?format=txt");
    let (status, _) = app.get(&path, Some(sub)).await;
    assert_ne!(status, 401, "the token works while the session lives");

    let (status, _) = app
        .post_json(
            "/api/auth/logout",
            json!({"refresh_token": session["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = app.get(&path, Some(sub)).await;
    assert_eq!(status, 401, "{body}");
    let mut socket = app.connect(id, &format!("token={sub}")).await;
    assert_eq!(close_code(&mut socket).await, Some(4501));

    // An anonymous smelt's token has no creator to outlive: it keeps working.
    let anonymous = app.create_text("Made anonymously.", &[], None).await;
    let anonymous_path = format!(
        "/api/smelts/{}/transcript?format=txt",
        anonymous["id"].as_str().unwrap()
    );
    let (status, _) = app
        .get(&anonymous_path, anonymous["subscription_token"].as_str())
        .await;
    assert_ne!(status, 401);
}
