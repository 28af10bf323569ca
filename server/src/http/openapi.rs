//! The OpenAPI 3 document of the HTTP API, served at `GET /api/openapi.json`.
//!
//! Every route is registered with `utoipa_axum::routes!` from the same `#[utoipa::path]`
//! annotation that documents it, so the router and the document cannot disagree. This module
//! adds what no single route knows: the document's info, the security schemes, the error
//! envelope's schema, the realtime payloads and the 500 answer every operation can give.

use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::Extension;
use bytes::Bytes;
use smelt_core::dto::{CompletedPayload, FailedPayload, ProgressPayload};
use smelt_core::events::WireEvent;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::ApiErrorBody;
use super::openai_audio::error::OpenAiErrorBody;
use super::openai_audio::stream::{TextDeltaEvent, TextDoneEvent};
use crate::state::AppState;

/// Security scheme of signed-in routes: an HS256 access token (`Authorization: Bearer <jwt>`).
pub const BEARER: &str = "bearer";
/// Security scheme of `/metrics` when `SMELT_METRICS_TOKEN` is set.
pub const METRICS_TOKEN: &str = "metrics_token";

/// Info, components and tags shared by the whole document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Smelt",
        description = "Smelt turns audio recordings (MP3, WAV, M4A, WebM, Ogg) or pasted text into \
            transcripts and structured notes, and streams live progress over WebSockets and \
            Server-Sent Events. Every error answer is the envelope \
            `{\"error\": {\"code\": \"...\", \"message\": \"...\"}}` (`ApiErrorBody`), except \
            under `/v1`, whose OpenAI-compatible routes answer in OpenAI's shape \
            (`OpenAiErrorBody`) with the same codes."
    ),
    modifiers(&SecuritySchemes),
    components(schemas(
        ApiErrorBody,
        WireEvent,
        ProgressPayload,
        CompletedPayload,
        FailedPayload,
        OpenAiErrorBody,
        TextDeltaEvent,
        TextDoneEvent
    )),
    tags(
        (name = "health", description = "Liveness, readiness and metrics"),
        (name = "auth", description = "Email/password accounts and sessions"),
        (name = "profile", description = "Credits and the user's own provider API key"),
        (name = "prompts", description = "The user's custom prompts"),
        (name = "keys", description = "Service API keys (`ck_…`) for programs calling Smelt"),
        (name = "webhooks", description = "Completion webhooks and their delivery log"),
        (name = "smelts", description = "Creating, reading, listing and deleting smelts"),
        (name = "downloads", description = "Result documents at signed URLs"),
        (name = "realtime", description = "Live progress over WebSocket and Server-Sent Events"),
        (name = "openai", description = "OpenAI-compatible transcription and translation (`/v1/audio/*`)"),
        (name = "meta", description = "This document")
    )
)]
struct ApiDoc;

/// Adds the security schemes.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An HS256 access token (`sub` = user id, `aud = \"authenticated\"`) \
                         from `/api/auth/*`, Supabase Auth or any issuer sharing the secret; or \
                         a service API key `ck_…` from `POST /api/keys`, within its scopes",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            METRICS_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The value of `SMELT_METRICS_TOKEN`, when it is set"))
                    .build(),
            ),
        );
    }
}

/// Adds `500 internal_error` to every operation that does not name it.
struct InternalErrors;

impl Modify for InternalErrors {
    fn modify(&self, openapi: &mut Document) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item) {
                operation
                    .responses
                    .responses
                    .entry("500".to_owned())
                    .or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description("`internal_error`: a failure on the server's side")
                                .content(
                                    "application/json",
                                    utoipa::openapi::ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name("ApiErrorBody")))
                                        .build(),
                                )
                                .build(),
                        )
                    });
            }
        }
    }
}

/// The operations of a path item.
fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The complete document from the routers' paths (`/api` already prefixed where it applies):
/// the shared parts are added and axum's catch-all parameters (`{*key}`) are written the
/// OpenAPI way (`{key}`).
pub fn document(paths: Document) -> Document {
    let mut document = ApiDoc::openapi().merge_from(paths);
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document.paths.paths = std::mem::take(&mut document.paths.paths)
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
    // The modifiers run when the derived document is built, before the routes' paths are in.
    InternalErrors.modify(&mut document);
    document
}

/// The serialised document, handed to [`openapi_json`] as a request extension.
#[derive(Debug, Clone)]
pub struct DocumentJson(Bytes);

impl DocumentJson {
    /// Serialises `document` once, for every request.
    pub fn new(document: &Document) -> Self {
        DocumentJson(Bytes::from(
            document
                .to_json()
                .expect("an OpenAPI document always serialises"),
        ))
    }
}

/// Routes of the document (nested under `/api`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// The OpenAPI 3 document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    summary = "This OpenAPI document",
    tag = "meta",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object))
)]
async fn openapi_json(Extension(DocumentJson(json)): Extension<DocumentJson>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
}
