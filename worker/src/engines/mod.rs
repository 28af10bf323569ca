//! Processing engines behind two traits, so the pipeline does not care where the work runs.
//!
//! - [`Transcriber`]: 16 kHz mono audio → timed transcript segments.
//! - [`Synthesizer`]: text (+ segments) and an instruction → Markdown.
//!
//! The local engines ([`local`]) run offline: Whisper through CTranslate2 ([`whisper`]) and an
//! extractive note-maker ([`extractive`]). The [`hosted`] engines call any OpenAI-compatible
//! API through [`openai`].

pub mod extractive;
pub mod hosted;
pub mod local;
pub mod openai;
pub mod whisper;

use std::sync::Arc;

use smelt_core::domain::PromptName;
use tokio::sync::watch;

pub use extractive::TimedSegment;

/// Why an engine could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine cannot run at all (for example its model is missing): retrying won't help.
    #[error("engine unavailable: {0}")]
    Unavailable(String),
    /// This piece of work failed.
    #[error("engine failed: {0}")]
    Failed(String),
    /// The provider refused the API key.
    #[error("the provider refused the API key")]
    KeyInvalid,
    /// The provider kept rate-limiting; it asked to wait `retry_after_secs`.
    #[error("rate limited (retry after {retry_after_secs} s)")]
    RateLimited { retry_after_secs: u64 },
    /// The provider account has no quota left.
    #[error("provider quota exhausted")]
    QuotaExhausted,
}

/// Turns audio into text.
#[async_trait::async_trait]
pub trait Transcriber: Send + Sync + 'static {
    /// Engine name recorded with results, e.g. `local:whisper-tiny.en`.
    fn name(&self) -> String;
    /// Transcribes 16 kHz mono samples in [-1, 1]. Sends the fraction of the audio done
    /// (0.0–1.0) on `progress` as it goes. Segments are in order, with start times in seconds.
    async fn transcribe(
        &self,
        samples: Arc<Vec<f32>>,
        progress: watch::Sender<f64>,
    ) -> Result<Vec<TimedSegment>, EngineError>;
}

/// What a synthesis should produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// One of the five built-in formats.
    Prompt(PromptName),
    /// The plain transcript as a document.
    Transcript,
    /// A user's own prompt.
    Custom { title: String, body: String },
}

/// One synthesis job.
#[derive(Debug, Clone)]
pub struct SynthesisRequest {
    pub instruction: Instruction,
    /// Shown as the document's source (a filename, or "Pasted text").
    pub title: String,
    pub text: String,
    /// Timed segments when the text is a transcript.
    pub segments: Option<Vec<TimedSegment>>,
}

/// Turns text into Markdown documents.
#[async_trait::async_trait]
pub trait Synthesizer: Send + Sync + 'static {
    /// Engine name recorded with results, e.g. `local:extractive`.
    fn name(&self) -> String;
    /// Produces the Markdown for one instruction.
    async fn synthesize(&self, request: SynthesisRequest) -> Result<String, EngineError>;
}
