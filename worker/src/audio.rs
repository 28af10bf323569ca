//! Decoding of uploaded audio files into the 16 kHz mono `f32` signal Whisper expects.
//!
//! Containers are opened with [`smelt_core::media`] and decoded by symphonia (pure Rust, so
//! no ffmpeg at run time), Opus by libopus; resampling uses rubato's FFT resampler, which is
//! exact for the fixed ratios we need.

use std::io;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::LazyLock;

use rubato::{FftFixedIn, Resampler};
use smelt_core::media::{self, MediaError, OpenedAudio, SourceFile};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CodecRegistry, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;

/// Sample rate of [`DecodedAudio::samples`], in Hz: the rate Whisper was trained on.
pub const TARGET_SAMPLE_RATE: u32 = 16_000;

/// Input frames per resampler call. Small enough to keep memory flat while streaming,
/// large enough that the per-call FFT overhead is negligible.
const RESAMPLE_CHUNK: usize = 4096;

/// How many progress steps [`decode_file`] reports over a whole file.
const PROGRESS_STEPS: f32 = 20.0;

/// 16 kHz mono samples in [-1, 1] and the source duration.
#[derive(Debug, Clone)]
pub struct DecodedAudio {
    /// Mono signal at [`TARGET_SAMPLE_RATE`]; channels are averaged.
    pub samples: Vec<f32>,
    /// Duration of the decoded source audio, in seconds (frames decoded / source rate).
    pub duration_secs: f64,
}

/// Why a file could not be turned into [`DecodedAudio`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not audio symphonia can read (unknown container, no audio track, decode errors on every packet).
    #[error("corrupted or unsupported audio: {0}")]
    Corrupted(String),
    /// The audio is longer than the allowed maximum (seconds), detected from container metadata before decoding when available, otherwise while decoding (stop as soon as it is exceeded — never decode 2 hours to find out).
    #[error("audio is {seconds:.0} s long, over the limit")]
    DurationExceeded {
        /// Duration in seconds: the container's figure, or how far decoding got before stopping.
        seconds: f64,
    },
    /// The demuxer or decoder panicked on these bytes (a bug in the library, contained by
    /// [`decode_file_isolated`]); as permanent as [`DecodeError::Corrupted`].
    #[error("the decoder panicked: {0}")]
    Panicked(String),
    /// The file could not be opened or read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// [`decode_file`] with a panic inside the demuxer or decoder contained: a library that
/// panics on malformed bytes makes the file [`DecodeError::Corrupted`], never a failed job
/// that is retried. Nothing is shared across the call but the immutable codec registry, so
/// nothing is left half-updated.
pub fn decode_file_isolated(
    path: &Path,
    max_duration_secs: f64,
    on_progress: &mut dyn FnMut(f32),
) -> Result<DecodedAudio, DecodeError> {
    media::contained(|| decode_file(path, max_duration_secs, on_progress))
        .unwrap_or_else(|panic| Err(DecodeError::Panicked(panic)))
}

/// Decodes an audio file to 16 kHz mono `f32`.
///
/// The file extension is only a probe hint; the container is detected from its content.
/// Packets that fail to decode are skipped (a few bad frames should not lose a meeting),
/// but if no packet decodes the file is [`DecodeError::Corrupted`].
///
/// `on_progress` receives the fraction (0.0..=1.0) of the input decoded so far, called at most ~20 times.
///
/// # Errors
/// [`DecodeError::Corrupted`] for unreadable or non-audio input, [`DecodeError::DurationExceeded`]
/// once the audio is known to be longer than `max_duration_secs`, [`DecodeError::Io`] if reading fails.
pub fn decode_file(
    path: &Path,
    max_duration_secs: f64,
    on_progress: &mut dyn FnMut(f32),
) -> Result<DecodedAudio, DecodeError> {
    let source = SourceFile::open(path)?;
    let bytes_read = source.position();
    let byte_len = source.len();
    let extension = path.extension().and_then(|e| e.to_str());
    let mut opened: OpenedAudio = media::open(source, extension)?;
    let (track_id, params) = (opened.track_id, opened.params.clone());
    let source_rate = params.sample_rate.unwrap_or(TARGET_SAMPLE_RATE);
    let total_secs = media::declared_duration(&params, byte_len);
    if let Some(seconds) = total_secs {
        if seconds > max_duration_secs {
            return Err(DecodeError::DurationExceeded { seconds });
        }
    }
    let max_frames = (max_duration_secs * f64::from(source_rate)).ceil() as u64;

    let mut decoder = codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| DecodeError::from(opened.classify("unsupported codec", e)))?;

    let mut mono = MonoResampler::new(source_rate)?;
    let mut sample_buf: Option<SampleBuffer<f32>> = None;
    let mut frames_decoded: u64 = 0;
    let (mut good_packets, mut bad_packets) = (0u64, 0u64);
    let mut last_error = String::new();
    let mut progress = Progress::new(on_progress);

    loop {
        let packet = match opened.format.next_packet() {
            Ok(p) => p,
            Err(SymphoniaError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            // Chained streams with new parameters are out of scope; keep what we have.
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => match opened.classify("cannot read packets", e) {
                MediaError::Io(e) => return Err(DecodeError::Io(e)),
                // A container error mid-stream is treated like a truncated file.
                MediaError::Corrupted(detail) if good_packets > 0 => {
                    last_error = detail;
                    break;
                }
                MediaError::Corrupted(detail) => return Err(DecodeError::Corrupted(detail)),
            },
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymphoniaError::DecodeError(e)) => {
                bad_packets += 1;
                last_error = e.to_string();
                continue;
            }
            Err(SymphoniaError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            // The decoder reads no file: whatever it reports is about the bytes.
            Err(e) => return Err(DecodeError::Corrupted(format!("decoder failed: {e}"))),
        };
        good_packets += 1;
        let spec = *decoded.spec();
        let frames = decoded.frames();
        if frames == 0 {
            continue;
        }
        let buf = match &mut sample_buf {
            Some(b) if b.capacity() >= frames * spec.channels.count() => b,
            slot => slot.insert(SampleBuffer::new(decoded.capacity() as u64, spec)),
        };
        buf.copy_interleaved_ref(decoded);
        frames_decoded += frames as u64;
        if frames_decoded > max_frames {
            return Err(DecodeError::DurationExceeded {
                seconds: frames_decoded as f64 / f64::from(source_rate),
            });
        }
        mono.push_interleaved(buf.samples(), spec.channels.count())?;

        let fraction = match (total_secs, byte_len) {
            (Some(total), _) if total > 0.0 => {
                frames_decoded as f64 / f64::from(source_rate) / total
            }
            (_, Some(len)) if len > 0 => bytes_read.load(Ordering::Relaxed) as f64 / len as f64,
            _ => 0.0,
        };
        progress.report(fraction as f32);
    }

    if good_packets == 0 {
        let detail = if bad_packets > 0 {
            format!("none of {bad_packets} packets decoded ({last_error})")
        } else if last_error.is_empty() {
            "no audio packets".to_string()
        } else {
            last_error
        };
        return Err(DecodeError::Corrupted(detail));
    }
    let samples = mono.finish()?;
    progress.finish();
    Ok(DecodedAudio {
        samples,
        duration_secs: frames_decoded as f64 / f64::from(source_rate),
    })
}

/// Symphonia's decoders plus Opus through libopus (`symphonia-adapter-libopus`), which
/// symphonia 0.5 lacks: browsers record Opus in WebM and Ogg.
fn codecs() -> &'static CodecRegistry {
    static CODECS: LazyLock<CodecRegistry> = LazyLock::new(|| {
        let mut registry = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut registry);
        registry.register_all::<symphonia_adapter_libopus::OpusDecoder>();
        registry
    });
    &CODECS
}

impl From<MediaError> for DecodeError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::Corrupted(detail) => DecodeError::Corrupted(detail),
            MediaError::Io(io) => DecodeError::Io(io),
        }
    }
}

/// Throttles progress callbacks so a long file does not flood the caller (e.g. a DB row).
struct Progress<'a> {
    callback: &'a mut dyn FnMut(f32),
    last_step: u32,
}

impl<'a> Progress<'a> {
    fn new(callback: &'a mut dyn FnMut(f32)) -> Self {
        Self {
            callback,
            last_step: 0,
        }
    }

    fn report(&mut self, fraction: f32) {
        // The last step is reserved for `finish`, which runs after resampler flushing.
        let step =
            ((fraction.clamp(0.0, 1.0) * PROGRESS_STEPS) as u32).min(PROGRESS_STEPS as u32 - 1);
        if step > self.last_step {
            self.last_step = step;
            (self.callback)(step as f32 / PROGRESS_STEPS);
        }
    }

    fn finish(&mut self) {
        (self.callback)(1.0);
    }
}

/// Downmixes and resamples incrementally, so memory stays proportional to the 16 kHz
/// output rather than to the (often 3x larger, multi-channel) source.
struct MonoResampler {
    resampler: Option<FftFixedIn<f32>>,
    source_rate: u32,
    pending: Vec<f32>,
    out: Vec<f32>,
    frames_in: u64,
}

impl MonoResampler {
    fn new(source_rate: u32) -> Result<Self, DecodeError> {
        let resampler = if source_rate == TARGET_SAMPLE_RATE {
            None
        } else {
            Some(
                FftFixedIn::new(
                    source_rate as usize,
                    TARGET_SAMPLE_RATE as usize,
                    RESAMPLE_CHUNK,
                    2,
                    1,
                )
                .map_err(|e| DecodeError::Corrupted(format!("unsupported sample rate: {e}")))?,
            )
        };
        Ok(Self {
            resampler,
            source_rate,
            pending: Vec::with_capacity(RESAMPLE_CHUNK * 2),
            out: Vec::new(),
            frames_in: 0,
        })
    }

    fn push_interleaved(
        &mut self,
        interleaved: &[f32],
        channels: usize,
    ) -> Result<(), DecodeError> {
        let channels = channels.max(1);
        let scale = 1.0 / channels as f32;
        let target = if self.resampler.is_some() {
            &mut self.pending
        } else {
            &mut self.out
        };
        target.extend(
            interleaved
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() * scale),
        );
        self.frames_in += (interleaved.len() / channels) as u64;
        if let Some(resampler) = &mut self.resampler {
            let mut start = 0;
            while self.pending.len() - start >= RESAMPLE_CHUNK {
                let chunk = &self.pending[start..start + RESAMPLE_CHUNK];
                let res = resampler.process(&[chunk], None).map_err(resample_err)?;
                self.out.extend_from_slice(&res[0]);
                start += RESAMPLE_CHUNK;
            }
            self.pending.drain(..start);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<f32>, DecodeError> {
        let Some(mut resampler) = self.resampler.take() else {
            let mut out = self.out;
            for s in &mut out {
                if !s.is_finite() {
                    *s = 0.0;
                }
            }
            return Ok(out);
        };
        let expected = (self.frames_in as f64 * f64::from(TARGET_SAMPLE_RATE)
            / f64::from(self.source_rate))
        .round() as usize;
        let delay = resampler.output_delay();
        if !self.pending.is_empty() {
            let res = resampler
                .process_partial(Some(&[&self.pending[..]]), None)
                .map_err(resample_err)?;
            self.out.extend_from_slice(&res[0]);
        }
        // Flush the filter's tail: the resampler lags its input by `delay` output frames.
        while self.out.len() < expected + delay {
            let res = resampler
                .process_partial(None::<&[&[f32]]>, None)
                .map_err(resample_err)?;
            if res[0].is_empty() {
                break;
            }
            self.out.extend_from_slice(&res[0]);
        }
        let mut out = self.out.split_off(delay.min(self.out.len()));
        out.truncate(expected);
        for s in &mut out {
            // The FFT resampler can ring slightly past full scale on clipped input, and a
            // damaged stream can decode to non-numbers.
            *s = if s.is_finite() {
                s.clamp(-1.0, 1.0)
            } else {
                0.0
            };
        }
        Ok(out)
    }
}

fn resample_err(e: rubato::ResampleError) -> DecodeError {
    DecodeError::Corrupted(format!("resampling failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f32, secs: f32) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn resampling_keeps_length_timing_and_amplitude() {
        for rate in [8_000, 22_050, 44_100, 48_000] {
            let mut r = MonoResampler::new(rate).unwrap();
            // Odd-sized pushes, as packets arrive, exercise the pending-buffer handling.
            for chunk in sine(rate, 440.0, 2.0).chunks(1151) {
                r.push_interleaved(chunk, 1).unwrap();
            }
            let out = r.finish().unwrap();
            let expected = sine(TARGET_SAMPLE_RATE, 440.0, 2.0);
            assert_eq!(out.len(), expected.len(), "rate {rate}");
            // Skip the edges, where the filter sees the implicit zero padding.
            let err = out[400..out.len() - 400]
                .iter()
                .zip(&expected[400..])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            // rubato's FFT resampler delay is fractional (< 0.5 output samples, i.e. < 31 µs)
            // and `output_delay` rounds it; a whole-sample misalignment would give ~0.086.
            assert!(err < 0.05, "rate {rate}: max error {err}");
            let rms = (out.iter().map(|s| s * s).sum::<f32>() / out.len() as f32).sqrt();
            assert!(
                (rms - 0.5 / 2f32.sqrt()).abs() < 0.005,
                "rate {rate}: rms {rms}"
            );
        }
    }

    #[test]
    fn channels_are_averaged() {
        let mut r = MonoResampler::new(TARGET_SAMPLE_RATE).unwrap();
        r.push_interleaved(&[0.5, -0.5, 1.0, 0.0, 0.25, 0.25], 2)
            .unwrap();
        assert_eq!(r.finish().unwrap(), vec![0.0, 0.5, 0.25]);
    }

    #[test]
    fn progress_is_throttled_and_ends_at_one() {
        let mut calls = Vec::new();
        let mut cb = |f: f32| calls.push(f);
        let mut p = Progress::new(&mut cb);
        for i in 0..=10_000 {
            p.report(i as f32 / 10_000.0);
        }
        p.finish();
        assert_eq!(calls.len(), 20);
        assert_eq!(calls.last(), Some(&1.0));
    }
}
