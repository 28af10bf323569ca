//! An in-process stand-in for an OpenAI-compatible provider, speaking its HTTP protocol on a
//! loopback port: `GET /v1/models` answers 200 for [`GOOD_KEY`] and the provider's 401 error
//! body for any other key.

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The key the stub accepts.
pub const GOOD_KEY: &str = "sk-test-GOODKEY-a1b2c3d4e5f6-9z8y";

async fn models(headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if presented == format!("Bearer {GOOD_KEY}") {
        (
            StatusCode::OK,
            Json(
                json!({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "owned_by": "stub"}]}),
            ),
        )
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}),
            ),
        )
    }
}

/// Starts the stub; returns its base URL (`http://127.0.0.1:port/v1`).
pub async fn spawn() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(listener, Router::new().route("/v1/models", get(models)))
            .await
            .unwrap();
    });
    format!("http://127.0.0.1:{port}/v1")
}
