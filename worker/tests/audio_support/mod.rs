//! Test fixtures: real speech from espeak-ng, re-encoded with ffmpeg, and the model.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use smelt_worker::engines::whisper::{split_windows, LocalWhisper};

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
    let wav = dir.join(format!("{name}.wav"));
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&wav)
        .arg(text));
    wav
}

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

/// The installed model, loaded once per test binary. Installs it with fetch-model.sh
/// when absent, so a fresh machine can run the suite.
pub fn model() -> &'static LocalWhisper {
    static MODEL: OnceLock<LocalWhisper> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = model_dir();
        if !dir.join("model.bin").is_file() {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fetch-model.sh");
            run(Command::new("bash").arg(script).arg(&dir));
        }
        LocalWhisper::load(&dir, 2).expect("load model")
    })
}

/// `$SMELT_WHISPER_MODEL_DIR`, else the default location fetch-model.sh installs to.
pub fn model_dir() -> PathBuf {
    std::env::var_os("SMELT_WHISPER_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(".cache/smelt/models/whisper-tiny.en")
        })
}

/// Transcribes 16 kHz audio window by window, as the service does.
pub fn transcribe(samples: &[f32]) -> String {
    let model = model();
    split_windows(samples)
        .into_iter()
        .map(|w| window_text(model, &samples[w]))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of one window: its segments' texts joined by spaces.
pub fn window_text(model: &LocalWhisper, samples: &[f32]) -> String {
    model
        .transcribe_window(samples, false)
        .expect("transcribe")
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
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

/// Fraction of the reference's words that appear in the transcript.
pub fn word_recall(reference: &str, transcript: &str) -> f64 {
    let heard: HashSet<String> = words(transcript).into_iter().collect();
    let expected = words(reference);
    let found = expected.iter().filter(|w| heard.contains(*w)).count();
    found as f64 / expected.len().max(1) as f64
}
