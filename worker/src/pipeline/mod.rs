//! The stages of one smelt: validating → decoding → transcribing → synthesizing. Text input
//! skips decoding and transcribing; audio given by link is downloaded first, while the smelt
//! is validating. Each stage reports through the [`ProgressSink`].
//!
//! Work is kept as it is done, so a redelivered job (after a crash, or a retry) does only what
//! is missing: transcript segments are stored as they are published, a file whose transcript is
//! complete is not transcribed again, the transcripts become results of their own before
//! synthesis starts, and each prompt's notes are stored as soon as they exist. The caller turns
//! a finished run into `completed`, or a [`StageError`] into `failed` or a retry.

mod audio_stages;
mod documents;
mod download;
mod synthesis;

use std::path::PathBuf;
use std::sync::Arc;

use smelt_core::blob::BlobStore;
use smelt_core::db::smelts::Smelt;
use smelt_core::domain::{ErrorCode, InputType, SmeltStatus};
use smelt_core::limits::Limits;
use smelt_core::outbound::OutboundGuard;
use sqlx::PgPool;

use crate::engines::{EngineError, Synthesizer, TimedSegment, Transcriber};
use smelt_core::lifecycle::{ProgressSink, ReportError};

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
    /// The smelt was deleted or cancelled while it ran (the lifecycle answered
    /// [`ReportError::Stopped`]): stop at once, nothing to report and nothing wrong.
    #[error("the smelt was deleted or cancelled while it ran")]
    Cancelled,
    /// Something around the work failed (database, storage, a provider that is down); a
    /// later delivery may succeed. When no delivery is left, the smelt fails with `code`.
    #[error("transient failure ({code}): {error:#}")]
    Transient {
        code: ErrorCode,
        error: anyhow::Error,
    },
}

impl StageError {
    /// A permanent failure with its smelt error code.
    pub fn permanent(code: ErrorCode, detail: impl Into<String>) -> Self {
        StageError::Permanent {
            code,
            detail: detail.into(),
            retry_after_secs: None,
        }
    }

    /// A transient failure around the work (`internal_error` if it never clears).
    pub fn transient(error: impl Into<anyhow::Error>) -> Self {
        StageError::Transient {
            code: ErrorCode::InternalError,
            error: error.into(),
        }
    }

    /// An engine failure: the provider's codes as they are (`api_key_invalid`,
    /// `api_rate_limited`, `api_quota_exhausted`); a provider that is down is retried on a
    /// later delivery and ends as `default` (`transcription_failed` or `synthesis_failed`)
    /// when it stays down; anything else is `default` at once.
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
            EngineError::Unavailable(_) => StageError::Transient {
                code: default,
                error: anyhow::Error::new(e),
            },
            EngineError::Missing(_) | EngineError::Failed(_) => {
                Self::permanent(default, e.to_string())
            }
        }
    }
}

impl From<sqlx::Error> for StageError {
    fn from(e: sqlx::Error) -> Self {
        StageError::transient(e)
    }
}

impl From<ReportError> for StageError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Stopped => StageError::Cancelled,
            ReportError::Failed(e) => StageError::transient(e),
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
    /// The duration limit applies again here: a second line behind the upload's check. All
    /// the limits apply to recordings downloaded from links.
    pub limits: Limits,
    /// The guard of recording links (`SMELT_INGEST_ALLOWED_HOSTS`), checked again at download.
    pub ingest: &'a OutboundGuard,
}

/// The transcript of one input file (or the pasted text).
#[derive(Debug, Clone)]
pub struct Transcript {
    pub text: String,
    /// Timed segments, for audio.
    pub segments: Option<Vec<TimedSegment>>,
    /// Audio duration in seconds (0 for text).
    pub duration_secs: f64,
    /// The language the text is in (ISO 639-1) when known: the speech's, or English for a
    /// translation; `None` for pasted text.
    pub language: Option<String>,
}

/// Runs every stage. On success every result (transcripts, then each prompt's notes) is
/// stored; the caller announces completion.
pub async fn run(
    ctx: &Context<'_>,
    smelt: &Smelt,
    sink: &mut ProgressSink,
) -> Result<(), StageError> {
    sink.enter(SmeltStatus::Validating).await?;
    let input_type = smelt.row.input_type;
    // From here on, recordings given by link are uploads like any other.
    let downloaded = match input_type {
        InputType::Audio => download::fetch_links(ctx, smelt).await?,
        InputType::Text => None,
    };
    let smelt = downloaded.as_ref().unwrap_or(smelt);
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
                language: None,
            }]
        }
        InputType::Audio => {
            audio_stages::validate(ctx, smelt).await?;
            sink.advance(1.0).await?;
            audio_stages::transcribe_all(ctx, smelt, sink).await?
        }
    };
    synthesis::synthesize(ctx, smelt, input_type, transcripts, sink).await
}
