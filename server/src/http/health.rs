//! `GET /healthz` (the process answers) and `GET /readyz` (it can do its work: the database
//! answers, the LISTEN connection is up, the job queue and the blob store are reachable). `/readyz` answers 503
//! naming the failing part, so a load balancer stops sending traffic to a server that cannot
//! deliver events.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use smelt_core::db;
use smelt_core::domain::Lane;

use crate::state::AppState;

/// Longest a readiness probe waits for the database.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Routes of the health checks.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// `GET /healthz` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Alive {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// `GET /readyz` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` (200) or `unavailable` (503).
    #[schema(example = "ready")]
    pub status: &'static str,
    /// The failing checks, when unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing: Option<Vec<&'static str>>,
    /// Each check and whether it passed.
    pub checks: ReadinessChecks,
}

/// The checks of `GET /readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessChecks {
    /// The database answers.
    pub database: bool,
    /// The LISTEN connection that feeds the sockets is up.
    pub listener: bool,
    /// The job queue answers.
    pub queue: bool,
    /// The blob store is reachable.
    pub storage: bool,
}

/// The process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    summary = "Liveness",
    tag = "health",
    responses((status = 200, description = "The process is alive", body = Alive))
)]
async fn healthz() -> Json<Alive> {
    Json(Alive { status: "ok" })
}

/// True when `check` answers `Ok` within [`PROBE_TIMEOUT`].
async fn probe<T, E>(check: impl std::future::Future<Output = Result<T, E>>) -> bool {
    matches!(tokio::time::timeout(PROBE_TIMEOUT, check).await, Ok(Ok(_)))
}

/// 200 `{"status": "ready", "checks": {…}}` or 503 `{"status": "unavailable", "failing": [...]}`.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    summary = "Readiness: database, LISTEN connection, queue and blob store",
    tag = "health",
    responses(
        (status = 200, description = "Every check passes", body = Readiness),
        (status = 503, description = "Some check fails; `failing` names which", body = Readiness)
    )
)]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let database = probe(db::health::ping(&state.pool)).await;
    let mut queue = database;
    for lane in Lane::ALL {
        queue = queue && probe(state.queue.metrics(*lane)).await;
    }
    let listener = state.listener.is_listening();
    // Any answer (the probe key never exists) shows the store is reachable.
    let storage = probe(state.blobs.exists("readyz/probe")).await;
    let checks = ReadinessChecks {
        database,
        listener,
        queue,
        storage,
    };
    let failing: Vec<&'static str> = [
        ("database", database),
        ("listener", listener),
        ("queue", queue),
        ("storage", storage),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(name, _)| name)
    .collect();
    if failing.is_empty() {
        (
            StatusCode::OK,
            Json(Readiness {
                status: "ready",
                failing: None,
                checks,
            }),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Readiness {
                status: "unavailable",
                failing: Some(failing),
                checks,
            }),
        )
    }
}
