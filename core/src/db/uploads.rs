//! The raw uploads of smelts still stored (`smelt_file.storage_key`), and the recordings
//! downloaded from links that become uploads.

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

/// What the download of a recording given by link found, recorded on its file row.
#[derive(Debug, Clone)]
pub struct Downloaded {
    /// Its key in the blob store ([`crate::blob::upload_key`]).
    pub storage_key: String,
    /// Bytes downloaded.
    pub size_bytes: u64,
    /// The `Content-Type` the link's server answered with, if any.
    pub content_type: Option<String>,
    /// Measured as an upload's is, in seconds; `None` when the container could not be read
    /// (decoding then reports what is wrong with the file).
    pub duration_seconds: Option<f64>,
}

/// Records that a file given by link has been downloaded into the blob store: from now on it
/// is an upload like any other (released with them, see [`stored`]).
pub async fn record_download<'e>(
    db: impl PgExecutor<'e>,
    smelt_file_id: Uuid,
    downloaded: &Downloaded,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update smelt_file set storage_key = $2, size_bytes = $3, content_type = $4,
                               duration_seconds = $5
         where smelt_file_id = $1",
    )
    .bind(smelt_file_id)
    .bind(&downloaded.storage_key)
    .bind(i64::try_from(downloaded.size_bytes).unwrap_or(i64::MAX))
    .bind(&downloaded.content_type)
    .bind(downloaded.duration_seconds)
    .execute(db)
    .await?;
    Ok(())
}
