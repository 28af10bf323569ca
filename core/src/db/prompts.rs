//! A user's custom prompts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgExecutor;
use uuid::Uuid;

/// A prompt as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq, utoipa::ToSchema)]
pub struct PromptRow {
    #[sqlx(rename = "user_prompt_id")]
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "user_prompt_id, title, body, created_at, updated_at";

/// The user's prompts, newest first.
pub async fn list<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
) -> Result<Vec<PromptRow>, sqlx::Error> {
    sqlx::query_as(&format!("select {COLUMNS} from user_prompt where user_id = $1 order by created_at desc, user_prompt_id"))
        .bind(user_id)
        .fetch_all(db)
        .await
}

/// One of the user's prompts.
pub async fn get<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<PromptRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from user_prompt where user_id = $1 and user_prompt_id = $2"
    ))
    .bind(user_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A prompt by id, whoever owns it (the worker reads the prompt a smelt names; the create
/// path checked its owner).
pub async fn find<'e>(db: impl PgExecutor<'e>, id: Uuid) -> Result<Option<PromptRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from user_prompt where user_prompt_id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Creates a prompt.
pub async fn insert<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    title: &str,
    body: &str,
) -> Result<PromptRow, sqlx::Error> {
    sqlx::query_as(&format!(
        "insert into user_prompt (user_prompt_id, user_id, title, body) values ($1, $2, $3, $4) returning {COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(title)
    .bind(body)
    .fetch_one(db)
    .await
}

/// Updates the given fields of one of the user's prompts.
pub async fn update<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    id: Uuid,
    title: Option<&str>,
    body: Option<&str>,
) -> Result<Option<PromptRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "update user_prompt set title = coalesce($3, title), body = coalesce($4, body), updated_at = now()
         where user_id = $1 and user_prompt_id = $2 returning {COLUMNS}"
    ))
    .bind(user_id)
    .bind(id)
    .bind(title)
    .bind(body)
    .fetch_optional(db)
    .await
}

/// Deletes one of the user's prompts; false when there was none.
pub async fn delete<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from user_prompt where user_id = $1 and user_prompt_id = $2")
        .bind(user_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}
