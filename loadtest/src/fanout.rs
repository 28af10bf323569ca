//! `fanout`: N subscribers over M smelts, events driven through the worker's progress sink.
//!
//! Phases: create the smelts; read the server's idle memory; open every subscriber (each gets
//! its snapshot) and time it; read the memory again with all connections held; publish
//! `rate × duration` events and wait for their delivery; then join commit and receipt times.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use smelt_core::tokens::TokenKeys;
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::addresses::{self, SourceAddresses};
use crate::args::FanoutArgs;
use crate::cpu::CpuSample;
use crate::driver::{self, Plan};
use crate::latency::Latencies;
use crate::report::{
    Conditions, EventPhase, FanoutConfig, FanoutReport, ServerMemory, SubscribePhase,
};
use crate::subscribers::{self, Shared, Tally, Target};
use crate::{channels, listen_probe, progress, rss};

/// Runs a fan-out measurement.
pub async fn run(args: FanoutArgs) -> anyhow::Result<FanoutReport> {
    ensure!(args.subscribers > 0, "--subscribers must be positive");
    ensure!(
        args.channels > 0 && args.channels <= args.subscribers,
        "--channels must be between 1 and --subscribers"
    );
    ensure!(args.rate > 0.0, "--rate must be positive");
    let conditions = Conditions::now();
    let server = addresses::loopback_server(&args.server.server).await?;
    addresses::check_loopback_database(&args.database_url)?;
    let server_pid = args
        .server
        .server_pid
        .or_else(|| rss::pid_listening_on(server.port()));
    let keys = TokenKeys::new(args.server.jwt_secret.as_bytes());
    let pool = PgPoolOptions::new()
        .max_connections(args.writers.clamp(1, args.channels) as u32 + 2)
        .connect(&args.database_url)
        .await
        .context("connecting to the database")?;

    let plan = Plan {
        rate: args.rate,
        total: (args.rate * args.duration_secs as f64).round() as u64,
        channels: args.channels,
        writers: args.writers,
    };
    let token_ttl = args.duration_secs + 3_600;
    let (channels, sinks) =
        channels::create(&pool, &keys, args.channels, Uuid::new_v4(), token_ttl).await?;

    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let rss_idle = server_pid.and_then(rss::rss_bytes);

    // Subscribe.
    let sources = SourceAddresses::new(args.per_address, server);
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        received: AtomicU64::new(0),
        stop: CancellationToken::new(),
    });
    let targets: Vec<Target> = (0..args.subscribers)
        .map(|index| {
            let channel = index % args.channels;
            let c = &channels[channel];
            Target {
                index,
                channel,
                url: format!(
                    "ws://{server}/api/smelts/{}/ws?token={}",
                    c.smelt_id, c.token
                ),
                expected_events: plan.events_of(channel),
            }
        })
        .collect();
    let cpu_before = CpuSample::take(server_pid);
    let started = Instant::now();
    let bar = progress::bar("subscribe", args.subscribers as u64);
    let (mut outcomes, readers) = subscribers::start(
        targets,
        server,
        sources,
        args.connect_concurrency,
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
    let subscribe_cpu = CpuSample::take(server_pid).since(&cpu_before);
    let subscribed = args.subscribers - errors.len();

    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let rss_held = server_pid.and_then(rss::rss_bytes);

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
                    "{} events written",
                    written.load(Ordering::Relaxed)
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    let probe_stop = CancellationToken::new();
    let probe = match args.listen_probe {
        true => {
            Some(listen_probe::start(&args.database_url, shared.epoch, probe_stop.clone()).await?)
        }
        false => None,
    };
    let cpu_before = CpuSample::take(server_pid);
    let first_commit_ns = shared.epoch.elapsed().as_nanos() as u64;
    let writes = driver::run(plan, sinks, shared.epoch, written).await;
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
    probe_stop.cancel();
    let heard = match probe {
        Some(task) => Some(task.await.context("the LISTEN probe failed")?),
        None => None,
    };
    let events_cpu = CpuSample::take(server_pid).since(&cpu_before);
    display.abort();
    bar.set_position(shared.received.load(Ordering::Relaxed));
    bar.finish();
    let rss_after_events = server_pid.and_then(rss::rss_bytes);
    let stored = channels::stored_events(&pool, &channels).await?;

    let deliveries = join(&tallies, &writes.commits, &channels, first_commit_ns);
    drop(tallies);
    let database_leg = heard.map(|heard| database_leg(&heard, &writes.commits, &channels));

    Ok(FanoutReport {
        mode: "fanout",
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
            server_pid,
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
            stored,
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
            database_leg: database_leg.map(|l| l.summary()),
            received_before_commit_returned: deliveries.before_commit,
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

/// Deliveries joined with commits.
struct Deliveries {
    delivered: u64,
    duplicates: u64,
    out_of_order: u64,
    per_sec: f64,
    latency: Latencies,
    from_write_start: Latencies,
    before_commit: u64,
    closed: BTreeMap<u16, u64>,
    read_errors: BTreeMap<String, u64>,
}

/// Latency of every receipt against its event's commit, plus the counts.
fn join(
    tallies: &[Tally],
    commits: &[driver::ChannelCommits],
    channels: &[channels::Channel],
    first_commit_ns: u64,
) -> Deliveries {
    let mut by_channel: Vec<Option<&driver::ChannelCommits>> = vec![None; channels.len()];
    for c in commits {
        by_channel[c.channel] = Some(c);
    }
    let mut out = Deliveries {
        delivered: 0,
        duplicates: 0,
        out_of_order: 0,
        per_sec: 0.0,
        latency: Latencies::default(),
        from_write_start: Latencies::default(),
        before_commit: 0,
        closed: BTreeMap::new(),
        read_errors: BTreeMap::new(),
    };
    let mut last_receipt = first_commit_ns;
    for tally in tallies {
        out.out_of_order += tally.out_of_order;
        if let Some(code) = tally.close_code {
            *out.closed.entry(code).or_default() += 1;
        }
        if let (Some(error), Some(_)) = (&tally.error, tally.snapshot_seq) {
            *out.read_errors.entry(error.clone()).or_default() += 1;
        }
        let Some(snapshot_seq) = tally.snapshot_seq else {
            continue;
        };
        let base = channels[tally.channel].base_seq;
        let Some(written) = by_channel[tally.channel] else {
            continue;
        };
        let mut seqs: Vec<i64> = Vec::with_capacity(tally.receipts.len());
        for &(seq, at) in &tally.receipts {
            last_receipt = last_receipt.max(at);
            seqs.push(seq);
            let Some(n) = usize::try_from(seq - base - 1)
                .ok()
                .filter(|n| *n < written.committed_ns.len())
            else {
                continue;
            };
            if seq <= snapshot_seq {
                continue;
            }
            let (began, commit) = (written.began_ns[n], written.committed_ns[n]);
            if at < commit {
                out.before_commit += 1;
            }
            out.latency.record_micros(at.saturating_sub(commit) / 1_000);
            out.from_write_start
                .record_micros(at.saturating_sub(began) / 1_000);
        }
        let received = seqs.len() as u64;
        seqs.sort_unstable();
        seqs.dedup();
        out.duplicates += received - seqs.len() as u64;
        out.delivered += seqs.iter().filter(|s| **s > snapshot_seq).count() as u64;
    }
    let window = (last_receipt - first_commit_ns) as f64 / 1e9;
    out.per_sec = if window > 0.0 {
        out.delivered as f64 / window
    } else {
        0.0
    };
    out
}

/// Latency from each event's commit to the LISTEN probe hearing its notification.
fn database_leg(
    heard: &[listen_probe::Heard],
    commits: &[driver::ChannelCommits],
    channels: &[channels::Channel],
) -> Latencies {
    let index: HashMap<Uuid, usize> = channels
        .iter()
        .enumerate()
        .map(|(j, c)| (c.smelt_id, j))
        .collect();
    let mut by_channel: Vec<Option<&driver::ChannelCommits>> = vec![None; channels.len()];
    for c in commits {
        by_channel[c.channel] = Some(c);
    }
    let mut latencies = Latencies::default();
    for &(smelt_id, seq, at) in heard {
        let Some(&j) = index.get(&smelt_id) else {
            continue;
        };
        let commit = by_channel[j].and_then(|c| {
            let n = usize::try_from(seq - channels[j].base_seq - 1).ok()?;
            c.committed_ns.get(n).copied()
        });
        if let Some(commit) = commit {
            latencies.record_micros(at.saturating_sub(commit) / 1_000);
        }
    }
    latencies
}
