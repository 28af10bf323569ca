//! Domain types: each parses from its wire string and serialises back to it, so invalid values
//! never travel past the edge of the system.

mod error_code;
mod lane;
mod prompt;
pub mod speech;
mod stage;
pub(crate) mod status;

pub use error_code::ErrorCode;
pub use lane::{Lane, Priority, PriorityRefused};
pub use prompt::{PromptName, UnknownPromptName};
pub use stage::Stage;
pub use status::{
    ApiKeyStatus, CreditSource, DeliveryStatus, FileStatus, InputType, ResultKind, Scope,
    SmeltMode, SmeltStatus, UnknownValue,
};

/// Maximum size of one uploaded file: 25 MiB (`docs/api.md#credits-and-limits`).
pub const MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;
/// Maximum number of files in one smelt (`docs/api.md#credits-and-limits`).
pub const MAX_FILES: usize = 5;
/// Maximum audio duration per file, in seconds (`docs/api.md#credits-and-limits`).
pub const MAX_DURATION_SECS: f64 = 30.0 * 60.0;
/// Maximum length of pasted text, in characters (`docs/api.md#credits-and-limits`).
pub const MAX_TEXT_CHARS: usize = 50_000;
/// File extensions accepted for audio: MP3, WAV and M4A, and what browsers record (WebM and Ogg
/// with Opus, MP4 with AAC).
pub const AUDIO_EXTENSIONS: [&str; 7] = ["mp3", "wav", "m4a", "mp4", "webm", "ogg", "opus"];
/// MIME types accepted for audio (those of MP3, WAV and M4A, and the recording formats).
pub const AUDIO_MIME_TYPES: [&str; 15] = [
    "audio/mpeg",
    "audio/mp3",
    "audio/wav",
    "audio/wave",
    "audio/x-wav",
    "audio/mp4",
    "audio/x-m4a",
    "audio/m4a",
    "audio/aac",
    "video/mp4",
    "audio/webm",
    "video/webm",
    "audio/ogg",
    "audio/opus",
    "application/ogg",
];

/// The realtime channel name of a smelt: `smelt:{id}` (`docs/api.md#realtime`).
pub fn channel_name(smelt_id: uuid::Uuid) -> String {
    format!("smelt:{smelt_id}")
}
