//! Reading the parts of a multipart upload: audio files streamed into the blob store, short
//! text fields, and the body's own errors. Shared by every route that takes audio
//! (`POST /api/smelts`, `POST /v1/audio/*`), so that each refuses the same files the same way,
//! with the limits of `docs/api.md#credits-and-limits`.
//!
//! File parts stream into the blob store as they arrive, through a small bounded channel, so a
//! request holds a few chunks in memory however large it is. The size limit is enforced while
//! streaming; an oversized file is drained (to report its real size) without being stored.
//! Each file is also spooled to a temporary file as it streams, and its duration is measured
//! from it as soon as it is complete (the container's header, or a scan of its packets), so
//! audio over the duration limit — and a file that is not readable audio at all (no container,
//! no audio track, no audio packet: 400 `corrupted_file`) — is refused before anything is
//! charged or queued. What a refused request stored is deleted by [`discard`].

use std::io;

use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use bytes::Bytes;
use smelt_core::blob::{self, upload_key, BlobStore};
use smelt_core::domain::{ErrorCode, AUDIO_EXTENSIONS, AUDIO_MIME_TYPES};
use smelt_core::limits::Limits;
use smelt_core::media::{self, Probe};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;

use crate::http::error::ApiError;

/// Chunks buffered between the request body and the blob store, per upload.
const UPLOAD_CHANNEL_CHUNKS: usize = 4;
/// Longest value of a short text field (a name, a flag, a code), in bytes.
pub const MAX_SMALL_FIELD_BYTES: usize = 256;

/// An audio file stored in the blob store for this request.
#[derive(Debug, Clone)]
pub struct StoredUpload {
    /// The id its smelt file will have.
    pub file_id: Uuid,
    /// The part's file name, as sent.
    pub filename: String,
    /// Bytes stored.
    pub size_bytes: u64,
    /// The part's MIME type, as sent.
    pub content_type: Option<String>,
    /// Its key in the blob store (`uploads/{smelt_id}/{file_id}.{ext}`).
    pub storage_key: String,
    /// Measured on upload, in seconds; `None` when the container could not be read (the
    /// worker then reports what is wrong with the file).
    pub duration_seconds: Option<f64>,
}

/// `FILE TOO CHUNKY. MAX 25MB. YOUR FILE: {size}MB` with the size in MiB to one decimal.
pub fn file_too_large(limits: &Limits, size_bytes: u64) -> ApiError {
    ApiError::bad_request("file_too_large", limits.file_too_large_message(size_bytes))
}

fn invalid_format() -> ApiError {
    ApiError::bad_request("invalid_format", ErrorCode::InvalidFormat.message(None))
}

fn duration_exceeded(limits: &Limits) -> ApiError {
    ApiError::bad_request("duration_exceeded", limits.duration_message())
}

/// 400 `corrupted_file`: the upload's container cannot be opened, or holds no audio track or
/// no audio packet.
fn corrupted_file() -> ApiError {
    ApiError::bad_request("corrupted_file", ErrorCode::CorruptedFile.message(None))
}

/// Maps a body error: the size limit becomes 413, anything else is malformed multipart.
pub fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "REQUEST TOO LARGE. MAX 5 FILES OF 25MB",
        )
    } else {
        ApiError::bad_request("invalid_multipart", "MALFORMED MULTIPART REQUEST")
    }
}

/// The storage extension of an accepted audio part: its own extension when it is one we
/// accept, else one implied by its MIME type (parameters like `;codecs=opus` ignored); `None`
/// when neither is audio we read (a part is accepted when its MIME type *or* its extension is
/// valid).
fn audio_extension(filename: &str, content_type: Option<&str>) -> Option<&'static str> {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    if let Some(known) = AUDIO_EXTENSIONS
        .iter()
        .find(|e| Some(**e) == ext.as_deref())
    {
        return Some(known);
    }
    let mime = content_type?
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !AUDIO_MIME_TYPES.contains(&mime.as_str()) {
        return None;
    }
    Some(match mime.as_str() {
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/mp4" | "audio/x-m4a" | "audio/m4a" | "audio/aac" | "video/mp4" => "m4a",
        "audio/webm" | "video/webm" => "webm",
        "audio/ogg" | "audio/opus" | "application/ogg" => "ogg",
        _ => "wav",
    })
}

/// Deletes what was stored for a request that is not going ahead (its smelt was never
/// created, so everything under its prefixes is this request's).
pub async fn discard(blobs: &dyn BlobStore, smelt_id: Uuid) {
    if let Err(e) = blob::purge_smelt(blobs, smelt_id).await {
        tracing::warn!(%smelt_id, error = %e, "could not delete a discarded upload");
    }
}

/// Receives one audio part into the blob store under `uploads/{smelt_id}/…`, appending it to
/// `stored` once stored (also when its duration is then refused, so that [`discard`] finds
/// it). `Ok(Some(refusal))` refuses the file, the part read to its end: 400 `invalid_format`
/// (neither its extension nor its MIME type is audio we read), `file_too_large`,
/// `corrupted_file` or `duration_exceeded`. `Err` is a body that failed (400
/// `invalid_multipart`, 413 `payload_too_large`) or a store that did (500).
pub async fn receive(
    field: &mut Field<'_>,
    smelt_id: Uuid,
    blobs: &dyn BlobStore,
    limits: &Limits,
    stored: &mut Vec<StoredUpload>,
) -> Result<Option<ApiError>, ApiError> {
    let filename = field.file_name().unwrap_or_default().to_owned();
    let content_type = field.content_type().map(str::to_owned);
    let Some(ext) = audio_extension(&filename, content_type.as_deref()) else {
        drain(field).await?;
        return Ok(Some(invalid_format()));
    };
    let file_id = Uuid::now_v7();
    let key = upload_key(smelt_id, file_id, ext);
    Ok(match store(field, blobs, &key, ext, limits).await? {
        Upload::Corrupted => Some(corrupted_file()),
        Upload::TooLarge(size) => Some(file_too_large(limits, size)),
        Upload::Stored {
            size_bytes,
            duration_seconds,
        } => {
            stored.push(StoredUpload {
                file_id,
                filename,
                size_bytes,
                content_type,
                storage_key: key,
                duration_seconds,
            });
            duration_seconds
                .filter(|d| *d > limits.max_duration_secs)
                .map(|_| duration_exceeded(limits))
        }
    })
}

/// Outcome of streaming one file part.
enum Upload {
    /// Stored, but it is not audio we can read (the caller refuses the request, which
    /// discards what was stored).
    Corrupted,
    /// Stored: its size in bytes and, when its container could be read, its duration (s).
    Stored {
        size_bytes: u64,
        duration_seconds: Option<f64>,
    },
    /// Rejected; the part's full size in bytes.
    TooLarge(u64),
}

/// Streams a part into the store under `key`, enforcing the size limit, while spooling it to
/// a temporary file whose duration is measured once the part is complete.
async fn store(
    field: &mut Field<'_>,
    blobs: &dyn BlobStore,
    key: &str,
    extension: &str,
    limits: &Limits,
) -> Result<Upload, ApiError> {
    let max_bytes = limits.max_file_bytes;
    let spool = tempfile::Builder::new()
        .suffix(&format!(".{extension}"))
        .tempfile()
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("creating a spool file")))?;
    let mut copy = tokio::fs::File::from_std(spool.reopen().map_err(|e| {
        ApiError::Internal(anyhow::Error::new(e).context("opening the spool file"))
    })?);
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(UPLOAD_CHANNEL_CHUNKS);
    let put = blobs.put(key, Box::pin(ReceiverStream::new(rx)));
    let mut spooled = true;
    let feed = async {
        let mut size = 0u64;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len() as u64;
                    if size > max_bytes {
                        // Abort the write, then count the rest without keeping it.
                        let _ = tx.send(Err(io::Error::other("file too large"))).await;
                        drop(tx);
                        return Ok(Upload::TooLarge(size + drain(field).await?));
                    }
                    // The spool only serves the duration measurement: if it fails, the file
                    // is stored all the same and measured by the worker.
                    if copy.write_all(&chunk).await.is_err() {
                        spooled = false;
                    }
                    if tx.send(Ok(chunk)).await.is_err() {
                        // The store gave up; its error is reported below.
                        return Ok(Upload::Stored {
                            size_bytes: size,
                            duration_seconds: None,
                        });
                    }
                }
                Ok(None) => {
                    if copy.flush().await.is_err() {
                        spooled = false;
                    }
                    return Ok(Upload::Stored {
                        size_bytes: size,
                        duration_seconds: None,
                    });
                }
                Err(e) => {
                    let _ = tx.send(Err(io::Error::other("request body failed"))).await;
                    return Err(multipart_error(e));
                }
            }
        }
    };
    let (put_result, feed_result) = tokio::join!(put, feed);
    match feed_result? {
        Upload::TooLarge(size) => Ok(Upload::TooLarge(size)),
        Upload::Corrupted => Ok(Upload::Corrupted),
        Upload::Stored { .. } => {
            let stored = put_result?;
            metrics::counter!(smelt_core::metrics::UPLOAD_BYTES).increment(stored);
            if !spooled {
                // Only the measurement is missing: the worker measures while decoding.
                return Ok(Upload::Stored {
                    size_bytes: stored,
                    duration_seconds: None,
                });
            }
            let limit = limits.max_duration_secs;
            let probe =
                tokio::task::spawn_blocking(move || media::probe_upload(spool.path(), limit))
                    .await
                    .unwrap_or(Probe::Unreadable);
            match probe {
                Probe::Audio(seconds) => Ok(Upload::Stored {
                    size_bytes: stored,
                    duration_seconds: Some(seconds),
                }),
                Probe::Corrupted => Ok(Upload::Corrupted),
                Probe::Unreadable => Ok(Upload::Stored {
                    size_bytes: stored,
                    duration_seconds: None,
                }),
            }
        }
    }
}

/// Reads and discards the rest of a part; returns its byte count.
pub async fn drain(field: &mut Field<'_>) -> Result<u64, ApiError> {
    let mut size = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        size += chunk.len() as u64;
    }
    Ok(size)
}

/// Reads a text part of at most `max_bytes`; `None` (after draining) when it is longer or not
/// UTF-8.
pub async fn read_small(
    field: &mut Field<'_>,
    max_bytes: usize,
) -> Result<Option<String>, ApiError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > max_bytes {
            drain(field).await?;
            return Ok(None);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8(buf).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_is_recognised_by_extension_or_by_mime_type() {
        assert_eq!(audio_extension("a.MP3", None), Some("mp3"));
        assert_eq!(audio_extension("a.bin", Some("audio/x-wav")), Some("wav"));
        assert_eq!(audio_extension("a.bin", Some("audio/x-m4a")), Some("m4a"));
        assert_eq!(audio_extension("a.txt", Some("text/plain")), None);
        assert_eq!(audio_extension("noext", None), None);
    }

    #[test]
    fn what_browsers_record_is_recognised_with_its_codec_parameters() {
        assert_eq!(
            audio_extension("blob", Some("audio/webm;codecs=opus")),
            Some("webm")
        );
        assert_eq!(
            audio_extension("blob", Some("audio/ogg; codecs=opus")),
            Some("ogg")
        );
        assert_eq!(audio_extension("blob", Some("audio/mp4")), Some("m4a"));
        assert_eq!(audio_extension("take.webm", None), Some("webm"));
        assert_eq!(audio_extension("take.opus", None), Some("opus"));
    }

    #[test]
    fn the_too_large_message_reports_megabytes_to_one_decimal() {
        match file_too_large(&Limits::default(), 26 * 1024 * 1024 + 104_858) {
            ApiError::Client { message, .. } => {
                assert_eq!(message, "FILE TOO CHUNKY. MAX 25MB. YOUR FILE: 26.1MB")
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
