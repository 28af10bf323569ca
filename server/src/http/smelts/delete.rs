//! `DELETE /api/smelts/{id}`: the owner removes a smelt with its files, results, events and
//! uploads. A running smelt is cancelled first (its subscribers get the `cancelled` event and a
//! close with 1000), and its worker's next write finds no row and stops.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use smelt_core::lifecycle;
use uuid::Uuid;

use crate::auth::Caller;
use crate::http::error::{ApiError, ApiErrorBody};
use crate::state::AppState;
use smelt_core::domain::Scope;

/// 204 when deleted; 404 `not_found` for a smelt that does not exist or is not the caller's.
#[utoipa::path(
    delete,
    path = "/smelts/{id}",
    operation_id = "delete_smelt",
    summary = "Delete a smelt with everything it stored",
    tag = "smelts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The smelt's id")),
    responses(
        (status = 204, description = "Deleted with its files, results, events, uploads and documents; a running smelt stops at its next step"),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody),
        (status = 404, description = "`not_found`: no such smelt of this user", body = ApiErrorBody)
    )
)]
pub async fn delete_one(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    user.require(Scope::SmeltsWrite)?;
    let id: Uuid = id.parse().map_err(|_| ApiError::smelt_not_found())?;
    crate::http::record_smelt(id);
    // A smelt still running is cancelled first (its subscribers get a terminal event and
    // their sockets close), then removed with everything it stored.
    if !lifecycle::delete(&state.pool, state.blobs.as_ref(), id, user.user_id).await? {
        return Err(ApiError::smelt_not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}
