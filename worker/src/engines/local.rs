//! The offline engines: local Whisper and the extractive synthesizer.

use std::path::PathBuf;
use std::sync::Arc;

use smelt_core::domain::PromptName;
use tokio::sync::{watch, OnceCell};

use super::extractive::{self, PromptFormat, SynthesisInput};
use super::whisper::{split_windows, LocalWhisper};
use super::{EngineError, Instruction, SynthesisRequest, Synthesizer, TimedSegment, Transcriber};
use crate::audio::TARGET_SAMPLE_RATE;

/// Whisper through CTranslate2, loaded on first use so that a server without the model still
/// serves text smelts.
pub struct LocalTranscriber {
    model_dir: PathBuf,
    threads: usize,
    model: OnceCell<Arc<LocalWhisper>>,
}

impl LocalTranscriber {
    /// A transcriber for the model directory, using `threads` CPU threads per window.
    pub fn new(model_dir: PathBuf, threads: usize) -> Self {
        LocalTranscriber {
            model_dir,
            threads,
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
                    .map_err(|e| EngineError::Unavailable(e.to_string()))
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

    async fn transcribe(
        &self,
        samples: Arc<Vec<f32>>,
        progress: watch::Sender<f64>,
    ) -> Result<Vec<TimedSegment>, EngineError> {
        let model = self.model().await?;
        let windows = split_windows(&samples);
        let total = samples.len().max(1) as f64;
        let mut segments = Vec::with_capacity(windows.len());
        for window in windows {
            // Inference is CPU-bound: it runs on the blocking pool, one window at a time, so
            // progress reflects the real position in the audio.
            let (model, samples, range) = (model.clone(), samples.clone(), window.clone());
            let text =
                tokio::task::spawn_blocking(move || model.transcribe_window(&samples[range]))
                    .await
                    .map_err(|e| EngineError::Failed(e.to_string()))?
                    .map_err(|e| EngineError::Failed(e.to_string()))?;
            if !text.trim().is_empty() {
                segments.push(TimedSegment {
                    start_secs: window.start as f64 / f64::from(TARGET_SAMPLE_RATE),
                    text: text.trim().to_owned(),
                });
            }
            let _ = progress.send(window.end as f64 / total);
        }
        Ok(segments)
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
                Instruction::Transcript => extractive::transcript_markdown(&input),
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
