//! `GET /healthz` (the process answers) and `GET /readyz` (it can do its work: the database
//! answers, the LISTEN connection is up, the job queue is reachable). `/readyz` answers 503
//! naming the failing part, so a load balancer stops sending traffic to a server that cannot
//! deliver events.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::state::AppState;

/// Longest a readiness probe waits for the database.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Routes of the health checks.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn probe(state: &AppState, sql: &str) -> bool {
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, sqlx::query(sql).execute(&state.pool)).await,
        Ok(Ok(_))
    )
}

/// 200 `{"status": "ready", "checks": {…}}` or 503 `{"status": "unavailable", "failing": [...]}`.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = probe(&state, "select 1").await;
    let queue = database && probe(&state, "select pgmq.metrics('smelt_jobs')").await;
    let listener = state.listener.is_listening();
    let checks = json!({"database": database, "listener": listener, "queue": queue});
    let failing: Vec<&str> = [
        ("database", database),
        ("listener", listener),
        ("queue", queue),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(name, _)| name)
    .collect();
    if failing.is_empty() {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "checks": checks})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "failing": failing, "checks": checks})),
        )
    }
}
