//! `GET /api/smelts/{id}` and `GET /api/smelts` for the signed-in owner.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use smelt_core::blob;
use smelt_core::db::smelts::{self, ListQuery, SortField, StatusFilter};
use smelt_core::dto::{ResultDto, SmeltDto, SmeltsListDto};
use uuid::Uuid;

use crate::auth::Caller;
use crate::http::error::{ApiError, ApiErrorBody};
use crate::state::AppState;
use smelt_core::domain::{Scope, SmeltStatus};

/// One smelt in the shape of its state (processing, completed or failed). Anonymous smelts
/// and other users' smelts answer 404, as does an id that is not a UUID.
#[utoipa::path(
    get,
    path = "/smelts/{id}",
    operation_id = "get_smelt",
    summary = "One of the user's smelts",
    tag = "smelts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The smelt's id")),
    responses(
        (status = 200, description = "The smelt: `progress` while processing, `results` (each with a `download_url`) when completed, `error_code` and `error_message` when failed", body = SmeltDto),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody),
        (status = 404, description = "`not_found`: no such smelt of this user (anonymous smelts included)", body = ApiErrorBody)
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
) -> Result<Json<SmeltDto>, ApiError> {
    user.require(Scope::SmeltsRead)?;
    let id: Uuid = id.parse().map_err(|_| ApiError::smelt_not_found())?;
    crate::http::record_smelt(id);
    let snapshot = smelts::snapshot(&state.pool, id)
        .await?
        .ok_or_else(ApiError::smelt_not_found)?;
    if snapshot.user_id != Some(user.user_id) {
        return Err(ApiError::smelt_not_found());
    }
    let mut dto = snapshot.dto;
    if let Some(results) = dto.results.as_mut() {
        add_download_urls(&state, id, results).await?;
    }
    if dto.status == SmeltStatus::Pending {
        if let (Some(progress), Some((position, wait))) = (
            dto.progress.as_mut(),
            smelts::queue_place(&state.pool, id).await?,
        ) {
            progress.queue_position = Some(position);
            progress.estimated_wait_seconds = wait;
        }
    }
    Ok(Json(dto))
}

/// Gives each result with a stored document a `download_url` valid for
/// `SMELT_DOWNLOAD_URL_TTL_SECS`.
async fn add_download_urls(
    state: &AppState,
    smelt_id: Uuid,
    results: &mut [ResultDto],
) -> Result<(), ApiError> {
    let keys = smelts::result_keys(&state.pool, smelt_id).await?;
    let ttl = Duration::from_secs(state.settings.http.download_url_ttl_secs);
    for (result, key) in results.iter_mut().zip(keys) {
        if let Some(key) = key {
            // One source has several documents: the name says which one this is.
            let label = result.prompt.as_deref().unwrap_or("transcript");
            let filename = format!(
                "{} - {label}.md",
                blob::safe_stem(&result.filename, "result")
            );
            result.download_url = Some(state.blobs.download_url(&key, &filename, ttl).await?);
        }
    }
    Ok(())
}

/// Parses the list query (`docs/api.md#get-apismelts--list`): `status` (`pending` = not
/// finished, `completed`, `failed`, `cancelled`), `sort` (`created_at`, `completed_at`), `order`
/// (`asc`, `desc`), `page` ≥ 1, `limit` 1–50.
/// Anything else answers 400 `invalid_data` naming the parameter.
pub fn parse_list_query(params: &HashMap<String, String>) -> Result<ListQuery, ApiError> {
    let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let status = match get("status") {
        None => None,
        Some("pending") => Some(StatusFilter::Pending),
        Some("completed") => Some(StatusFilter::Completed),
        Some("failed") => Some(StatusFilter::Failed),
        Some("cancelled") => Some(StatusFilter::Cancelled),
        Some(_) => {
            return Err(ApiError::invalid_data(
                "INVALID STATUS. USE PENDING, COMPLETED, FAILED OR CANCELLED",
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
#[utoipa::path(
    get,
    path = "/smelts",
    operation_id = "list_smelts",
    summary = "A page of the user's smelts",
    tag = "smelts",
    security(("bearer" = [])),
    params(
        ("status" = Option<String>, Query, description = "`pending` (not finished), `completed`, `failed` or `cancelled`"),
        ("sort" = Option<String>, Query, description = "`created_at` (default) or `completed_at`"),
        ("order" = Option<String>, Query, description = "`desc` (default) or `asc`"),
        ("page" = Option<u32>, Query, minimum = 1, description = "1 or more (default 1)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 50, description = "1 to 50 (default 20)")
    ),
    responses(
        (status = 200, description = "A page of the user's smelts", body = SmeltsListDto),
        (status = 400, description = "`invalid_data`: a query parameter outside its domain", body = ApiErrorBody),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody)
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: Caller,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<SmeltsListDto>, ApiError> {
    user.require(Scope::SmeltsRead)?;
    let Query(params) = params.map_err(|_| ApiError::invalid_data("INVALID QUERY STRING"))?;
    let query = parse_list_query(&params)?;
    Ok(Json(smelts::list(&state.pool, user.user_id, query).await?))
}
