//! `POST /api/smelts/{id}/cancel`: the owner, or the holder of the smelt's subscription token,
//! stops a smelt that has not finished. Its subscribers get the terminal `cancelled` event and
//! a close with 1000, its uploads are deleted; a queued job never starts and a running one
//! stops at its next step. Its credit comes back (once) only if transcription had not begun:
//! the answer's `credit_refunded` says which.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use smelt_core::db::smelts;
use smelt_core::domain::Scope;
use smelt_core::dto::SmeltDto;
use smelt_core::lifecycle::{self, Cancellation};
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

/// 200 with the cancelled smelt and `credit_refunded`; 409 `already_finished` for a finished
/// one.
#[utoipa::path(
    post,
    path = "/smelts/{id}/cancel",
    operation_id = "cancel_smelt",
    summary = "Cancel a smelt that has not finished",
    tag = "smelts",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The smelt's id"), CancelQuery),
    responses(
        (status = 200, description = "Cancelled: status `cancelled`, `error_code` `cancelled`; subscribers got the `cancelled` event and a close with 1000, uploads are deleted; `credit_refunded` says whether the credit came back (only when cancelled before transcription began)", body = SmeltDto),
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
    let credit_refunded =
        match lifecycle::cancel(&state.pool, state.blobs.as_ref(), smelt_id).await? {
            Cancellation::Cancelled { credit_refunded } => credit_refunded,
            Cancellation::AlreadyFinished => {
                return Err(ApiError::client(
                    StatusCode::CONFLICT,
                    "already_finished",
                    "SMELT ALREADY FINISHED",
                ))
            }
            Cancellation::NotFound => return Err(ApiError::smelt_not_found()),
        };
    let mut snapshot = smelts::snapshot(&state.pool, smelt_id)
        .await?
        .ok_or_else(ApiError::smelt_not_found)?;
    snapshot.dto.credit_refunded = Some(credit_refunded);
    Ok(Json(snapshot.dto))
}
