//! The offline engines: local Whisper and the extractive synthesizer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use smelt_core::domain::speech::{self, LanguageChoice, ModelInfo};
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

/// One installed model, loaded on first use and then shared by every job of the worker.
struct Installed {
    dir: PathBuf,
    loaded: OnceCell<Arc<LocalWhisper>>,
}

/// Whisper through CTranslate2: the models installed under the models directory (one
/// subdirectory each, see [`ModelInfo::dir_name`]), each loaded once, on first use, so that a
/// worker without models still serves text smelts.
pub struct LocalTranscriber {
    models: HashMap<&'static str, Installed>,
    models_dir: PathBuf,
    threads: usize,
    /// Beam width the operator set for every model; `None`: each model's own.
    beam_size: Option<usize>,
    options: DecodeOptions,
    /// English-only model that transcribes files detected as English (`language=auto`), if
    /// installed.
    english: Option<&'static ModelInfo>,
}

impl LocalTranscriber {
    /// A transcriber for the models installed in `models_dir` (those of
    /// [`speech::MODELS`] whose directory holds a `model.bin`), using `threads` CPU threads
    /// per window and decoding with `options` (its `word_timestamps` and `task` are taken from
    /// each request instead, and its beam from `beam_size`, else from the model's
    /// [`ModelInfo::beam_size`]). `auto_english_model` names the English-only model to switch to
    /// when a file is detected as English; empty or not installed: no switch.
    pub fn new(
        models_dir: PathBuf,
        threads: usize,
        beam_size: Option<usize>,
        options: DecodeOptions,
        auto_english_model: &str,
    ) -> Self {
        let models: HashMap<_, _> = speech::MODELS
            .iter()
            .filter(|m| models_dir.join(m.dir_name).join("model.bin").is_file())
            .map(|m| {
                (
                    m.name,
                    Installed {
                        dir: models_dir.join(m.dir_name),
                        loaded: OnceCell::new(),
                    },
                )
            })
            .collect();
        let english = speech::model(auto_english_model)
            .filter(|m| !m.detects_language() && models.contains_key(m.name));
        LocalTranscriber {
            models,
            models_dir,
            threads,
            beam_size,
            options,
            english,
        }
    }

    /// The names of the installed models, in [`speech::MODELS`] order.
    pub fn installed(&self) -> Vec<&'static str> {
        speech::MODELS
            .iter()
            .map(|m| m.name)
            .filter(|name| self.models.contains_key(name))
            .collect()
    }

    /// The directory models are looked for in.
    pub fn models_dir(&self) -> &Path {
        &self.models_dir
    }

    async fn model(&self, info: &ModelInfo) -> Result<Arc<LocalWhisper>, EngineError> {
        let Some(installed) = self.models.get(info.name) else {
            return Err(EngineError::Missing(format!(
                "Whisper model {} is not installed in {} (scripts/fetch-model.sh {} {})",
                info.name,
                self.models_dir.display(),
                self.models_dir.display(),
                info.name
            )));
        };
        installed
            .loaded
            .get_or_try_init(|| async {
                let dir = installed.dir.clone();
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

/// Runs `f` with the long-form state on the blocking pool (inference is CPU-bound) and gives
/// the state back.
async fn blocking<T: Send + 'static>(
    mut long_form: LongForm,
    f: impl FnOnce(&mut LongForm) -> T + Send + 'static,
) -> Result<(LongForm, T), EngineError> {
    tokio::task::spawn_blocking(move || {
        let out = f(&mut long_form);
        (long_form, out)
    })
    .await
    .map_err(|e| EngineError::Failed(e.to_string()))
}

#[async_trait::async_trait]
impl Transcriber for LocalTranscriber {
    fn name(&self, model: &ModelInfo) -> String {
        format!("local:whisper-{}", model.name)
    }

    fn models(&self) -> Vec<&'static str> {
        self.installed()
    }

    /// Window after window by the seek rule ([`super::whisper::seek`]): each window starts
    /// where the final text of the one before ended, so no speech is skipped or doubled at a
    /// window's end. Each window's segments go out as one [`Chunk`] as soon as it is decoded,
    /// with the file's language; `Chunk::end_ms` is where the next window starts, which is
    /// where a redelivered job resumes.
    ///
    /// With `language=auto` a multilingual model detects the language in the first window;
    /// a file heard as English then runs on the English-only model if one is installed and
    /// chosen for that (`SMELT_AUTO_ENGLISH_MODEL`), which is faster.
    async fn transcribe(
        &self,
        request: TranscriptionRequest,
        chunks: mpsc::Sender<Chunk>,
    ) -> Result<(), EngineError> {
        let chosen = self.model(request.model).await?;
        let failed = |e: WhisperError| EngineError::Failed(e.to_string());
        let beam = |model: &ModelInfo| self.beam_size.unwrap_or(usize::from(model.beam_size));
        let mut options = DecodeOptions {
            word_timestamps: request.word_timestamps,
            task: request.task,
            beam_size: beam(request.model),
            ..self.options
        };
        let start = (request.start_ms as usize * SAMPLES_PER_MS).min(request.samples.len());
        let language = match request.language {
            LanguageChoice::Code(code) => Some(code),
            LanguageChoice::Auto => None,
        };
        let long_form = LongForm::new(request.samples, start, Vec::new(), options, language);
        let detector = chosen.clone();
        let (mut long_form, heard) = blocking(long_form, move |l| l.language(&detector)).await?;
        let heard = heard.map_err(failed)?;
        let mut model = chosen;
        if let Some(english) = self.english {
            let switch = request.language == LanguageChoice::Auto
                && request.model.detects_language()
                && heard.code == "en"
                && options.task == speech::Task::Transcribe;
            if switch {
                model = self.model(english).await?;
                options.beam_size = beam(english);
                long_form.set_options(options);
            }
        }
        let previous = match request.previous_text.trim() {
            "" => Vec::new(),
            text => model.text_tokens(text).map_err(failed)?,
        };
        long_form.continue_after(&previous);
        loop {
            let window_model = model.clone();
            let (returned, window) =
                blocking(long_form, move |l| l.next_window(&window_model)).await?;
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
                language: Some(heard),
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
                language: request.language.as_deref(),
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
