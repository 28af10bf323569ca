//! A whole recording, window after window, each starting where the last one's final text
//! ended ([`super::seek`]).

use std::sync::Arc;

use super::features::{Mel, HOP_LENGTH, N_SAMPLES, SAMPLE_RATE};
use super::{
    is_digital_silence, DecodeOptions, HeardLanguage, LocalWhisper, WhisperError, WindowSegment,
    WindowTranscript, MAX_PROMPT_TOKENS,
};

/// One decoded window of a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Where the window started, in 16 kHz samples from the start of the recording.
    pub start: usize,
    /// Where the next window starts (how far the transcript is final), in samples.
    pub next: usize,
    /// The window's final segments; times in seconds from `start`.
    pub segments: Vec<WindowSegment>,
}

/// Transcribes a recording window by window. Holds only plain data, so it can move into a
/// blocking task for each window and back.
///
/// The features of the whole recording are computed once, on the first window, and each
/// window is cut out of them, as the reference does: the normalisation (a floor 8 decades
/// under the loudest sound) then holds for the whole recording, not each window.
#[derive(Debug, Clone)]
pub struct LongForm {
    samples: Arc<Vec<f32>>,
    mel: Option<Arc<Mel>>,
    /// Where the next window starts, in samples (a whole number of 10 ms frames).
    position: usize,
    /// Text tokens decoded so far (the last [`MAX_PROMPT_TOKENS`]), for the next prompt.
    previous: Vec<u32>,
    options: DecodeOptions,
    /// The recording's language: chosen, or detected once in the first window decoded and
    /// kept for every later one.
    language: Option<HeardLanguage>,
}

impl LongForm {
    /// Starts at sample `start` of `samples` (16 kHz mono). `previous` is the text already
    /// transcribed before `start` as token ids ([`LocalWhisper::text_tokens`]), so that a
    /// resumed transcription is prompted as the uninterrupted one would have been. `language`
    /// is the code the client chose; `None` detects it (see [`LongForm::language`]).
    pub fn new(
        samples: Arc<Vec<f32>>,
        start: usize,
        previous: Vec<u32>,
        options: DecodeOptions,
        language: Option<&'static str>,
    ) -> Self {
        let mut long_form = LongForm {
            position: (start - start % HOP_LENGTH).min(samples.len()),
            samples,
            mel: None,
            previous: Vec::new(),
            options,
            language: language.map(|code| HeardLanguage {
                code,
                probability: None,
            }),
        };
        long_form.remember(&previous);
        long_form
    }

    /// Decodes the next windows with `options` (e.g. another model's beam).
    pub fn set_options(&mut self, options: DecodeOptions) {
        self.options = options;
    }

    /// Adds text transcribed before the start (token ids of the model that decodes next) to
    /// the prompt of the next window, as [`LongForm::new`]'s `previous` does.
    pub fn continue_after(&mut self, previous: &[u32]) {
        self.remember(previous);
    }

    /// Where the next window starts, in samples.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The recording's language: the chosen one, or else detected by `model` in the window
    /// where transcription starts (the first 30 s, unless it resumes) — once; later calls
    /// and windows reuse it. An English-only model hears English.
    ///
    /// # Errors
    /// [`WhisperError::Inference`] if CTranslate2 fails.
    pub fn language(&mut self, model: &LocalWhisper) -> Result<HeardLanguage, WhisperError> {
        if let Some(language) = self.language {
            return Ok(language);
        }
        let mel = self
            .mel
            .get_or_insert_with(|| Arc::new(model.features.compute_all(&self.samples)));
        let heard = model.detect_language(mel.window(self.position / HOP_LENGTH))?;
        self.language = Some(heard);
        Ok(heard)
    }

    /// Decodes the next window, or `None` once the whole recording is transcribed.
    ///
    /// # Errors
    /// What [`LocalWhisper::transcribe_window`] returns.
    pub fn next_window(&mut self, model: &LocalWhisper) -> Result<Option<Window>, WhisperError> {
        let start = self.position;
        if start >= self.samples.len() {
            return Ok(None);
        }
        let end = (start + N_SAMPLES).min(self.samples.len());
        let decoded = if is_digital_silence(&self.samples[start..end]) {
            WindowTranscript::silent(end - start)
        } else {
            let language = self.language(model)?.code;
            let mel = self
                .mel
                .get_or_insert_with(|| Arc::new(model.features.compute_all(&self.samples)));
            model.transcribe_features(
                mel.window(start / HOP_LENGTH),
                end - start,
                &self.previous,
                &self.options,
                Some(language),
            )?
        };
        let advance = (decoded.advance_secs * SAMPLE_RATE as f64).round() as usize;
        self.position = start + advance.clamp(1, end - start);
        if decoded.prompt_reset {
            self.previous.clear();
        } else {
            self.remember(&decoded.tokens);
        }
        Ok(Some(Window {
            start,
            next: self.position,
            segments: decoded.segments,
        }))
    }

    fn remember(&mut self, tokens: &[u32]) {
        self.previous.extend_from_slice(tokens);
        let excess = self.previous.len().saturating_sub(MAX_PROMPT_TOKENS);
        self.previous.drain(..excess);
    }
}

/// The whole transcript of `samples` (16 kHz mono), window after window: every final segment
/// with times in seconds from the start. For tools and tests; the service publishes each
/// window as it is done instead.
///
/// # Errors
/// What [`LocalWhisper::transcribe_window`] returns.
pub fn transcribe(
    model: &LocalWhisper,
    samples: Arc<Vec<f32>>,
    options: DecodeOptions,
) -> Result<Vec<WindowSegment>, WhisperError> {
    let mut long_form = LongForm::new(samples, 0, Vec::new(), options, None);
    let mut segments = Vec::new();
    while let Some(window) = long_form.next_window(model)? {
        let offset = window.start as f64 / SAMPLE_RATE as f64;
        segments.extend(window.segments.into_iter().map(|s| s.shifted(offset)));
    }
    Ok(segments)
}
