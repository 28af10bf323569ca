//! The stages of one smelt: validating → decoding → transcribing → synthesizing. Text input
//! skips decoding and transcribing. Each stage reports through the [`ProgressSink`]; the
//! caller turns the returned results into `completed`, or a [`StageError`] into `failed` or a
//! retry.

mod audio_stages;
mod synthesis;

use std::path::PathBuf;
use std::sync::Arc;

use smelt_core::blob::BlobStore;
use smelt_core::db::smelts::{NewResult, Smelt};
use smelt_core::domain::{ErrorCode, InputType, SmeltStatus};
use sqlx::PgPool;

use crate::engines::{EngineError, Synthesizer, TimedSegment, Transcriber};
use crate::progress::ProgressSink;

/// Why a smelt could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The input, the request or the provider account is the problem: retrying now gives
    /// the same answer. `retry_after_secs` is the provider's wait for `api_rate_limited`.
    #[error("{code}: {detail}")]
    Permanent {
        code: ErrorCode,
        detail: String,
        retry_after_secs: Option<u64>,
    },
    /// The smelt was deleted while it ran: stop at once, nothing to report.
    #[error("the smelt was deleted while it ran")]
    Cancelled,
    /// Something around the work failed (database, storage); a later delivery may succeed.
    #[error("transient failure: {0}")]
    Transient(#[from] anyhow::Error),
}

impl StageError {
    /// A permanent failure with the spec's code.
    pub fn permanent(code: ErrorCode, detail: impl Into<String>) -> Self {
        StageError::Permanent {
            code,
            detail: detail.into(),
            retry_after_secs: None,
        }
    }

    /// An engine failure: the provider's codes as they are (`api_key_invalid`,
    /// `api_rate_limited`, `api_quota_exhausted`), anything else as `default`
    /// (`transcription_failed` or `synthesis_failed`).
    pub fn from_engine(e: EngineError, default: ErrorCode) -> Self {
        match e {
            EngineError::KeyInvalid => Self::permanent(ErrorCode::ApiKeyInvalid, e.to_string()),
            EngineError::QuotaExhausted => {
                Self::permanent(ErrorCode::ApiQuotaExhausted, e.to_string())
            }
            EngineError::RateLimited { retry_after_secs } => StageError::Permanent {
                code: ErrorCode::ApiRateLimited,
                detail: e.to_string(),
                retry_after_secs: Some(retry_after_secs),
            },
            EngineError::Unavailable(_) | EngineError::Failed(_) => {
                Self::permanent(default, e.to_string())
            }
        }
    }
}

impl From<sqlx::Error> for StageError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // Progress writes find no smelt row: it was deleted (cancelled).
            sqlx::Error::RowNotFound => StageError::Cancelled,
            e => StageError::Transient(e.into()),
        }
    }
}

/// The engines one smelt runs with.
#[derive(Clone)]
pub struct Engines {
    pub transcriber: Arc<dyn Transcriber>,
    pub synthesizer: Arc<dyn Synthesizer>,
}

/// What the stages need besides the smelt.
pub struct Context<'a> {
    pub pool: &'a PgPool,
    pub blobs: &'a dyn BlobStore,
    pub engines: &'a Engines,
    /// Directory for temporary copies of uploads (removed with the context's owner).
    pub scratch: PathBuf,
}

/// The transcript of one input file.
pub struct Transcript {
    pub text: String,
    pub segments: Option<Vec<TimedSegment>>,
    /// Audio duration in seconds (0 for text).
    pub duration_secs: f64,
}

/// Runs every stage and returns the results to store.
pub async fn run(
    ctx: &Context<'_>,
    smelt: &Smelt,
    sink: &mut ProgressSink,
) -> Result<Vec<NewResult>, StageError> {
    sink.enter(SmeltStatus::Validating).await?;
    let input_type = smelt.row.input_type()?;
    let transcripts = match input_type {
        InputType::Text => {
            let text = smelt
                .row
                .input_text
                .clone()
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| {
                    StageError::permanent(ErrorCode::InternalError, "text smelt without text")
                })?;
            sink.advance(1.0).await?;
            vec![Transcript {
                text,
                segments: None,
                duration_secs: 0.0,
            }]
        }
        InputType::Audio => {
            audio_stages::validate(ctx, smelt).await?;
            sink.advance(1.0).await?;
            let decoded = audio_stages::decode(ctx, smelt, sink).await?;
            audio_stages::transcribe(ctx, smelt, decoded, sink).await?
        }
    };
    let mut results = synthesis::synthesize(ctx, smelt, input_type, transcripts, sink).await?;
    store_documents(ctx, smelt, &mut results).await?;
    Ok(results)
}

/// Stores each result as a Markdown object (`results/{smelt_id}/{result_id}.md`) before the
/// results are committed, so that a committed result always has its document. A failure is
/// transient: the next delivery writes the documents again under new ids, and whatever the
/// failed one left is removed with the smelt's blobs.
async fn store_documents(
    ctx: &Context<'_>,
    smelt: &Smelt,
    results: &mut [NewResult],
) -> Result<(), StageError> {
    for result in results {
        let key = smelt_core::blob::result_key(smelt.row.smelt_id, result.smelt_result_id);
        ctx.blobs
            .put(&key, smelt_core::blob::once(result.content.clone()))
            .await
            .map_err(|e| {
                StageError::Transient(anyhow::Error::new(e).context("storing a result document"))
            })?;
        result.storage_key = Some(key);
    }
    Ok(())
}
