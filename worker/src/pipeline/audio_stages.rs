//! Validating, decoding and transcribing audio files.

use std::sync::Arc;
use std::time::Instant;

use smelt_core::db::smelts::{self, Smelt};
use smelt_core::domain::{ErrorCode, FileStatus, SmeltStatus, MAX_DURATION_SECS};
use tokio::sync::watch;

use super::{Context, StageError, Transcript};
use crate::audio::{self, DecodeError, TARGET_SAMPLE_RATE};
use crate::progress::ProgressSink;

/// Share of a file's own progress bar taken by decoding (the rest is transcription).
const DECODE_SHARE: f64 = 0.2;

/// Every file has its upload in the store.
pub async fn validate(ctx: &Context<'_>, smelt: &Smelt) -> Result<(), StageError> {
    for file in &smelt.files {
        let key = file.storage_key.as_deref().ok_or_else(|| {
            StageError::permanent(
                ErrorCode::InternalError,
                format!("file {} has no upload", file.smelt_file_id),
            )
        })?;
        let present = ctx
            .blobs
            .exists(key)
            .await
            .map_err(|e| StageError::Transient(e.into()))?;
        if !present {
            return Err(StageError::permanent(
                ErrorCode::InternalError,
                format!("upload {key} is missing"),
            ));
        }
    }
    Ok(())
}

async fn fail_file(ctx: &Context<'_>, id: uuid::Uuid, code: ErrorCode) -> Result<(), StageError> {
    smelts::set_file_state(ctx.pool, id, FileStatus::Failed, Some(code.as_str()), None).await?;
    Ok(())
}

/// Decodes every file to 16 kHz mono, in position order, recording each duration.
pub async fn decode(
    ctx: &Context<'_>,
    smelt: &Smelt,
    sink: &mut ProgressSink,
) -> Result<Vec<Arc<Vec<f32>>>, StageError> {
    sink.enter(SmeltStatus::Decoding).await?;
    let count = smelt.files.len().max(1) as f64;
    let mut decoded = Vec::with_capacity(smelt.files.len());
    for (index, file) in smelt.files.iter().enumerate() {
        let key = file.storage_key.clone().unwrap_or_default();
        let extension = key
            .rsplit_once('.')
            .map(|(_, e)| e.to_owned())
            .unwrap_or_default();
        let local = ctx
            .scratch
            .join(format!("{}.{extension}", file.smelt_file_id));
        ctx.blobs
            .fetch_to_file(&key, &local)
            .await
            .map_err(|e| StageError::Transient(e.into()))?;
        smelts::set_file_state(
            ctx.pool,
            file.smelt_file_id,
            FileStatus::Processing,
            None,
            None,
        )
        .await?;
        sink.set_file(index, FileStatus::Processing, 0);

        let (tx, mut rx) = watch::channel(0f32);
        let path = local.clone();
        let job = tokio::task::spawn_blocking(move || {
            audio::decode_file(&path, MAX_DURATION_SECS, &mut |f| {
                let _ = tx.send(f);
            })
        });
        tokio::pin!(job);
        let result = loop {
            tokio::select! {
                result = &mut job => break result.map_err(|e| StageError::Transient(e.into()))?,
                Ok(()) = rx.changed() => {
                    let f = f64::from(*rx.borrow_and_update());
                    sink.set_file(index, FileStatus::Processing, (f * DECODE_SHARE * 100.0) as u8);
                    sink.advance((index as f64 + f) / count).await?;
                }
            }
        };
        let _ = tokio::fs::remove_file(&local).await;
        match result {
            Ok(audio) => {
                smelts::set_file_state(
                    ctx.pool,
                    file.smelt_file_id,
                    FileStatus::Processing,
                    None,
                    Some(audio.duration_secs),
                )
                .await?;
                sink.set_file(index, FileStatus::Processing, (DECODE_SHARE * 100.0) as u8);
                decoded.push(Arc::new(audio.samples));
            }
            Err(DecodeError::DurationExceeded { seconds }) => {
                fail_file(ctx, file.smelt_file_id, ErrorCode::DurationExceeded).await?;
                return Err(StageError::permanent(
                    ErrorCode::DurationExceeded,
                    format!("{} is {seconds:.0} s long", file.filename),
                ));
            }
            Err(DecodeError::Corrupted(detail)) => {
                fail_file(ctx, file.smelt_file_id, ErrorCode::CorruptedFile).await?;
                return Err(StageError::permanent(
                    ErrorCode::CorruptedFile,
                    format!("{}: {detail}", file.filename),
                ));
            }
            Err(DecodeError::Io(e)) => return Err(StageError::Transient(e.into())),
        }
        sink.advance((index + 1) as f64 / count).await?;
    }
    Ok(decoded)
}

/// Transcribes every decoded file in order. Overall progress is the share of all audio
/// transcribed; the estimate of time left comes from the speed measured so far.
pub async fn transcribe(
    ctx: &Context<'_>,
    smelt: &Smelt,
    decoded: Vec<Arc<Vec<f32>>>,
    sink: &mut ProgressSink,
) -> Result<Vec<Transcript>, StageError> {
    sink.enter(SmeltStatus::Transcribing).await?;
    let total: usize = decoded.iter().map(|d| d.len()).sum::<usize>().max(1);
    let started = Instant::now();
    let mut done = 0usize;
    let mut transcripts = Vec::with_capacity(decoded.len());
    for (index, samples) in decoded.into_iter().enumerate() {
        let len = samples.len();
        let (tx, mut rx) = watch::channel(0f64);
        let job = ctx.engines.transcriber.transcribe(samples, tx);
        tokio::pin!(job);
        let segments = loop {
            tokio::select! {
                result = &mut job => break result,
                Ok(()) = rx.changed() => {
                    let f = *rx.borrow_and_update();
                    let overall = (done as f64 + f * len as f64) / total as f64;
                    let elapsed = started.elapsed().as_secs_f64();
                    if overall > 0.0 {
                        sink.set_eta(Some((elapsed * (1.0 - overall) / overall).ceil() as u32));
                    }
                    sink.set_file(index, FileStatus::Processing, ((DECODE_SHARE + (1.0 - DECODE_SHARE) * f) * 100.0) as u8);
                    sink.advance(overall).await?;
                }
            }
        };
        let segments = segments.map_err(|e| {
            tracing::warn!(smelt_id = %smelt.row.smelt_id, error = %e, "transcription failed");
            StageError::from_engine(e, ErrorCode::TranscriptionFailed)
        })?;
        done += len;
        sink.set_file(index, FileStatus::Processing, 100);
        let text = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        transcripts.push(Transcript {
            text,
            segments: Some(segments),
            duration_secs: len as f64 / f64::from(TARGET_SAMPLE_RATE),
        });
    }
    sink.set_eta(None);
    Ok(transcripts)
}
