//! A user's custom prompts: `GET/POST /api/prompts`, `GET/PATCH/DELETE /api/prompts/{id}`.
//! Another user's prompt answers 404 `prompt_not_found`, as does an id that is not a UUID.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use smelt_core::db::prompts::{self, PromptRow};
use smelt_core::db::quotas::{self, Owned};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::body::JsonBody;
use super::error::{ApiError, ApiErrorBody};
use crate::auth::AuthUser;
use crate::state::AppState;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest body, in characters.
pub const MAX_BODY_CHARS: usize = 4_000;

/// Most custom prompts one user may keep.
pub const MAX_PROMPTS_PER_USER: i64 = 100;

/// Routes under `/prompts`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
}

/// `GET /api/prompts` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptsDto {
    /// Newest first.
    pub prompts: Vec<PromptRow>,
}

/// `POST` body (both fields) and `PATCH` body (either).
#[derive(Debug, Deserialize, ToSchema)]
pub struct PromptInput {
    /// 1 to 100 characters.
    #[schema(max_length = 100)]
    pub title: Option<String>,
    /// 1 to 4,000 characters.
    #[schema(max_length = 4000)]
    pub body: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::client(
        StatusCode::NOT_FOUND,
        "prompt_not_found",
        "PROMPT NOT FOUND",
    )
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse().map_err(|_| not_found())
}

fn field(value: Option<String>, name: &str, max: usize) -> Result<Option<String>, ApiError> {
    match value.map(|v| v.trim().to_owned()) {
        None => Ok(None),
        Some(v) if v.is_empty() || v.chars().count() > max => Err(ApiError::invalid_data(format!(
            "{} MUST BE 1 TO {max} CHARACTERS",
            name.to_uppercase()
        ))),
        Some(v) => Ok(Some(v)),
    }
}

/// The user's prompts.
#[utoipa::path(
    get,
    path = "/prompts",
    operation_id = "list_prompts",
    summary = "The user's custom prompts",
    tag = "prompts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = PromptsDto),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody)
    )
)]
async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<PromptsDto>, ApiError> {
    Ok(Json(PromptsDto {
        prompts: prompts::list(&state.pool, user.user_id).await?,
    }))
}

/// Saves a new prompt; both fields are required.
#[utoipa::path(
    post,
    path = "/prompts",
    operation_id = "create_prompt",
    summary = "Save a custom prompt",
    tag = "prompts",
    security(("bearer" = [])),
    request_body = PromptInput,
    responses(
        (status = 201, description = "Created", body = PromptRow),
        (status = 400, description = "`invalid_data`: a missing, empty or too long field, or already 100 prompts", body = ApiErrorBody),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody)
    )
)]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(input): JsonBody<PromptInput>,
) -> Result<(StatusCode, Json<PromptRow>), ApiError> {
    let title = field(input.title, "title", MAX_TITLE_CHARS)?
        .ok_or_else(|| ApiError::invalid_data("TITLE IS REQUIRED"))?;
    let body = field(input.body, "body", MAX_BODY_CHARS)?
        .ok_or_else(|| ApiError::invalid_data("BODY IS REQUIRED"))?;
    let mut tx = state.pool.begin().await?;
    if quotas::lock_and_count(&mut tx, Owned::Prompts, user.user_id).await? >= MAX_PROMPTS_PER_USER
    {
        return Err(ApiError::invalid_data(format!(
            "AT MOST {MAX_PROMPTS_PER_USER} PROMPTS. DELETE ONE FIRST"
        )));
    }
    let row = prompts::insert(&mut *tx, user.user_id, &title, &body).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// One of the user's prompts.
#[utoipa::path(
    get,
    path = "/prompts/{id}",
    operation_id = "get_prompt",
    summary = "One custom prompt",
    tag = "prompts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The prompt's id")),
    responses(
        (status = 200, description = "The prompt", body = PromptRow),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody),
        (status = 404, description = "`prompt_not_found`: no such prompt of this user", body = ApiErrorBody)
    )
)]
async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<PromptRow>, ApiError> {
    let id = parse_id(&id)?;
    prompts::get(&state.pool, user.user_id, id)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

/// Changes the title, the body or both.
#[utoipa::path(
    patch,
    path = "/prompts/{id}",
    operation_id = "update_prompt",
    summary = "Change a custom prompt",
    tag = "prompts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The prompt's id")),
    request_body = PromptInput,
    responses(
        (status = 200, description = "The changed prompt", body = PromptRow),
        (status = 400, description = "`invalid_data`: an empty or too long field", body = ApiErrorBody),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody),
        (status = 404, description = "`prompt_not_found`: no such prompt of this user", body = ApiErrorBody)
    )
)]
async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<PromptInput>,
) -> Result<Json<PromptRow>, ApiError> {
    let id = parse_id(&id)?;
    let title = field(input.title, "title", MAX_TITLE_CHARS)?;
    let body = field(input.body, "body", MAX_BODY_CHARS)?;
    prompts::update(
        &state.pool,
        user.user_id,
        id,
        title.as_deref(),
        body.as_deref(),
    )
    .await?
    .map(Json)
    .ok_or_else(not_found)
}

/// Deletes a prompt.
#[utoipa::path(
    delete,
    path = "/prompts/{id}",
    operation_id = "delete_prompt",
    summary = "Delete a custom prompt",
    tag = "prompts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The prompt's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`unauthorized`: no valid access token", body = ApiErrorBody),
        (status = 404, description = "`prompt_not_found`: no such prompt of this user", body = ApiErrorBody)
    )
)]
async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    if prompts::delete(&state.pool, user.user_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
