//! Blob storage for uploads. Keys look like `uploads/{smelt_id}/{file_id}.{ext}`.
//!
//! [`FsBlobStore`] keeps blobs under a directory; writes go to a `.part` file that is renamed
//! into place only when complete, so a failed or rejected upload leaves nothing behind.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

/// A body streamed into the store chunk by chunk; an `Err` item aborts the write.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Storage failure.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    #[error("blob {0:?} not found")]
    NotFound(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Where blobs live. Implementations must make `put` all-or-nothing.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores the stream under `key`; returns the bytes written. If the stream yields an error,
    /// nothing is stored and that error is returned.
    async fn put(&self, key: &str, body: ByteStream) -> Result<u64, BlobError>;
    /// Copies the blob to a local file (decoders need a seekable file).
    async fn fetch_to_file(&self, key: &str, dest: &Path) -> Result<(), BlobError>;
    /// Deletes the blob; deleting a missing blob is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// True when a blob is stored under `key`.
    async fn exists(&self, key: &str) -> Result<bool, BlobError>;
}

/// Key of an uploaded file.
pub fn upload_key(smelt_id: Uuid, file_id: Uuid, extension: &str) -> String {
    format!("uploads/{smelt_id}/{file_id}.{extension}")
}

/// Blobs as files under a root directory.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsBlobStore { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        let relative = Path::new(key);
        let safe = !key.is_empty()
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(BlobError::InvalidKey(key.to_owned()));
        }
        Ok(self.root.join(relative))
    }
}

#[async_trait::async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &str, mut body: ByteStream) -> Result<u64, BlobError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let part = path.with_extension(format!("{}.part", Uuid::new_v4().simple()));
        let result = async {
            let mut file = tokio::fs::File::create(&part).await?;
            let mut written = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                file.write_all(&chunk).await?;
                written += chunk.len() as u64;
            }
            file.flush().await?;
            file.sync_all().await?;
            Ok::<_, io::Error>(written)
        }
        .await;
        match result {
            Ok(written) => {
                tokio::fs::rename(&part, &path).await?;
                Ok(written)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&part).await;
                Err(e.into())
            }
        }
    }

    async fn fetch_to_file(&self, key: &str, dest: &Path) -> Result<(), BlobError> {
        let path = self.path(key)?;
        match tokio::fs::copy(&path, dest).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(BlobError::NotFound(key.into())),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                // Drop the per-smelt directory once it is empty; a non-empty one stays.
                if let Some(parent) = path.parent() {
                    let _ = tokio::fs::remove_dir(parent).await;
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        Ok(tokio::fs::try_exists(self.path(key)?).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(items: Vec<io::Result<&'static [u8]>>) -> ByteStream {
        Box::pin(futures::stream::iter(
            items.into_iter().map(|r| r.map(Bytes::from_static)),
        ))
    }

    #[tokio::test]
    async fn a_complete_upload_is_stored_and_a_failed_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path());
        let n = store
            .put("uploads/a/b.wav", stream(vec![Ok(b"ab"), Ok(b"cd")]))
            .await
            .unwrap();
        assert_eq!(n, 4);
        assert!(store.exists("uploads/a/b.wav").await.unwrap());

        let failed = stream(vec![Ok(b"ab"), Err(io::Error::other("too large"))]);
        assert!(store.put("uploads/a/c.wav", failed).await.is_err());
        assert!(!store.exists("uploads/a/c.wav").await.unwrap());
        let leftovers = std::fs::read_dir(dir.path().join("uploads/a"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "only the complete blob remains");

        store.delete("uploads/a/b.wav").await.unwrap();
        assert!(!store.exists("uploads/a/b.wav").await.unwrap());
    }

    #[test]
    fn keys_cannot_escape_the_root() {
        let store = FsBlobStore::new("/tmp/x");
        assert!(store.path("../etc/passwd").is_err());
        assert!(store.path("/etc/passwd").is_err());
        assert!(store.path("uploads/ok.wav").is_ok());
    }
}
