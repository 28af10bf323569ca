//! The in-memory broker: the same contract as the Postgres one, for tests of the hub and of
//! feeds without a database. Events are appended with [`MemoryBroker::append`], which returns
//! the frame a listener would have published.

use std::collections::HashMap;
use std::sync::Mutex;

use smelt_core::db::smelts::{Head, Snapshot};
use smelt_core::domain::{SmeltMode, SmeltStatus};
use smelt_core::dto::SmeltDto;
use smelt_core::events::{EventKind, WireEvent};
use uuid::Uuid;

use super::{frame_of, Broker, BrokerError};
use crate::realtime::hub::Frame;

#[derive(Debug, Clone)]
struct Log {
    snapshot: Snapshot,
    events: Vec<WireEvent>,
    /// Seqs at or below this were pruned.
    pruned_through: i64,
}

/// Smelts and their event logs in memory.
#[derive(Debug, Default)]
pub struct MemoryBroker {
    logs: Mutex<HashMap<Uuid, Log>>,
}

impl MemoryBroker {
    /// An empty broker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pending anonymous smelt with no events.
    pub fn create(&self, smelt_id: Uuid) {
        let dto = SmeltDto {
            id: smelt_id,
            status: SmeltStatus::Pending,
            mode: SmeltMode::Separate,
            model: "tiny.en".to_owned(),
            language: "auto".to_owned(),
            task: smelt_core::domain::speech::Task::Transcribe,
            lane: smelt_core::domain::Lane::Fast,
            files: Vec::new(),
            default_prompt_names: Vec::new(),
            user_prompt_id: None,
            progress: None,
            segments: Vec::new(),
            results: None,
            error_code: None,
            error_message: None,
            failed_prompt: None,
            created_at: chrono::Utc::now(),
            completed_at: None,
            credit_refunded: None,
        };
        let snapshot = Snapshot {
            dto,
            user_id: None,
            last_seq: 0,
        };
        self.logs.lock().unwrap().insert(
            smelt_id,
            Log {
                snapshot,
                events: Vec::new(),
                pruned_through: 0,
            },
        );
    }

    /// Appends an event (next seq) and returns its frame. Terminal events finish the smelt.
    pub fn append(&self, smelt_id: Uuid, kind: EventKind) -> Frame {
        let mut logs = self.logs.lock().unwrap();
        let log = logs.get_mut(&smelt_id).expect("created smelt");
        let seq = log.snapshot.last_seq + 1;
        let event = WireEvent {
            event: kind,
            seq,
            payload: serde_json::json!({ "smelt_id": smelt_id }),
        };
        log.snapshot.last_seq = seq;
        log.snapshot.dto.status = match kind {
            EventKind::Completed => SmeltStatus::Completed,
            EventKind::Failed => SmeltStatus::Failed,
            EventKind::Cancelled => SmeltStatus::Cancelled,
            _ => SmeltStatus::Transcribing,
        };
        log.events.push(event.clone());
        frame_of(&event)
    }

    /// Forgets the events with seq ≤ `through` (as retention would).
    pub fn prune(&self, smelt_id: Uuid, through: i64) {
        let mut logs = self.logs.lock().unwrap();
        let log = logs.get_mut(&smelt_id).expect("created smelt");
        log.events.retain(|e| e.seq > through);
        log.pruned_through = through;
    }
}

#[async_trait::async_trait]
impl Broker for MemoryBroker {
    async fn snapshot(&self, smelt_id: Uuid) -> Result<Option<Snapshot>, BrokerError> {
        Ok(self
            .logs
            .lock()
            .unwrap()
            .get(&smelt_id)
            .map(|l| l.snapshot.clone()))
    }

    async fn head(&self, smelt_id: Uuid) -> Result<Option<Head>, BrokerError> {
        Ok(self.logs.lock().unwrap().get(&smelt_id).map(|l| Head {
            user_id: l.snapshot.user_id,
            status: l.snapshot.dto.status,
            last_seq: l.snapshot.last_seq,
            first_stored_seq: l.events.first().map(|e| e.seq),
        }))
    }

    async fn events_since(
        &self,
        smelt_id: Uuid,
        after_seq: i64,
        up_to: Option<i64>,
    ) -> Result<Vec<WireEvent>, BrokerError> {
        let logs = self.logs.lock().unwrap();
        Ok(logs
            .get(&smelt_id)
            .map(|l| {
                l.events
                    .iter()
                    .filter(|e| e.seq > after_seq && up_to.is_none_or(|u| e.seq <= u))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn first_stored_seq(&self, smelt_id: Uuid) -> Result<Option<i64>, BrokerError> {
        Ok(self
            .logs
            .lock()
            .unwrap()
            .get(&smelt_id)
            .and_then(|l| l.events.first().map(|e| e.seq)))
    }

    async fn last_seqs(&self, smelt_ids: &[Uuid]) -> Result<Vec<(Uuid, i64)>, BrokerError> {
        let logs = self.logs.lock().unwrap();
        Ok(smelt_ids
            .iter()
            .filter_map(|id| logs.get(id).map(|l| (*id, l.snapshot.last_seq)))
            .collect())
    }
}
