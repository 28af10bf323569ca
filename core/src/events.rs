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

/// NOTIFY payloads must stay under Postgres's 8000-byte limit; an event whose payload is longer
/// than this (in bytes) is announced without it and read from the table.
pub const MAX_INLINE_PAYLOAD_BYTES: usize = 6_900;

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

crate::domain::status::sqlx_text!(EventKind);

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
    /// The JSON text frame (see [`encode_frame`]).
    pub fn encode(&self) -> String {
        encode_frame(self.event, self.seq, &self.payload.to_string())
    }
}

/// The wire frame of an event, `{"event": …, "seq": …, "payload": …}`, from its payload's
/// JSON text. The one encoder of frames: events read back from the table and events announced
/// live both pass through it, so every frame has one shape whatever its path.
pub fn encode_frame(kind: EventKind, seq: i64, payload_json: &str) -> String {
    format!(
        r#"{{"event":"{}","seq":{seq},"payload":{payload_json}}}"#,
        kind.as_str()
    )
}

/// A live frame that is not part of the log, `{"event": …, "seq": null, "payload": …}`: a
/// pending smelt's place in the queue. Clients apply it without moving their last seq, and
/// resuming never replays it.
pub fn encode_live_frame(kind: EventKind, payload_json: &str) -> String {
    format!(
        r#"{{"event":"{}","seq":null,"payload":{payload_json}}}"#,
        kind.as_str()
    )
}

/// An event to append: its kind and its payload, encoded once as JSON text (stored in the
/// table, announced as it is, and framed by [`encode_frame`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: EventKind,
    /// The payload's JSON text.
    pub payload: String,
}

impl NewEvent {
    /// An event of `kind` carrying `payload` (one of the payload DTOs).
    pub fn new<P: Serialize>(kind: EventKind, payload: &P) -> Self {
        NewEvent {
            kind,
            payload: serde_json::to_string(payload).expect("payload DTOs serialise"),
        }
    }

    /// True when the payload travels inside the NOTIFY (see [`MAX_INLINE_PAYLOAD_BYTES`]).
    pub fn fits_inline(&self) -> bool {
        self.payload.len() <= MAX_INLINE_PAYLOAD_BYTES
    }
}

/// A parsed `NOTIFY smelt_events` payload: `"{smelt_id} {seq} {kind} {appended_us}"` or
/// `"{smelt_id} {seq} {kind} {appended_us} {payload}"` where `payload` is the event's payload
/// JSON, verbatim, so the server frames it without parsing it.
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement<'a> {
    pub smelt_id: Uuid,
    pub seq: i64,
    pub kind: EventKind,
    /// When the writer appended the event (Unix time in µs, the writer's clock), moments
    /// before its transaction committed: the start of the delivery latency.
    pub appended_us: i64,
    /// The payload's JSON text, when it was small enough to travel inside the notification.
    pub payload: Option<&'a str>,
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
            payload: parts.next(),
        })
    }

    /// The event's wire frame, when its payload came with the announcement.
    pub fn frame(&self) -> Option<String> {
        self.payload
            .map(|payload| encode_frame(self.kind, self.seq, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_parse_with_and_without_their_payload() {
        let id = Uuid::new_v4();
        let small = format!(r#"{id} 3 progress 1764520000000000 {{"percentage": 40}}"#);
        let parsed = Announcement::parse(&small).unwrap();
        assert_eq!(
            (parsed.smelt_id, parsed.seq, parsed.kind, parsed.appended_us),
            (id, 3, EventKind::Progress, 1_764_520_000_000_000)
        );
        assert_eq!(parsed.payload, Some(r#"{"percentage": 40}"#));
        assert_eq!(
            parsed.frame().as_deref(),
            Some(r#"{"event":"progress","seq":3,"payload":{"percentage": 40}}"#)
        );

        let big = format!("{id} 4 completed 1764520000000000");
        assert_eq!(Announcement::parse(&big).unwrap().frame(), None);
        assert!(Announcement::parse("garbage").is_none());
        assert!(Announcement::parse(&format!("{id} 5 bogus 1")).is_none());
    }

    #[test]
    fn a_frame_encoded_from_text_reads_back_as_the_event() {
        let event = WireEvent {
            event: EventKind::Failed,
            seq: 9,
            payload: serde_json::json!({"error_code": "cancelled", "results": []}),
        };
        let decoded: WireEvent = serde_json::from_str(&event.encode()).unwrap();
        assert_eq!(decoded, event);
    }
}
