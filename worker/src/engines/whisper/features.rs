//! Whisper's reference log-mel front end, computed in Rust.
//!
//! Port of OpenAI Whisper's `log_mel_spectrogram` (whisper/audio.py) applied to one
//! `pad_or_trim`-ed 30 s window. The model only transcribes well on features that match
//! this exactly; ct2rs's own front end normalises per frame, which is why we do not use it.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// Sample rate the features assume, in Hz.
pub const SAMPLE_RATE: usize = 16_000;
/// FFT size (25 ms at 16 kHz), as in Whisper's `N_FFT`.
pub const N_FFT: usize = 400;
/// Hop between frames (10 ms at 16 kHz), as in Whisper's `HOP_LENGTH`.
pub const HOP_LENGTH: usize = 160;
/// Mel bands of the original Whisper models (large-v3 uses 128 and is not supported here).
pub const N_MELS: usize = 80;
/// Samples in one 30 s window, Whisper's `N_SAMPLES`.
pub const N_SAMPLES: usize = 480_000;
/// Frames per window, Whisper's `N_FRAMES`: the encoder's fixed input length.
pub const N_FRAMES: usize = N_SAMPLES / HOP_LENGTH;

const N_BINS: usize = N_FFT / 2 + 1;

/// Computes Whisper input features; build once and reuse, as it holds the FFT plan and
/// the mel filter bank. It is `Send + Sync`, so one instance can serve all threads.
pub struct LogMelExtractor {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    filters: Vec<MelFilter>,
}

impl Default for LogMelExtractor {
    fn default() -> Self {
        Self::new()
    }
}

impl LogMelExtractor {
    /// Plans the FFT and builds the Slaney mel filter bank.
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        // Periodic Hann, like `torch.hann_window(N_FFT)`.
        let window = (0..N_FFT)
            .map(|n| {
                let phase = 2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64;
                (0.5 - 0.5 * phase.cos()) as f32
            })
            .collect();
        Self {
            fft,
            window,
            filters: mel_filters(SAMPLE_RATE as f64, N_FFT, N_MELS),
        }
    }

    /// Returns the `[N_MELS, N_FRAMES]` log-mel spectrogram of one window, row-major
    /// (mel band major), ready for a `[1, 80, 3000]` model input.
    ///
    /// `samples` is 16 kHz mono; it is zero-padded (or truncated) to 30 s first, so the
    /// normalisation below sees the same silence the model saw in training.
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        let mut audio = vec![0.0f32; N_SAMPLES];
        let n = samples.len().min(N_SAMPLES);
        audio[..n].copy_from_slice(&samples[..n]);
        let mut mel = self.log_mel(&audio, N_FRAMES);
        normalise(&mut mel);
        mel
    }

    /// The log-mel spectrogram of a whole recording, normalised over all of it, as the
    /// reference long-form loop computes it once before cutting windows out of it
    /// (faster-whisper's `FeatureExtractor`: the audio gets 160 zero samples at its end, the
    /// last STFT frame is dropped; one frame per 10 ms).
    pub fn compute_all(&self, samples: &[f32]) -> Mel {
        let mut audio = Vec::with_capacity(samples.len() + HOP_LENGTH);
        audio.extend_from_slice(samples);
        audio.resize(samples.len() + HOP_LENGTH, 0.0);
        let frames = audio.len() / HOP_LENGTH;
        let mut data = self.log_mel(&audio, frames);
        normalise(&mut data);
        Mel { frames, data }
    }

    /// `log10` of the mel energies of `frames` centred STFT frames of `audio`, band major.
    fn log_mel(&self, audio: &[f32], frames: usize) -> Vec<f32> {
        let padded = reflect_pad(audio, N_FFT / 2);
        let mut mel = vec![0.0f32; N_MELS * frames];
        let mut frame = self.fft.make_input_vec();
        let mut spectrum: Vec<Complex<f32>> = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = [0.0f32; N_BINS];
        // torch.stft yields one frame more than `frames`; Whisper drops the last one.
        for t in 0..frames {
            let start = t * HOP_LENGTH;
            for ((dst, &x), &w) in frame
                .iter_mut()
                .zip(&padded[start..start + N_FFT])
                .zip(&self.window)
            {
                *dst = x * w;
            }
            self.fft
                .process_with_scratch(&mut frame, &mut spectrum, &mut scratch)
                .expect("buffer sizes come from the same plan");
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            for (m, filter) in self.filters.iter().enumerate() {
                let energy: f32 = filter
                    .weights
                    .iter()
                    .zip(&power[filter.first_bin..])
                    .map(|(w, p)| w * p)
                    .sum();
                mel[m * frames + t] = energy.max(1e-10).log10();
            }
        }
        mel
    }
}

/// Whisper's normalisation: a floor 8 decades under the loudest value, then `(x + 4) / 4`.
fn normalise(mel: &mut [f32]) {
    let max = mel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let floor = max - 8.0;
    for v in mel {
        *v = (v.max(floor) + 4.0) / 4.0;
    }
}

/// The normalised log-mel spectrogram of a whole recording ([`LogMelExtractor::compute_all`]).
#[derive(Debug, Clone)]
pub struct Mel {
    /// Frames of audio (10 ms each).
    pub frames: usize,
    /// `[N_MELS, frames]`, band major.
    data: Vec<f32>,
}

impl Mel {
    /// The `[N_MELS, N_FRAMES]` model input of the window starting at frame `start`: the next
    /// 30 s of features, padded with zeros past the end of the recording (the reference's
    /// `pad_or_trim` of the features).
    pub fn window(&self, start: usize) -> Vec<f32> {
        let mut window = vec![0.0f32; N_MELS * N_FRAMES];
        let start = start.min(self.frames);
        let len = (self.frames - start).min(N_FRAMES);
        for m in 0..N_MELS {
            let band = &self.data[m * self.frames..(m + 1) * self.frames];
            window[m * N_FRAMES..m * N_FRAMES + len].copy_from_slice(&band[start..start + len]);
        }
        window
    }
}

/// Mirror padding without repeating the edge sample, like `torch.stft(center=True)`'s
/// default `pad_mode="reflect"`. A signal too short to mirror (`pad` samples or fewer: under
/// 13 ms, what a damaged file may decode to) is padded with silence instead.
fn reflect_pad(x: &[f32], pad: usize) -> Vec<f32> {
    if x.len() <= pad {
        let mut out = vec![0.0; pad];
        out.extend_from_slice(x);
        out.resize(x.len() + 2 * pad, 0.0);
        return out;
    }
    let mut out = Vec::with_capacity(x.len() + 2 * pad);
    out.extend((1..=pad).rev().map(|i| x[i]));
    out.extend_from_slice(x);
    let last = x.len() - 1;
    out.extend((1..=pad).map(|i| x[last - i]));
    out
}

/// One triangular mel filter, stored sparsely: most of its 201 FFT-bin weights are zero.
struct MelFilter {
    first_bin: usize,
    weights: Vec<f32>,
}

/// Slaney-scale, Slaney-normalised mel filter bank: `librosa.filters.mel(sr, n_fft,
/// n_mels)` with its defaults, which is how Whisper's `mel_filters.npz` was generated.
fn mel_filters(sample_rate: f64, n_fft: usize, n_mels: usize) -> Vec<MelFilter> {
    let n_bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_bins)
        .map(|i| i as f64 * sample_rate / n_fft as f64)
        .collect();
    let (min_mel, max_mel) = (hz_to_mel(0.0), hz_to_mel(sample_rate / 2.0));
    let mel_freqs: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(min_mel + (max_mel - min_mel) * i as f64 / (n_mels + 1) as f64))
        .collect();

    (0..n_mels)
        .map(|m| {
            let (lo, centre, hi) = (mel_freqs[m], mel_freqs[m + 1], mel_freqs[m + 2]);
            // Slaney normalisation: equal area per filter rather than equal height.
            let enorm = 2.0 / (hi - lo);
            let dense: Vec<f32> = fft_freqs
                .iter()
                .map(|&f| {
                    let rising = (f - lo) / (centre - lo);
                    let falling = (hi - f) / (hi - centre);
                    (rising.min(falling).max(0.0) * enorm) as f32
                })
                .collect();
            let first_bin = dense.iter().position(|&w| w > 0.0).unwrap_or(0);
            let end = dense
                .iter()
                .rposition(|&w| w > 0.0)
                .map_or(first_bin, |i| i + 1);
            MelFilter {
                first_bin,
                weights: dense[first_bin..end].to_vec(),
            }
        })
        .collect()
}

/// Slaney's auditory mel scale (librosa `hz_to_mel(htk=False)`): linear below 1 kHz,
/// logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let log_step = 6.4f64.ln() / 27.0;
    if hz >= MIN_LOG_HZ {
        min_log_mel + (hz / MIN_LOG_HZ).ln() / log_step
    } else {
        hz / F_SP
    }
}

/// Inverse of [`hz_to_mel`].
fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let log_step = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        MIN_LOG_HZ * (log_step * (mel - min_log_mel)).exp()
    } else {
        mel * F_SP
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_too_short_to_mirror_is_padded_with_silence() {
        assert_eq!(reflect_pad(&[], 2), vec![0.0; 4]);
        assert_eq!(reflect_pad(&[0.5], 2), vec![0.0, 0.0, 0.5, 0.0, 0.0]);
        assert_eq!(
            reflect_pad(&[1.0, 2.0, 3.0], 2),
            vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
        );
    }

    #[test]
    fn filters_match_librosa_shape() {
        let filters = mel_filters(16_000.0, N_FFT, N_MELS);
        assert_eq!(filters.len(), N_MELS);
        // Slaney normalisation makes each triangle's area (in Hz) equal to 1.
        let bin_hz = 16_000.0 / N_FFT as f32;
        // (Only checked where filters span enough bins for the sum to approximate the area.)
        for f in &filters[50..] {
            let area: f32 = f.weights.iter().sum::<f32>() * bin_hz;
            assert!((area - 1.0).abs() < 0.2, "area {area}");
        }
        // librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)[0] peaks at bin 1 with 0.02486...
        let first = &filters[0];
        assert_eq!(first.first_bin, 1);
        assert!(
            (first.weights[0] - 0.024_862).abs() < 1e-4,
            "{}",
            first.weights[0]
        );
    }

    #[test]
    fn silence_and_tone_are_normalised_like_whisper() {
        let ex = LogMelExtractor::new();
        let silent = ex.compute(&[]);
        assert_eq!(silent.len(), N_MELS * N_FRAMES);
        // All-zero input: log10(1e-10) = -10 everywhere, then (x + 4) / 4.
        assert!(silent.iter().all(|&v| (v - (-1.5)).abs() < 1e-6));

        let tone: Vec<f32> = (0..SAMPLE_RATE)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin())
            .collect();
        let mel = ex.compute(&tone);
        let max = mel.iter().copied().fold(f32::MIN, f32::max);
        let min = mel.iter().copied().fold(f32::MAX, f32::min);
        // The dynamic range is clamped to 8 decades, i.e. 2.0 after dividing by 4.
        assert!((max - min - 2.0).abs() < 1e-5, "{max} {min}");
    }
}
