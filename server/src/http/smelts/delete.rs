//! `DELETE /api/smelts/{id}`: the owner removes a smelt with its files, results, events and
//! uploads. A running smelt is cancelled by the deletion itself: the worker's next progress
//! write finds no row and stops.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::http::error::ApiError;
use crate::state::AppState;

/// 204 when deleted; 404 `not_found` for a smelt that does not exist or is not the caller's.
pub async fn delete_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: Uuid = id.parse().map_err(|_| ApiError::smelt_not_found())?;
    // Rows go first (files, results and events cascade), then the blobs they named.
    let keys: Vec<Option<String>> = sqlx::query_scalar(
        "with gone as (delete from smelt where smelt_id = $1 and user_id = $2 returning smelt_id)
         select f.storage_key from smelt_file f join gone using (smelt_id)
         union all select null from gone",
    )
    .bind(id)
    .bind(user.user_id)
    .fetch_all(&state.pool)
    .await?;
    if keys.is_empty() {
        return Err(ApiError::smelt_not_found());
    }
    for key in keys.into_iter().flatten() {
        if let Err(e) = state.blobs.delete(&key).await {
            tracing::warn!(%key, error = %e, "could not delete an upload of a deleted smelt");
        }
    }
    tracing::info!(smelt_id = %id, "smelt deleted");
    Ok(StatusCode::NO_CONTENT)
}
