//! The raw uploads of smelts still stored (`smelt_file.storage_key`).

use sqlx::PgExecutor;
use uuid::Uuid;

/// The uploads of a smelt that are still stored: file id and blob key.
pub async fn stored<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as(
        "select smelt_file_id, storage_key from smelt_file
         where smelt_id = $1 and storage_key is not null order by position",
    )
    .bind(smelt_id)
    .fetch_all(db)
    .await
}

/// Forgets an upload's key (its blob has been deleted).
pub async fn forget<'e>(db: impl PgExecutor<'e>, smelt_file_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("update smelt_file set storage_key = null where smelt_file_id = $1")
        .bind(smelt_file_id)
        .execute(db)
        .await?;
    Ok(())
}
