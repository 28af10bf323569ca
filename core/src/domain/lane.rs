//! Queue lanes: where a smelt waits. Short work goes to `fast` so that a 20-second memo does
//! not wait behind an hour of someone else's recordings; a service key may send work that can
//! wait to `bulk`. Workers read the lanes by weight (see `worker::lanes`), and a user's jobs
//! beyond their running limit yield to other users' within a lane.

use serde::{Deserialize, Serialize};

use super::status::{wire_enum, UnknownValue};
use super::InputType;

wire_enum! {
    /// The lane a smelt waits in (`lane` in `docs/api.md#queue-lanes`), in priority order.
    Lane, "lane" {
        /// Pasted text, and audio whose total duration is at most the fast lane's limit.
        Fast = "fast",
        /// Everything else.
        Normal = "normal",
        /// Work a service key asked to run when the other lanes leave room (`priority=bulk`).
        Bulk = "bulk",
    }
}

impl Lane {
    /// The pgmq queue of the lane's jobs. The normal lane keeps the name the single queue had
    /// before there were lanes, so jobs queued by an older server are still read.
    pub fn queue_name(self) -> &'static str {
        match self {
            Lane::Fast => "smelt_jobs_fast",
            Lane::Normal => "smelt_jobs",
            Lane::Bulk => "smelt_jobs_bulk",
        }
    }

    /// The lane whose queue is `name`.
    pub fn of_queue(name: &str) -> Option<Lane> {
        Lane::ALL.iter().copied().find(|l| l.queue_name() == name)
    }

    /// The lane of a new smelt: `bulk` when asked for, else `fast` for text and for audio
    /// whose total duration (seconds, measured on upload) is known and at most
    /// `fast_max_secs`, else `normal`.
    pub fn for_smelt(
        input: InputType,
        audio_secs: Option<f64>,
        priority: Priority,
        fast_max_secs: u32,
    ) -> Lane {
        if priority == Priority::Bulk {
            return Lane::Bulk;
        }
        match (input, audio_secs) {
            (InputType::Text, _) => Lane::Fast,
            (InputType::Audio, Some(secs)) if secs <= f64::from(fast_max_secs) => Lane::Fast,
            _ => Lane::Normal,
        }
    }
}

/// What a client may ask for with `priority`: `normal` (the default: the lane follows from
/// the input) or `bulk` (service keys only). Nobody may ask for `fast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// The lane follows from the input: `fast` or `normal`.
    #[default]
    Normal,
    /// The `bulk` lane.
    Bulk,
}

/// A `priority` that may not be asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriorityRefused {
    /// `fast`: the lane follows from the input's length, never from a request.
    #[error("the fast lane cannot be asked for: short recordings and text go there by themselves")]
    Fast,
    /// `bulk` without a service key.
    #[error("priority bulk is for service keys")]
    BulkNeedsKey,
    /// Anything else.
    #[error("priority must be normal or bulk")]
    Unknown,
}

impl Priority {
    /// Parses `priority` as sent (`None`: the default) by a caller that is (`service_key`) or
    /// is not using a service key.
    ///
    /// # Errors
    /// `fast`, `bulk` without a service key, and any other value.
    pub fn parse(value: Option<&str>, service_key: bool) -> Result<Priority, PriorityRefused> {
        match value.map(str::trim) {
            None | Some("") | Some("normal") => Ok(Priority::Normal),
            Some("bulk") if service_key => Ok(Priority::Bulk),
            Some("bulk") => Err(PriorityRefused::BulkNeedsKey),
            Some("fast") => Err(PriorityRefused::Fast),
            Some(_) => Err(PriorityRefused::Unknown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_short_audio_go_to_the_fast_lane_and_long_or_unmeasured_audio_to_normal() {
        let normal = Priority::Normal;
        assert_eq!(
            Lane::for_smelt(InputType::Text, None, normal, 120),
            Lane::Fast
        );
        assert_eq!(
            Lane::for_smelt(InputType::Audio, Some(120.0), normal, 120),
            Lane::Fast
        );
        assert_eq!(
            Lane::for_smelt(InputType::Audio, Some(120.5), normal, 120),
            Lane::Normal
        );
        assert_eq!(
            Lane::for_smelt(InputType::Audio, None, normal, 120),
            Lane::Normal
        );
        assert_eq!(
            Lane::for_smelt(InputType::Audio, Some(5.0), Priority::Bulk, 120),
            Lane::Bulk
        );
    }

    #[test]
    fn only_a_service_key_may_ask_for_bulk_and_nobody_for_fast() {
        assert_eq!(Priority::parse(None, false), Ok(Priority::Normal));
        assert_eq!(Priority::parse(Some("normal"), false), Ok(Priority::Normal));
        assert_eq!(Priority::parse(Some("bulk"), true), Ok(Priority::Bulk));
        assert_eq!(
            Priority::parse(Some("bulk"), false),
            Err(PriorityRefused::BulkNeedsKey)
        );
        assert_eq!(
            Priority::parse(Some("fast"), true),
            Err(PriorityRefused::Fast)
        );
        assert_eq!(
            Priority::parse(Some("urgent"), true),
            Err(PriorityRefused::Unknown)
        );
    }

    #[test]
    fn each_lane_has_its_own_queue() {
        for lane in Lane::ALL {
            assert_eq!(Lane::of_queue(lane.queue_name()), Some(*lane));
        }
    }
}
