//! Transcribes audio files with Smelt's local engine, as the worker does (decoding, resampling,
//! log-mel features, Whisper window after window), and prints one JSON line per file:
//! `{"file", "audio_secs", "wall_secs", "first_segment_secs", "window_starts_secs", "language",
//! "language_probability", "text", "segments": [[start_secs, end_secs, text], …]}`. The model
//! loads once, before the clock starts, as in a running worker.
//!
//! ```text
//! cargo run -p smelt-worker --example transcribe -- [--beam-size N] [--threads N]
//!     [--condition-on-previous-text] [--word-timestamps] [--language CODE] [--translate]
//!     [--model DIR] FILE...
//! ```
//!
//! `loadtest/transcription/compare.sh` runs it beside faster-whisper on the same files.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use smelt_core::domain::speech::{LanguageChoice, Task};
use smelt_worker::audio::decode_file;
use smelt_worker::engines::whisper::long_form::LongForm;
use smelt_worker::engines::whisper::{DecodeOptions, LocalWhisper};

fn main() -> anyhow::Result<()> {
    let mut options = DecodeOptions::default();
    let mut threads = 2;
    let mut model_dir = smelt_core::settings::default_models_dir().join("whisper-tiny.en");
    let mut language = None;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--beam-size" => options.beam_size = value()?.parse()?,
            "--threads" => threads = value()?.parse()?,
            "--model" => model_dir = PathBuf::from(value()?),
            "--condition-on-previous-text" => options.condition_on_previous_text = true,
            "--word-timestamps" => options.word_timestamps = true,
            "--translate" => options.task = Task::Translate,
            "--language" => {
                let code = value()?;
                match LanguageChoice::parse(&code) {
                    Some(LanguageChoice::Code(code)) => language = Some(code),
                    Some(LanguageChoice::Auto) => language = None,
                    None => anyhow::bail!("unknown language {code}"),
                }
            }
            _ => files.push(PathBuf::from(arg)),
        }
    }
    anyhow::ensure!(!files.is_empty(), "no file to transcribe");
    let model = LocalWhisper::load(&model_dir, threads)?;
    for file in files {
        let started = Instant::now();
        let audio = decode_file(&file, 4.0 * 3600.0, &mut |_| {})?;
        let mut long_form =
            LongForm::new(Arc::new(audio.samples), 0, Vec::new(), options, language);
        let heard = long_form.language(&model)?;
        let mut segments = Vec::new();
        let mut first_segment_secs = None;
        let mut windows = Vec::new();
        while let Some(window) = long_form.next_window(&model)? {
            windows.push(window.start as f64 / 16_000.0);
            if !window.segments.is_empty() {
                first_segment_secs.get_or_insert(started.elapsed().as_secs_f64());
            }
            let offset = window.start as f64 / 16_000.0;
            segments.extend(window.segments.into_iter().map(|s| s.shifted(offset)));
        }
        let line = serde_json::json!({
            "file": file,
            "audio_secs": audio.duration_secs,
            "wall_secs": started.elapsed().as_secs_f64(),
            "first_segment_secs": first_segment_secs,
            "window_starts_secs": windows,
            "language": heard.code,
            "language_probability": heard.probability,
            "text": segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" "),
            "segments": segments
                .iter()
                .map(|s| (s.start_secs, s.end_secs, &s.text))
                .collect::<Vec<_>>(),
        });
        println!("{line}");
    }
    Ok(())
}
