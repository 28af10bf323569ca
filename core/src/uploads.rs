//! A smelt's raw uploads: the one way to delete them.

use sqlx::PgPool;
use uuid::Uuid;

use crate::blob::BlobStore;
use crate::db;

/// Deletes every raw upload of a smelt that is still stored and forgets its key, one upload
/// at a time (a failure leaves the rest recorded, for a later try). Returns how many were
/// deleted.
///
/// Errors: the database or the blob store failed.
pub async fn release(pool: &PgPool, blobs: &dyn BlobStore, smelt_id: Uuid) -> anyhow::Result<u64> {
    let stored = db::uploads::stored(pool, smelt_id).await?;
    for (file_id, key) in &stored {
        blobs.delete(key).await?;
        db::uploads::forget(pool, *file_id).await?;
    }
    Ok(stored.len() as u64)
}
