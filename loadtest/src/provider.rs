//! A stand-in for an OpenAI-compatible provider, served on loopback, that accepts every key at
//! `GET /v1/models`. Saving an own API key goes through the server's real check
//! (`PUT /api/profile/api-key` calls `{base_url}/models`), and the user is then unlimited.
//! Nothing else is served: the create benchmark runs without workers, so no smelt is ever
//! processed with these keys.

use axum::routing::get;
use axum::{Json, Router};
use tokio::task::JoinHandle;

/// Starts the stand-in on a free loopback port; returns its base URL
/// (`http://127.0.0.1:{port}/v1`) and its task.
pub async fn serve() -> anyhow::Result<(String, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}/v1", listener.local_addr()?);
    let app = Router::new().route(
        "/v1/models",
        get(|| async { Json(serde_json::json!({"object": "list", "data": []})) }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((base_url, task))
}
