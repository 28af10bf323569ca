//! `GET /api/profile` and the own API key: `PUT`/`DELETE /api/profile/api-key`.
//!
//! A key is checked with a call that costs nothing (`GET {base_url}/models`) before it is
//! saved, stored encrypted (AES-256-GCM), and never returned: only its last four characters.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use smelt_core::db::{credits, users};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use std::time::Duration;

use smelt_core::outbound;

use super::body::JsonBody;
use super::error::{ApiError, ApiErrorBody};
use crate::auth::AuthUser;
use crate::state::AppState;

/// Routes under `/profile`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show))
        .routes(routes!(save_key, delete_key))
}

/// `GET /api/profile` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileDto {
    /// Null for users of an external issuer.
    #[schema(required = true)]
    pub email: Option<String>,
    pub credits_remaining: i32,
    pub weekly_credits_max: i32,
    pub credits_reset_at: DateTime<Utc>,
    /// `none`, `valid` or `invalid`.
    #[schema(example = "none")]
    pub api_key_status: String,
    /// Last four characters of the saved key.
    #[schema(required = true)]
    pub api_key_last4: Option<String>,
    /// The provider's base URL of the saved key.
    #[schema(required = true)]
    pub api_key_base_url: Option<String>,
}

async fn load(state: &AppState, user: AuthUser) -> Result<ProfileDto, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let row = credits::profile(
        &mut conn,
        user.user_id,
        state.clock.now(),
        state.limits.weekly_credits,
        false,
    )
    .await?;
    Ok(ProfileDto {
        email: users::email_of(&mut *conn, user.user_id).await?,
        credits_remaining: row.credits_remaining,
        weekly_credits_max: row.weekly_credits_max,
        credits_reset_at: row.credits_reset_at,
        api_key_status: row.api_key_status.as_str().to_owned(),
        api_key_last4: row.api_key_last4,
        api_key_base_url: row.api_key_base_url,
    })
}

/// The signed-in user's email, credits and API key status.
#[utoipa::path(
    get,
    path = "/profile",
    operation_id = "get_profile",
    summary = "The signed-in user's profile",
    tag = "profile",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = ProfileDto),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody)
    )
)]
async fn show(State(state): State<AppState>, user: AuthUser) -> Result<Json<ProfileDto>, ApiError> {
    Ok(Json(load(&state, user).await?))
}

/// `PUT /api/profile/api-key` body.
#[derive(Deserialize, ToSchema)]
pub struct ApiKeyRequest {
    pub api_key: String,
    /// OpenAI-compatible base URL (e.g. `https://api.groq.com/openai/v1`); the configured
    /// default when absent.
    pub base_url: Option<String>,
}

/// Outcome of checking a key with its provider.
enum KeyCheck {
    Valid,
    Rejected,
    Unreachable,
    /// The outbound guard refused the URL (decided before any connection).
    NotAllowed,
}

/// `GET {base_url}/models` with the key, through `http` (the guarded client for a URL the
/// user chose).
async fn check_key(http: &reqwest::Client, base_url: &str, key: &str) -> KeyCheck {
    let url = format!("{}/models", base_url.trim_end_matches('/'));
    match http.get(url).bearer_auth(key).send().await {
        Ok(r) if r.status().is_success() => KeyCheck::Valid,
        Ok(r) if r.status() == StatusCode::UNAUTHORIZED || r.status() == StatusCode::FORBIDDEN => {
            KeyCheck::Rejected
        }
        Ok(r) => {
            tracing::warn!(status = %r.status(), "provider answered the key check with an error");
            KeyCheck::Unreachable
        }
        Err(e) if outbound::is_refusal(&e) => KeyCheck::NotAllowed,
        Err(e) => {
            tracing::warn!(error = %e.without_url(), "provider unreachable for the key check");
            KeyCheck::Unreachable
        }
    }
}

/// The refusal of a provider URL the guard does not allow: one message whatever the reason,
/// so it says nothing about what answers at the refused address.
fn not_allowed() -> ApiError {
    ApiError::bad_request(
        "provider_not_allowed",
        "THAT PROVIDER ADDRESS IS NOT ALLOWED. USE A PUBLIC HTTPS URL",
    )
}

/// Validates and saves a key → 200 profile. 400 `api_key_invalid` when the provider rejects
/// it (nothing is saved), 400 `provider_unreachable` when it cannot be checked, 400
/// `provider_not_allowed` for a base URL the outbound guard refuses (plain http or a
/// non-public address, unless the operator lists the host), 400 `invalid_data` for an empty
/// key or a base URL that is not http(s).
#[utoipa::path(
    put,
    path = "/profile/api-key",
    operation_id = "save_api_key",
    summary = "Check and save the user's own provider API key",
    tag = "profile",
    security(("bearer" = [])),
    request_body = ApiKeyRequest,
    responses(
        (status = 200, description = "Checked with `GET {base_url}/models` and saved encrypted; the user is unlimited", body = ProfileDto),
        (status = 400, description = "`api_key_invalid` (the provider refused it), `provider_unreachable`, `provider_not_allowed` (plain http or a non-public address) or `invalid_data`", body = ApiErrorBody),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody)
    )
)]
async fn save_key(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(body): JsonBody<ApiKeyRequest>,
) -> Result<Json<ProfileDto>, ApiError> {
    let key = body.api_key.trim();
    if key.len() < 8 || key.len() > 512 || key.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid_data("API KEY LOOKS WRONG"));
    }
    let chosen = body
        .base_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    if let Some(url) = chosen {
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 512 {
            return Err(ApiError::invalid_data(
                "BASE URL MUST START WITH HTTP:// OR HTTPS://",
            ));
        }
    }
    let checked = match chosen {
        // A URL the user chose goes through the outbound guard, checked before any
        // connection and again on every connection the guarded client makes.
        Some(url) => {
            if let Err(refused) = state.outbound.check(url).await {
                tracing::info!(reason = %refused, "a provider URL was refused");
                return Err(not_allowed());
            }
            let http = state.outbound.client(Duration::from_secs(15));
            check_key(&http, url, key).await
        }
        None => check_key(&state.http, &state.settings.provider.openai_base_url, key).await,
    };
    match checked {
        KeyCheck::Valid => {}
        KeyCheck::Rejected => {
            return Err(ApiError::bad_request("api_key_invalid", "API KEY INVALID"))
        }
        KeyCheck::NotAllowed => return Err(not_allowed()),
        KeyCheck::Unreachable => {
            return Err(ApiError::bad_request(
                "provider_unreachable",
                "COULDN'T CHECK THAT KEY. CHECK THE BASE URL AND TRY AGAIN",
            ))
        }
    }
    let base_url = chosen
        .unwrap_or(&state.settings.provider.openai_base_url)
        .to_owned();
    let (ciphertext, nonce) = state.secret_box.seal_bound(key, user.user_id.as_bytes());
    let last4: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    credits::ensure_profile(
        &state.pool,
        user.user_id,
        state.clock.now(),
        state.limits.weekly_credits,
    )
    .await?;
    users::save_api_key(
        &state.pool,
        user.user_id,
        &ciphertext,
        &nonce,
        &last4,
        chosen.map(|_| base_url.as_str()),
    )
    .await?;
    tracing::info!(user_id = %user.user_id, "own API key saved");
    Ok(Json(load(&state, user).await?))
}

/// Removes the key → 204; the user is back on weekly credits.
#[utoipa::path(
    delete,
    path = "/profile/api-key",
    operation_id = "delete_api_key",
    summary = "Remove the user's own API key",
    tag = "profile",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody)
    )
)]
async fn delete_key(State(state): State<AppState>, user: AuthUser) -> Result<StatusCode, ApiError> {
    users::remove_api_key(&state.pool, user.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
