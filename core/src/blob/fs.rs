//! [`FsBlobStore`]: blobs as files under a root directory. Writes go to a `.part` file that
//! is renamed into place only when complete, so a failed or rejected upload leaves nothing
//! behind. Downloads are served by the server itself at HMAC-signed URLs ([`DownloadSigner`]).

use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;
use uuid::Uuid;

use super::{BlobError, BlobStore, ByteStream, DownloadSigner};

/// Suffix of in-progress writes; such files are never listed as blobs.
const PART_SUFFIX: &str = ".part";

/// Blobs as files under a root directory.
#[derive(Clone)]
pub struct FsBlobStore {
    root: PathBuf,
    signer: Option<DownloadSigner>,
}

impl FsBlobStore {
    /// A store rooted at `root` (created on first write), without download URLs.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsBlobStore {
            root: root.into(),
            signer: None,
        }
    }

    /// The same store, giving download URLs signed by `signer`.
    pub fn with_signer(self, signer: DownloadSigner) -> Self {
        FsBlobStore {
            signer: Some(signer),
            ..self
        }
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
        let mut part = path.clone().into_os_string();
        part.push(format!(".{}{PART_SUFFIX}", Uuid::new_v4().simple()));
        let part = PathBuf::from(part);
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

    async fn get(&self, key: &str) -> Result<ByteStream, BlobError> {
        let path = self.path(key)?;
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok(Box::pin(ReaderStream::new(file))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(BlobError::NotFound(key.into())),
            Err(e) => Err(e.into()),
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

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        // Walk only the deepest directory the prefix names, not the whole store.
        let base = match prefix.rfind('/') {
            Some(i) => self.path(&prefix[..i])?,
            None => self.root.clone(),
        };
        let (root, prefix) = (self.root.clone(), prefix.to_owned());
        let keys = tokio::task::spawn_blocking(move || walk(&root, &base, &prefix))
            .await
            .map_err(io::Error::other)??;
        Ok(keys)
    }

    async fn download_url(
        &self,
        key: &str,
        filename: &str,
        ttl: Duration,
    ) -> Result<String, BlobError> {
        self.path(key)?;
        let signer = self.signer.as_ref().ok_or(BlobError::NoDownloads)?;
        Ok(signer.sign(key, filename, ttl))
    }
}

/// Keys (relative paths with `/`) of the finished blobs under `base` starting with `prefix`.
fn walk(root: &Path, base: &Path, prefix: &str) -> io::Result<Vec<String>> {
    let mut keys = Vec::new();
    for entry in walkdir::WalkDir::new(base) {
        let entry = match entry {
            Ok(entry) => entry,
            // The prefix's directory does not exist (yet): nothing stored there.
            Err(e) if e.io_error().map(io::Error::kind) == Some(io::ErrorKind::NotFound) => {
                continue
            }
            Err(e) => return Err(e.into()),
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(root) else {
            continue;
        };
        let key = relative
            .components()
            .filter_map(|c| c.as_os_str().to_str())
            .collect::<Vec<_>>()
            .join("/");
        if key.starts_with(prefix) && !key.ends_with(PART_SUFFIX) {
            keys.push(key);
        }
    }
    keys.sort();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    use bytes::Bytes;

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
