//! The REST API. Each resource module exposes `router()`, an `OpenApiRouter` whose routes are
//! registered from their `#[utoipa::path]` annotations; this module joins them with their
//! OpenAPI document ([`openapi`]) and adds the error envelope for unknown routes, wrong
//! methods and the static web app. Beside `/api`, `/v1` serves the OpenAI-compatible
//! transcription routes ([`openai_audio`]), whose errors take OpenAI's shape.

pub mod accounts;
pub mod body;
pub mod config;
pub mod cors;
pub mod downloads;
pub mod error;
pub mod health;
pub mod keys;
pub mod metrics;
pub mod openai_audio;
pub mod openapi;
pub mod profile;
pub mod prompts;
pub mod smelts;
pub mod upload;
pub mod webhooks;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Router};
use std::time::Duration;
use tower_http::services::{ServeDir, ServeFile};

use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use smelt_core::limits::Limits;

use crate::realtime;
use crate::state::AppState;
use error::ApiError;

/// The whole HTTP surface: `/api/...`, `/v1/audio/...` plus the web app at `/`.
pub fn router(state: AppState) -> Router {
    let web_dir = state.settings.http.web_dir.clone();
    let (routes, document) = routes(&state.limits);
    // Checked at startup (`Application::build`), so an invalid list never gets here.
    let cors = cors::layer(&state.settings.http.cors_origins)
        .ok()
        .flatten();
    // The web app's files carry no content hash, so browsers must revalidate them.
    // Paths that are not files are the app's own routes: index.html, with 200.
    let web = ServeDir::new(&web_dir).fallback(ServeFile::new(web_dir.join("index.html")));
    routes
        .fallback_service(web)
        .layer(Extension(openapi::DocumentJson::new(&document)))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        // Outside the routes, so that preflights (`OPTIONS`) are answered before routing.
        .layer(tower::util::option_layer(cors))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        // A body that stops arriving (a stalled upload) fails its request instead of holding
        // it open; the create handler then discards what it stored.
        .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(
            state.settings.http.body_idle_timeout_secs.max(1),
        )))
        .with_state(state)
}

/// Every route (`/healthz`, `/readyz`, `/metrics`, `/api/...` and `/v1/...`, without the web
/// app) and the OpenAPI document built from the same annotations. `limits` bound the bodies
/// that carry audio.
pub fn routes(limits: &Limits) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (api, api_paths) = OpenApiRouter::new()
        .merge(smelts::router(limits))
        .merge(config::router())
        .merge(downloads::router())
        .merge(accounts::router())
        .merge(profile::router())
        .merge(prompts::router())
        .merge(keys::router())
        .merge(webhooks::router())
        .merge(realtime::router())
        .merge(openapi::router())
        .split_for_parts();
    let api = api
        .fallback(|| async { ApiError::route_not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::client(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "METHOD NOT ALLOWED",
            )
        });
    // OpenAI's clients read errors in OpenAI's shape, unknown paths under `/v1` included.
    let (v1, v1_paths) = OpenApiRouter::new()
        .merge(openai_audio::router(limits))
        .split_for_parts();
    let v1 = v1
        .fallback(|| async { openai_audio::error::OpenAiError::route_not_found() })
        .method_not_allowed_fallback(|| async {
            openai_audio::error::OpenAiError::method_not_allowed()
        });
    let (root, root_paths) = OpenApiRouter::new()
        .merge(health::router())
        .merge(metrics::router())
        .split_for_parts();
    (
        root.nest("/api", api).nest("/v1", v1),
        openapi::document(root_paths.nest("/api", api_paths).nest("/v1", v1_paths)),
    )
}

/// The span of one request: method and path, and the smelt it concerns once a handler knows
/// ([`record_smelt`]). The query is left out because socket, SSE and download URLs carry
/// tokens and signatures, which must never reach the logs.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        smelt_id = tracing::field::Empty,
    )
}

/// Records on the current request's span which smelt it concerns, so that its log lines can
/// be found with the smelt's id.
pub fn record_smelt(smelt_id: uuid::Uuid) {
    tracing::Span::current().record("smelt_id", tracing::field::display(smelt_id));
}

/// 404 in the API envelope, for handlers outside `/api` that need it.
pub async fn not_found() -> impl IntoResponse {
    ApiError::route_not_found()
}
