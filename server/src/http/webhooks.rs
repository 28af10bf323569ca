//! Completion webhooks of the signed-in user (a session, or a service key with the `webhooks`
//! scope): `GET/POST /api/webhooks`, `DELETE /api/webhooks/{id}` and the delivery log
//! `GET /api/webhooks/{id}/deliveries`. How deliveries are signed and retried:
//! [`smelt_core::webhooks`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use smelt_core::db::quotas::{self, Owned};
use smelt_core::db::webhooks::{self as store, DeliveryRow, WebhookRow};
use smelt_core::domain::{DeliveryStatus, Scope};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::body::JsonBody;
use super::error::{ApiError, ApiErrorBody};
use crate::auth::Caller;
use crate::state::AppState;

/// Most webhooks one user may register.
pub const MAX_WEBHOOKS_PER_USER: i64 = 10;
/// Longest URL, in bytes.
pub const MAX_URL_BYTES: usize = 2_000;
/// Deliveries shown in the log, newest first.
pub const DELIVERY_LOG_LENGTH: i64 = 100;

/// Routes under `/webhooks`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(remove))
        .routes(routes!(deliveries))
}

/// `POST /api/webhooks` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewWebhookInput {
    /// Where terminal events are POSTed: `https` to a public address (plain `http` and other
    /// addresses only for hosts in `SMELT_WEBHOOK_ALLOWED_HOSTS`).
    #[schema(example = "https://example.com/hooks/smelt")]
    pub url: String,
}

/// A registered webhook (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: Uuid,
    pub url: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/webhooks` answer: the webhook and, this once, its signing secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookDto {
    #[serde(flatten)]
    pub webhook: WebhookDto,
    /// `whsec_` and base64 key bytes: verify each delivery's `webhook-signature` with it
    /// (Standard Webhooks). Shown only now.
    pub secret: String,
}

/// `GET /api/webhooks` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhooksDto {
    /// Newest first.
    pub webhooks: Vec<WebhookDto>,
}

/// One delivery of a terminal event to a webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    /// Sent as `webhook-id` on every attempt: the receiver's idempotency key.
    pub id: Uuid,
    pub smelt_id: Uuid,
    /// `completed`, `failed` or `cancelled`.
    pub event: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// HTTP status of the last answer, if the receiver answered.
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// `GET /api/webhooks/{id}/deliveries` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveriesDto {
    /// The last 100, newest first.
    pub deliveries: Vec<DeliveryDto>,
}

impl From<WebhookRow> for WebhookDto {
    fn from(row: WebhookRow) -> Self {
        WebhookDto {
            id: row.webhook_id,
            url: row.url,
            created_at: row.created_at,
        }
    }
}

impl From<DeliveryRow> for DeliveryDto {
    fn from(row: DeliveryRow) -> Self {
        DeliveryDto {
            id: row.delivery_id,
            smelt_id: row.smelt_id,
            event: row.event.as_str().to_owned(),
            status: row.status,
            attempts: row.attempts,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            created_at: row.created_at,
            last_attempt_at: row.last_attempt_at,
            delivered_at: row.delivered_at,
        }
    }
}

fn webhook_not_found() -> ApiError {
    ApiError::route_not_found()
}

/// The user's webhooks.
#[utoipa::path(
    get,
    path = "/webhooks",
    operation_id = "list_webhooks",
    summary = "The user's completion webhooks",
    tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = WebhooksDto),
        (status = 401, description = "`unauthorized`: no valid token", body = ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: a key without the `webhooks` scope", body = ApiErrorBody)
    )
)]
async fn list(State(state): State<AppState>, user: Caller) -> Result<Json<WebhooksDto>, ApiError> {
    user.require(Scope::Webhooks)?;
    let webhooks = store::list(&state.pool, user.user_id).await?;
    Ok(Json(WebhooksDto {
        webhooks: webhooks.into_iter().map(WebhookDto::from).collect(),
    }))
}

/// Registers a webhook: every later smelt of the user that completes, fails or is cancelled
/// is POSTed there.
#[utoipa::path(
    post,
    path = "/webhooks",
    operation_id = "create_webhook",
    summary = "Register a completion webhook",
    tag = "webhooks",
    security(("bearer" = [])),
    request_body = NewWebhookInput,
    responses(
        (status = 201, description = "Registered; `secret` signs the deliveries and is shown only now", body = CreatedWebhookDto),
        (status = 400, description = "`webhook_url_not_allowed` (not `https`, or not a public address), or `invalid_data` (not a URL, or the user has 10 webhooks)", body = ApiErrorBody),
        (status = 401, description = "`unauthorized`: no valid token", body = ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: a key without the `webhooks` scope", body = ApiErrorBody)
    )
)]
async fn create(
    State(state): State<AppState>,
    user: Caller,
    JsonBody(input): JsonBody<NewWebhookInput>,
) -> Result<(StatusCode, Json<CreatedWebhookDto>), ApiError> {
    user.require(Scope::Webhooks)?;
    let url = input.url.trim();
    if url.is_empty() || url.len() > MAX_URL_BYTES || url::Url::parse(url).is_err() {
        return Err(ApiError::invalid_data("URL MUST BE AN ABSOLUTE HTTPS URL"));
    }
    // One answer for every refusal: whether a refused address listens is not for the caller
    // to learn.
    let url = state.webhook_guard.check(url).await.map_err(|_| {
        ApiError::bad_request(
            "webhook_url_not_allowed",
            "WEBHOOK URL MUST BE HTTPS TO A PUBLIC ADDRESS",
        )
    })?;
    let mut tx = state.pool.begin().await?;
    if quotas::lock_and_count(&mut tx, Owned::Webhooks, user.user_id).await?
        >= MAX_WEBHOOKS_PER_USER
    {
        return Err(ApiError::invalid_data(format!(
            "AT MOST {MAX_WEBHOOKS_PER_USER} WEBHOOKS. REMOVE ONE FIRST"
        )));
    }
    let secret = smelt_core::webhooks::new_secret();
    let webhook_id = Uuid::now_v7();
    let (cipher, nonce) = state.secret_box.seal_bound(&secret, webhook_id.as_bytes());
    let row = store::insert(
        &mut *tx,
        webhook_id,
        user.user_id,
        url.as_str(),
        (&cipher, &nonce),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookDto {
            webhook: row.into(),
            secret,
        }),
    ))
}

/// Removes a webhook with its delivery log; pending deliveries are dropped.
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    operation_id = "delete_webhook",
    summary = "Remove a completion webhook",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "`unauthorized`: no valid token", body = ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: a key without the `webhooks` scope", body = ApiErrorBody),
        (status = 404, description = "`not_found`: no such webhook of this user", body = ApiErrorBody)
    )
)]
async fn remove(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    user.require(Scope::Webhooks)?;
    let id: Uuid = id.parse().map_err(|_| webhook_not_found())?;
    if !store::delete(&state.pool, user.user_id, id).await? {
        return Err(webhook_not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log of a webhook: each terminal event sent to it, with its attempts.
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    operation_id = "list_webhook_deliveries",
    summary = "A webhook's delivery log",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The last 100 deliveries, newest first", body = DeliveriesDto),
        (status = 401, description = "`unauthorized`: no valid token", body = ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: a key without the `webhooks` scope", body = ApiErrorBody),
        (status = 404, description = "`not_found`: no such webhook of this user", body = ApiErrorBody)
    )
)]
async fn deliveries(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveriesDto>, ApiError> {
    user.require(Scope::Webhooks)?;
    let id: Uuid = id.parse().map_err(|_| webhook_not_found())?;
    let rows = store::deliveries(&state.pool, user.user_id, id, DELIVERY_LOG_LENGTH)
        .await?
        .ok_or_else(webhook_not_found)?;
    Ok(Json(DeliveriesDto {
        deliveries: rows.into_iter().map(DeliveryDto::from).collect(),
    }))
}
