//! Smelt as a fan-out server: each channel is a pending smelt created in the server's database
//! with its subscription token, events are written through the worker's progress sink (smelt
//! update, event row with its gap-free seq and `pg_notify`, one asynchronously committed
//! transaction: what a worker does for every progress step), and subscribers follow
//! `/api/smelts/{id}/ws`, which opens with a snapshot.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde::Deserialize;
use smelt_core::domain::SmeltStatus;
use smelt_core::events::EventKind;
use smelt_core::lifecycle::ProgressSink;
use smelt_core::tokens::TokenKeys;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Afterwards, PreparedChannel, Processes, Server};
use crate::addresses;
use crate::args::FanoutArgs;
use crate::channels::{self, Channel};
use crate::driver::{Publish, PublishTimes};
use crate::latency::Latencies;
use crate::listen_probe::{self, Heard};
use crate::rss;
use crate::subscribers::Framing;

/// A Smelt server without workers, and its database.
pub struct SmeltServer {
    address: SocketAddr,
    processes: Processes,
    pool: PgPool,
    keys: TokenKeys,
    database_url: String,
    listen_probe: bool,
    channels: Vec<Channel>,
    probe: Option<(CancellationToken, JoinHandle<Vec<Heard>>)>,
}

impl SmeltServer {
    /// Checks that the server and the database are on loopback and connects to the database,
    /// with a connection per writer.
    pub async fn connect(args: &FanoutArgs) -> anyhow::Result<Self> {
        let address = addresses::loopback_server(&args.server.server).await?;
        addresses::check_loopback_database(&args.database.database_url)?;
        let server_pid = args
            .server
            .server_pid
            .or_else(|| rss::pid_listening_on(address.port()));
        let keys = TokenKeys::new(args.server.jwt_secret()?.as_bytes());
        let pool = PgPoolOptions::new()
            .max_connections(args.writers.clamp(1, args.channels) as u32 + 2)
            .connect(&args.database.database_url)
            .await
            .context("connecting to the database")?;
        Ok(SmeltServer {
            address,
            processes: Processes {
                main: server_pid,
                measured: server_pid.into_iter().collect(),
            },
            pool,
            keys,
            database_url: args.database.database_url.clone(),
            listen_probe: args.listen_probe,
            channels: Vec::new(),
            probe: None,
        })
    }
}

#[async_trait::async_trait]
impl Server for SmeltServer {
    fn name(&self) -> &'static str {
        "smelt"
    }

    fn address(&self) -> SocketAddr {
        self.address
    }

    fn processes(&self) -> &Processes {
        &self.processes
    }

    fn framing(&self) -> Arc<dyn Framing> {
        Arc::new(SmeltFraming)
    }

    async fn prepare(
        &mut self,
        count: usize,
        duration_secs: u64,
    ) -> anyhow::Result<Vec<PreparedChannel>> {
        let token_ttl = duration_secs + 3_600;
        let (channels, sinks) =
            channels::create(&self.pool, &self.keys, count, Uuid::new_v4(), token_ttl).await?;
        let server = self.address;
        let prepared = channels
            .iter()
            .zip(sinks)
            .map(|(c, sink)| PreparedChannel {
                url: format!(
                    "ws://{server}/api/smelts/{}/ws?token={}",
                    c.smelt_id, c.token
                ),
                base_seq: c.base_seq,
                publisher: Box::new(sink),
            })
            .collect();
        self.channels = channels;
        Ok(prepared)
    }

    async fn publishing(&mut self, epoch: Instant) -> anyhow::Result<()> {
        if self.listen_probe {
            let stop = CancellationToken::new();
            let task = listen_probe::start(&self.database_url, epoch, stop.clone()).await?;
            self.probe = Some((stop, task));
        }
        Ok(())
    }

    async fn finish(&mut self, published: &[PublishTimes]) -> anyhow::Result<Afterwards> {
        let heard = match self.probe.take() {
            Some((stop, task)) => {
                stop.cancel();
                Some(task.await.context("the LISTEN probe failed")?)
            }
            None => None,
        };
        Ok(Afterwards {
            stored: channels::stored_events(&self.pool, &self.channels).await?,
            database_leg: heard
                .map(|heard| database_leg(&heard, published, &self.channels).summary()),
        })
    }
}

/// Each event is one progress step of the smelt, written as a worker writes it.
#[async_trait::async_trait]
impl Publish for ProgressSink {
    async fn publish(&mut self, _began_ns: u64) -> anyhow::Result<()> {
        Ok(self.enter(SmeltStatus::Transcribing).await?)
    }
}

/// The head of a wire frame (`{"event", "seq", "payload"}`); the payload is skipped.
#[derive(Deserialize)]
struct FrameHead {
    event: EventKind,
    /// `None` on a live queue place: not an event of the log.
    seq: Option<i64>,
}

/// Smelt's frames: a snapshot first, then events; a queue place (pushed live while the smelt
/// waits) carries no seq and is not one of the events counted.
struct SmeltFraming;

impl Framing for SmeltFraming {
    fn sends_snapshot(&self) -> bool {
        true
    }

    fn snapshot_seq(&self, text: &str) -> Result<i64, String> {
        let head: FrameHead =
            serde_json::from_str(text).map_err(|e| format!("first frame is not an event: {e}"))?;
        if head.event != EventKind::Snapshot {
            return Err(format!("first frame is {:?}, not a snapshot", head.event));
        }
        Ok(head.seq.unwrap_or_default())
    }

    fn event_seq(&self, text: &str) -> Result<Option<i64>, String> {
        serde_json::from_str::<FrameHead>(text)
            .map(|head| head.seq)
            .map_err(|_| "a frame is not an event".to_owned())
    }
}

/// Latency from each event's commit to the LISTEN probe hearing its notification.
fn database_leg(heard: &[Heard], published: &[PublishTimes], channels: &[Channel]) -> Latencies {
    let index: HashMap<Uuid, usize> = channels
        .iter()
        .enumerate()
        .map(|(j, c)| (c.smelt_id, j))
        .collect();
    let mut by_channel: Vec<Option<&PublishTimes>> = vec![None; channels.len()];
    for p in published {
        by_channel[p.channel] = Some(p);
    }
    let mut latencies = Latencies::default();
    for &(smelt_id, seq, at) in heard {
        let Some(&j) = index.get(&smelt_id) else {
            continue;
        };
        let commit = by_channel[j].and_then(|p| {
            let n = usize::try_from(seq - channels[j].base_seq - 1).ok()?;
            p.acknowledged_ns.get(n).copied()
        });
        if let Some(commit) = commit {
            latencies.record_micros(at.saturating_sub(commit) / 1_000);
        }
    }
    latencies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_place_is_not_a_counted_event() {
        let framing = SmeltFraming;
        assert_eq!(
            framing.snapshot_seq(r#"{"event":"snapshot","seq":4,"payload":{}}"#),
            Ok(4)
        );
        assert!(framing
            .snapshot_seq(r#"{"event":"progress","seq":5,"payload":{}}"#)
            .is_err());
        assert_eq!(
            framing.event_seq(r#"{"event":"progress","seq":5,"payload":{"a":1}}"#),
            Ok(Some(5))
        );
        assert_eq!(
            framing.event_seq(r#"{"event":"progress","seq":null,"payload":{}}"#),
            Ok(None)
        );
        assert!(framing.event_seq("not json").is_err());
    }
}
