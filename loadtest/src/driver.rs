//! Publishes the fan-out run's events at a fixed total rate, through each channel's
//! [`Publish`] (for Smelt the worker's progress sink, for nchan an HTTP POST).
//!
//! Event `k` (0-based) goes to channel `k mod channels` and is due `k / rate` seconds after the
//! start. Each writer task owns the channels `j` with `j mod writers = w`, so the events of
//! one channel are published in order by one task, and the seq of its `n`-th event is
//! `base_seq + n`. Writers that fall behind publish at once (the lag is reported): latency is
//! measured from each publish's acknowledgement, so a late publish does not hide in the
//! numbers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::latency::Latencies;

/// Publishes the events of one channel, one call per event, in order.
#[async_trait::async_trait]
pub trait Publish: Send {
    /// Publishes the channel's next event and returns once the server acknowledged it (Smelt:
    /// COMMIT returned; nchan: the POST answered). `began_ns` is when the publish began, in ns
    /// since the run's epoch, for a publisher that carries it in the message. A failed publish
    /// must not take a seq: the next one gets the same.
    async fn publish(&mut self, began_ns: u64) -> anyhow::Result<()>;
}

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

/// Publish times of one channel's events, in ns since the run's epoch: entry `n` is for the
/// event with seq `base_seq + n + 1`.
pub struct PublishTimes {
    /// Index of the channel in the run.
    pub channel: usize,
    /// When its publish began (Smelt: the transaction; nchan: the POST was sent).
    pub began_ns: Vec<u64>,
    /// When the server acknowledged it (Smelt: COMMIT returned; nchan: the POST answered).
    pub acknowledged_ns: Vec<u64>,
}

/// What the writers did.
#[derive(Default)]
pub struct Written {
    /// Publish times per channel.
    pub channels: Vec<PublishTimes>,
    /// Events acknowledged.
    pub events: u64,
    /// Failed publishes (not acknowledged).
    pub errors: u64,
    /// The first failed publish's error.
    pub first_error: Option<String>,
    /// Due time → start of the publish (ms).
    pub lag: Latencies,
    /// Start of the publish → acknowledged (ms).
    pub write_time: Latencies,
    /// First publish started → last acknowledged (s).
    pub elapsed_secs: f64,
}

/// Runs the writers to the end of the plan. `publishers[j]` publishes on channel `j`; `epoch`
/// is the time origin of publish times; `written` counts acknowledged events as they happen.
pub async fn run(
    plan: Plan,
    publishers: Vec<Box<dyn Publish>>,
    epoch: Instant,
    written: Arc<AtomicU64>,
) -> Written {
    let writers = plan.writers.clamp(1, plan.channels.max(1));
    let mut owned: Vec<Vec<(usize, Box<dyn Publish>)>> = (0..writers).map(|_| Vec::new()).collect();
    for (j, publisher) in publishers.into_iter().enumerate() {
        owned[j % writers].push((j, publisher));
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
        channels: Vec::with_capacity(plan.channels),
        ..Written::default()
    };
    for task in tasks {
        let part = task.await.expect("writer task panicked");
        out.channels.extend(part.channels);
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
    mut channels: Vec<(usize, Box<dyn Publish>)>,
    start: tokio::time::Instant,
    epoch: Instant,
    written: Arc<AtomicU64>,
) -> Written {
    let mut times: Vec<PublishTimes> = channels
        .iter()
        .map(|(j, _)| PublishTimes {
            channel: *j,
            began_ns: Vec::with_capacity(plan.events_of(*j) as usize),
            acknowledged_ns: Vec::with_capacity(plan.events_of(*j) as usize),
        })
        .collect();
    let mut out = Written::default();
    let m = plan.channels as u64;
    for round in 0.. {
        let mut wrote_any = false;
        for (i, (j, publisher)) in channels.iter_mut().enumerate() {
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
            match publisher.publish(began_ns).await {
                Ok(()) => {
                    out.write_time.record(began.elapsed());
                    times[i].began_ns.push(began_ns);
                    times[i]
                        .acknowledged_ns
                        .push(epoch.elapsed().as_nanos() as u64);
                    out.events += 1;
                    written.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    out.errors += 1;
                    out.first_error.get_or_insert_with(|| format!("{e:#}"));
                }
            }
        }
        if !wrote_any {
            break;
        }
    }
    out.channels = times;
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
