//! `smelt-loadtest fanout`: measures delivery latency from the commit of an event (written
//! through the same event-log function the worker's progress sink uses: row + NOTIFY in one
//! transaction) to its receipt by N WebSocket subscribers of one smelt, and the server's
//! resident memory per idle connection. Targets loopback only.
//!
//! The server must run with `SMELT_EMBEDDED_WORKERS=0` (the smelt must stay pending while
//! events are driven) and the same `SMELT_JWT_SECRET` as given here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use clap::Parser;
use futures::StreamExt;
use smelt_core::db::events;
use smelt_core::domain::{FileStatus, SmeltStatus};
use smelt_core::dto::{FileProgressDto, ProgressDto, ProgressPayload};
use smelt_core::events::{EventKind, WireEvent};
use smelt_core::tokens::{TokenKeys, ACCESS_AUDIENCE};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// Command line.
#[derive(Debug, Parser)]
struct Args {
    /// Server address (loopback only), e.g. 127.0.0.1:8080.
    #[arg(long, default_value = "127.0.0.1:8080")]
    server: String,
    /// The server's database (events are written there, as a worker would).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/smelt"
    )]
    database_url: String,
    /// The server's JWT secret (to act as a user).
    #[arg(long, env = "SMELT_JWT_SECRET")]
    jwt_secret: String,
    /// The server's process id, for its resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Subscribers of the smelt.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Events to drive.
    #[arg(long, default_value_t = 200)]
    events: usize,
    /// Events per second.
    #[arg(long, default_value_t = 50)]
    rate: u64,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let host = args.server.split(':').next().unwrap_or_default();
    ensure!(
        host == "localhost" || host.starts_with("127."),
        "only loopback targets are allowed"
    );
    let pool = sqlx::PgPool::connect(&args.database_url).await?;
    let token = TokenKeys::new(args.jwt_secret.as_bytes()).sign(
        Uuid::new_v4(),
        ACCESS_AUDIENCE,
        3600,
        None,
    );
    let form = reqwest::multipart::Form::new().text("text", "load test smelt");
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{}/api/smelts", args.server))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await?
        .json()
        .await?;
    let smelt_id: Uuid = created["id"].as_str().context("created")?.parse()?;
    let sub_token = created["subscription_token"]
        .as_str()
        .context("token")?
        .to_owned();

    let rss_before = args.server_pid.and_then(rss_kib);
    let url = format!(
        "ws://{}/api/smelts/{smelt_id}/ws?token={sub_token}",
        args.server
    );
    let connect_started = Instant::now();
    let mut sockets = Vec::with_capacity(args.subscribers);
    for chunk in (0..args.subscribers).collect::<Vec<_>>().chunks(200) {
        let opened = futures::future::join_all(
            chunk
                .iter()
                .map(|_| tokio_tungstenite::connect_async(url.clone())),
        )
        .await;
        for s in opened {
            let (mut ws, _) = s?;
            ws.next().await.context("snapshot")??;
            sockets.push(ws);
        }
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = args.server_pid.and_then(rss_kib);

    // Receipt times per (subscriber, seq), against commit times recorded by the driver.
    let received: Arc<Mutex<Vec<(i64, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let expected = args.events as i64;
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            let received = received.clone();
            tokio::spawn(async move {
                let mut local = Vec::with_capacity(expected as usize);
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Text(text) = message {
                        let at = Instant::now();
                        let event: WireEvent = serde_json::from_str(&text).expect("wire event");
                        local.push((event.seq, at));
                        if event.seq >= expected {
                            break;
                        }
                    }
                }
                received.lock().await.extend(local);
            })
        })
        .collect();

    let mut committed = vec![Instant::now(); args.events + 1];
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / args.rate.max(1)));
    for slot in committed.iter_mut().skip(1) {
        tick.tick().await;
        let payload = ProgressPayload {
            smelt_id,
            status: SmeltStatus::Transcribing,
            progress: ProgressDto {
                percentage: 50,
                stage: SmeltStatus::Transcribing,
                message: "Transcribing audio...".into(),
                eta_seconds: None,
            },
            files: vec![FileProgressDto {
                id: smelt_id,
                status: FileStatus::Processing,
                progress: 50,
            }],
        };
        let mut tx = pool.begin().await?;
        sqlx::query("set local synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        events::append(&mut tx, smelt_id, EventKind::Progress, &payload).await?;
        tx.commit().await?;
        *slot = Instant::now();
    }
    for r in readers {
        r.await?;
    }
    let received = received.lock().await;
    let mut latencies: Vec<f64> = received
        .iter()
        .map(|(seq, at)| {
            at.saturating_duration_since(committed[*seq as usize])
                .as_secs_f64()
                * 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    println!(
        "{{\"subscribers\": {}, \"events\": {}, \"deliveries\": {}, \"latency_ms\": {{\"p50\": {:.2}, \"p99\": {:.2}, \"max\": {:.2}}}, \"connect_and_snapshot_per_sec\": {:.0}, \"rss_kib_before\": {:?}, \"rss_kib_after\": {:?}, \"kib_per_connection\": {:?}}}",
        args.subscribers,
        args.events,
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
        args.subscribers as f64 / connect_secs,
        rss_before,
        rss_after,
        rss_before.zip(rss_after).map(|(b, a)| (a as f64 - b as f64) / args.subscribers as f64),
    );
    Ok(())
}
