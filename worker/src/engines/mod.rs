//! Processing engines behind two traits, so the pipeline does not care where the work runs.
//!
//! - [`Transcriber`]: 16 kHz mono audio → timed transcript segments, delivered in [`Chunk`]s
//!   as they are finished.
//! - [`Synthesizer`]: text (+ segments) and an instruction → Markdown.
//!
//! The local engines ([`local`]) run offline: Whisper through CTranslate2 ([`whisper`]) and an
//! extractive note-maker ([`extractive`]). The [`hosted`] engines call any OpenAI-compatible
//! API through [`openai`].

pub mod chunking;
pub mod extractive;
pub mod hosted;
pub mod local;
pub mod openai;
pub mod whisper;

use std::sync::Arc;

use smelt_core::domain::speech::{LanguageChoice, ModelInfo, Task};
use smelt_core::domain::PromptName;
use smelt_core::dto::WordDto;
use tokio::sync::mpsc;

pub use extractive::TimedSegment;
pub use whisper::HeardLanguage;

/// One finished piece of transcript. Times are milliseconds from the start of the audio the
/// transcriber was given (not from where it started, when it resumed).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start_ms: u32,
    pub end_ms: u32,
    /// Trimmed, never empty.
    pub text: String,
    /// Word timings, when they were asked for and the engine gives them.
    pub words: Option<Vec<WordDto>>,
}

/// What a transcriber has finished so far: the segments of the audio up to `end_ms`. A chunk
/// may hold no segment (silence).
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub segments: Vec<Segment>,
    /// Milliseconds of the audio covered once this chunk is taken into account.
    pub end_ms: u32,
    /// The language of the speech, when the engine knows it (detected or chosen).
    pub language: Option<HeardLanguage>,
}

/// What to transcribe.
#[derive(Debug, Clone)]
pub struct TranscriptionRequest {
    /// 16 kHz mono samples in [-1, 1]: the whole file.
    pub samples: Arc<Vec<f32>>,
    /// Where to start, in ms (a redelivered job resumes after what is already stored).
    pub start_ms: u32,
    /// The transcript of the audio before `start_ms` (empty when starting from the
    /// beginning): a resumed transcription continues the text as the uninterrupted one would.
    pub previous_text: String,
    /// Also time each word (slower).
    pub word_timestamps: bool,
    /// The model the smelt chose (a local engine runs it; a hosted one sends its own).
    pub model: &'static ModelInfo,
    /// The language of the speech: detected, or the one chosen.
    pub language: LanguageChoice,
    /// Transcribe, or translate into English.
    pub task: Task,
}

/// Why an engine could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine cannot run at all (for example its model is missing): retrying won't help.
    #[error("engine missing: {0}")]
    Missing(String),
    /// The engine's provider is down or timing out (after its own retries): a later attempt
    /// may succeed.
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
    /// Engine name recorded with results when it runs `model`, e.g. `local:whisper-tiny.en`.
    fn name(&self, model: &ModelInfo) -> String;
    /// Names of the models of [`smelt_core::domain::speech::MODELS`] it can run.
    fn models(&self) -> Vec<&'static str>;
    /// Transcribes `request.samples` from `request.start_ms` to the end, sending each finished
    /// [`Chunk`] on `chunks` in order as soon as it is done. Stops early, without error, when
    /// the receiver is dropped (the smelt was cancelled).
    async fn transcribe(
        &self,
        request: TranscriptionRequest,
        chunks: mpsc::Sender<Chunk>,
    ) -> Result<(), EngineError>;
}

/// What a synthesis should produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// One of the five built-in formats.
    Prompt(PromptName),
    /// A user's own prompt.
    Custom { title: String, body: String },
}

impl Instruction {
    /// The `prompt` a result of this instruction records: the built-in name or `custom`.
    pub fn prompt_name(&self) -> &str {
        match self {
            Instruction::Prompt(p) => p.as_str(),
            Instruction::Custom { .. } => "custom",
        }
    }

    /// How a failure of this instruction is named: the built-in name or the custom title.
    pub fn label(&self) -> &str {
        match self {
            Instruction::Prompt(p) => p.as_str(),
            Instruction::Custom { title, .. } => title,
        }
    }
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
    /// The text's language (ISO 639-1) when known; `None` for pasted text.
    pub language: Option<String>,
}

/// Turns text into Markdown documents.
#[async_trait::async_trait]
pub trait Synthesizer: Send + Sync + 'static {
    /// Engine name recorded with results, e.g. `local:extractive`.
    fn name(&self) -> String;
    /// Produces the Markdown for one instruction.
    async fn synthesize(&self, request: SynthesisRequest) -> Result<String, EngineError>;
}
