//! Prometheus metrics: the names every process records under, their descriptions, and the
//! process-wide recorder.
//!
//! The server renders them at `GET /metrics`; a standalone worker serves its own at
//! `SMELT_METRICS_BIND`. Durations are in seconds and sizes in bytes, as Prometheus names
//! them.

use std::net::SocketAddr;
use std::sync::OnceLock;

use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Gauge: WebSocket and SSE connections open, by `transport` (`ws`, `multiplex`, `sse`).
pub const OPEN_SOCKETS: &str = "smelt_open_sockets";
/// Gauge: subscribers registered in the hub (one per followed smelt per connection).
pub const SUBSCRIPTIONS: &str = "smelt_subscriptions";
/// Gauge: channels (smelts) with at least one subscriber.
pub const CHANNELS: &str = "smelt_channels";
/// Counter: event frames written to clients, by `transport`.
pub const EVENTS_DELIVERED: &str = "smelt_events_delivered_total";
/// Histogram: seconds from the worker's append of an event (just before its commit) to the
/// write of its frame to a client, for events delivered live.
pub const DELIVERY_LATENCY: &str = "smelt_delivery_latency_seconds";
/// Counter: subscribers dropped because their queue overflowed (closed with 4000).
pub const SLOW_CONSUMER_DISCONNECTS: &str = "smelt_slow_consumer_disconnects_total";
/// Gauge: messages in a queue, by `queue` (`smelt_jobs`, `smelt_jobs_dlq`).
pub const QUEUE_DEPTH: &str = "smelt_queue_depth";
/// Gauge: age in seconds of the oldest message in a queue, by `queue`.
pub const QUEUE_OLDEST_AGE: &str = "smelt_queue_oldest_message_age_seconds";
/// Histogram: seconds a smelt spent in a stage, by `stage`.
pub const STAGE_DURATION: &str = "smelt_stage_duration_seconds";
/// Counter: smelts that reached a final status, by `status` and `error_code` (empty when
/// completed).
pub const SMELTS_FINISHED: &str = "smelt_smelts_finished_total";
/// Counter: creations refused for lack of credits, by `account` (`anonymous`, `user`).
pub const CREDIT_REFUSALS: &str = "smelt_credit_refusals_total";
/// Counter: requests refused by a rate limit, by `limit` (`create`, `login`, `socket`).
pub const RATE_LIMITED: &str = "smelt_rate_limited_total";
/// Counter: bytes of audio uploads stored.
pub const UPLOAD_BYTES: &str = "smelt_upload_bytes_total";

/// Buckets of the latency histograms, in seconds (1 ms to 10 s).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Buckets of the stage durations, in seconds (10 ms to 30 min).
const STAGE_BUCKETS: &[f64] = &[
    0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

fn builder() -> PrometheusBuilder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(DELIVERY_LATENCY.into()), LATENCY_BUCKETS)
        .expect("latency buckets are not empty")
        .set_buckets_for_metric(Matcher::Full(STAGE_DURATION.into()), STAGE_BUCKETS)
        .expect("stage buckets are not empty")
}

/// The process-wide recorder, installed on first use (later calls return the same handle,
/// so many applications in one test process share it).
pub fn recorder() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (a test harness); ours then stays empty.
        let _ = ::metrics::set_global_recorder(recorder);
        describe();
        handle
    })
}

/// Installs the recorder with its own HTTP listener serving `/metrics` at `address` (the
/// standalone worker, which has no HTTP server of its own). Errors: the address cannot be
/// bound, or a recorder is already installed.
pub fn serve(address: SocketAddr) -> anyhow::Result<()> {
    builder().with_http_listener(address).install()?;
    describe();
    Ok(())
}

fn describe() {
    describe_gauge!(OPEN_SOCKETS, "WebSocket and SSE connections open");
    describe_gauge!(SUBSCRIPTIONS, "Subscribers registered in the hub");
    describe_gauge!(CHANNELS, "Smelt channels with at least one subscriber");
    describe_counter!(EVENTS_DELIVERED, "Event frames written to clients");
    describe_histogram!(
        DELIVERY_LATENCY,
        Unit::Seconds,
        "From the worker's append of an event to the write of its frame to a client"
    );
    describe_counter!(
        SLOW_CONSUMER_DISCONNECTS,
        "Subscribers dropped because their queue overflowed"
    );
    describe_gauge!(QUEUE_DEPTH, "Messages in the queue");
    describe_gauge!(
        QUEUE_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest queued message"
    );
    describe_histogram!(
        STAGE_DURATION,
        Unit::Seconds,
        "Time a smelt spent in a stage"
    );
    describe_counter!(SMELTS_FINISHED, "Smelts that reached a final status");
    describe_counter!(CREDIT_REFUSALS, "Creations refused for lack of credits");
    describe_counter!(RATE_LIMITED, "Requests refused by a rate limit");
    describe_counter!(UPLOAD_BYTES, Unit::Bytes, "Bytes of audio uploads stored");
}
