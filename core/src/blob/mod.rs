//! Blob storage: uploads and result documents.
//!
//! Keys (DESIGN.md "Storage"): `uploads/{smelt_id}/{file_id}.{ext}` for raw uploads and
//! `results/{smelt_id}/{result_id}.md` for result documents. Two implementations:
//! [`FsBlobStore`] (default, under the data directory) and [`S3BlobStore`] (any S3-compatible
//! store: AWS S3, Cloudflare R2, MinIO). Both keep `put` all-or-nothing, so a rejected or
//! failed upload leaves nothing behind.

mod fs;
mod s3;
mod signed_url;

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

pub use fs::FsBlobStore;
pub use s3::{S3BlobStore, S3Config};
pub use signed_url::{DownloadSigner, SignedUrlRefused, DOWNLOAD_ROUTE};

use crate::clock::Clock;
use crate::settings::{BlobStoreKind, StorageSettings};

/// A body streamed into or out of the store chunk by chunk; an `Err` item aborts a write.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Storage failure.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The key is empty or would leave the store's namespace (`..`, absolute paths).
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    /// No blob under that key.
    #[error("blob {0:?} not found")]
    NotFound(String),
    /// The store cannot produce download URLs (an fs store built without a signer).
    #[error("this blob store has no download URLs configured")]
    NoDownloads,
    /// Local I/O, or the stream given to `put` failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The S3-compatible service answered with an error or could not be reached.
    #[error("object store: {0}")]
    Remote(String),
}

/// Where blobs live.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores the stream under `key` (replacing any blob there); returns the bytes written. If
    /// the stream yields an error, nothing is stored and that error is returned.
    async fn put(&self, key: &str, body: ByteStream) -> Result<u64, BlobError>;

    /// Streams the blob. Errors: [`BlobError::NotFound`].
    async fn get(&self, key: &str) -> Result<ByteStream, BlobError>;

    /// Copies the blob to a local file (decoders need a seekable file).
    async fn fetch_to_file(&self, key: &str, dest: &Path) -> Result<(), BlobError> {
        let mut body = self.get(key).await?;
        let mut file = tokio::fs::File::create(dest).await?;
        while let Some(chunk) = body.next().await {
            file.write_all(&chunk?).await?;
        }
        file.flush().await?;
        Ok(())
    }

    /// Deletes the blob; deleting a missing blob is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;

    /// True when a blob is stored under `key`.
    async fn exists(&self, key: &str) -> Result<bool, BlobError>;

    /// Keys of every blob whose key starts with `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError>;

    /// A URL from which anyone holding it can download the blob for `ttl`, offered to the
    /// browser as `filename`. S3 gives a presigned URL; fs an HMAC-signed server URL.
    async fn download_url(
        &self,
        key: &str,
        filename: &str,
        ttl: Duration,
    ) -> Result<String, BlobError>;

    /// Deletes every blob under `prefix`; returns how many there were.
    async fn delete_prefix(&self, prefix: &str) -> Result<u64, BlobError> {
        let keys = self.list(prefix).await?;
        for key in &keys {
            self.delete(key).await?;
        }
        Ok(keys.len() as u64)
    }
}

/// A whole in-memory value as a [`ByteStream`].
pub fn once(bytes: impl Into<Bytes>) -> ByteStream {
    let bytes: Bytes = bytes.into();
    Box::pin(futures::stream::once(async move { Ok(bytes) }))
}

/// Key of an uploaded file.
pub fn upload_key(smelt_id: Uuid, file_id: Uuid, extension: &str) -> String {
    format!("uploads/{smelt_id}/{file_id}.{extension}")
}

/// Key of a result document (Markdown).
pub fn result_key(smelt_id: Uuid, result_id: Uuid) -> String {
    format!("results/{smelt_id}/{result_id}.md")
}

/// The key prefixes under which a smelt's blobs live (uploads, then results).
pub fn smelt_prefixes(smelt_id: Uuid) -> [String; 2] {
    [
        format!("uploads/{smelt_id}/"),
        format!("results/{smelt_id}/"),
    ]
}

/// Deletes every blob of a smelt (uploads and result documents, including any left by an
/// interrupted delivery); returns how many there were.
pub async fn purge_smelt(store: &dyn BlobStore, smelt_id: Uuid) -> Result<u64, BlobError> {
    let mut deleted = 0;
    for prefix in smelt_prefixes(smelt_id) {
        deleted += store.delete_prefix(&prefix).await?;
    }
    Ok(deleted)
}

/// The store the settings ask for (`SMELT_BLOB_STORE`: `fs` or `s3`). `signer` makes fs
/// download URLs (the server passes one; workers need none). `clock` dates S3 presigned URLs.
///
/// Errors: a missing S3 bucket setting, or an S3 bucket that cannot be reached.
pub async fn open(
    settings: &StorageSettings,
    signer: Option<DownloadSigner>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<dyn BlobStore>> {
    match settings.blob_store {
        BlobStoreKind::Fs => {
            let store = FsBlobStore::new(settings.data_dir.join("blobs"));
            Ok(Arc::new(match signer {
                Some(signer) => store.with_signer(signer),
                None => store,
            }))
        }
        BlobStoreKind::S3 => {
            let config = S3Config::from_settings(settings)?;
            Ok(Arc::new(S3BlobStore::connect(&config, clock).await?))
        }
    }
}

/// The name a result document is downloaded as: the input's name with `.md` in place of its
/// extension (`meeting.mp3` → `meeting.md`), restricted to characters safe in a header.
pub fn document_filename(input_filename: &str) -> String {
    format!("{}.md", safe_stem(input_filename, "result"))
}

/// The stem of a file name (without its extension) with anything but ASCII letters, digits,
/// `-`, `_`, `.` and spaces replaced by `_`, safe in a `Content-Disposition` header;
/// `fallback` when nothing is left.
pub fn safe_stem(input_filename: &str, fallback: &str) -> String {
    let stem = Path::new(input_filename)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(fallback);
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_. ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim();
    if safe.is_empty() {
        fallback.to_owned()
    } else {
        safe.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_names_follow_the_input_and_stay_header_safe() {
        assert_eq!(document_filename("meeting.mp3"), "meeting.md");
        assert_eq!(document_filename("notes"), "notes.md");
        assert_eq!(document_filename("a\"b\r\n.wav"), "a_b__.md");
        assert_eq!(document_filename(""), "result.md");
    }
}
