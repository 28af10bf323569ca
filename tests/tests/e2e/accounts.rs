//! Sign-up, login, refresh rotation, logout, token checks and login rate limits.

use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{spawn_app_with, spawn_idle_app, AppOptions, TEST_SECRET};

#[tokio::test]
async fn sign_up_then_log_in_with_a_normalised_email() {
    let app = spawn_idle_app().await;
    let session = app.sign_up("  Ada@Example.COM ").await;
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert_eq!(session["token_type"], "bearer");
    let token = session["access_token"].as_str().unwrap();
    let (status, profile) = app.get("/api/profile", Some(token)).await;
    assert_eq!(status, 200);
    assert_eq!(profile["email"], "ada@example.com");
    assert_eq!(profile["credits_remaining"], 5);

    let (status, again) = app
        .post_json(
            "/api/auth/signup",
            json!({"email": "ADA@example.com", "password": "another password"}),
            None,
        )
        .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("email_taken"))
    );

    let (status, login) = app
        .post_json(
            "/api/auth/login",
            json!({"email": "ada@EXAMPLE.com", "password": "correct horse battery"}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(login["user"]["id"], session["user"]["id"]);
    let (status, wrong) = app
        .post_json(
            "/api/auth/login",
            json!({"email": "ada@example.com", "password": "wrong password"}),
            None,
        )
        .await;
    assert_eq!(
        (status, wrong["error"]["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (status, nobody) = app
        .post_json(
            "/api/auth/login",
            json!({"email": "nobody@example.com", "password": "whatever123"}),
            None,
        )
        .await;
    assert_eq!(
        (status, nobody["error"]["message"].as_str()),
        (401, Some("WRONG EMAIL OR PASSWORD"))
    );
}

#[tokio::test]
async fn sign_up_rejects_bad_emails_and_short_passwords() {
    let app = spawn_idle_app().await;
    let (status, body) = app
        .post_json(
            "/api/auth/signup",
            json!({"email": "not-an-email", "password": "long enough"}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_data"))
    );
    let (status, body) = app
        .post_json(
            "/api/auth/signup",
            json!({"email": "a@b.co", "password": "short"}),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (400, Some("PASSWORD MUST BE 8 TO 256 CHARACTERS"))
    );
    let (status, body) = app
        .post_json("/api/auth/signup", json!({"email": "a@b.co"}), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_data"))
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_family() {
    let app = spawn_idle_app().await;
    let first = app.sign_up("rotate@example.com").await;
    let r1 = first["refresh_token"].as_str().unwrap();

    let (status, second) = app
        .post_json("/api/auth/refresh", json!({"refresh_token": r1}), None)
        .await;
    assert_eq!(status, 200);
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "the refresh token rotates");
    let (status, _) = app
        .get(
            "/api/profile",
            Some(second["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200);

    let (status, replay) = app
        .post_json("/api/auth/refresh", json!({"refresh_token": r1}), None)
        .await;
    assert_eq!(
        (status, replay["error"]["code"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, _) = app
        .post_json("/api/auth/refresh", json!({"refresh_token": r2}), None)
        .await;
    assert_eq!(status, 401, "reuse revoked the whole family");

    let third = app
        .post_json(
            "/api/auth/login",
            json!({"email": "rotate@example.com", "password": "correct horse battery"}),
            None,
        )
        .await
        .1;
    let r3 = third["refresh_token"].as_str().unwrap();
    let (status, _) = app
        .post_json("/api/auth/logout", json!({"refresh_token": r3}), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .post_json("/api/auth/refresh", json!({"refresh_token": r3}), None)
        .await;
    assert_eq!(status, 401, "logout revokes the refresh token");
}

#[tokio::test]
async fn missing_malformed_expired_foreign_and_unsigned_tokens_are_refused() {
    let app = spawn_idle_app().await;
    let user = Uuid::new_v4();
    let claims = |exp: i64| json!({"sub": user, "exp": exp, "aud": "authenticated", "role": "authenticated"});
    let now = chrono::Utc::now().timestamp();
    let sign = |secret: &str, exp: i64| {
        jsonwebtoken::encode(
            &Header::default(),
            &claims(exp),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let b64 = |v: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let unsigned = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims(now + 3600))
    );
    let cases = [
        ("malformed", Some("not.a.jwt".to_owned())),
        ("expired", Some(sign(TEST_SECRET, now - 3600))),
        ("wrong secret", Some(sign("another-secret", now + 3600))),
        ("alg none", Some(unsigned)),
        ("missing", None),
    ];
    for (name, token) in cases {
        let (status, body) = app.get("/api/profile", token.as_deref()).await;
        assert_eq!(status, 401, "{name}");
        assert_eq!(body["error"]["code"], "unauthorized", "{name}: {body}");
    }
    let (status, _) = app
        .get("/api/profile", Some(&sign(TEST_SECRET, now + 3600)))
        .await;
    assert_eq!(
        status, 200,
        "a token from another issuer with the same secret and claims is accepted"
    );
}

#[tokio::test]
async fn login_brute_force_is_slowed_per_address_without_locking_out_others() {
    let app = spawn_app_with(AppOptions {
        workers: 0,
        login_per_min: Some(5),
        ..AppOptions::default()
    })
    .await;
    let attacker = app.client_from("127.0.0.3");
    let mut last = None;
    for _ in 0..6 {
        let response = attacker
            .post(app.url("/api/auth/login"))
            .json(&json!({"email": "victim@example.com", "password": "guess-guess"}))
            .send()
            .await
            .unwrap();
        last = Some(response);
    }
    let limited = last.unwrap();
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");

    let (status, _) = app
        .send_json(
            app.client_from("127.0.0.4")
                .post(app.url("/api/auth/signup")),
            json!({"email": "someone@example.com", "password": "correct horse battery"}),
            None,
        )
        .await;
    assert_eq!(status, 201, "another address is not affected");
}
