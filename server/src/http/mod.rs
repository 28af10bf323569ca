//! The REST API. Each resource module exposes `router()`; this module adds the error envelope
//! for unknown routes, wrong methods and the static web app.

pub mod accounts;
pub mod body;
pub mod error;
pub mod health;
pub mod profile;
pub mod prompts;
pub mod smelts;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::realtime;
use crate::state::AppState;
use error::ApiError;

/// The whole HTTP surface: `/api/...` plus the web app at `/`.
pub fn router(state: AppState) -> Router {
    let web_dir = state.settings.web_dir.clone();
    let api = Router::new()
        .merge(smelts::router())
        .merge(accounts::router())
        .merge(profile::router())
        .merge(prompts::router())
        .merge(realtime::router())
        .fallback(|| async { ApiError::route_not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::client(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "METHOD NOT ALLOWED",
            )
        });
    // The web app's files carry no content hash, so browsers must revalidate them.
    let web = ServeDir::new(&web_dir).not_found_service(ServeFile::new(web_dir.join("index.html")));
    Router::new()
        .merge(health::router())
        .nest("/api", api)
        .fallback_service(web)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of one request: method and path only. The query is left out because socket and
/// SSE URLs carry tokens (`?token=`), which must never reach the logs.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
}

/// 404 in the API envelope, for handlers outside `/api` that need it.
pub async fn not_found() -> impl IntoResponse {
    ApiError::route_not_found()
}
