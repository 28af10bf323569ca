//! Writes the fan-out run's events through the worker's progress sink (smelt update, event row
//! with its gap-free seq and `pg_notify`, one asynchronously committed transaction: what a
//! worker does for every progress step), at a fixed total rate.
//!
//! Event `k` (0-based) goes to channel `k mod channels` and is due `k / rate` seconds after the
//! start. Each writer task owns the channels `j` with `j mod writers = w`, so the events of
//! one channel are written in order by one task, and the seq of its `n`-th event is
//! `base_seq + n`. Writers that fall behind write at once (the lag is reported): latency is
//! measured from each event's commit, so a late write does not hide in the numbers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use smelt_core::domain::SmeltStatus;
use smelt_core::lifecycle::ProgressSink;

use crate::latency::Latencies;

/// What to write.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Events per second, in total.
    pub rate: f64,
    /// Events in total.
    pub total: u64,
    /// Channels (smelts).
    pub channels: usize,
    /// Writer tasks (at most one per channel).
    pub writers: usize,
}

impl Plan {
    /// Events channel `j` receives.
    pub fn events_of(&self, channel: usize) -> u64 {
        let m = self.channels as u64;
        self.total / m + u64::from((channel as u64) < self.total % m)
    }
}

/// Write times of one channel's events, in ns since the run's epoch: entry `n` is for the
/// event with seq `base_seq + n + 1`.
pub struct ChannelCommits {
    /// Index of the channel (smelt) in the run.
    pub channel: usize,
    /// When its transaction began.
    pub began_ns: Vec<u64>,
    /// When its COMMIT returned to the writer.
    pub committed_ns: Vec<u64>,
}

/// What the writers did.
#[derive(Default)]
pub struct Written {
    /// Commit times per channel.
    pub commits: Vec<ChannelCommits>,
    /// Events committed.
    pub events: u64,
    /// Failed writes (not committed), with their first error.
    pub errors: u64,
    /// The first failed write's error.
    pub first_error: Option<String>,
    /// Due time → start of the write (ms).
    pub lag: Latencies,
    /// Start of the write → COMMIT returned (ms).
    pub write_time: Latencies,
    /// First write started → last commit (s).
    pub elapsed_secs: f64,
}

/// Runs the writers to the end of the plan. `sinks[j]` writes channel `j`; `epoch` is the
/// time origin of commit times; `written` counts committed events as they happen.
pub async fn run(
    plan: Plan,
    sinks: Vec<ProgressSink>,
    epoch: Instant,
    written: Arc<AtomicU64>,
) -> Written {
    let writers = plan.writers.clamp(1, plan.channels.max(1));
    let mut owned: Vec<Vec<(usize, ProgressSink)>> = (0..writers).map(|_| Vec::new()).collect();
    for (j, sink) in sinks.into_iter().enumerate() {
        owned[j % writers].push((j, sink));
    }
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let started = Instant::now() + Duration::from_millis(50);
    let tasks: Vec<_> = owned
        .into_iter()
        .map(|channels| {
            let written = written.clone();
            tokio::spawn(write_channels(plan, channels, start, epoch, written))
        })
        .collect();
    let mut out = Written {
        commits: Vec::with_capacity(plan.channels),
        ..Written::default()
    };
    for task in tasks {
        let part = task.await.expect("writer task panicked");
        out.commits.extend(part.commits);
        out.events += part.events;
        out.errors += part.errors;
        out.first_error = out.first_error.or(part.first_error);
        out.lag.merge(&part.lag);
        out.write_time.merge(&part.write_time);
    }
    out.elapsed_secs = started.elapsed().as_secs_f64();
    out
}

/// One writer: the events of its channels in due order.
async fn write_channels(
    plan: Plan,
    mut channels: Vec<(usize, ProgressSink)>,
    start: tokio::time::Instant,
    epoch: Instant,
    written: Arc<AtomicU64>,
) -> Written {
    let mut commits: Vec<ChannelCommits> = channels
        .iter()
        .map(|(j, _)| ChannelCommits {
            channel: *j,
            began_ns: Vec::with_capacity(plan.events_of(*j) as usize),
            committed_ns: Vec::with_capacity(plan.events_of(*j) as usize),
        })
        .collect();
    let mut out = Written::default();
    let m = plan.channels as u64;
    for round in 0.. {
        let mut wrote_any = false;
        for (i, (j, sink)) in channels.iter_mut().enumerate() {
            let k = round * m + *j as u64;
            if k >= plan.total {
                break;
            }
            wrote_any = true;
            let due = start + Duration::from_secs_f64(k as f64 / plan.rate);
            tokio::time::sleep_until(due).await;
            let began = tokio::time::Instant::now();
            let began_ns = epoch.elapsed().as_nanos() as u64;
            out.lag.record(began.saturating_duration_since(due));
            match sink.enter(SmeltStatus::Transcribing).await {
                Ok(()) => {
                    out.write_time.record(began.elapsed());
                    commits[i].began_ns.push(began_ns);
                    commits[i]
                        .committed_ns
                        .push(epoch.elapsed().as_nanos() as u64);
                    out.events += 1;
                    written.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    out.errors += 1;
                    out.first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        if !wrote_any {
            break;
        }
    }
    out.commits = commits;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_spread_round_robin() {
        let plan = Plan {
            rate: 10.0,
            total: 10,
            channels: 4,
            writers: 2,
        };
        let counts: Vec<u64> = (0..4).map(|j| plan.events_of(j)).collect();
        assert_eq!(counts, vec![3, 3, 2, 2]);
    }
}
