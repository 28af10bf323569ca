//! `GET /api/smelts/{id}` and `GET /api/smelts` for the signed-in owner.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use smelt_core::db::smelts::{self, ListQuery, SortField, StatusFilter};
use smelt_core::dto::{SmeltDto, SmeltsListDto};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::http::error::ApiError;
use crate::state::AppState;

/// One smelt in the shape of its state (processing, completed or failed). Anonymous smelts
/// and other users' smelts answer 404, as does an id that is not a UUID.
pub async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<SmeltDto>, ApiError> {
    let id: Uuid = id.parse().map_err(|_| ApiError::smelt_not_found())?;
    let snapshot = smelts::snapshot(&state.pool, id)
        .await?
        .ok_or_else(ApiError::smelt_not_found)?;
    if snapshot.user_id != Some(user.user_id) {
        return Err(ApiError::smelt_not_found());
    }
    Ok(Json(snapshot.dto))
}

/// Parses the list query (§2): `status` (`pending` = not finished, `completed`, `failed`),
/// `sort` (`created_at`, `completed_at`), `order` (`asc`, `desc`), `page` ≥ 1, `limit` 1–50.
/// Anything else answers 400 `invalid_data` naming the parameter.
pub fn parse_list_query(params: &HashMap<String, String>) -> Result<ListQuery, ApiError> {
    let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let status = match get("status") {
        None => None,
        Some("pending") => Some(StatusFilter::Pending),
        Some("completed") => Some(StatusFilter::Completed),
        Some("failed") => Some(StatusFilter::Failed),
        Some(_) => {
            return Err(ApiError::invalid_data(
                "INVALID STATUS. USE PENDING, COMPLETED OR FAILED",
            ))
        }
    };
    let sort = match get("sort") {
        None | Some("created_at") => SortField::CreatedAt,
        Some("completed_at") => SortField::CompletedAt,
        Some(_) => {
            return Err(ApiError::invalid_data(
                "INVALID SORT. USE CREATED_AT OR COMPLETED_AT",
            ))
        }
    };
    let ascending = match get("order") {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(ApiError::invalid_data("INVALID ORDER. USE ASC OR DESC")),
    };
    let page = match get("page") {
        None => 1,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ApiError::invalid_data("INVALID PAGE. USE 1 OR MORE"))?,
    };
    let limit = match get("limit") {
        None => 20,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=50).contains(l))
            .ok_or_else(|| ApiError::invalid_data("INVALID LIMIT. USE 1 TO 50"))?,
    };
    Ok(ListQuery {
        status,
        sort,
        ascending,
        page,
        limit,
    })
}

/// A page of the caller's smelts.
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<SmeltsListDto>, ApiError> {
    let Query(params) = params.map_err(|_| ApiError::invalid_data("INVALID QUERY STRING"))?;
    let query = parse_list_query(&params)?;
    Ok(Json(smelts::list(&state.pool, user.user_id, query).await?))
}
