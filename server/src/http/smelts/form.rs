//! Reading the create request's multipart body (`docs/api.md#post-apismelts--create`, with the
//! limits of `docs/api.md#credits-and-limits`).
//!
//! File parts stream into the blob store as they arrive, through a small bounded channel, so a
//! request holds a few chunks in memory however large it is. The size limit is enforced while
//! streaming; an oversized file is drained (to report its real size) without being stored.
//! Each file is also spooled to a temporary file as it streams, and its duration is measured
//! from it as soon as it is complete (the container's header, or a scan of its packets), so
//! audio over the duration limit — and a file that is not readable audio at all (no container,
//! no audio track, no audio packet: 400 `corrupted_file`) — is refused before anything is
//! charged or queued. Whatever the outcome, an error leaves no blob behind.

use std::io;

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::Multipart;
use axum::http::StatusCode;
use bytes::Bytes;
use smelt_core::blob::{self, upload_key, BlobStore};
use smelt_core::domain::{
    PromptName, SmeltMode, AUDIO_EXTENSIONS, AUDIO_MIME_TYPES, MAX_TEXT_CHARS,
};
use smelt_core::limits::Limits;
use smelt_core::media::{self, Probe};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;

use crate::http::error::ApiError;

/// Chunks buffered between the request body and the blob store, per upload.
const UPLOAD_CHANNEL_CHUNKS: usize = 4;
/// Longest text field accepted, in bytes: 50,000 characters of up to 4 bytes each.
const MAX_TEXT_BYTES: usize = MAX_TEXT_CHARS * 4;
/// Longest value of any other text field, in bytes.
const MAX_SMALL_FIELD_BYTES: usize = 256;

/// An audio file stored in the blob store for this request.
#[derive(Debug, Clone)]
pub struct StoredUpload {
    pub file_id: Uuid,
    pub filename: String,
    pub size_bytes: u64,
    pub content_type: Option<String>,
    pub storage_key: String,
    /// Measured on upload, in seconds; `None` when the container could not be read (the
    /// worker then reports what is wrong with the file).
    pub duration_seconds: Option<f64>,
}

/// The parsed form. Cross-field rules (no input, mixed input, mode, anonymous limits) are
/// checked by the caller, which knows who is asking.
#[derive(Debug)]
pub struct CreateForm {
    pub files: Vec<StoredUpload>,
    /// Pasted text, `None` when absent or only whitespace.
    pub text: Option<String>,
    pub mode: SmeltMode,
    pub prompt_names: Vec<PromptName>,
    pub user_prompt_id: Option<Uuid>,
    /// Word-level timestamps asked for.
    pub word_timestamps: bool,
}

/// `FILE TOO CHUNKY. MAX 25MB. YOUR FILE: {size}MB` with the size in MiB to one decimal.
pub fn file_too_large(limits: &Limits, size_bytes: u64) -> ApiError {
    ApiError::bad_request("file_too_large", limits.file_too_large_message(size_bytes))
}

fn invalid_format() -> ApiError {
    ApiError::bad_request(
        "invalid_format",
        smelt_core::domain::ErrorCode::InvalidFormat.message(None),
    )
}

fn duration_exceeded(limits: &Limits) -> ApiError {
    ApiError::bad_request("duration_exceeded", limits.duration_message())
}

/// Maps a body error: the size limit becomes 413, anything else is malformed multipart.
fn multipart_error(e: MultipartError) -> ApiError {
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

/// Reads the whole form, storing audio parts under `uploads/{smelt_id}/...` within `limits`.
pub async fn read(
    mut multipart: Multipart,
    smelt_id: Uuid,
    blobs: &dyn BlobStore,
    limits: &Limits,
) -> Result<CreateForm, ApiError> {
    let mut stored = Vec::new();
    let result = read_parts(&mut multipart, smelt_id, blobs, limits, &mut stored).await;
    if result.is_err() {
        discard(blobs, smelt_id).await;
    }
    result.map(|mut form| {
        form.files = stored;
        form
    })
}

/// Deletes what was stored for a request that is not going ahead (its smelt was never
/// created, so everything under its prefixes is this request's).
pub async fn discard(blobs: &dyn BlobStore, smelt_id: Uuid) {
    if let Err(e) = blob::purge_smelt(blobs, smelt_id).await {
        tracing::warn!(%smelt_id, error = %e, "could not delete a discarded upload");
    }
}

async fn read_parts(
    multipart: &mut Multipart,
    smelt_id: Uuid,
    blobs: &dyn BlobStore,
    limits: &Limits,
    stored: &mut Vec<StoredUpload>,
) -> Result<CreateForm, ApiError> {
    let mut file_count = 0usize;
    let mut file_error: Option<ApiError> = None;
    let mut field_error: Option<ApiError> = None;
    let mut text = None;
    let mut mode = None;
    let mut prompt_names = Vec::new();
    let mut user_prompt_id = None;
    let mut word_timestamps = false;

    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "files[]" | "files" => {
                let filename = field.file_name().unwrap_or_default().to_owned();
                let content_type = field.content_type().map(str::to_owned);
                if filename.is_empty() {
                    // Browsers send an empty, nameless part for a file input left blank.
                    if drain(&mut field).await? == 0 {
                        continue;
                    }
                }
                file_count += 1;
                if file_count > limits.max_files || file_error.is_some() {
                    drain(&mut field).await?;
                    continue;
                }
                let Some(ext) = audio_extension(&filename, content_type.as_deref()) else {
                    drain(&mut field).await?;
                    file_error = Some(invalid_format());
                    continue;
                };
                let file_id = Uuid::now_v7();
                let key = upload_key(smelt_id, file_id, ext);
                match store(&mut field, blobs, &key, ext, limits).await? {
                    Upload::Corrupted => file_error = Some(corrupted_file()),
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
                        if duration_seconds.is_some_and(|d| d > limits.max_duration_secs) {
                            file_error = Some(duration_exceeded(limits));
                        }
                    }
                    Upload::TooLarge(size) => file_error = Some(file_too_large(limits, size)),
                }
            }
            "text" => match read_small(&mut field, MAX_TEXT_BYTES).await? {
                Some(value) if value.chars().count() > MAX_TEXT_CHARS => {
                    field_error.get_or_insert(text_too_long());
                }
                None => {
                    field_error.get_or_insert(text_too_long());
                }
                Some(value) => text = Some(value),
            },
            "mode" => match read_small(&mut field, MAX_SMALL_FIELD_BYTES).await? {
                Some(value) => match value.trim().parse::<SmeltMode>() {
                    Ok(m) => mode = Some(m),
                    Err(_) => {
                        field_error.get_or_insert(ApiError::invalid_data(
                            "INVALID MODE. USE SEPARATE OR COMBINE",
                        ));
                    }
                },
                None => {
                    field_error.get_or_insert(ApiError::invalid_data(
                        "INVALID MODE. USE SEPARATE OR COMBINE",
                    ));
                }
            },
            "default_prompt_names[]" | "default_prompt_names" => {
                let value = read_small(&mut field, MAX_SMALL_FIELD_BYTES)
                    .await?
                    .unwrap_or_default();
                match value.trim().parse::<PromptName>() {
                    Ok(p) if !prompt_names.contains(&p) => prompt_names.push(p),
                    Ok(_) => {}
                    Err(_) => {
                        field_error.get_or_insert(ApiError::invalid_data(format!(
                            "UNKNOWN PROMPT: {}",
                            value.trim().chars().take(40).collect::<String>()
                        )));
                    }
                }
            }
            "word_timestamps" => {
                let value = read_small(&mut field, MAX_SMALL_FIELD_BYTES)
                    .await?
                    .unwrap_or_default();
                match value.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "on" => word_timestamps = true,
                    "false" | "0" | "off" | "" => word_timestamps = false,
                    _ => {
                        field_error.get_or_insert(ApiError::invalid_data(
                            "INVALID WORD_TIMESTAMPS. USE TRUE OR FALSE",
                        ));
                    }
                }
            }
            "user_prompt_id" => {
                let value = read_small(&mut field, MAX_SMALL_FIELD_BYTES)
                    .await?
                    .unwrap_or_default();
                let value = value.trim();
                if !value.is_empty() {
                    match value.parse::<Uuid>() {
                        Ok(id) => user_prompt_id = Some(id),
                        Err(_) => {
                            field_error.get_or_insert(ApiError::invalid_data("INVALID PROMPT ID"));
                        }
                    }
                }
            }
            _ => {
                drain(&mut field).await?;
                field_error.get_or_insert(ApiError::invalid_data(format!(
                    "UNKNOWN FIELD: {}",
                    name.chars().take(40).collect::<String>()
                )));
            }
        }
    }

    // Precedence: file count, then each file, then the fields.
    if file_count > limits.max_files {
        return Err(ApiError::bad_request(
            "too_many_files",
            limits.too_many_files_message(),
        ));
    }
    if let Some(e) = file_error.or(field_error) {
        return Err(e);
    }
    Ok(CreateForm {
        files: Vec::new(),
        text: text.filter(|t: &String| !t.trim().is_empty()),
        mode: mode.unwrap_or(SmeltMode::Separate),
        prompt_names,
        user_prompt_id,
        word_timestamps,
    })
}

fn text_too_long() -> ApiError {
    ApiError::invalid_data("TOO MUCH TEXT. MAX 50,000 CHARACTERS")
}

/// 400 `corrupted_file`: the upload's container cannot be opened, or holds no audio track or
/// no audio packet.
fn corrupted_file() -> ApiError {
    ApiError::bad_request(
        "corrupted_file",
        smelt_core::domain::ErrorCode::CorruptedFile.message(None),
    )
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
async fn drain(field: &mut Field<'_>) -> Result<u64, ApiError> {
    let mut size = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        size += chunk.len() as u64;
    }
    Ok(size)
}

/// Reads a text part of at most `max_bytes`; `None` (after draining) when it is longer or not
/// UTF-8.
async fn read_small(field: &mut Field<'_>, max_bytes: usize) -> Result<Option<String>, ApiError> {
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
