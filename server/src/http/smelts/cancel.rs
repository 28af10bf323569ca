//! `POST /api/smelts/{id}/cancel`: the owner, or the holder of the smelt's subscription token,
//! stops a smelt that has not finished. Its subscribers get the terminal `cancelled` event and
//! a close with 1000, its credit comes back once, its uploads are deleted; a queued job never
//! starts and a running one stops at its next step.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use smelt_core::blob;
use smelt_core::db::smelts::{self, Cancellation};
use smelt_core::domain::Scope;
use smelt_core::dto::SmeltDto;
use utoipa::IntoParams;
use uuid::Uuid;

use super::access::SmeltAccess;
use crate::http::error::{ApiError, ApiErrorBody};
use crate::state::AppState;

/// Query of the cancel route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CancelQuery {
    /// The smelt's subscription token (or the owner's access token); or send it as
    /// `Authorization: Bearer`.
    pub token: Option<String>,
}

/// 200 with the cancelled smelt; 409 `already_finished` for a finished one.
#[utoipa::path(
    post,
    path = "/smelts/{id}/cancel",
    operation_id = "cancel_smelt",
    summary = "Cancel a smelt that has not finished",
    tag = "smelts",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The smelt's id"), CancelQuery),
    responses(
        (status = 200, description = "Cancelled: status `cancelled`, `error_code` `cancelled`; subscribers got the `cancelled` event and a close with 1000, the credit came back, uploads are deleted", body = SmeltDto),
        (status = 401, description = "`unauthorized`: no valid token", body = ApiErrorBody),
        (status = 403, description = "`forbidden`: the token is for another smelt", body = ApiErrorBody),
        (status = 404, description = "`not_found`: no such smelt (or not yours)", body = ApiErrorBody),
        (status = 409, description = "`already_finished`: the smelt completed, failed or was cancelled already", body = ApiErrorBody)
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<CancelQuery>,
    headers: HeaderMap,
) -> Result<Json<SmeltDto>, ApiError> {
    let smelt_id: Uuid = id.parse().map_err(|_| ApiError::smelt_not_found())?;
    crate::http::record_smelt(smelt_id);
    let access = SmeltAccess::of(
        &state,
        smelt_id,
        &headers,
        query.token.as_deref(),
        Scope::SmeltsWrite,
    )
    .await?;
    let owner = smelts::owner(&state.pool, smelt_id)
        .await?
        .ok_or_else(ApiError::smelt_not_found)?;
    if !access.allows(owner) {
        return Err(ApiError::smelt_not_found());
    }
    match smelts::cancel(&state.pool, smelt_id).await? {
        Cancellation::Cancelled => {}
        Cancellation::AlreadyFinished => {
            return Err(ApiError::client(
                StatusCode::CONFLICT,
                "already_finished",
                "SMELT ALREADY FINISHED",
            ))
        }
        Cancellation::NotFound => return Err(ApiError::smelt_not_found()),
    }
    tracing::info!(%smelt_id, "smelt cancelled");
    metrics::counter!(smelt_core::metrics::SMELTS_FINISHED, "status" => "cancelled", "error_code" => "cancelled")
        .increment(1);
    purge_uploads(&state, smelt_id).await;
    let snapshot = smelts::snapshot(&state.pool, smelt_id)
        .await?
        .ok_or_else(ApiError::smelt_not_found)?;
    let lived = (chrono::Utc::now() - snapshot.dto.created_at).as_seconds_f64();
    metrics::histogram!(smelt_core::metrics::SMELT_DURATION, "status" => "cancelled")
        .record(lived.max(0.0));
    Ok(Json(snapshot.dto))
}

/// Deletes what a cancelled smelt stored (its uploads and any document already written).
pub async fn purge_uploads(state: &AppState, smelt_id: Uuid) {
    if let Err(e) = smelts::forget_uploads(&state.pool, smelt_id).await {
        tracing::warn!(%smelt_id, error = %e, "could not forget the uploads of a cancelled smelt");
    }
    if let Err(e) = blob::purge_smelt(state.blobs.as_ref(), smelt_id).await {
        tracing::warn!(%smelt_id, error = %e, "could not delete the blobs of a cancelled smelt");
    }
}
