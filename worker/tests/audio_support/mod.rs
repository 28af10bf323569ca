//! Test fixtures: real speech from espeak-ng, re-encoded with ffmpeg, and the model.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use smelt_worker::engines::whisper::long_form;
use smelt_worker::engines::whisper::{DecodeOptions, LocalWhisper, WindowSegment};

/// Runs an external tool, failing the test with its stderr if it does not succeed.
pub fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Speaks `text` into `dir/name.wav` (espeak-ng's native 22.05 kHz mono).
pub fn speech_wav(dir: &Path, name: &str, text: &str) -> PathBuf {
    speech_wav_in(dir, name, "en-us", text)
}

/// Speaks `text` with espeak-ng's `voice` (`en-us`, `de`, `es`, …) into `dir/name.wav`.
pub fn speech_wav_in(dir: &Path, name: &str, voice: &str, text: &str) -> PathBuf {
    let wav = dir.join(format!("{name}.wav"));
    run(Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&wav)
        .arg(text));
    wav
}

/// A German reading: three sentences of a meeting, no numbers (a model may write them as
/// digits).
pub const GERMAN: &str = "Guten Morgen, wir treffen uns heute im Büro. Bitte bringen Sie die \
    Unterlagen für das neue Projekt mit. Wir müssen über den Haushalt und die Termine für den \
    Sommer sprechen.";

/// The English of [`GERMAN`]'s content words (Morgen, treffen, Büro, Projekt, sprechen,
/// Haushalt, Sommer): a translation has most of them.
pub const GERMAN_KEY_WORDS: [&str; 8] = [
    "morning",
    "meet",
    "office",
    "project",
    "talk",
    "household",
    "budget",
    "summer",
];

/// Re-encodes `wav` with ffmpeg into `dir/name.ext` using the given codec arguments.
pub fn transcode(wav: &Path, out: &Path, codec_args: &[&str]) -> PathBuf {
    run(Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(wav)
        .args(codec_args)
        .arg(out));
    out.to_path_buf()
}

/// Duration of a PCM WAV from its header, independent of the decoder under test.
pub fn wav_header_duration(wav: &Path) -> f64 {
    let bytes = std::fs::read(wav).unwrap();
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    let byte_rate = u32_at(28);
    // Streamed WAVs declare a placeholder size; the bytes present are what counts.
    let data_pos = bytes.windows(4).position(|w| w == b"data").unwrap();
    let declared = u32_at(data_pos + 4) as usize;
    let actual = bytes.len() - (data_pos + 8);
    declared.min(actual) as f64 / f64::from(byte_rate)
}

/// The installed tiny.en model, loaded once per test binary (installed with fetch-model.sh
/// when absent, so a fresh machine can run the suite).
pub fn model() -> &'static LocalWhisper {
    static MODEL: OnceLock<LocalWhisper> = OnceLock::new();
    MODEL.get_or_init(|| load("tiny.en"))
}

/// The installed multilingual base model, loaded once per test binary.
pub fn multilingual_model() -> &'static LocalWhisper {
    static MODEL: OnceLock<LocalWhisper> = OnceLock::new();
    MODEL.get_or_init(|| load("base"))
}

fn load(name: &str) -> LocalWhisper {
    let info = smelt_core::domain::speech::model(name).expect("a known model");
    let dir = models_dir().join(info.dir_name);
    if !dir.join("model.bin").is_file() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fetch-model.sh");
        run(Command::new("bash").arg(script).arg(models_dir()).arg(name));
    }
    LocalWhisper::load(&dir, 2).expect("load model")
}

/// `$SMELT_MODELS_DIR`, else the default location fetch-model.sh installs to.
pub fn models_dir() -> PathBuf {
    std::env::var_os("SMELT_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(smelt_core::settings::default_models_dir)
}

/// Transcribes 16 kHz audio window after window, as the service does.
pub fn transcribe(samples: &[f32]) -> String {
    transcribe_with(samples, DecodeOptions::default())
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every segment of 16 kHz audio, times in seconds from its start.
pub fn transcribe_with(samples: &[f32], options: DecodeOptions) -> Vec<WindowSegment> {
    long_form::transcribe(model(), Arc::new(samples.to_vec()), options).expect("transcribe")
}

/// The text of one window on its own: its segments' texts joined by spaces.
pub fn window_text(model: &LocalWhisper, samples: &[f32]) -> String {
    model
        .transcribe_window(samples, &[], &DecodeOptions::default())
        .expect("transcribe")
        .segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A long reading without pauses between sentences: the first `count` sentences of the
/// fixture `reading.txt` (one per line).
pub fn reading(count: usize) -> Vec<String> {
    include_str!("../fixtures/reading.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(count)
        .map(str::to_owned)
        .collect()
}

/// Speaks `sentences` into `dir/name.wav` as one stream without a breath: the sentence ends
/// lose their full stops, so espeak-ng pauses only between words. At this deliberate pace
/// (130 words a minute) a window cut in the quietest moment before each 30 s mark still falls
/// inside an utterance, which Whisper then declines to transcribe: speech a fixed-window
/// transcriber loses (8.8 s of the first twelve sentences of `reading.txt`).
pub fn continuous_speech_wav(dir: &Path, name: &str, sentences: &[String]) -> PathBuf {
    let text = sentences
        .iter()
        .map(|s| s.trim().trim_end_matches('.'))
        .collect::<Vec<_>>()
        .join(" ");
    let wav = dir.join(format!("{name}.wav"));
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "130", "-w"])
        .arg(&wav)
        .arg(text));
    wav
}

/// How a transcript covers a text that was read aloud, found by aligning its words with the
/// text's (a longest-common-subsequence diff).
#[derive(Debug)]
pub struct Coverage {
    /// For each sentence of the text, the share of its words found in the transcript, at
    /// their place in the alignment.
    pub sentence_recall: Vec<f64>,
    /// Runs of four words of the text heard more often than they were read: speech
    /// transcribed twice (words the model invented do not count).
    pub doubled: Vec<String>,
    /// Word error rate of the transcript against the whole text.
    pub word_error_rate: f64,
}

impl Coverage {
    /// Aligns `transcript` with `sentences` (normalised words, see [`words`]).
    pub fn of(sentences: &[String], transcript: &str) -> Coverage {
        let mut expected = Vec::new();
        let mut sentence_of = Vec::new();
        for (i, sentence) in sentences.iter().enumerate() {
            for w in words(sentence) {
                expected.push(w);
                sentence_of.push(i);
            }
        }
        let heard = words(transcript);
        let mut found = vec![false; expected.len()];
        for op in similar::capture_diff_slices(similar::Algorithm::Myers, &expected, &heard) {
            if let similar::DiffOp::Equal { old_index, len, .. } = op {
                found[old_index..old_index + len].fill(true);
            }
        }
        let count = |list: &[String]| {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for gram in list.windows(4) {
                *counts.entry(gram.join(" ")).or_default() += 1;
            }
            counts
        };
        let read = count(&expected);
        let mut doubled: Vec<String> = count(&heard)
            .into_iter()
            .filter(|(gram, n)| read.get(gram).is_some_and(|r| n > r))
            .map(|(gram, _)| gram)
            .collect();
        doubled.sort();
        let mut totals = vec![(0usize, 0usize); sentences.len()];
        for (k, &sentence) in sentence_of.iter().enumerate() {
            totals[sentence].1 += 1;
            if found[k] {
                totals[sentence].0 += 1;
            }
        }
        Coverage {
            sentence_recall: totals
                .iter()
                .map(|&(hit, all)| hit as f64 / all.max(1) as f64)
                .collect(),
            doubled,
            word_error_rate: strsim::generic_levenshtein(&expected, &heard) as f64
                / expected.len().max(1) as f64,
        }
    }

    /// Indexes of the sentences with less than `min_recall` of their words heard.
    pub fn missing(&self, min_recall: f64) -> Vec<usize> {
        (0..self.sentence_recall.len())
            .filter(|&i| self.sentence_recall[i] < min_recall)
            .collect()
    }
}

/// Longest stretch, in seconds, in which every 20 ms frame of 16 kHz `samples` is quieter than
/// 1 % of the loudest frame: the longest pause of a recording.
pub fn longest_pause_secs(samples: &[f32]) -> f64 {
    const FRAME: usize = 320;
    let energies: Vec<f32> = samples
        .chunks(FRAME)
        .map(|f| f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32)
        .collect();
    let loudest = energies.iter().copied().fold(0.0f32, f32::max);
    let mut longest = 0;
    let mut run = 0;
    for e in energies {
        run = if e < loudest * 0.01 { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest as f64 * FRAME as f64 / 16_000.0
}

/// Lowercased words with punctuation stripped.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate of `transcript` against `reference`: word-level edit distance (insertions,
/// deletions, substitutions) over the reference's word count, after [`words`].
pub fn word_error_rate(reference: &str, transcript: &str) -> f64 {
    let expected = words(reference);
    strsim::generic_levenshtein(&expected, &words(transcript)) as f64 / expected.len().max(1) as f64
}

/// Fraction of the reference's words that appear in the transcript.
pub fn word_recall(reference: &str, transcript: &str) -> f64 {
    let heard: HashSet<String> = words(transcript).into_iter().collect();
    let expected = words(reference);
    let found = expected.iter().filter(|w| heard.contains(*w)).count();
    found as f64 / expected.len().max(1) as f64
}
