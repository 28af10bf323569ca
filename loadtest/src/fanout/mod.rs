//! `fanout`: N subscribers over M channels, events published at a fixed total rate, against
//! Smelt or nchan.
//!
//! Phases: prepare the channels (each server its own way); read the server's idle memory; open
//! every subscriber and time it; read the memory again with all connections held; publish
//! `rate × duration` events and wait for their delivery; then join publish and receipt times.
//! The phases, the subscribers, the writers' schedule, the join and the report are the same
//! code whatever the server, so both servers are measured alike; what differs lives in
//! [`smelt`] and [`nchan`] behind [`Server`].

mod deliveries;
mod nchan;
mod smelt;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use tokio_util::sync::CancellationToken;

use crate::addresses::SourceAddresses;
use crate::args::{FanoutArgs, Target};
use crate::cpu::CpuSample;
use crate::driver::{self, Plan, Publish, PublishTimes};
use crate::latency::Percentiles;
use crate::report::{
    Conditions, EventPhase, FanoutConfig, FanoutReport, ServerMemory, SubscribePhase,
};
use crate::subscribers::{self, Framing, Shared, Subscriber};
use crate::{progress, rss};

/// The server's processes.
pub struct Processes {
    /// The process named in the report (Smelt's server, nginx's master).
    pub main: Option<u32>,
    /// Those whose memory and CPU are summed (Smelt's server, nginx's workers: they hold the
    /// connections).
    pub measured: Vec<u32>,
}

/// One channel as the server under test prepared it.
pub struct PreparedChannel {
    /// The WebSocket URL a subscriber of the channel connects to.
    pub url: String,
    /// The seq the channel's first published event follows.
    pub base_seq: i64,
    /// Publishes the channel's events.
    pub publisher: Box<dyn Publish>,
}

/// What the server reports once the deliveries are over.
pub struct Afterwards {
    /// Events it holds for the channels, to check the publishers' count.
    pub stored: i64,
    /// The database leg of the latency, when measured (Smelt with `--listen-probe`).
    pub database_leg: Option<Percentiles>,
}

/// A pub/sub server as a fan-out run drives it.
#[async_trait::async_trait]
pub trait Server: Send {
    /// Its name in the report (`smelt`, `nchan`).
    fn name(&self) -> &'static str;
    /// The address subscribers connect to.
    fn address(&self) -> SocketAddr;
    /// Its processes, for memory and CPU.
    fn processes(&self) -> &Processes;
    /// How it frames events on a subscriber's socket.
    fn framing(&self) -> Arc<dyn Framing>;
    /// Prepares `count` channels for a run of `duration_secs` seconds of publishing.
    async fn prepare(
        &mut self,
        count: usize,
        duration_secs: u64,
    ) -> anyhow::Result<Vec<PreparedChannel>>;
    /// Called just before the first event is published, with the run's time origin.
    async fn publishing(&mut self, _epoch: Instant) -> anyhow::Result<()> {
        Ok(())
    }
    /// Called once the deliveries are over, with what was published.
    async fn finish(&mut self, published: &[PublishTimes]) -> anyhow::Result<Afterwards>;
}

/// Runs a fan-out measurement against the server `args.target` names.
pub async fn run(args: FanoutArgs) -> anyhow::Result<FanoutReport> {
    ensure!(args.subscribers > 0, "--subscribers must be positive");
    ensure!(
        args.channels > 0 && args.channels <= args.subscribers,
        "--channels must be between 1 and --subscribers"
    );
    ensure!(args.rate > 0.0, "--rate must be positive");
    let conditions = Conditions::now();
    match args.target {
        Target::Smelt => {
            let server = smelt::SmeltServer::connect(&args).await?;
            measure(server, &args, conditions).await
        }
        Target::Nchan => {
            let server = nchan::NchanServer::connect(&args).await?;
            measure(server, &args, conditions).await
        }
    }
}

/// The phases of a run against `server`.
async fn measure(
    mut server: impl Server,
    args: &FanoutArgs,
    conditions: Conditions,
) -> anyhow::Result<FanoutReport> {
    let address = server.address();
    let pids = server.processes().measured.clone();
    let plan = Plan {
        rate: args.rate,
        total: (args.rate * args.duration_secs as f64).round() as u64,
        channels: args.channels,
        writers: args.writers,
    };
    let prepared = server.prepare(args.channels, args.duration_secs).await?;
    ensure!(
        prepared.len() == args.channels,
        "the server prepared {} channels of {}",
        prepared.len(),
        args.channels
    );
    let mut urls = Vec::with_capacity(prepared.len());
    let mut base_seqs = Vec::with_capacity(prepared.len());
    let mut publishers = Vec::with_capacity(prepared.len());
    for channel in prepared {
        urls.push(channel.url);
        base_seqs.push(channel.base_seq);
        publishers.push(channel.publisher);
    }

    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let rss_idle = rss::total_rss_bytes(&pids);

    // Subscribe.
    let sources = SourceAddresses::new(args.per_address, address);
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        received: AtomicU64::new(0),
        stop: CancellationToken::new(),
    });
    let subscribers: Vec<Subscriber> = (0..args.subscribers)
        .map(|index| {
            let channel = index % args.channels;
            Subscriber {
                index,
                channel,
                url: urls[channel].clone(),
                expected_events: plan.events_of(channel),
            }
        })
        .collect();
    drop(urls);
    let cpu_before = CpuSample::take(&pids);
    let started = Instant::now();
    let bar = progress::bar("subscribe", args.subscribers as u64);
    let (mut outcomes, readers) = subscribers::start(
        subscribers,
        address,
        sources,
        args.connect_concurrency,
        server.framing(),
        shared.clone(),
    );
    let mut failed = 0u64;
    let (connect_latency, errors) =
        subscribers::await_subscribed(&mut outcomes, args.subscribers, |s| {
            bar.inc(1);
            if s.error.is_some() {
                failed += 1;
                bar.set_message(format!("{failed} failed"));
            }
        })
        .await;
    let subscribe_secs = started.elapsed().as_secs_f64();
    bar.finish();
    let subscribe_cpu = CpuSample::take(&pids).since(&cpu_before);
    let subscribed = args.subscribers - errors.len();

    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let rss_held = rss::total_rss_bytes(&pids);

    // Publish and deliver.
    let deliveries_expected: u64 = (0..args.channels)
        .map(|j| plan.events_of(j) * subscribers_of(j, args.subscribers, args.channels))
        .sum();
    let bar = progress::bar("deliver", deliveries_expected);
    let written = Arc::new(AtomicU64::new(0));
    let display = tokio::spawn({
        let (bar, shared, written) = (bar.clone(), shared.clone(), written.clone());
        async move {
            loop {
                bar.set_position(shared.received.load(Ordering::Relaxed));
                bar.set_message(format!(
                    "{} events published",
                    written.load(Ordering::Relaxed)
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    server.publishing(shared.epoch).await?;
    let cpu_before = CpuSample::take(&pids);
    let first_publish_ns = shared.epoch.elapsed().as_nanos() as u64;
    let writes = driver::run(plan, publishers, shared.epoch, written).await;
    let stopper = tokio::spawn({
        let stop = shared.stop.clone();
        let drain = Duration::from_secs(args.drain_secs);
        async move {
            tokio::time::sleep(drain).await;
            stop.cancel();
        }
    });
    let mut tallies = Vec::with_capacity(readers.len());
    for reader in readers {
        tallies.push(reader.await.context("a subscriber task failed")?);
    }
    stopper.abort();
    let events_cpu = CpuSample::take(&pids).since(&cpu_before);
    display.abort();
    bar.set_position(shared.received.load(Ordering::Relaxed));
    bar.finish();
    let rss_after_events = rss::total_rss_bytes(&pids);
    let afterwards = server.finish(&writes.channels).await?;

    let deliveries = deliveries::join(&tallies, &writes.channels, &base_seqs, first_publish_ns);
    drop(tallies);

    Ok(FanoutReport {
        mode: "fanout",
        target: server.name(),
        conditions,
        config: FanoutConfig {
            subscribers: args.subscribers,
            channels: args.channels,
            subscribers_per_channel: args.subscribers as f64 / args.channels as f64,
            events_per_sec: args.rate,
            target_deliveries_per_sec: args.rate * args.subscribers as f64 / args.channels as f64,
            duration_secs: args.duration_secs,
            writers: args.writers.clamp(1, args.channels),
            source_addresses: sources.used_by(args.subscribers),
        },
        subscribe: SubscribePhase {
            subscribed,
            failed: errors.len(),
            errors: subscribers::error_counts(errors.iter().map(String::as_str)),
            elapsed_secs: subscribe_secs,
            subscriptions_per_sec: subscribed as f64 / subscribe_secs,
            latency: connect_latency.summary(),
            cpu: subscribe_cpu,
        },
        memory: ServerMemory {
            server_pid: server.processes().main,
            measured_pids: pids,
            rss_idle_bytes: rss_idle,
            rss_held_bytes: rss_held,
            rss_after_events_bytes: rss_after_events,
            bytes_per_connection: rss_idle
                .zip(rss_held)
                .filter(|_| subscribed > 0)
                .map(|(idle, held)| (held as f64 - idle as f64) / subscribed as f64),
        },
        events: EventPhase {
            published: writes.events,
            publish_errors: writes.errors,
            first_publish_error: writes.first_error,
            stored: afterwards.stored,
            published_per_sec: writes.events as f64 / writes.elapsed_secs,
            write_lag: writes.lag.summary(),
            write_time: writes.write_time.summary(),
            deliveries_expected,
            delivered: deliveries.delivered,
            missing: deliveries_expected.saturating_sub(deliveries.delivered),
            out_of_order: deliveries.out_of_order,
            duplicates: deliveries.duplicates,
            delivered_per_sec: deliveries.per_sec,
            latency: deliveries.latency.summary(),
            latency_from_write_start: deliveries.from_write_start.summary(),
            database_leg: afterwards.database_leg,
            received_before_commit_returned: deliveries.before_acknowledged,
            closed_by_server: deliveries.closed,
            read_errors: deliveries.read_errors,
            cpu: events_cpu,
        },
    })
}

/// Subscribers of channel `j` when subscriber `i` follows channel `i mod channels`.
fn subscribers_of(j: usize, subscribers: usize, channels: usize) -> u64 {
    (subscribers / channels + usize::from(j < subscribers % channels)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_are_spread_round_robin() {
        let counts: Vec<u64> = (0..4).map(|j| subscribers_of(j, 10, 4)).collect();
        assert_eq!(counts, vec![3, 3, 2, 2]);
    }
}
