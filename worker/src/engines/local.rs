//! The offline engines: local Whisper and the extractive synthesizer.

use std::path::PathBuf;
use std::sync::Arc;

use smelt_core::domain::PromptName;
use smelt_core::dto::WordDto;
use tokio::sync::{mpsc, OnceCell};

use super::extractive::{self, PromptFormat, SynthesisInput};
use super::whisper::long_form::LongForm;
use super::whisper::{DecodeOptions, LocalWhisper, WhisperError, WindowSegment};
use super::{
    Chunk, EngineError, Instruction, Segment, SynthesisRequest, Synthesizer, Transcriber,
    TranscriptionRequest,
};
use crate::audio::TARGET_SAMPLE_RATE;

/// Whisper through CTranslate2, loaded on first use so that a server without the model still
/// serves text smelts.
pub struct LocalTranscriber {
    model_dir: PathBuf,
    threads: usize,
    options: DecodeOptions,
    model: OnceCell<Arc<LocalWhisper>>,
}

impl LocalTranscriber {
    /// A transcriber for the model directory, using `threads` CPU threads per window and
    /// decoding with `options` (its `word_timestamps` is taken from each request instead).
    pub fn new(model_dir: PathBuf, threads: usize, options: DecodeOptions) -> Self {
        LocalTranscriber {
            model_dir,
            threads,
            options,
            model: OnceCell::new(),
        }
    }

    async fn model(&self) -> Result<Arc<LocalWhisper>, EngineError> {
        self.model
            .get_or_try_init(|| async {
                let dir = self.model_dir.clone();
                let threads = self.threads;
                tokio::task::spawn_blocking(move || LocalWhisper::load(&dir, threads))
                    .await
                    .map_err(|e| EngineError::Failed(e.to_string()))?
                    .map(Arc::new)
                    .map_err(|e| EngineError::Missing(e.to_string()))
            })
            .await
            .cloned()
    }
}

#[async_trait::async_trait]
impl Transcriber for LocalTranscriber {
    fn name(&self) -> String {
        let model = self
            .model_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        format!("local:{}", model.unwrap_or_else(|| "whisper".into()))
    }

    /// Window after window by the seek rule ([`super::whisper::seek`]): each window starts
    /// where the final text of the one before ended, so no speech is skipped or doubled at a
    /// window's end. Each window's segments go out as one [`Chunk`] as soon as it is decoded;
    /// `Chunk::end_ms` is where the next window starts, which is where a redelivered job
    /// resumes.
    async fn transcribe(
        &self,
        request: TranscriptionRequest,
        chunks: mpsc::Sender<Chunk>,
    ) -> Result<(), EngineError> {
        let model = self.model().await?;
        let failed = |e: WhisperError| EngineError::Failed(e.to_string());
        let previous = match request.previous_text.trim() {
            "" => Vec::new(),
            text => model.text_tokens(text).map_err(failed)?,
        };
        let options = DecodeOptions {
            word_timestamps: request.word_timestamps,
            ..self.options
        };
        let start = (request.start_ms as usize * SAMPLES_PER_MS).min(request.samples.len());
        let mut long_form = LongForm::new(request.samples, start, previous, options);
        loop {
            // Inference is CPU-bound: it runs on the blocking pool, one window at a time, so
            // each window's segments go out as soon as they exist.
            let model = model.clone();
            let (returned, window) = tokio::task::spawn_blocking(move || {
                let window = long_form.next_window(&model);
                (long_form, window)
            })
            .await
            .map_err(|e| EngineError::Failed(e.to_string()))?;
            long_form = returned;
            let Some(window) = window.map_err(failed)? else {
                return Ok(());
            };
            let offset_ms = (window.start / SAMPLES_PER_MS) as u32;
            let chunk = Chunk {
                segments: window
                    .segments
                    .into_iter()
                    .map(|s| window_segment(s, offset_ms))
                    .collect(),
                end_ms: (window.next / SAMPLES_PER_MS) as u32,
            };
            if chunks.send(chunk).await.is_err() {
                // Nobody is listening: the smelt was cancelled.
                return Ok(());
            }
        }
    }
}

/// 16 kHz samples per millisecond.
const SAMPLES_PER_MS: usize = TARGET_SAMPLE_RATE as usize / 1000;

fn ms(secs: f64) -> u32 {
    (secs * 1000.0).round().max(0.0) as u32
}

/// A window's segment with times moved from the window's start to the file's.
fn window_segment(s: WindowSegment, offset_ms: u32) -> Segment {
    Segment {
        start_ms: offset_ms + ms(s.start_secs),
        end_ms: offset_ms + ms(s.end_secs),
        text: s.text,
        words: s.words.map(|words| {
            words
                .into_iter()
                .map(|w| WordDto {
                    word: w.word,
                    start_ms: offset_ms + ms(w.start_secs),
                    end_ms: offset_ms + ms(w.end_secs),
                    probability: Some(w.probability),
                })
                .collect()
        }),
    }
}

/// The extractive note-maker: selects and arranges source sentences, never rewrites them.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExtractiveSynthesizer;

fn format_of(prompt: PromptName) -> PromptFormat {
    match prompt {
        PromptName::Summarize => PromptFormat::Summarize,
        PromptName::ActionItems => PromptFormat::ActionItems,
        PromptName::DetailedNotes => PromptFormat::DetailedNotes,
        PromptName::QaFormat => PromptFormat::QaFormat,
        PromptName::TableOfContents => PromptFormat::TableOfContents,
    }
}

#[async_trait::async_trait]
impl Synthesizer for ExtractiveSynthesizer {
    fn name(&self) -> String {
        "local:extractive".into()
    }

    async fn synthesize(&self, request: SynthesisRequest) -> Result<String, EngineError> {
        tokio::task::spawn_blocking(move || {
            let input = SynthesisInput {
                title: &request.title,
                text: &request.text,
                segments: request.segments.as_deref(),
            };
            match &request.instruction {
                Instruction::Prompt(p) => extractive::render(format_of(*p), &input),
                // An extractive engine cannot follow free-form instructions; it says so and
                // gives the closest thing it can: a summary.
                Instruction::Custom { title, .. } => format!(
                    "_\"{}\" needs a language model; this extractive engine gives a summary instead._\n\n{}",
                    title.replace('_', "\\_"),
                    extractive::render(PromptFormat::Summarize, &input)
                ),
            }
        })
        .await
        .map_err(|e| EngineError::Failed(e.to_string()))
    }
}
