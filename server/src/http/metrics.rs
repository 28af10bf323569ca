//! `GET /metrics`: Prometheus text exposition of the process's metrics (names in
//! [`smelt_core::metrics`]). Gauges that describe shared state — hub subscribers and
//! channels, queue depth and the oldest message's age — are read at scrape time. When
//! `SMELT_METRICS_TOKEN` is set, the endpoint answers only requests bearing it.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use smelt_core::crypto::sha256;
use smelt_core::domain::Lane;
use smelt_core::metrics::{self as names, recorder};
use smelt_core::queue::DEAD_LETTER_QUEUE;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::bearer_token;
use crate::http::error::{ApiError, ApiErrorBody};
use crate::state::AppState;

/// Routes of the metrics endpoint.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(scrape))
}

/// 200 `text/plain; version=0.0.4` with every metric; 401 `unauthorized` without the
/// configured token.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    tag = "health",
    security((), ("metrics_token" = [])),
    responses(
        (status = 200, description = "Every metric in the Prometheus text format", content_type = "text/plain; version=0.0.4", body = String),
        (status = 401, description = "`unauthorized`: `SMELT_METRICS_TOKEN` is set and the request does not bear it", body = ApiErrorBody)
    )
)]
pub async fn scrape(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(expected) = state
        .settings
        .http
        .metrics_token
        .as_deref()
        .filter(|t| !t.is_empty())
    {
        // Comparing digests keeps the comparison's timing independent of the token.
        let given = bearer_token(&headers).unwrap_or_default();
        if sha256(given.as_bytes()) != sha256(expected.as_bytes()) {
            return Err(ApiError::client(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "METRICS TOKEN REQUIRED",
            ));
        }
    }
    metrics::gauge!(names::SUBSCRIPTIONS).set(state.hub.subscriber_count() as f64);
    metrics::gauge!(names::CHANNELS).set(state.hub.channel_count() as f64);
    // A scrape must answer even when the database does not: the queue gauges keep their last
    // values and `smelt_ready` says what is wrong.
    let mut database = true;
    let mut measured = Vec::new();
    for lane in Lane::ALL {
        measured.push((lane.queue_name(), state.queue.metrics(*lane).await));
    }
    measured.push((DEAD_LETTER_QUEUE, state.queue.dead_letter_metrics().await));
    for (queue, measured) in measured {
        match measured {
            Ok(m) => {
                metrics::gauge!(names::QUEUE_DEPTH, "queue" => queue).set(m.depth as f64);
                metrics::gauge!(names::QUEUE_OLDEST_AGE, "queue" => queue)
                    .set(m.oldest_age_secs as f64);
            }
            Err(e) => {
                tracing::warn!(%queue, error = %e, "queue metrics unavailable");
                database = false;
            }
        }
    }
    let ready = database && state.listener.is_listening();
    metrics::gauge!(names::READY).set(if ready { 1.0 } else { 0.0 });
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        recorder().render(),
    )
        .into_response())
}
