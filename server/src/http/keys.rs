//! Service API keys of the signed-in user: `GET/POST /api/keys`, `DELETE /api/keys/{id}`.
//! Only a browser session may manage keys (a key cannot make or revoke keys). The key itself
//! is in the creation answer and nowhere else.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use smelt_core::db::quotas::{self, Owned};
use smelt_core::db::service_keys::{self, NewServiceKey, ServiceKeyRow};
use smelt_core::domain::Scope;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::body::JsonBody;
use super::error::{ApiError, ApiErrorBody};
use crate::auth::AuthUser;
use crate::state::AppState;

/// Longest key name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Most keys a user may hold at once (revoked and expired ones do not count).
pub const MAX_KEYS_PER_USER: i64 = 50;

/// Routes under `/keys`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

/// `POST /api/keys` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewKeyInput {
    /// 1 to 100 characters, to tell keys apart (`"CI uploader"`).
    #[schema(max_length = 100)]
    pub name: String,
    /// What the key may do; default `["smelts:write", "smelts:read"]`.
    #[serde(default)]
    pub scopes: Option<Vec<Scope>>,
    /// When the key stops working (RFC 3339, in the future); absent: never.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key as listed: never the key itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyDto {
    pub id: Uuid,
    pub name: String,
    /// The key's first characters (`ck_` and 8 more).
    #[schema(example = "ck_3fA9xQ2b")]
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Last request made with the key (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked key is refused with 401.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `POST /api/keys` answer: the key's listing and, this once, the key.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKeyDto {
    #[serde(flatten)]
    pub key: KeyDto,
    /// The key, `ck_` and 43 characters: send it as `Authorization: Bearer ck_…`. Shown only
    /// now; Smelt keeps only its hash.
    pub secret: String,
}

/// `GET /api/keys` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeysDto {
    /// Newest first, revoked keys included.
    pub keys: Vec<KeyDto>,
}

impl From<ServiceKeyRow> for KeyDto {
    fn from(row: ServiceKeyRow) -> Self {
        KeyDto {
            id: row.key_id,
            name: row.name,
            prefix: row.prefix,
            scopes: row.scopes.iter().filter_map(|s| s.parse().ok()).collect(),
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// The user's service keys.
#[utoipa::path(
    get,
    path = "/keys",
    operation_id = "list_keys",
    summary = "The user's service API keys",
    tag = "keys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first, revoked ones included", body = KeysDto),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: a service key cannot manage keys", body = ApiErrorBody)
    )
)]
async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<KeysDto>, ApiError> {
    let keys = service_keys::list(&state.pool, user.user_id).await?;
    Ok(Json(KeysDto {
        keys: keys.into_iter().map(KeyDto::from).collect(),
    }))
}

/// Makes a key. The answer holds the key itself, once.
#[utoipa::path(
    post,
    path = "/keys",
    operation_id = "create_key",
    summary = "Make a service API key",
    tag = "keys",
    security(("bearer" = [])),
    request_body = NewKeyInput,
    responses(
        (status = 201, description = "Created; `secret` is the key, shown only now", body = CreatedKeyDto),
        (status = 400, description = "`invalid_data`: an empty or too long name, no scopes, an expiry in the past, or already 50 active keys", body = ApiErrorBody),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: a service key cannot make keys", body = ApiErrorBody)
    )
)]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(input): JsonBody<NewKeyInput>,
) -> Result<(StatusCode, Json<CreatedKeyDto>), ApiError> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid_data(format!(
            "NAME MUST BE 1 TO {MAX_NAME_CHARS} CHARACTERS"
        )));
    }
    let mut scopes = input
        .scopes
        .unwrap_or_else(|| vec![Scope::SmeltsWrite, Scope::SmeltsRead]);
    scopes.sort_by_key(|s| s.as_str());
    scopes.dedup();
    if scopes.is_empty() {
        return Err(ApiError::invalid_data("GIVE THE KEY AT LEAST ONE SCOPE"));
    }
    if input.expires_at.is_some_and(|at| at <= state.clock.now()) {
        return Err(ApiError::invalid_data("EXPIRES_AT MUST BE IN THE FUTURE"));
    }
    let mut tx = state.pool.begin().await?;
    if quotas::lock_and_count(&mut tx, Owned::ServiceKeys, user.user_id).await? >= MAX_KEYS_PER_USER
    {
        return Err(ApiError::invalid_data(format!(
            "AT MOST {MAX_KEYS_PER_USER} ACTIVE KEYS. REVOKE ONE FIRST"
        )));
    }
    let key = smelt_core::service_keys::generate();
    let row = service_keys::insert(
        &mut *tx,
        &NewServiceKey {
            key_id: Uuid::now_v7(),
            user_id: user.user_id,
            name,
            prefix: &key.prefix,
            hash: &key.hash,
            scopes: &scopes,
            expires_at: input.expires_at,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(key_id = %row.key_id, prefix = %row.prefix, "service key created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyDto {
            key: row.into(),
            secret: key.secret,
        }),
    ))
}

/// Revokes a key at once: its next request gets 401 and the sockets it opened close with 4501.
#[utoipa::path(
    delete,
    path = "/keys/{id}",
    operation_id = "revoke_key",
    summary = "Revoke a service API key",
    tag = "keys",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked (or revoked already)"),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody),
        (status = 403, description = "`insufficient_scope`: a service key cannot revoke keys", body = ApiErrorBody),
        (status = 404, description = "`not_found`: no such key of this user", body = ApiErrorBody)
    )
)]
async fn revoke(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key_id: Uuid = id.parse().map_err(|_| ApiError::route_not_found())?;
    if !service_keys::revoke(&state.pool, user.user_id, key_id).await? {
        return Err(ApiError::route_not_found());
    }
    tracing::info!(%key_id, "service key revoked");
    Ok(StatusCode::NO_CONTENT)
}
