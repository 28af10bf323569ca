//! `dequeue`: what the queue costs while a worker drains it. Creates `pending` text smelts as
//! the create endpoint would (in the fast lane, where pasted text waits), holds a WebSocket
//! watcher on each of the last `watched` of them (those that wait longest), then dequeues
//! `dequeues` jobs one after another as fast as one worker loop can: the claim through the
//! lanes, the smelt's transition out of `pending`, its end and the acknowledgement. Reports
//! each dequeue's latency, the events written to the smelts still waiting (a place in the
//! queue is not history: none should be), and the queue places the watchers were pushed.
//!
//! Run against a server without workers (`smelt-server`) so that only this client dequeues.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use futures::StreamExt;
use serde::Serialize;
use smelt_core::db::smelts;
use smelt_core::domain::{Lane, SmeltStatus};
use smelt_core::lifecycle::ProgressSink;
use smelt_core::queue::JobQueue;
use smelt_core::tokens::TokenKeys;
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::addresses::{self, SourceAddresses};
use crate::args::{DatabaseArgs, ServerArgs};
use crate::channels;
use crate::latency::{Latencies, Percentiles};
use crate::progress;
use crate::report::Conditions;

/// `dequeue` options.
#[derive(Debug, Args)]
pub struct DequeueArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Smelts waiting when the drain starts.
    #[arg(long, default_value_t = 10_000)]
    pub pending: usize,
    /// Smelts with a WebSocket watcher (the last ones queued).
    #[arg(long, default_value_t = 1_000)]
    pub watched: usize,
    /// Jobs dequeued, one after another (at most `pending − watched`, so that every watched
    /// smelt still waits at the end).
    #[arg(long, default_value_t = 500)]
    pub dequeues: usize,
    /// Client sockets bound to each source address in `127.0.0.0/8`.
    #[arg(long, default_value_t = 250)]
    pub per_address: usize,
}

/// `dequeue` report.
#[derive(Debug, Serialize)]
pub struct DequeueReport {
    /// `"dequeue"`.
    pub mode: &'static str,
    /// The machine when the run started.
    pub conditions: Conditions,
    /// Smelts waiting when the drain started.
    pub pending: usize,
    /// Smelts with a watcher.
    pub watched: usize,
    /// Jobs dequeued.
    pub dequeues: usize,
    /// Dequeues per second, one worker loop.
    pub dequeues_per_second: f64,
    /// One whole dequeue: claim, transition out of `pending`, end, acknowledgement.
    pub dequeue: Percentiles,
    /// The claim alone.
    pub claim: Percentiles,
    /// Events appended to the smelts still waiting while the drain ran.
    pub events_written_to_waiting: i64,
    /// Queue places (`progress` frames with `seq: null`) the watchers received while the
    /// drain ran, in all.
    pub place_frames: u64,
    /// Watchers that were told a new place during the drain.
    pub watchers_told: u64,
}

/// Runs the benchmark.
pub async fn run(args: DequeueArgs) -> anyhow::Result<DequeueReport> {
    anyhow::ensure!(
        args.watched + args.dequeues <= args.pending,
        "--watched plus --dequeues must not exceed --pending"
    );
    let server = addresses::loopback_server(&args.server.server).await?;
    addresses::check_loopback_database(&args.database.database_url)?;
    let conditions = Conditions::now();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&args.database.database_url)
        .await
        .context("connecting to the database")?;
    let keys = TokenKeys::new(args.server.jwt_secret()?.as_bytes());
    let (created, sinks) =
        channels::create(&pool, &keys, args.pending, Uuid::new_v4(), 3_600).await?;
    let mut sinks: HashMap<Uuid, ProgressSink> =
        sinks.into_iter().map(|s| (s.smelt_id(), s)).collect();

    let stop = CancellationToken::new();
    let sources = SourceAddresses::new(args.per_address, server);
    let tally = Arc::new(WatchTally::default());
    let watched = &created[created.len() - args.watched..];
    let bar = progress::bar("watchers", watched.len() as u64);
    for (i, channel) in watched.iter().enumerate() {
        let stream = addresses::connect_from(sources.of(i), server).await?;
        let url = format!(
            "ws://{server}/api/smelts/{}/ws?token={}",
            channel.smelt_id, channel.token
        );
        tokio::spawn(watch(url, stream, tally.clone(), stop.clone()));
        bar.inc(1);
    }
    bar.finish();
    // Every watcher's first place (pushed to a newcomer) before the drain starts.
    let settle = Instant::now();
    while tally.watchers_told.load(Ordering::Relaxed) < watched.len() as u64
        && settle.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tally.reset();

    let waiting: Vec<Uuid> = created[args.dequeues..]
        .iter()
        .map(|c| c.smelt_id)
        .collect();
    let written_before = smelts::events_written(&pool, &waiting).await?;
    let queue = JobQueue::new(pool.clone()).await;
    let (mut whole, mut claims) = (Latencies::default(), Latencies::default());
    let bar = progress::bar("dequeues", args.dequeues as u64);
    let started = Instant::now();
    for _ in 0..args.dequeues {
        let t0 = Instant::now();
        let delivery = queue
            .claim(Lane::ALL, 30, 0)
            .await?
            .context("a job to claim")?;
        claims.record(t0.elapsed());
        let mut sink = sinks
            .remove(&delivery.message.smelt_id)
            .context("a job of this run")?;
        sink.enter(SmeltStatus::Validating).await?;
        sink.complete().await?;
        queue.archive(&delivery).await?;
        whole.record(t0.elapsed());
        bar.inc(1);
    }
    let elapsed = started.elapsed();
    bar.finish();
    // Places are computed about once a second: give the last change time to arrive.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let written_after = smelts::events_written(&pool, &waiting).await?;
    stop.cancel();
    Ok(DequeueReport {
        mode: "dequeue",
        conditions,
        pending: args.pending,
        watched: args.watched,
        dequeues: args.dequeues,
        dequeues_per_second: args.dequeues as f64 / elapsed.as_secs_f64(),
        dequeue: whole.summary(),
        claim: claims.summary(),
        events_written_to_waiting: written_after - written_before,
        place_frames: tally.place_frames.load(Ordering::Relaxed),
        watchers_told: tally.watchers_told.load(Ordering::Relaxed),
    })
}

/// What the watchers received. `generation` goes up when the count restarts, so that each
/// watcher counts itself once per generation.
#[derive(Debug, Default)]
struct WatchTally {
    place_frames: AtomicU64,
    watchers_told: AtomicU64,
    generation: AtomicU64,
}

impl WatchTally {
    fn reset(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.place_frames.store(0, Ordering::SeqCst);
        self.watchers_told.store(0, Ordering::SeqCst);
    }
}

/// Holds one watcher on `url` until `stop`, counting the queue places it is pushed.
async fn watch(
    url: String,
    stream: tokio::net::TcpStream,
    tally: Arc<WatchTally>,
    stop: CancellationToken,
) {
    let Ok((mut socket, _)) = tokio_tungstenite::client_async(url, stream).await else {
        return;
    };
    let mut told_in = None;
    loop {
        let frame = tokio::select! {
            _ = stop.cancelled() => return,
            frame = socket.next() => frame,
        };
        let Some(Ok(frame)) = frame else { return };
        let Ok(text) = frame.to_text() else { continue };
        if text.contains("\"seq\":null") {
            tally.place_frames.fetch_add(1, Ordering::SeqCst);
            let generation = tally.generation.load(Ordering::SeqCst);
            if told_in != Some(generation) {
                told_in = Some(generation);
                tally.watchers_told.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}
