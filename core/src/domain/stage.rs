use super::SmeltStatus;

/// A processing stage and its share of the overall percentage, from the stage table of
/// `docs/api.md#events` (validating 0–10, decoding 10–20, transcribing 20–70,
/// synthesizing 70–100, completed 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// The status the smelt has while in this stage.
    pub status: SmeltStatus,
    /// Overall percentage when the stage starts (0–100).
    pub start: u8,
    /// Overall percentage when the stage ends (0–100).
    pub end: u8,
    /// The user-facing message of the stage.
    pub message: &'static str,
}

impl Stage {
    /// The stage a status belongs to.
    pub fn of(status: SmeltStatus) -> Stage {
        let (start, end, message) = match status {
            SmeltStatus::Pending => (0, 0, "Waiting to process..."),
            SmeltStatus::Validating => (0, 10, "Validating files..."),
            SmeltStatus::Decoding => (10, 20, "Decoding audio..."),
            SmeltStatus::Transcribing => (20, 70, "Transcribing audio..."),
            SmeltStatus::Synthesizing => (70, 100, "Generating output..."),
            SmeltStatus::Completed => (100, 100, "Complete"),
            SmeltStatus::Failed => (100, 100, "Processing failed"),
            SmeltStatus::Cancelled => (100, 100, "Cancelled"),
        };
        Stage {
            status,
            start,
            end,
            message,
        }
    }

    /// The overall percentage at `fraction` (clamped to 0.0–1.0) of the way through the stage.
    pub fn percentage_at(&self, fraction: f64) -> u8 {
        let f = fraction.clamp(0.0, 1.0);
        let span = f64::from(self.end - self.start);
        self.start + (span * f).floor() as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_percentages_stay_inside_their_range() {
        let t = Stage::of(SmeltStatus::Transcribing);
        assert_eq!(t.percentage_at(0.0), 20);
        assert_eq!(t.percentage_at(0.5), 45);
        assert_eq!(t.percentage_at(1.0), 70);
        assert_eq!(t.percentage_at(7.0), 70);
    }
}
