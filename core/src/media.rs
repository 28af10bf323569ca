//! Reading audio containers without decoding them: which container and track a file holds, and
//! how long it is. The server measures each upload's duration with it before accepting the
//! smelt, and the worker opens files with it before decoding.
//!
//! Containers are read by symphonia (pure Rust): MP3, WAV, MP4/M4A (AAC), Ogg (Opus, Vorbis),
//! Matroska/WebM (Opus, what browsers record) and FLAC. A duration comes from the container's
//! header when it declares a believable one, else from the timestamps of its packets, read
//! without decoding them (a fast scan: a 30-minute MP3 is read in tens of milliseconds).

use std::io;
use std::path::Path;

use symphonia::core::codecs::{CodecParameters, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Why a file could not be read as audio.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The bytes are not audio in a container we read (or have no audio track).
    #[error("corrupted or unsupported audio: {0}")]
    Corrupted(String),
    /// The file could not be read.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// An opened container: its reader and its audio track.
pub struct OpenedAudio {
    pub format: Box<dyn FormatReader>,
    pub track_id: u32,
    /// The track's codec parameters (codec, sample rate, declared length …).
    pub params: CodecParameters,
}

/// Symphonia reports both real I/O failures and "ran out of bytes while parsing" as
/// `IoError`; only the former is an I/O problem.
pub fn corrupted_or_io(context: &str, e: SymphoniaError) -> MediaError {
    match e {
        SymphoniaError::IoError(io) if io.kind() != io::ErrorKind::UnexpectedEof => {
            MediaError::Io(io)
        }
        other => MediaError::Corrupted(format!("{context}: {other}")),
    }
}

/// Detects the container of `source` (the extension is only a hint) and finds its first audio
/// track.
///
/// # Errors
/// [`MediaError::Corrupted`] when no container we read is recognised or it has no audio
/// track; [`MediaError::Io`] when reading fails.
pub fn open(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
) -> Result<OpenedAudio, MediaError> {
    let mss = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = extension {
        hint.with_extension(ext);
    }
    // Gapless mode trims MP3 encoder delay/padding (LAME tag). symphonia 0.5 ignores MP4
    // edit lists, so AAC in M4A keeps its ~1024 priming frames (tens of ms of silence).
    let format_opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = symphonia::default::get_probe()
        .format(&hint, mss, &format_opts, &MetadataOptions::default())
        .map_err(|e| match e {
            // The probe scans the whole file for a known header and reports running out of
            // bytes when there is none.
            SymphoniaError::IoError(ref io) if io.kind() == io::ErrorKind::UnexpectedEof => {
                MediaError::Corrupted("not a recognised audio format".into())
            }
            other => corrupted_or_io("cannot read container", other),
        })?;
    let format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL && t.codec_params.sample_rate.is_some())
        .ok_or_else(|| MediaError::Corrupted("no audio track".into()))?;
    Ok(OpenedAudio {
        track_id: track.id,
        params: track.codec_params.clone(),
        format,
    })
}

/// The duration the container declares, in seconds, if it is believable.
///
/// `n_frames` is in time-base units (an MP4 track's timescale need not be its sample rate).
/// A WAV written to a pipe declares a data length of 2^32-1 bytes (hours of audio); for PCM
/// that is caught by comparing against what the file (`byte_len`) could hold.
pub fn declared_duration(params: &CodecParameters, byte_len: Option<u64>) -> Option<f64> {
    let n_frames = params.n_frames.filter(|&n| n > 0)?;
    let is_pcm = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .is_some_and(|c| c.short_name.starts_with("pcm_"));
    if is_pcm {
        // Float and companded PCM carry no bit depth; 1 byte is a safe lower bound.
        let bits = params.bits_per_coded_sample.unwrap_or(8);
        let channels = params.channels.map_or(1, |c| c.count()) as u64;
        let bytes_per_frame = (u64::from(bits).div_ceil(8) * channels).max(1);
        if n_frames > byte_len? / bytes_per_frame {
            return None;
        }
    }
    seconds(params, n_frames)
}

/// `units` of the track's time base (or of its sample rate) in seconds.
fn seconds(params: &CodecParameters, units: u64) -> Option<f64> {
    match params.time_base {
        Some(tb) => Some(units as f64 * f64::from(tb.numer) / f64::from(tb.denom)),
        None => Some(units as f64 / f64::from(params.sample_rate?)),
    }
}

/// The duration of the audio in the file at `path`, in seconds: the container's declared
/// length when it has a believable one, else the end of its last packet. The scan stops as
/// soon as it passes `stop_after_secs` (the answer is then at least that).
///
/// # Errors
/// [`MediaError::Corrupted`] when the file is not audio we read, [`MediaError::Io`] when it
/// cannot be read.
pub fn measure_duration(path: &Path, stop_after_secs: f64) -> Result<f64, MediaError> {
    let file = std::fs::File::open(path)?;
    let byte_len = file.metadata().ok().map(|m| m.len());
    let extension = path.extension().and_then(|e| e.to_str());
    let mut opened = open(Box::new(file), extension)?;
    if let Some(declared) = declared_duration(&opened.params, byte_len) {
        return Ok(declared);
    }
    let mut end_units = 0u64;
    let mut packets = 0u64;
    loop {
        let packet = match opened.format.next_packet() {
            Ok(p) => p,
            Err(SymphoniaError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(SymphoniaError::ResetRequired) => break,
            Err(SymphoniaError::IoError(e)) => return Err(MediaError::Io(e)),
            Err(_) if packets > 0 => break,
            Err(e) => return Err(MediaError::Corrupted(e.to_string())),
        };
        if packet.track_id() != opened.track_id {
            continue;
        }
        packets += 1;
        end_units = end_units.max(packet.ts() + packet.dur());
        if seconds(&opened.params, end_units).is_some_and(|s| s > stop_after_secs) {
            break;
        }
    }
    if packets == 0 {
        return Err(MediaError::Corrupted("no audio packets".into()));
    }
    seconds(&opened.params, end_units)
        .ok_or_else(|| MediaError::Corrupted("the track has no time base".into()))
}
