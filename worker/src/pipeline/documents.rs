//! Keeping a result: its Markdown document in the blob store
//! (`results/{smelt_id}/{result_id}.md`), then its row, so that a stored result always has
//! its document. Each result is kept as soon as it exists; a redelivered job finds it by its
//! position and does not make it again.

use smelt_core::blob;
use smelt_core::db::smelts::{self, NewResult};
use uuid::Uuid;

use super::{Context, StageError};

/// Stores `result`'s document, then its row (a position already stored is left as it is).
/// A failure to store is transient; a smelt deleted meanwhile stops the run.
pub async fn keep(
    ctx: &Context<'_>,
    smelt_id: Uuid,
    mut result: NewResult,
) -> Result<(), StageError> {
    let key = blob::result_key(smelt_id, result.smelt_result_id);
    ctx.blobs
        .put(&key, blob::once(result.content.clone()))
        .await
        .map_err(|e| {
            StageError::transient(anyhow::Error::new(e).context("storing a result document"))
        })?;
    result.storage_key = Some(key);
    let mut conn = ctx.pool.acquire().await?;
    if smelts::insert_results(&mut conn, smelt_id, std::slice::from_ref(&result)).await? {
        Ok(())
    } else {
        // The smelt was deleted while it ran.
        Err(StageError::Cancelled)
    }
}
