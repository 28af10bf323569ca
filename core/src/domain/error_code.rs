use serde::{Deserialize, Serialize};

use super::status::{wire_enum, UnknownValue};

wire_enum! {
    /// Why a smelt failed (`docs/api.md#smelt-error-codes`).
    ErrorCode, "error code" {
        FileTooLarge = "file_too_large",
        InvalidFormat = "invalid_format",
        DurationExceeded = "duration_exceeded",
        CorruptedFile = "corrupted_file",
        TranscriptionFailed = "transcription_failed",
        SynthesisFailed = "synthesis_failed",
        ApiRateLimited = "api_rate_limited",
        ApiQuotaExhausted = "api_quota_exhausted",
        ApiKeyInvalid = "api_key_invalid",
        ConnectionLost = "connection_lost",
        InternalError = "internal_error",
        /// The owner cancelled the smelt.
        Cancelled = "cancelled",
        /// The user's saved API key cannot be opened by this installation (its encryption
        /// key changed); saving the key again fixes it.
        ApiKeyUnreadable = "api_key_unreadable",
        /// A recording's link is not one Smelt may fetch: not `https`, another port, or a
        /// host that is not a public address (and not listed in `SMELT_INGEST_ALLOWED_HOSTS`).
        UrlNotAllowed = "url_not_allowed",
        /// A recording's link could not be downloaded: the host did not resolve or answer,
        /// the download timed out, or the answer was not a 2xx.
        UrlUnreachable = "url_unreachable",
    }
}

impl ErrorCode {
    /// The user-facing message of the code. `api_rate_limited` names the
    /// seconds to wait, which its caller passes as `retry_after_secs` (60 when unknown).
    pub fn message(self, retry_after_secs: Option<u64>) -> String {
        match self {
            ErrorCode::FileTooLarge => "FILE TOO CHUNKY. MAX 25MB".into(),
            ErrorCode::InvalidFormat => "CAN'T READ THAT. TRY .MP3 .WAV .M4A .WEBM .OGG".into(),
            ErrorCode::DurationExceeded => "AUDIO TOO LONG. MAX 30 MINUTES".into(),
            ErrorCode::CorruptedFile => "CORRUPTED FILE. TRY A DIFFERENT ONE".into(),
            ErrorCode::TranscriptionFailed => "TRANSCRIPTION FAILED. TRY AGAIN".into(),
            ErrorCode::SynthesisFailed => "PROCESSING FAILED. TRY AGAIN".into(),
            ErrorCode::ApiRateLimited => format!(
                "RATE LIMITED. TRY AGAIN IN {} SECONDS",
                retry_after_secs.unwrap_or(60)
            ),
            ErrorCode::ApiQuotaExhausted => "API QUOTA EXHAUSTED".into(),
            ErrorCode::ApiKeyInvalid => "API KEY INVALID".into(),
            ErrorCode::ConnectionLost => "CONNECTION LOST. TRY AGAIN".into(),
            ErrorCode::InternalError => "SOMETHING WENT WRONG. TRY AGAIN".into(),
            ErrorCode::Cancelled => "CANCELLED".into(),
            ErrorCode::ApiKeyUnreadable => "YOUR SAVED API KEY CAN'T BE READ. SAVE IT AGAIN".into(),
            ErrorCode::UrlNotAllowed => {
                "THIS LINK CANNOT BE FETCHED. USE A PUBLIC HTTPS LINK TO AN AUDIO FILE".into()
            }
            ErrorCode::UrlUnreachable => {
                "COULDN'T DOWNLOAD THAT LINK. CHECK IT AND TRY AGAIN".into()
            }
        }
    }
}
