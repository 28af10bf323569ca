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
/// Counter: requests refused by a rate limit, by `limit` (one of [`RATE_LIMITS`]).
pub const RATE_LIMITED: &str = "smelt_rate_limited_total";
/// The `limit` labels of [`RATE_LIMITED`].
pub const RATE_LIMITS: [&str; 5] = ["create", "login", "socket", "service_key", "uploads"];
/// Counter: bytes of audio uploads stored.
pub const UPLOAD_BYTES: &str = "smelt_upload_bytes_total";
/// Counter: connections closed at once because their address already held its share.
pub const CONNECTIONS_REFUSED: &str = "smelt_connections_refused_total";
/// Gauge: keys (addresses, users) the rate limiters remember, by `limit` (one of
/// [`RATE_LIMITERS`]).
pub const RATE_LIMITER_KEYS: &str = "smelt_rate_limiter_keys";
/// The `limit` labels of [`RATE_LIMITER_KEYS`].
pub const RATE_LIMITERS: [&str; 5] = [
    "create_by_address",
    "create_by_user",
    "login",
    "socket",
    "service_key",
];

/// Counter: jobs put in the queue (one per smelt created).
pub const JOBS_ENQUEUED: &str = "smelt_jobs_enqueued_total";
/// Counter: deliveries of jobs to workers (redeliveries included).
pub const JOBS_CLAIMED: &str = "smelt_jobs_claimed_total";
/// Counter: deliveries that failed transiently and were scheduled again.
pub const JOBS_RETRIED: &str = "smelt_jobs_retried_total";
/// Counter: jobs moved to the dead-letter queue after their last delivery failed.
pub const JOBS_DEAD_LETTERED: &str = "smelt_jobs_dead_lettered_total";
/// Histogram: seconds from a smelt's creation to its end (completed, failed or cancelled),
/// by `status`.
pub const SMELT_DURATION: &str = "smelt_smelt_duration_seconds";
/// Counter: calls to hosted providers by `outcome` (`ok`, `key_invalid`, `rate_limited`,
/// `quota_exhausted`, `unavailable`, `failed`), retries included.
pub const PROVIDER_CALLS: &str = "smelt_provider_calls_total";
/// Counter: what the retention cleanup deleted, by `kind` (`anonymous_smelt`, `upload`,
/// `archived_message`, `webhook_delivery`).
pub const CLEANUP_DELETIONS: &str = "smelt_cleanup_deletions_total";
/// Gauge: 1 when the server can serve (database and LISTEN connection up), read at scrape
/// time; 0 otherwise.
pub const READY: &str = "smelt_ready";
/// Counter: webhook delivery attempts by `outcome` (`delivered`, `retried`, `given_up`).
pub const WEBHOOK_ATTEMPTS: &str = "smelt_webhook_attempts_total";

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
        .set_buckets_for_metric(Matcher::Full(SMELT_DURATION.into()), STAGE_BUCKETS)
        .expect("duration buckets are not empty")
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
        register_series();
        handle
    })
}

/// Installs the recorder with its own HTTP listener serving `/metrics` at `address` (the
/// standalone worker, which has no HTTP server of its own). Errors: the address cannot be
/// bound, or a recorder is already installed.
pub fn serve(address: SocketAddr) -> anyhow::Result<()> {
    builder().with_http_listener(address).install()?;
    describe();
    register_series();
    Ok(())
}

/// Creates every series with the label values known in advance, at zero, so that the first
/// scrape already shows them all (a series that appears only after its first event breaks
/// `rate()` and alerts on absence).
fn register_series() {
    use crate::domain::{ErrorCode, SmeltStatus};
    for transport in ["ws", "multiplex", "sse"] {
        ::metrics::gauge!(OPEN_SOCKETS, "transport" => transport).set(0.0);
        ::metrics::counter!(EVENTS_DELIVERED, "transport" => transport).absolute(0);
    }
    ::metrics::gauge!(SUBSCRIPTIONS).set(0.0);
    ::metrics::gauge!(CHANNELS).set(0.0);
    let _ = ::metrics::histogram!(DELIVERY_LATENCY);
    ::metrics::counter!(SLOW_CONSUMER_DISCONNECTS).absolute(0);
    let lanes = crate::domain::Lane::ALL.iter().map(|l| l.queue_name());
    for queue in lanes.chain([crate::queue::DEAD_LETTER_QUEUE]) {
        ::metrics::gauge!(QUEUE_DEPTH, "queue" => queue).set(0.0);
        ::metrics::gauge!(QUEUE_OLDEST_AGE, "queue" => queue).set(0.0);
    }
    for stage in [
        SmeltStatus::Validating,
        SmeltStatus::Decoding,
        SmeltStatus::Transcribing,
        SmeltStatus::Synthesizing,
    ] {
        let _ = ::metrics::histogram!(STAGE_DURATION, "stage" => stage.as_str());
    }
    ::metrics::counter!(SMELTS_FINISHED, "status" => "completed", "error_code" => "").absolute(0);
    for code in ErrorCode::ALL {
        let status = if *code == ErrorCode::Cancelled {
            "cancelled"
        } else {
            "failed"
        };
        ::metrics::counter!(SMELTS_FINISHED, "status" => status, "error_code" => code.as_str())
            .absolute(0);
    }
    for status in ["completed", "failed", "cancelled"] {
        let _ = ::metrics::histogram!(SMELT_DURATION, "status" => status);
    }
    for account in ["anonymous", "user"] {
        ::metrics::counter!(CREDIT_REFUSALS, "account" => account).absolute(0);
    }
    for limit in RATE_LIMITS {
        ::metrics::counter!(RATE_LIMITED, "limit" => limit).absolute(0);
    }
    for limit in RATE_LIMITERS {
        ::metrics::gauge!(RATE_LIMITER_KEYS, "limit" => limit).set(0.0);
    }
    ::metrics::counter!(UPLOAD_BYTES).absolute(0);
    ::metrics::counter!(CONNECTIONS_REFUSED).absolute(0);
    for name in [
        JOBS_ENQUEUED,
        JOBS_CLAIMED,
        JOBS_RETRIED,
        JOBS_DEAD_LETTERED,
    ] {
        ::metrics::counter!(name).absolute(0);
    }
    for outcome in [
        "ok",
        "key_invalid",
        "rate_limited",
        "quota_exhausted",
        "unavailable",
        "failed",
    ] {
        ::metrics::counter!(PROVIDER_CALLS, "outcome" => outcome).absolute(0);
    }
    for kind in [
        "anonymous_smelt",
        "upload",
        "archived_message",
        "webhook_delivery",
    ] {
        ::metrics::counter!(CLEANUP_DELETIONS, "kind" => kind).absolute(0);
    }
    ::metrics::gauge!(READY).set(0.0);
    for outcome in ["delivered", "retried", "given_up"] {
        ::metrics::counter!(WEBHOOK_ATTEMPTS, "outcome" => outcome).absolute(0);
    }
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
    describe_counter!(
        CONNECTIONS_REFUSED,
        "Connections closed because their address held its share"
    );
    describe_gauge!(RATE_LIMITER_KEYS, "Keys the rate limiters remember");
    describe_counter!(JOBS_ENQUEUED, "Jobs put in the queue");
    describe_counter!(JOBS_CLAIMED, "Deliveries of jobs to workers");
    describe_counter!(
        JOBS_RETRIED,
        "Deliveries scheduled again after a transient failure"
    );
    describe_counter!(JOBS_DEAD_LETTERED, "Jobs moved to the dead-letter queue");
    describe_histogram!(
        SMELT_DURATION,
        Unit::Seconds,
        "From a smelt's creation to its end"
    );
    describe_counter!(PROVIDER_CALLS, "Calls to hosted providers by outcome");
    describe_counter!(CLEANUP_DELETIONS, "What the retention cleanup deleted");
    describe_gauge!(READY, "1 when the server can serve");
    describe_counter!(WEBHOOK_ATTEMPTS, "Webhook delivery attempts by outcome");
}
