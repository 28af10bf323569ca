//! The JSON report of a run: its shape, and where it is written.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::cpu::CpuUse;
use crate::latency::Percentiles;

/// The machine while the run started.
#[derive(Debug, Clone, Serialize)]
pub struct Conditions {
    /// Cores available.
    pub cores: usize,
    /// 1, 5 and 15-minute load averages (`/proc/loadavg`).
    pub load_average: [f64; 3],
    /// Compiler processes (`rustc`, `cc1plus`, `cargo`) running: other work sharing the cores.
    pub build_processes: usize,
}

impl Conditions {
    /// Reads the conditions now.
    pub fn now() -> Self {
        let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let mut load = [0.0; 3];
        for (slot, value) in load.iter_mut().zip(loadavg.split_whitespace()) {
            *slot = value.parse().unwrap_or(0.0);
        }
        let build_processes = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
            .filter(|comm| matches!(comm.trim(), "rustc" | "cc1plus" | "cargo"))
            .count();
        Conditions {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_average: load,
            build_processes,
        }
    }
}

/// The server's resident memory (bytes), when its processes are known: the sum over the
/// processes measured.
#[derive(Debug, Clone, Serialize)]
pub struct ServerMemory {
    /// The server's process (for nginx, its master), when known.
    pub server_pid: Option<u32>,
    /// The processes whose memory and CPU are summed (Smelt's server; nginx's workers, which
    /// hold the connections).
    pub measured_pids: Vec<u32>,
    /// Before any subscriber connected (after the channels were prepared), bytes.
    pub rss_idle_bytes: Option<u64>,
    /// With every subscriber connected and idle, bytes.
    pub rss_held_bytes: Option<u64>,
    /// Still connected, after the events were delivered, bytes.
    pub rss_after_events_bytes: Option<u64>,
    /// `(held − idle) / subscribers`, bytes per idle connection.
    pub bytes_per_connection: Option<f64>,
}

/// `fanout` report.
#[derive(Debug, Serialize)]
pub struct FanoutReport {
    /// `"fanout"`.
    pub mode: &'static str,
    /// The server measured: `"smelt"` or `"nchan"`.
    pub target: &'static str,
    /// The machine when the run started.
    pub conditions: Conditions,
    /// What was asked.
    pub config: FanoutConfig,
    /// Opening the subscribers.
    pub subscribe: SubscribePhase,
    /// The server's memory.
    pub memory: ServerMemory,
    /// Publishing and delivering the events.
    pub events: EventPhase,
}

/// What the fan-out run was asked to do.
#[derive(Debug, Serialize)]
pub struct FanoutConfig {
    /// WebSocket subscribers opened.
    pub subscribers: usize,
    /// Channels (smelts) they follow.
    pub channels: usize,
    /// `subscribers / channels`.
    pub subscribers_per_channel: f64,
    /// Events published per second, over all channels.
    pub events_per_sec: f64,
    /// `events_per_sec × subscribers_per_channel`: frames the server must send per second.
    pub target_deliveries_per_sec: f64,
    /// Seconds of publishing.
    pub duration_secs: u64,
    /// Event writer tasks (one database or HTTP connection each).
    pub writers: usize,
    /// Distinct client source addresses in `127.0.0.0/8`.
    pub source_addresses: usize,
}

/// Connecting and subscribing every subscriber.
#[derive(Debug, Serialize)]
pub struct SubscribePhase {
    /// Subscribers whose subscription completed (Smelt: the snapshot arrived; nchan: the
    /// upgrade was answered).
    pub subscribed: usize,
    /// Subscribers that did not.
    pub failed: usize,
    /// Failures by reason.
    pub errors: BTreeMap<String, u64>,
    /// First connect attempt → last subscription complete (s).
    pub elapsed_secs: f64,
    /// `subscribed / elapsed_secs`: new subscriptions per second (Smelt's authenticated).
    pub subscriptions_per_sec: f64,
    /// Connect per subscriber (ms): TCP + upgrade, and for Smelt the token check and the
    /// snapshot.
    pub latency: Percentiles,
    /// CPU use during the phase.
    pub cpu: CpuUse,
}

/// Publishing events and delivering them.
#[derive(Debug, Serialize)]
pub struct EventPhase {
    /// Events acknowledged by the server (Smelt: committed; nchan: POST answered 2xx).
    pub published: u64,
    /// Events whose publish failed.
    pub publish_errors: u64,
    /// The first failed publish's error.
    pub first_publish_error: Option<String>,
    /// Events the server holds for the channels after the run, to check `published` (Smelt:
    /// the smelts' logs, from `last_seq`; nchan: the messages in its channel buffers).
    pub stored: i64,
    /// `published / publishing time` (events/s).
    pub published_per_sec: f64,
    /// How late publishes started against their due time (ms): high values mean the writers
    /// or the server (for Smelt, the database) could not keep the rate.
    pub write_lag: Percentiles,
    /// One event's publish, begin → acknowledged (Smelt: the transaction, begin → COMMIT
    /// returned; nchan: the POST, sent → answered) (ms).
    pub write_time: Percentiles,
    /// Frames due to subscribers (each published event × its channel's subscribers).
    pub deliveries_expected: u64,
    /// Distinct (subscriber, seq) pairs received.
    pub delivered: u64,
    /// `deliveries_expected − delivered`.
    pub missing: u64,
    /// Frames whose seq was not above every seq the subscriber had before.
    pub out_of_order: u64,
    /// Frames of a (subscriber, seq) pair received more than once.
    pub duplicates: u64,
    /// `delivered / (first publish → last receipt)` (deliveries/s).
    pub delivered_per_sec: f64,
    /// Publish acknowledged to the writer (Smelt: COMMIT returned; nchan: POST answered) →
    /// frame read by the subscriber (ms). Frames read before the acknowledgement count as
    /// 0 ms (see `received_before_commit_returned`).
    pub latency: Percentiles,
    /// Publish began (Smelt: the transaction; nchan: the POST was sent, the time the message
    /// carries) → frame read by the subscriber (ms): an upper bound, including the publish
    /// itself. The instant the event became deliverable lies between this and `latency`.
    pub latency_from_write_start: Percentiles,
    /// COMMIT returned → notification read by the client's own LISTEN connection (ms): the
    /// database leg of `latency`; present with `--listen-probe`.
    pub database_leg: Option<Percentiles>,
    /// Frames read before their writer saw the publish acknowledged (counted as 0 ms in
    /// `latency`).
    pub received_before_commit_returned: u64,
    /// Sockets the server closed during the run, by close code.
    pub closed_by_server: BTreeMap<u16, u64>,
    /// Sockets that ended with a read error, by error.
    pub read_errors: BTreeMap<String, u64>,
    /// CPU use from the first publish to the last delivery.
    pub cpu: CpuUse,
}

/// `create` report.
#[derive(Debug, Serialize)]
pub struct CreateReport {
    /// `"create"`.
    pub mode: &'static str,
    /// The machine when the run started.
    pub conditions: Conditions,
    /// What was asked.
    pub config: CreateConfig,
    /// Requests of the measured part (after the warm-up).
    pub requests: RequestCounts,
    /// Scheduled time → response fully read (ms), successful or not; timeouts excluded.
    pub latency: Percentiles,
    /// Request sent → response fully read (ms).
    pub service_time: Percentiles,
    /// How late requests were sent against their schedule (ms): the load client's own lag.
    pub send_lag: Percentiles,
    /// Completed responses per second over the measured part.
    pub completed_per_sec: f64,
    /// The server's resident memory before the measured requests (bytes).
    pub server_rss_before_bytes: Option<u64>,
    /// The server's resident memory after them (bytes).
    pub server_rss_after_bytes: Option<u64>,
    /// CPU use over the measured requests.
    pub cpu: CpuUse,
}

/// What the create run was asked to do.
#[derive(Debug, Serialize)]
pub struct CreateConfig {
    /// Requests per second.
    pub rate: f64,
    /// Seconds of measured load.
    pub duration_secs: u64,
    /// Seconds of warm-up before it.
    pub warmup_secs: u64,
    /// `own-key` or `weekly`.
    pub credits: String,
    /// Users the requests were spread over.
    pub users: usize,
    /// Client source addresses in `127.0.0.0/8`.
    pub source_addresses: usize,
    /// Size of the posted text (bytes).
    pub text_bytes: usize,
}

/// Outcomes of the measured requests.
#[derive(Debug, Serialize)]
pub struct RequestCounts {
    /// Requests due in the measured part.
    pub scheduled: u64,
    /// Responses by HTTP status.
    pub status: BTreeMap<u16, u64>,
    /// Requests without a response, by error.
    pub errors: BTreeMap<String, u64>,
}

/// Writes `report` as pretty JSON to `path`, or to standard output.
pub fn write(report: &impl Serialize, path: Option<&Path>) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    match path {
        Some(path) => std::fs::write(path, text + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => println!("{text}"),
    }
    Ok(())
}
