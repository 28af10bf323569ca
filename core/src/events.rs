//! The realtime event model.
//!
//! Every event a smelt emits is a row of the append-only `smelt_event` table with a per-smelt,
//! gap-free `seq` (1, 2, 3 …); the table is the source of truth and `NOTIFY` only a wake-up.
//! On the wire (WebSocket text frame, SSE `data:`) an event is
//! `{"event": "snapshot"|"progress"|"segment"|"completed"|"failed"|"cancelled", "seq": 17,
//! "payload": {…}}`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::UnknownValue;

/// Postgres `LISTEN`/`NOTIFY` channel carrying event announcements.
pub const NOTIFY_CHANNEL: &str = "smelt_events";

/// NOTIFY payloads must stay under Postgres's 8000-byte limit; an event whose frame is longer
/// than this is announced without it and read from the table. The database function
/// `smelt_append_events` (migrations) builds the announcements with this limit.
pub const MAX_INLINE_FRAME_BYTES: usize = 7_000;

/// Kind of a stored or live event. `snapshot` is never stored: it is built on subscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The current state, sent first on subscribe (never stored).
    Snapshot,
    /// Stage, percentage and per-file progress (`ProgressPayload`).
    Progress,
    /// One finished piece of a file's transcript (`SegmentPayload`).
    Segment,
    /// The smelt completed (`CompletedPayload`).
    Completed,
    /// The smelt failed (`FailedPayload`).
    Failed,
    /// The smelt was cancelled (`FailedPayload` with `error_code` `cancelled`).
    Cancelled,
}

impl EventKind {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Snapshot => "snapshot",
            EventKind::Progress => "progress",
            EventKind::Segment => "segment",
            EventKind::Completed => "completed",
            EventKind::Failed => "failed",
            EventKind::Cancelled => "cancelled",
        }
    }

    /// True for `completed`, `failed` and `cancelled`: the last event of a smelt.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            EventKind::Completed | EventKind::Failed | EventKind::Cancelled
        )
    }
}

impl std::str::FromStr for EventKind {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "snapshot" => Ok(EventKind::Snapshot),
            "progress" => Ok(EventKind::Progress),
            "segment" => Ok(EventKind::Segment),
            "completed" => Ok(EventKind::Completed),
            "failed" => Ok(EventKind::Failed),
            "cancelled" => Ok(EventKind::Cancelled),
            _ => Err(UnknownValue {
                kind: "event kind",
                value: s.to_owned(),
            }),
        }
    }
}

/// One event as it travels to clients.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct WireEvent {
    pub event: EventKind,
    /// Position in the smelt's event sequence; a snapshot carries the seq it reflects.
    pub seq: i64,
    /// `SmeltDto` for `snapshot`, `ProgressPayload`, `SegmentPayload`, `CompletedPayload` or
    /// `FailedPayload` (for `failed` and `cancelled`).
    pub payload: serde_json::Value,
}

impl WireEvent {
    /// The JSON text frame.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a JSON value always serialises")
    }
}

/// A parsed `NOTIFY smelt_events` payload: `"{smelt_id} {seq} {kind} {appended_us}"` or
/// `"{smelt_id} {seq} {kind} {appended_us} {frame}"` where `frame` is the event's wire frame,
/// verbatim, so the server forwards it without re-encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement<'a> {
    pub smelt_id: Uuid,
    pub seq: i64,
    pub kind: EventKind,
    /// When the writer appended the event (Unix time in µs, the writer's clock), moments
    /// before its transaction committed: the start of the delivery latency.
    pub appended_us: i64,
    /// The encoded frame, when it was small enough to travel inside the notification.
    pub frame: Option<&'a str>,
}

impl<'a> Announcement<'a> {
    /// Parses a NOTIFY payload; `None` when it is not one of ours.
    pub fn parse(payload: &'a str) -> Option<Self> {
        let mut parts = payload.splitn(5, ' ');
        let smelt_id = parts.next()?.parse().ok()?;
        let seq = parts.next()?.parse().ok()?;
        let kind = parts.next()?.parse().ok()?;
        let appended_us = parts.next()?.parse().ok()?;
        Some(Announcement {
            smelt_id,
            seq,
            kind,
            appended_us,
            frame: parts.next(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_parse_with_and_without_their_frame() {
        let id = Uuid::new_v4();
        let small = format!(r#"{id} 3 progress 1764520000000000 {{"event":"progress","seq":3}}"#);
        let parsed = Announcement::parse(&small).unwrap();
        assert_eq!(
            (parsed.smelt_id, parsed.seq, parsed.kind, parsed.appended_us),
            (id, 3, EventKind::Progress, 1_764_520_000_000_000)
        );
        assert_eq!(parsed.frame, Some(r#"{"event":"progress","seq":3}"#));

        let big = format!("{id} 4 completed 1764520000000000");
        assert_eq!(Announcement::parse(&big).unwrap().frame, None);
        assert!(Announcement::parse("garbage").is_none());
        assert!(Announcement::parse(&format!("{id} 5 bogus 1")).is_none());
    }
}
