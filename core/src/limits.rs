//! What one smelt may hold and how many smelts a client may make: the settings
//! `SMELT_MAX_FILES`, `SMELT_MAX_FILE_MB`, `SMELT_MAX_DURATION_MINUTES`,
//! `SMELT_ANONYMOUS_DAILY_SMELTS` and `SMELT_WEEKLY_CREDITS`, whose defaults are the values of
//! `docs/api.md#credits-and-limits`, and the messages that name them.

use crate::domain::{MAX_DURATION_SECS, MAX_FILES, MAX_FILE_BYTES, MAX_TEXT_CHARS};
use crate::settings::LimitSettings;

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Most files in one smelt.
    pub max_files: usize,
    /// Largest file, in bytes.
    pub max_file_bytes: u64,
    /// Longest audio file, in seconds.
    pub max_duration_secs: f64,
    /// Smelts an anonymous address may make per UTC day.
    pub anonymous_daily: i32,
    /// Weekly credits of a signed-in user.
    pub weekly_credits: i32,
}

impl Default for Limits {
    /// The spec's values: 5 files of 25 MB, 30 minutes, 1 anonymous smelt a day, 5 a week.
    fn default() -> Self {
        Limits {
            max_files: MAX_FILES,
            max_file_bytes: MAX_FILE_BYTES,
            max_duration_secs: MAX_DURATION_SECS,
            anonymous_daily: crate::credits::ANONYMOUS_DAILY,
            weekly_credits: crate::credits::WEEKLY_CREDITS,
        }
    }
}

impl Limits {
    /// The limits the settings set.
    pub fn from_settings(settings: &LimitSettings) -> Self {
        Limits {
            max_files: settings.max_files.max(1),
            max_file_bytes: u64::from(settings.max_file_mb.max(1)) * 1024 * 1024,
            max_duration_secs: f64::from(settings.max_duration_minutes.max(1)) * 60.0,
            anonymous_daily: settings.anonymous_daily_smelts.max(0),
            weekly_credits: settings.weekly_credits.max(0),
        }
    }

    /// The largest create request worth reading: every file at its maximum plus room for the
    /// text fields and the multipart framing, in bytes.
    pub fn max_create_body_bytes(&self) -> usize {
        let files = self.max_files as u64 * self.max_file_bytes;
        usize::try_from(files + (MAX_TEXT_CHARS as u64 * 4) + 2 * 1024 * 1024).unwrap_or(usize::MAX)
    }

    /// Whole MB of the file limit.
    pub fn max_file_mb(&self) -> u64 {
        self.max_file_bytes / (1024 * 1024)
    }

    /// `MAX 5 FILES ALLOWED`.
    pub fn too_many_files_message(&self) -> String {
        format!("MAX {} FILES ALLOWED", self.max_files)
    }

    /// `FILE TOO CHUNKY. MAX 25MB. YOUR FILE: 26.1MB`, the size in MB to one decimal.
    pub fn file_too_large_message(&self, size_bytes: u64) -> String {
        let mb = size_bytes as f64 / (1024.0 * 1024.0);
        format!(
            "FILE TOO CHUNKY. MAX {}MB. YOUR FILE: {mb:.1}MB",
            self.max_file_mb()
        )
    }

    /// `FILE TOO CHUNKY. MAX 25MB`: the size limit alone, for a file whose whole size is not
    /// known (a download stopped at the limit).
    pub fn file_limit_message(&self) -> String {
        format!("FILE TOO CHUNKY. MAX {}MB", self.max_file_mb())
    }

    /// `AUDIO TOO LONG. MAX 30 MINUTES`.
    pub fn duration_message(&self) -> String {
        format!(
            "AUDIO TOO LONG. MAX {} MINUTES",
            (self.max_duration_secs / 60.0).round() as u64
        )
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The limit settings as a command of their own, to read their defaults.
    #[derive(Parser)]
    struct LimitSettingsOnly {
        #[command(flatten)]
        limits: LimitSettings,
    }

    #[test]
    fn the_default_limits_speak_the_specs_messages() {
        let limits = Limits::default();
        assert_eq!(limits.too_many_files_message(), "MAX 5 FILES ALLOWED");
        assert_eq!(
            limits.file_too_large_message(26 * 1024 * 1024 + 104_858),
            "FILE TOO CHUNKY. MAX 25MB. YOUR FILE: 26.1MB"
        );
        assert_eq!(limits.file_limit_message(), "FILE TOO CHUNKY. MAX 25MB");
        assert_eq!(limits.duration_message(), "AUDIO TOO LONG. MAX 30 MINUTES");
        let defaults = LimitSettingsOnly::parse_from(["smelt"]).limits;
        assert_eq!(Limits::from_settings(&defaults), limits);
    }
}
