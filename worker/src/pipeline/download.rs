//! Recordings given by link: the first step of the audio pipeline downloads each into the blob
//! store, refusing what an upload of it would be refused for, after which it is an upload like
//! any other (decoded, transcribed and released the same way).
//!
//! The link is checked again here (the server checked it when the smelt was created, but a
//! name may resolve elsewhere now): through the recording links' [`OutboundGuard`], whose
//! client connects only to the addresses it checked and follows no redirect. The body is
//! counted as it streams (`file_too_large` as soon as it passes the limit, without reading the
//! rest), its container is told by its content alone (`invalid_format`: what the link's server
//! claims is not believed), and its duration is measured as an upload's is
//! (`duration_exceeded`, `corrupted_file`) — all before anything is written to the blob store,
//! so a refused recording leaves no blob behind.

use std::path::Path;
use std::time::Duration;

use smelt_core::blob::upload_key;
use smelt_core::db::smelts::{FileRow, Smelt};
use smelt_core::db::uploads::{self, Downloaded};
use smelt_core::domain::ErrorCode;
use smelt_core::media::{self, Probe};
use smelt_core::outbound::{self, Refused};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use super::audio_stages::fail_file;
use super::{Context, StageError};

/// Longest a download may take, from connecting to its last byte: 25 MB at well under
/// 1 Mbit/s. A server that stalls longer is `url_unreachable`.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// True for a file given by link whose recording is not in the blob store yet.
fn needs_download(file: &FileRow) -> bool {
    file.source_url.is_some() && file.storage_key.is_none() && file.transcribed_at.is_none()
}

/// Downloads every recording given by link that is not stored yet (see the module's
/// documentation). Returns the smelt with those files as they now are (key, size, content
/// type, duration), or `None` when there was nothing to download.
///
/// # Errors
/// [`StageError::Permanent`] with `url_not_allowed`, `url_unreachable`, `file_too_large`,
/// `invalid_format`, `duration_exceeded` or `corrupted_file` (the file is marked failed with
/// the same code); [`StageError::Transient`] when the scratch directory, the blob store or the
/// database failed.
pub async fn fetch_links(ctx: &Context<'_>, smelt: &Smelt) -> Result<Option<Smelt>, StageError> {
    if !smelt.files.iter().any(needs_download) {
        return Ok(None);
    }
    let mut fetched = smelt.clone();
    for file in fetched.files.iter_mut().filter(|f| needs_download(f)) {
        let link = file.source_url.clone().unwrap_or_default();
        let downloaded = match download(ctx, smelt, file, &link).await {
            Ok(downloaded) => downloaded,
            Err(e) => {
                if let StageError::Permanent { code, .. } = &e {
                    fail_file(ctx, file.smelt_file_id, *code).await?;
                }
                return Err(e);
            }
        };
        tracing::info!(
            smelt_id = %smelt.row.smelt_id,
            bytes = downloaded.size_bytes,
            "downloaded a recording given by link"
        );
        file.storage_key = Some(downloaded.storage_key);
        file.size_bytes = i64::try_from(downloaded.size_bytes).unwrap_or(i64::MAX);
        file.content_type = downloaded.content_type;
        file.duration_seconds = downloaded.duration_seconds;
    }
    Ok(Some(fetched))
}

/// Downloads one recording into the scratch directory, checks it, stores it under the key
/// its upload would have had and records it on its file row.
async fn download(
    ctx: &Context<'_>,
    smelt: &Smelt,
    file: &FileRow,
    link: &str,
) -> Result<Downloaded, StageError> {
    let url = ctx
        .ingest
        .check_url(link)
        .map_err(|refused| not_allowed(&refused))?;
    let response = ctx
        .ingest
        .client(DOWNLOAD_TIMEOUT)
        .get(url)
        .send()
        .await
        .map_err(|e| request_failed(&e))?;
    let status = response.status();
    if !status.is_success() {
        // Redirects are not followed either: a link must name the file itself.
        return Err(unreachable(format!("the server answered {status}")));
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let max_bytes = ctx.limits.max_file_bytes;
    if let Some(declared) = response.content_length().filter(|n| *n > max_bytes) {
        return Err(too_large(format!("the server declares {declared} bytes")));
    }
    let spool = ctx.scratch.join(format!("{}.download", file.smelt_file_id));
    let size_bytes = match spool_body(response, &spool, max_bytes).await {
        Ok(size) => size,
        Err(e) => {
            let _ = tokio::fs::remove_file(&spool).await;
            return Err(e);
        }
    };
    let checked = check(ctx, &spool).await;
    let (local, extension, duration_seconds) = match checked {
        Ok(found) => found,
        Err(e) => {
            let _ = tokio::fs::remove_file(&spool).await;
            return Err(e);
        }
    };
    let stored = store(ctx, smelt, file, &local, extension).await;
    let _ = tokio::fs::remove_file(&local).await;
    let storage_key = stored?;
    let downloaded = Downloaded {
        storage_key,
        size_bytes,
        content_type,
        duration_seconds,
    };
    if let Err(e) = uploads::record_download(ctx.pool, file.smelt_file_id, &downloaded).await {
        // Unrecorded, the blob would be found by nothing that releases uploads.
        let _ = ctx.blobs.delete(&downloaded.storage_key).await;
        return Err(e.into());
    }
    Ok(downloaded)
}

/// Streams the body into `path`, counting it: `file_too_large` as soon as it passes
/// `max_bytes`. Returns its size in bytes.
async fn spool_body(
    mut response: reqwest::Response,
    path: &Path,
    max_bytes: u64,
) -> Result<u64, StageError> {
    let mut out = tokio::fs::File::create(path)
        .await
        .map_err(StageError::transient)?;
    let mut size = 0u64;
    // A body that breaks off or stalls past the timeout is a link that cannot be fetched.
    while let Some(chunk) = response.chunk().await.map_err(|e| request_failed(&e))? {
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(too_large(format!("more than {max_bytes} bytes")));
        }
        out.write_all(&chunk).await.map_err(StageError::transient)?;
    }
    out.flush().await.map_err(StageError::transient)?;
    Ok(size)
}

/// Tells the spooled recording's container by its content and measures it as an upload is
/// measured. Returns the file renamed with its container's extension (the demuxers' hint),
/// that extension, and its duration in seconds when the container could be read.
async fn check(
    ctx: &Context<'_>,
    spool: &Path,
) -> Result<(std::path::PathBuf, &'static str, Option<f64>), StageError> {
    let path = spool.to_owned();
    let sniffed = tokio::task::spawn_blocking(move || {
        media::sniff_container(&mut std::fs::File::open(&path)?)
    })
    .await
    .map_err(StageError::transient)?
    .map_err(StageError::transient)?;
    let Some(extension) = sniffed else {
        return Err(StageError::permanent(
            ErrorCode::InvalidFormat,
            "the link's content is not audio in an accepted container",
        ));
    };
    let local = spool.with_extension(extension);
    tokio::fs::rename(spool, &local)
        .await
        .map_err(StageError::transient)?;
    let limit = ctx.limits.max_duration_secs;
    let path = local.clone();
    let probe = tokio::task::spawn_blocking(move || media::probe_upload(&path, limit))
        .await
        .unwrap_or(Probe::Unreadable);
    let duration_seconds = match probe {
        Probe::Audio(seconds) if seconds > limit => {
            let _ = tokio::fs::remove_file(&local).await;
            return Err(StageError::permanent(
                ErrorCode::DurationExceeded,
                format!("the recording is {seconds:.0} s long"),
            ));
        }
        Probe::Audio(seconds) => Some(seconds),
        Probe::Corrupted => {
            let _ = tokio::fs::remove_file(&local).await;
            return Err(StageError::permanent(
                ErrorCode::CorruptedFile,
                "the link's container holds no readable audio",
            ));
        }
        // Only the measurement is missing: decoding measures it again.
        Probe::Unreadable => None,
    };
    Ok((local, extension, duration_seconds))
}

/// Writes the checked recording into the blob store under the key its upload would have had
/// (`uploads/{smelt_id}/{file_id}.{ext}`). Returns that key.
async fn store(
    ctx: &Context<'_>,
    smelt: &Smelt,
    file: &FileRow,
    local: &Path,
    extension: &str,
) -> Result<String, StageError> {
    let key = upload_key(smelt.row.smelt_id, file.smelt_file_id, extension);
    let body = tokio::fs::File::open(local)
        .await
        .map_err(StageError::transient)?;
    let stored = ctx
        .blobs
        .put(&key, Box::pin(ReaderStream::new(body)))
        .await
        .map_err(StageError::transient)?;
    metrics::counter!(smelt_core::metrics::UPLOAD_BYTES).increment(stored);
    Ok(key)
}

/// `url_not_allowed`: the guard refused the link.
fn not_allowed(refused: &Refused) -> StageError {
    StageError::permanent(ErrorCode::UrlNotAllowed, refused.to_string())
}

/// `url_unreachable`, with what happened.
fn unreachable(detail: impl Into<String>) -> StageError {
    StageError::permanent(ErrorCode::UrlUnreachable, detail)
}

/// `file_too_large`, with what was seen.
fn too_large(detail: impl Into<String>) -> StageError {
    StageError::permanent(ErrorCode::FileTooLarge, detail)
}

/// A request that failed: refused by the guard's resolver (`url_not_allowed`), or a name that
/// does not resolve, a connection, a timeout or a body that failed (`url_unreachable`).
fn request_failed(e: &reqwest::Error) -> StageError {
    match outbound::refusal(e) {
        Some(Refused::NoAddress) => unreachable("the host does not resolve"),
        Some(refused) => not_allowed(refused),
        None if e.is_timeout() => {
            unreachable(format!("no answer within {} s", DOWNLOAD_TIMEOUT.as_secs()))
        }
        None => unreachable(error_chain(e)),
    }
}

/// An error with its causes (reqwest's own message leaves out why a connection failed).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
