//! WebSocket subscribers of a fan-out run, whatever the server: each one connects from its own
//! source address, completes its subscription (the upgrade, and the snapshot frame when the
//! server sends one), reports that it is subscribed, then records the seq and receipt time of
//! every event frame until its channel's last expected event (or until told to stop), keeping
//! its socket open until the run drops it. What a frame means is the server's [`Framing`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use crate::addresses::{connect_from, SourceAddresses};
use crate::latency::Latencies;

/// Read and write buffer of each client socket (bytes): frames are a few hundred bytes, and
/// tungstenite's 128 KiB defaults would cost the load client ~256 KiB per subscriber.
const CLIENT_BUFFER_BYTES: usize = 4 * 1024;

/// How long one connect + subscription may take before it counts as failed.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(30);

/// How a server frames its events on a subscriber's socket.
pub trait Framing: Send + Sync {
    /// True when the server completes a subscription with a snapshot frame that carries the
    /// seq the subscriber's events follow; false when the upgrade completes it and the events
    /// follow seq 0.
    fn sends_snapshot(&self) -> bool;

    /// The seq of the first text frame, which must be the snapshot; an error (a short
    /// description for the report) when it is not.
    fn snapshot_seq(&self, text: &str) -> Result<i64, String>;

    /// The seq of an event frame, `Ok(None)` for a frame that is not one of the counted events
    /// (a live frame outside the event log), an error when the text is not a frame at all.
    fn event_seq(&self, text: &str) -> Result<Option<i64>, String>;
}

/// One subscriber to open.
#[derive(Debug, Clone)]
pub struct Subscriber {
    /// Index of the subscriber (picks its source address).
    pub index: usize,
    /// Index of its channel.
    pub channel: usize,
    /// The WebSocket URL of its channel.
    pub url: String,
    /// Events the channel will get after the subscription.
    pub expected_events: u64,
}

/// The end of one subscribe attempt, reported as soon as it is known.
#[derive(Debug)]
pub struct Subscribed {
    /// Start of the TCP connect → subscription complete.
    pub elapsed: Duration,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// What one subscriber saw.
pub struct Tally {
    /// Index of the subscriber's channel.
    pub channel: usize,
    /// Seq the subscriber's events follow (the snapshot's, or 0 without one); `None` when
    /// subscribing failed.
    pub snapshot_seq: Option<i64>,
    /// `(seq, receipt time in ns since the run's epoch)` of each event frame, in arrival order.
    pub receipts: Vec<(i64, u64)>,
    /// Frames whose seq was not above every seq received before (late or repeated).
    pub out_of_order: u64,
    /// Close code sent by the server, if it closed the socket.
    pub close_code: Option<u16>,
    /// Read error that ended the socket, if any.
    pub error: Option<String>,
    /// The socket, still open (dropped with the tally).
    pub socket: Option<WebSocketStream<TcpStream>>,
}

/// Shared by the run and its subscribers.
pub struct Shared {
    /// Time origin of receipt times.
    pub epoch: Instant,
    /// Event frames received by all subscribers (for the progress display).
    pub received: AtomicU64,
    /// Cancelled when the run stops waiting for deliveries.
    pub stop: CancellationToken,
}

/// Starts every subscriber, at most `concurrency` connecting at once. Each reports its
/// subscribe outcome on the returned channel and keeps reading; its task ends with its tally.
pub fn start(
    subscribers: Vec<Subscriber>,
    server: SocketAddr,
    sources: SourceAddresses,
    concurrency: usize,
    framing: Arc<dyn Framing>,
    shared: Arc<Shared>,
) -> (mpsc::UnboundedReceiver<Subscribed>, Vec<JoinHandle<Tally>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let handles = subscribers
        .into_iter()
        .map(|target| {
            let tx = tx.clone();
            let gate = gate.clone();
            let shared = shared.clone();
            let framing = framing.clone();
            tokio::spawn(async move {
                let permit = gate.acquire_owned().await.expect("gate never closes");
                let began = Instant::now();
                let source = sources.of(target.index);
                let opened = tokio::time::timeout(
                    SUBSCRIBE_TIMEOUT,
                    subscribe(source, server, &target.url, framing.as_ref()),
                )
                .await
                .unwrap_or_else(|_| Err("timed out".to_owned()));
                drop(permit);
                let elapsed = began.elapsed();
                match opened {
                    Ok((socket, snapshot_seq)) => {
                        let _ = tx.send(Subscribed {
                            elapsed,
                            error: None,
                        });
                        drop(tx);
                        read(socket, target, snapshot_seq, framing.as_ref(), shared).await
                    }
                    Err(error) => {
                        let _ = tx.send(Subscribed {
                            elapsed,
                            error: Some(error.clone()),
                        });
                        Tally {
                            channel: target.channel,
                            snapshot_seq: None,
                            receipts: Vec::new(),
                            out_of_order: 0,
                            close_code: None,
                            error: Some(error),
                            socket: None,
                        }
                    }
                }
            })
        })
        .collect();
    (rx, handles)
}

/// Connects from `source`, upgrades, and waits for the snapshot when the server sends one;
/// returns the socket and the seq its events follow. Errors are short descriptions for the
/// report.
async fn subscribe(
    source: std::net::IpAddr,
    server: SocketAddr,
    url: &str,
    framing: &dyn Framing,
) -> Result<(WebSocketStream<TcpStream>, i64), String> {
    let stream = connect_from(source, server)
        .await
        .map_err(|e| format!("connect: {}", e.kind()))?;
    let config = WebSocketConfig::default()
        .read_buffer_size(CLIENT_BUFFER_BYTES)
        .write_buffer_size(CLIENT_BUFFER_BYTES);
    let (mut socket, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(r) => {
                format!("upgrade: HTTP {}", r.status())
            }
            e => format!("upgrade: {e}"),
        })?;
    if !framing.sends_snapshot() {
        return Ok((socket, 0));
    }
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                return Ok((socket, framing.snapshot_seq(&text)?));
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(format!(
                    "closed before the snapshot: {}",
                    frame.map_or(0, |f| u16::from(f.code))
                ))
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("closed before the snapshot".to_owned()),
        }
    }
}

/// Reads event frames until the channel's last expected seq, a close, an error, or `stop`.
async fn read(
    mut socket: WebSocketStream<TcpStream>,
    target: Subscriber,
    snapshot_seq: i64,
    framing: &dyn Framing,
    shared: Arc<Shared>,
) -> Tally {
    let last_expected = snapshot_seq + target.expected_events as i64;
    let mut tally = Tally {
        channel: target.channel,
        snapshot_seq: Some(snapshot_seq),
        receipts: Vec::with_capacity(target.expected_events as usize),
        out_of_order: 0,
        close_code: None,
        error: None,
        socket: None,
    };
    let mut highest = snapshot_seq;
    while highest < last_expected {
        let message = tokio::select! {
            m = socket.next() => m,
            _ = shared.stop.cancelled() => break,
        };
        match message {
            Some(Ok(Message::Text(text))) => {
                let at = shared.epoch.elapsed().as_nanos() as u64;
                let seq = match framing.event_seq(&text) {
                    Ok(Some(seq)) => seq,
                    Ok(None) => continue,
                    Err(error) => {
                        tally.error = Some(error);
                        break;
                    }
                };
                shared.received.fetch_add(1, Ordering::Relaxed);
                if seq <= highest {
                    tally.out_of_order += 1;
                }
                highest = highest.max(seq);
                tally.receipts.push((seq, at));
            }
            Some(Ok(Message::Close(frame))) => {
                tally.close_code = Some(frame.map_or(1005, |f| u16::from(f.code)));
                return tally;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tally.error = Some(e.to_string());
                return tally;
            }
            None => {
                tally.error = Some("connection closed without a close frame".to_owned());
                return tally;
            }
        }
    }
    tally.socket = Some(socket);
    tally
}

/// Counts of subscribe errors by description.
pub fn error_counts<'a>(errors: impl Iterator<Item = &'a str>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for e in errors {
        *counts.entry(e.to_owned()).or_insert(0) += 1;
    }
    counts
}

/// Collects the subscribe outcomes of `expected` subscribers, calling `each` after every one.
pub async fn await_subscribed(
    rx: &mut mpsc::UnboundedReceiver<Subscribed>,
    expected: usize,
    mut each: impl FnMut(&Subscribed),
) -> (Latencies, Vec<String>) {
    let mut latencies = Latencies::default();
    let mut errors = Vec::new();
    for _ in 0..expected {
        let Some(s) = rx.recv().await else { break };
        each(&s);
        match &s.error {
            None => latencies.record(s.elapsed),
            Some(e) => errors.push(e.clone()),
        }
    }
    (latencies, errors)
}
