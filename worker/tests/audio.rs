//! End-to-end: espeak-ng speech in WAV, MP3 and M4A is decoded and transcribed by the
//! real tiny.en model; broken and over-long inputs are rejected early.

#[path = "audio_support/mod.rs"]
#[allow(dead_code)] // each test binary uses a different part
mod common;

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use common::{speech_wav, transcode, transcribe, wav_header_duration, word_recall};
use smelt_worker::audio::{decode_file, DecodeError, TARGET_SAMPLE_RATE};
use smelt_worker::engines::whisper::features::{LogMelExtractor, HOP_LENGTH, N_FRAMES, N_MELS};
use smelt_worker::engines::whisper::{DecodeOptions, WhisperError, WINDOW_SECONDS};

const SENTENCE: &str = "The quick brown fox jumps over the lazy dog while the farmer \
    walks slowly across the green field to feed his hungry horses before the evening rain.";

/// Decodes `path`, checks it against the WAV it came from, and checks that the transcript
/// holds at least `min_recall` of the sentence's words.
fn decode_and_transcribe(path: &Path, wav_secs: f64, tolerance_secs: f64, min_recall: f64) {
    let mut calls = Vec::new();
    let audio = decode_file(path, 600.0, &mut |f| calls.push(f)).expect("decode");
    let sample_secs = audio.samples.len() as f64 / f64::from(TARGET_SAMPLE_RATE);
    println!(
        "{}: duration {:.3} s (wav {wav_secs:.3} s), {} samples, progress {calls:?}",
        path.display(),
        audio.duration_secs,
        audio.samples.len()
    );
    assert!((audio.duration_secs - wav_secs).abs() < tolerance_secs);
    assert!((sample_secs - audio.duration_secs).abs() < 0.01);
    assert!(audio.samples.iter().all(|s| (-1.0..=1.0).contains(s)));
    assert!(!calls.is_empty() && calls.len() <= 21, "{calls:?}");
    assert!(calls.windows(2).all(|w| w[0] < w[1]), "{calls:?}");
    assert_eq!(calls.last(), Some(&1.0));

    let text = transcribe(&audio.samples);
    let recall = word_recall(SENTENCE, &text);
    println!(
        "{}: recall {:.0}%: {text:?}",
        path.display(),
        recall * 100.0
    );
    assert!(recall >= min_recall, "recall {recall:.2} for {text:?}");
}

#[test]
fn wav_is_decoded_and_transcribed() {
    let dir = tempfile::tempdir().unwrap();
    let wav = speech_wav(dir.path(), "speech", SENTENCE);
    decode_and_transcribe(&wav, wav_header_duration(&wav), 0.01, 0.7);
}

#[test]
fn mp3_is_decoded_and_transcribed() {
    let dir = tempfile::tempdir().unwrap();
    let wav = speech_wav(dir.path(), "speech", SENTENCE);
    let mp3 = transcode(
        &wav,
        &dir.path().join("speech.mp3"),
        &["-c:a", "libmp3lame"],
    );
    decode_and_transcribe(&mp3, wav_header_duration(&wav), 0.06, 0.7);
}

#[test]
fn m4a_is_decoded_and_transcribed() {
    let dir = tempfile::tempdir().unwrap();
    let wav = speech_wav(dir.path(), "speech", SENTENCE);
    let m4a = transcode(&wav, &dir.path().join("speech.m4a"), &["-c:a", "aac"]);
    // symphonia 0.5 ignores MP4 edit lists, so the AAC encoder's priming (1024 frames)
    // and final-frame padding stay in: up to ~0.1 s at 22.05 kHz. The priming shifts every
    // 10 ms feature frame by 46 ms, and tiny.en then mishears this sentence's first words
    // ("roundfuck stump" for "brown fox jumps"), which it hears right in the WAV.
    decode_and_transcribe(&m4a, wav_header_duration(&wav), 0.1, 0.6);
}

/// Stereo at 44.1/48 kHz, as phones and browsers record, must reach Whisper as the same
/// features as the mono 22.05 kHz original: this checks downmixing and resampling without
/// the model in the way. Lossless FLAC must match almost exactly.
#[test]
fn stereo_flac_and_vorbis_give_the_same_features_as_the_wav() {
    let dir = tempfile::tempdir().unwrap();
    let wav = speech_wav(dir.path(), "speech", SENTENCE);
    let reference = decode_file(&wav, 600.0, &mut |_| {}).unwrap();
    let extractor = LogMelExtractor::new();
    let reference_mel = extractor.compute(&reference.samples);
    let speech_frames = reference.samples.len() / HOP_LENGTH;
    // Duplicate the channel explicitly: ffmpeg's default mono-to-stereo upmix is 3 dB
    // quieter, and Whisper's features are level-dependent.
    let stereo = "pan=stereo|c0=c0|c1=c0";
    let cases: [(&str, &[&str], f32); 2] = [
        ("speech.flac", &["-af", stereo, "-ar", "48000"], 0.005),
        (
            "speech.ogg",
            &["-af", stereo, "-ar", "44100", "-c:a", "libvorbis"],
            0.1,
        ),
    ];
    for (name, args, max_mean_diff) in cases {
        let path = transcode(&wav, &dir.path().join(name), args);
        let audio = decode_file(&path, 600.0, &mut |_| {}).expect(name);
        assert!((audio.duration_secs - reference.duration_secs).abs() < 0.01);
        let mel = extractor.compute(&audio.samples);
        let diff: f32 = (0..N_MELS)
            .flat_map(|m| (0..speech_frames).map(move |t| m * N_FRAMES + t))
            .map(|i| (mel[i] - reference_mel[i]).abs())
            .sum::<f32>()
            / (N_MELS * speech_frames) as f32;
        println!("{name}: mean log-mel difference {diff:.4}");
        assert!(diff < max_mean_diff, "{name}: {diff}");
    }
}

#[test]
fn continuous_speech_across_window_boundaries_is_transcribed_whole_and_once() {
    let sentences = common::reading(12);
    let dir = tempfile::tempdir().unwrap();
    let wav = common::continuous_speech_wav(dir.path(), "reading", &sentences);
    let audio = decode_file(&wav, 600.0, &mut |_| {}).expect("decode");
    assert!(
        audio.duration_secs > 3.0 * WINDOW_SECONDS as f64,
        "{:.1} s is at least three windows",
        audio.duration_secs
    );

    common::model(); // load outside the timed section
    let started = Instant::now();
    let segments = common::transcribe_with(&audio.samples, DecodeOptions::default());
    let wall = started.elapsed().as_secs_f64();
    let transcript = segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let coverage = common::Coverage::of(&sentences, &transcript);
    println!(
        "{:.1} s of audio in {wall:.2} s ({:.1}x real time), WER {:.3}\n{transcript}",
        audio.duration_secs,
        audio.duration_secs / wall,
        coverage.word_error_rate
    );
    assert!(
        coverage.missing(0.5).is_empty(),
        "sentences not heard: {:?} ({:?})",
        coverage.missing(0.5),
        coverage.sentence_recall
    );
    assert!(
        coverage.doubled.is_empty(),
        "heard twice: {:?}",
        coverage.doubled
    );
    assert_segments_tile(
        &segments
            .iter()
            .map(|s| (s.start_secs, s.end_secs))
            .collect::<Vec<_>>(),
        audio.duration_secs,
        common::longest_pause_secs(&audio.samples),
    );
}

/// Segments in order that cover `duration_secs` of speech with no gap longer than the
/// audio's longest pause (plus 1 s for Whisper's timestamp precision).
fn assert_segments_tile(spans: &[(f64, f64)], duration_secs: f64, pause_secs: f64) {
    let slack = pause_secs + 1.0;
    let first = spans.first().expect("segments");
    assert!(first.0 <= slack, "starts at {:.2} s", first.0);
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].0, "out of order: {pair:?}");
        assert!(
            pair[1].0 - pair[0].1 <= slack,
            "gap of {:.2} s between {pair:?} (longest pause {pause_secs:.2} s)",
            pair[1].0 - pair[0].1
        );
    }
    let last = spans.last().unwrap();
    assert!(
        last.1 >= duration_secs - slack,
        "ends at {:.2} s of {duration_secs:.2} s",
        last.1
    );
}

/// The service shares one model behind an `Arc` across a blocking thread pool.
#[test]
fn one_model_serves_concurrent_callers() {
    let dir = tempfile::tempdir().unwrap();
    let wav = speech_wav(dir.path(), "speech", SENTENCE);
    let audio = decode_file(&wav, 600.0, &mut |_| {}).unwrap();
    let model = common::model();
    let texts: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| common::window_text(model, &audio.samples)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(texts[0], texts[1]);
    assert!(word_recall(SENTENCE, &texts[0]) >= 0.7, "{texts:?}");
}

#[test]
fn silence_is_empty_and_long_windows_are_refused() {
    let model = common::model();
    let silence = vec![0.0f32; 10 * TARGET_SAMPLE_RATE as usize];
    assert_eq!(common::window_text(model, &silence), "");
    let too_long = vec![0.1f32; WINDOW_SECONDS * TARGET_SAMPLE_RATE as usize + 1];
    assert!(matches!(
        model.transcribe_window(&too_long, &[], &DecodeOptions::default()),
        Err(WhisperError::WindowTooLong { .. })
    ));
}

#[test]
fn random_bytes_named_mp3_are_corrupted() {
    let dir = tempfile::tempdir().unwrap();
    // Several seeds: random data contains MP3 sync words by chance, so one lucky file
    // would not show that false frames are rejected.
    for seed in 1..=8u64 {
        let path = dir.path().join(format!("noise{seed}.mp3"));
        std::fs::write(&path, pseudo_random_bytes(seed, 256 * 1024)).unwrap();
        match decode_file(&path, 600.0, &mut |_| {}) {
            Err(DecodeError::Corrupted(msg)) => println!("seed {seed}: {msg}"),
            other => panic!("seed {seed}: expected Corrupted, got {other:?}"),
        }
    }
}

#[test]
fn over_long_wav_is_rejected_from_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.wav");
    // A real 31-minute 8 kHz 8-bit mono WAV of silence (~15 MB).
    let seconds = 31 * 60;
    let data = vec![0x80u8; 8000 * seconds];
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(&wav_header(8000, 1, 8, data.len() as u32))
        .unwrap();
    file.write_all(&data).unwrap();
    drop(file);

    let mut progress_calls = 0;
    let started = Instant::now();
    let result = decode_file(&path, 30.0 * 60.0, &mut |_| progress_calls += 1);
    println!("rejected in {:?}", started.elapsed());
    match result {
        Err(DecodeError::DurationExceeded { seconds }) => assert_eq!(seconds, 1860.0),
        other => panic!("expected DurationExceeded, got {other:?}"),
    }
    // No progress means no packet was decoded: the header alone decided.
    assert_eq!(progress_calls, 0);
}

/// ffmpeg writing WAV to a pipe cannot seek back, so it declares 2^32-1 data bytes
/// (27 hours at 22 kHz 16-bit). Such a file must decode normally, and the limit must then
/// be enforced while decoding.
fn streamed_wav(dir: &Path) -> (std::path::PathBuf, f64) {
    let wav = speech_wav(dir, "speech", SENTENCE);
    let out = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(&wav)
        .args(["-f", "wav", "pipe:1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let data = out.stdout.windows(4).position(|w| w == b"data").unwrap();
    assert_eq!(
        out.stdout[data + 4..data + 8],
        [0xff; 4],
        "no placeholder size"
    );
    let streamed = dir.join("streamed.wav");
    std::fs::write(&streamed, out.stdout).unwrap();
    (streamed, wav_header_duration(&wav))
}

#[test]
fn streamed_wav_with_placeholder_length_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let (streamed, secs) = streamed_wav(dir.path());
    let audio = decode_file(&streamed, 60.0, &mut |_| {}).expect("decode");
    assert!(
        (audio.duration_secs - secs).abs() < 0.01,
        "{}",
        audio.duration_secs
    );
}

#[test]
fn over_long_stream_without_length_stops_while_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let (streamed, total) = streamed_wav(dir.path());
    let mut progress = Vec::new();
    match decode_file(&streamed, 2.0, &mut |f| progress.push(f)) {
        // Stopped within a packet of the limit, long before the end.
        Err(DecodeError::DurationExceeded { seconds }) => {
            assert!(seconds > 2.0 && seconds < 2.5, "{seconds} of {total}");
        }
        other => panic!("expected DurationExceeded, got {other:?}"),
    }
    assert!(progress.last().is_none_or(|&f| f < 0.5), "{progress:?}");
}

#[test]
fn missing_model_says_how_to_fetch_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = match smelt_worker::engines::whisper::LocalWhisper::load(dir.path(), 1) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("loaded a model from an empty dir"),
    };
    assert!(
        err.contains("fetch-model.sh") && err.contains("model.bin"),
        "{err}"
    );
}

/// Canonical 44-byte PCM WAV header.
fn wav_header(rate: u32, channels: u16, bits: u16, data_len: u32) -> Vec<u8> {
    let block_align = channels * bits / 8;
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(36 + data_len).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    h.extend_from_slice(&block_align.to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

/// Deterministic noise (xorshift64*), so a failure can be reproduced.
fn pseudo_random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}
