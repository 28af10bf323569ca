//! Reading audio containers without decoding them: which container and track a file holds, and
//! how long it is. The server measures each upload's duration with it before accepting the
//! smelt, and the worker opens files with it before decoding, and tells what a recording
//! downloaded from a link holds ([`sniff_container`]).
//!
//! Containers are read by symphonia (pure Rust): MP3, WAV, MP4/M4A (AAC), Ogg (Opus, Vorbis),
//! Matroska/WebM (Opus, what browsers record) and FLAC. A duration comes from the container's
//! header when it declares a believable one, else from the timestamps of its packets, read
//! without decoding them (a fast scan: a 30-minute MP3 is read in tens of milliseconds).
//!
//! Users' bytes are hostile input: every failure to parse them is [`MediaError::Corrupted`],
//! and only a failure of the file itself ([`SourceFile`] tells them apart) is
//! [`MediaError::Io`]. A demuxer that panics on malformed input is contained by
//! [`probe_upload`] (and by the worker's decoding) and also counts as corrupted.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Once};

use symphonia::core::codecs::{CodecParameters, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::{Descriptor, Hint, QueryDescriptor};
use symphonia::default::formats::{IsoMp4Reader, MkvReader, MpaReader, OggReader, WavReader};

use crate::domain::AUDIO_EXTENSIONS;

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

/// A file read by symphonia that remembers how far it was read (for progress) and whether the
/// file itself failed: symphonia reports malformed data as `IoError` too, and only a failure
/// of the file is an I/O problem worth retrying.
pub struct SourceFile {
    file: File,
    len: Option<u64>,
    position: Arc<AtomicU64>,
    failed: Arc<AtomicBool>,
}

impl SourceFile {
    /// Opens `path`. Errors: the file cannot be opened.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let len = file.metadata().ok().map(|m| m.len());
        Ok(SourceFile {
            file,
            len,
            position: Arc::new(AtomicU64::new(0)),
            failed: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The file's length in bytes, if known.
    pub fn len(&self) -> Option<u64> {
        self.len
    }

    /// True when the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == Some(0)
    }

    /// The byte offset read so far, shared (it moves as the reader reads).
    pub fn position(&self) -> Arc<AtomicU64> {
        self.position.clone()
    }

    fn note<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if result.is_err() {
            self.failed.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl Read for SourceFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read(buf);
        let n = self.note(read)?;
        self.position.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Seek for SourceFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let sought = self.file.seek(to);
        // A seek before the start (an offset computed from damaged data) is the content's
        // fault, not the file's.
        let p = match sought {
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => return Err(e),
            other => self.note(other)?,
        };
        self.position.store(p, Ordering::Relaxed);
        Ok(p)
    }
}

impl MediaSource for SourceFile {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        self.len
    }
}

/// An opened container: its reader and its audio track.
pub struct OpenedAudio {
    pub format: Box<dyn FormatReader>,
    pub track_id: u32,
    /// The track's codec parameters (codec, sample rate, declared length …).
    pub params: CodecParameters,
    /// Set when the underlying file (not its content) failed.
    file_failed: Arc<AtomicBool>,
}

impl OpenedAudio {
    /// Classifies an error met while reading or decoding this audio: an I/O failure of the
    /// file is [`MediaError::Io`]; anything else — an `IoError` raised on malformed data
    /// included — is [`MediaError::Corrupted`] with `context`.
    pub fn classify(&self, context: &str, e: SymphoniaError) -> MediaError {
        classify(context, e, &self.file_failed)
    }
}

fn classify(context: &str, e: SymphoniaError, file_failed: &AtomicBool) -> MediaError {
    match e {
        SymphoniaError::IoError(io) if file_failed.load(Ordering::Relaxed) => MediaError::Io(io),
        other => MediaError::Corrupted(format!("{context}: {other}")),
    }
}

/// Detects the container of `source` (the extension is only a hint) and finds its first audio
/// track.
///
/// # Errors
/// [`MediaError::Corrupted`] when no container we read is recognised or it has no audio
/// track; [`MediaError::Io`] when reading the file fails.
pub fn open(source: SourceFile, extension: Option<&str>) -> Result<OpenedAudio, MediaError> {
    let file_failed = source.failed.clone();
    let mss = MediaSourceStream::new(Box::new(source), Default::default());
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
            other => classify("cannot read container", other, &file_failed),
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
        file_failed,
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

/// Lowest bitrate of any audio we read, in bytes per second (4 kbit/s; Opus speech goes down
/// to 6). A header declaring more seconds than the file's bytes could hold at this rate is not
/// believed: the packets are counted instead.
pub const MIN_BYTES_PER_SEC: f64 = 500.0;

/// The duration of the audio in the file at `path`, in seconds: the container's declared
/// length when it has a believable one (and at least one audio packet is there), else the end
/// of its last packet. The scan stops as soon as it passes `stop_after_secs` (the answer is
/// then at least that).
///
/// # Errors
/// [`MediaError::Corrupted`] when the file is not audio we read, holds no audio track or no
/// audio packet; [`MediaError::Io`] when it cannot be read.
pub fn measure_duration(path: &Path, stop_after_secs: f64) -> Result<f64, MediaError> {
    let source = SourceFile::open(path)?;
    let byte_len = source.len();
    let extension = path.extension().and_then(|e| e.to_str());
    let mut opened = open(source, extension)?;
    // What the bytes could hold at the lowest bitrate: a header claiming hours in a few
    // kilobytes is judged by its packets.
    let most_the_bytes_hold = byte_len.map(|b| b as f64 / MIN_BYTES_PER_SEC);
    let declared = declared_duration(&opened.params, byte_len)
        .filter(|d| most_the_bytes_hold.is_none_or(|most| *d <= most.max(1.0)));
    let mut end_units = 0u64;
    let mut packets = 0u64;
    loop {
        let packet = match opened.format.next_packet() {
            Ok(p) => p,
            Err(SymphoniaError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(SymphoniaError::ResetRequired) => break,
            // A container error after some packets is a truncated file: count what is there.
            Err(_) if packets > 0 => break,
            Err(e) => return Err(opened.classify("cannot read packets", e)),
        };
        if packet.track_id() != opened.track_id {
            continue;
        }
        packets += 1;
        if declared.is_some() {
            // The header's length stands; one packet shows there is audio.
            break;
        }
        end_units = end_units.max(packet.ts() + packet.dur());
        if seconds(&opened.params, end_units).is_some_and(|s| s > stop_after_secs) {
            break;
        }
    }
    if packets == 0 {
        return Err(MediaError::Corrupted("no audio packets".into()));
    }
    if let Some(declared) = declared {
        return Ok(declared);
    }
    seconds(&opened.params, end_units)
        .ok_or_else(|| MediaError::Corrupted("the track has no time base".into()))
}

/// What the upload check found in one file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Probe {
    /// Audio of this many seconds (at least `stop_after_secs` when longer).
    Audio(f64),
    /// Not audio we can read: no container, no audio track, no audio packet, or a demuxer
    /// that gave up (or panicked) on the bytes.
    Corrupted,
    /// The file could not be read; nothing is known about its content.
    Unreadable,
}

/// [`measure_duration`] for an upload, with a panic inside the demuxer contained and counted as
/// [`Probe::Corrupted`] (logged once, with the extension).
pub fn probe_upload(path: &Path, stop_after_secs: f64) -> Probe {
    match contained(|| measure_duration(path, stop_after_secs)) {
        Ok(Ok(seconds)) => Probe::Audio(seconds),
        Ok(Err(MediaError::Corrupted(_))) => Probe::Corrupted,
        Ok(Err(MediaError::Io(_))) => Probe::Unreadable,
        Err(panic) => {
            let format = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            tracing::warn!(format, %panic, "the demuxer panicked on an upload; refused as corrupted");
            Probe::Corrupted
        }
    }
}

/// Where a container's start-of-stream marker may begin: at the first byte, or after the
/// 4-byte size of an MP4's first box (its `ftyp`).
const MARKER_OFFSETS: [usize; 2] = [0, 4];
/// Bytes read for the markers: the longest marker after the largest offset.
const SNIFF_WINDOW: usize = 16;
/// Size of an ID3v2 tag's header (and of its optional footer).
const ID3_HEADER: u64 = 10;

/// The containers a recording may be sniffed as: symphonia's descriptors (with their
/// start-of-stream markers) of the containers uploads are accepted in. MPEG layers 1 and 2,
/// which share the MP3 reader, are left out by [`stored_extension`].
fn sniffable() -> impl Iterator<Item = &'static Descriptor> {
    [
        WavReader::query(),
        MpaReader::query(),
        IsoMp4Reader::query(),
        OggReader::query(),
        MkvReader::query(),
    ]
    .into_iter()
    .flatten()
}

/// The extension an upload in this container is stored under, when uploads accept it.
fn stored_extension(container: &Descriptor) -> Option<&'static str> {
    container
        .extensions
        .iter()
        .copied()
        .find(|e| AUDIO_EXTENSIONS.contains(e))
}

/// Tells the container of a recording from its first bytes alone, for files whose name and
/// MIME type nobody vouches for (a link's path and `Content-Type` are whatever its server
/// says). Answers the extension an upload of that container is stored under (`wav`, `mp3`,
/// `mp4`, `ogg`, `webm`), or `None` when the bytes start none of the containers uploads are
/// accepted in (an HTML page, a FLAC file, an image). An ID3v2 tag in front of MP3 frames is
/// skipped. Whether the container then holds readable audio is [`probe_upload`]'s to say.
///
/// # Errors
/// Reading `source` failed.
pub fn sniff_container(source: &mut (impl Read + Seek)) -> io::Result<Option<&'static str>> {
    let mut header = [0u8; ID3_HEADER as usize];
    source.seek(SeekFrom::Start(0))?;
    let start = if read_up_to(source, &mut header)? == header.len() && header.starts_with(b"ID3") {
        // The tag's size is synchsafe: 7 bits per byte. A footer (flag 0x10) adds a header's size.
        let size = header[6..10]
            .iter()
            .fold(0u64, |size, b| (size << 7) | u64::from(b & 0x7f));
        let footer = if header[5] & 0x10 != 0 { ID3_HEADER } else { 0 };
        ID3_HEADER + size + footer
    } else {
        0
    };
    let mut window = [0u8; SNIFF_WINDOW];
    source.seek(SeekFrom::Start(start))?;
    let read = read_up_to(source, &mut window)?;
    let window = &window[..read];
    Ok(sniffable()
        .find(|container| {
            container.markers.iter().any(|marker| {
                MARKER_OFFSETS
                    .iter()
                    .any(|&at| window.get(at..at + marker.len()) == Some(*marker))
            })
        })
        .and_then(stored_extension))
}

/// Fills `buf` as far as the source goes; returns how many bytes were read.
fn read_up_to(source: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

thread_local! {
    /// Set while [`contained`] runs on this thread: its panics are reported by the caller.
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (parsing or decoding users' bytes) with a panic caught and returned as its message:
/// a library that panics on malformed input fails that input, not the process or the job. The
/// process's panic hook stays silent for these panics (the caller logs them once, with what
/// identifies the file); every other panic is reported as before.
pub fn contained<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CONTAINING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = CONTAINING.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    CONTAINING.with(|c| c.set(was));
    result.map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn sniff(bytes: &[u8]) -> Option<&'static str> {
        sniff_container(&mut Cursor::new(bytes)).unwrap()
    }

    #[test]
    fn containers_are_told_by_their_first_bytes_whatever_the_name() {
        assert_eq!(sniff(b"RIFF\x24\x08\x00\x00WAVEfmt "), Some("wav"));
        assert_eq!(sniff(&[0xff, 0xfb, 0x90, 0x64, 0, 0]), Some("mp3"));
        assert_eq!(
            sniff(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00"),
            Some("mp4")
        );
        assert_eq!(sniff(b"OggS\x00\x02\x00\x00"), Some("ogg"));
        assert_eq!(sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81"), Some("webm"));
    }

    #[test]
    fn mp3_frames_behind_an_id3_tag_are_found() {
        let mut bytes = b"ID3\x04\x00\x00\x00\x00\x01\x00".to_vec();
        bytes.extend_from_slice(&[0u8; 128]);
        bytes.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64]);
        assert_eq!(sniff(&bytes), Some("mp3"));
    }

    #[test]
    fn pages_other_containers_and_empty_files_are_not_audio_uploads_accept() {
        assert_eq!(
            sniff(b"<!doctype html><html><body>nope</body></html>"),
            None
        );
        assert_eq!(sniff(b"fLaC\x00\x00\x00\x22"), None);
        // MPEG layer 2 shares the MP3 reader but is not an accepted upload.
        assert_eq!(sniff(&[0xff, 0xfd, 0x90, 0x64]), None);
        assert_eq!(sniff(b""), None);
    }
}
