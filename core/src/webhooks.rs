//! Completion webhooks: when a smelt completes, fails or is cancelled, its owner's webhooks
//! each get the terminal event, POSTed and signed as the Standard Webhooks specification
//! (<https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>)
//! describes:
//!
//! - `webhook-id`: the delivery's id, the same on every attempt (the receiver's idempotency
//!   key);
//! - `webhook-timestamp`: when the attempt was signed, Unix seconds;
//! - `webhook-signature`: `v1,` and the base64 HMAC-SHA-256 of `{id}.{timestamp}.{body}` under
//!   the webhook's secret (`whsec_` + base64 of the key bytes).
//!
//! The body is thin, as the Standard Webhooks specification recommends: what happened and
//! where to read it, never the transcript or notes — a key that may only manage webhooks must
//! not read content through them (reading takes `smelts:read`). See [`DeliveryBody`].
//!
//! Deliveries are queued by the lifecycle in the transaction that appends the terminal event
//! (so none is lost), one message each on the [`WebhookQueue`]. The [`Dispatcher`] reads them
//! through it, with a visibility timeout, as workers read jobs: a receiver that answers 2xx ends the
//! delivery; any other answer, a timeout or an unreachable address makes the message visible
//! again after an exponentially growing delay (with jitter, up to an hour), until the delivery
//! is older than the give-up window (a day by default). A dispatcher that dies mid-attempt
//! leaves the message to reappear when its visibility timeout ends. Every attempt is recorded
//! in `webhook_delivery`, which owners read as the delivery log.
//!
//! Receivers are user-chosen URLs, so every attempt goes through the [`OutboundGuard`].

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::crypto::{self, SecretBox};
use crate::db::webhooks::{self as store, Attempt};
use crate::domain::{ErrorCode, SmeltStatus};
use crate::metrics::WEBHOOK_ATTEMPTS;
use crate::outbound::{self, OutboundGuard};
use crate::queue::WebhookQueue;
use crate::settings::WebhookSettings;

/// What each secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";

/// Random bytes in a signing secret.
const SECRET_BYTES: usize = 24;

/// Deliveries attempted at the same time by one dispatcher.
pub const CONCURRENCY: i32 = 16;

/// Attempts of one user's deliveries running at the same time in one dispatcher.
pub const PER_USER_IN_FLIGHT: usize = 2;

/// Longest wait between two attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);

/// How long the dispatcher waits for an insert notification before it reads anyway (retries
/// become visible without one).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Longest error text kept in the delivery log, in characters.
const MAX_ERROR_CHARS: usize = 300;

/// A new random signing secret: `whsec_` and the base64 of 24 random bytes.
pub fn new_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; SECRET_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The headers of one signed attempt: (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`). Errors: a secret that is not `whsec_` + base64.
pub fn sign(
    secret: &str,
    delivery_id: Uuid,
    timestamp: i64,
    body: &[u8],
) -> Result<[(&'static str, String); 3], standardwebhooks::WebhookError> {
    let signer = standardwebhooks::Webhook::new(secret)?;
    let id = delivery_id.to_string();
    let signature = signer.sign(&id, timestamp, body)?;
    Ok([
        (standardwebhooks::HEADER_WEBHOOK_ID, id),
        (
            standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
            timestamp.to_string(),
        ),
        (standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature),
    ])
}

/// The JSON body of a delivery (Standard Webhooks' `type` / `timestamp` / `data` shape):
///
/// ```json
/// {"type": "smelt.completed", "timestamp": "2026-12-05T10:00:00.123Z",
///  "data": {"smelt_id": "…", "status": "completed", "error_code": null, "seq": 42,
///           "links": {"smelt": "/api/smelts/…", "transcript": "/api/smelts/…/transcript",
///                     "events": "/api/smelts/…/events"}}}
/// ```
///
/// `type` is `smelt.completed`, `smelt.failed` or `smelt.cancelled`; `error_code` is set for
/// the last two; `seq` is the terminal event's; `links` are paths on the Smelt server, read
/// with a token that may read the smelt.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DeliveryBody {
    /// `smelt.completed`, `smelt.failed` or `smelt.cancelled` (serialised as `type`).
    #[serde(rename = "type")]
    pub kind: String,
    /// When the smelt ended (RFC 3339, UTC).
    pub timestamp: chrono::DateTime<Utc>,
    /// What ended and where to read it.
    pub data: DeliveryData,
}

/// The `data` of a [`DeliveryBody`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DeliveryData {
    /// The smelt that ended.
    pub smelt_id: Uuid,
    /// Its terminal status.
    pub status: SmeltStatus,
    /// Why it failed or `cancelled`; `None` when it completed.
    pub error_code: Option<ErrorCode>,
    /// The seq of its terminal event (a requeued smelt ends again with a higher one).
    pub seq: i64,
    /// Where to read the rest.
    pub links: DeliveryLinks,
}

/// Where to read the rest of a smelt, as paths on the Smelt server.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DeliveryLinks {
    /// `GET` it: status, files, results.
    pub smelt: String,
    /// Its transcript (`?format=` `txt`, `srt`, `vtt`, `json`).
    pub transcript: String,
    /// Its events (SSE; `?after_seq=` to replay).
    pub events: String,
}

impl DeliveryBody {
    /// The body announcing that `smelt_id` ended with `status` (a terminal one) as event
    /// `seq`.
    pub fn new(
        smelt_id: Uuid,
        status: SmeltStatus,
        error_code: Option<ErrorCode>,
        seq: i64,
        at: chrono::DateTime<Utc>,
    ) -> Self {
        let smelt = format!("/api/smelts/{smelt_id}");
        DeliveryBody {
            kind: format!("smelt.{}", status.as_str()),
            timestamp: at,
            data: DeliveryData {
                smelt_id,
                status,
                error_code,
                seq,
                links: DeliveryLinks {
                    transcript: format!("{smelt}/transcript"),
                    events: format!("{smelt}/events"),
                    smelt,
                },
            },
        }
    }
}

/// Delivers queued webhook deliveries until stopped.
pub struct Dispatcher {
    pool: PgPool,
    queue: WebhookQueue,
    secret_box: SecretBox,
    guard: OutboundGuard,
    client: reqwest::Client,
    retry_base: Duration,
    give_up_after: chrono::Duration,
    visibility_secs: i32,
    users_in_flight: Arc<UsersInFlight>,
}

/// Attempts in flight per user, bounded by [`PER_USER_IN_FLIGHT`].
#[derive(Default)]
struct UsersInFlight(std::sync::Mutex<std::collections::HashMap<Uuid, usize>>);

/// One attempt counted against its user; uncounted when dropped.
struct UserSlot<'a> {
    table: &'a UsersInFlight,
    user_id: Uuid,
}

impl UsersInFlight {
    fn admit(&self, user_id: Uuid) -> Option<UserSlot<'_>> {
        let mut counts = self.0.lock().expect("never poisoned");
        let running = counts.entry(user_id).or_insert(0);
        if *running >= PER_USER_IN_FLIGHT {
            return None;
        }
        *running += 1;
        Some(UserSlot {
            table: self,
            user_id,
        })
    }
}

impl Drop for UserSlot<'_> {
    fn drop(&mut self) {
        let mut counts = self.table.0.lock().expect("never poisoned");
        if let Some(running) = counts.get_mut(&self.user_id) {
            *running -= 1;
            if *running == 0 {
                counts.remove(&self.user_id);
            }
        }
    }
}

impl Dispatcher {
    /// A dispatcher with the webhook settings (`SMELT_WEBHOOK_*`), sealing key and guard.
    pub async fn new(
        pool: PgPool,
        settings: &WebhookSettings,
        secret_box: SecretBox,
        guard: &OutboundGuard,
    ) -> Self {
        let timeout = Duration::from_secs(settings.webhook_timeout_secs.max(1));
        Dispatcher {
            queue: WebhookQueue::new(pool.clone()).await,
            pool,
            secret_box,
            client: guard.client(timeout),
            guard: guard.clone(),
            retry_base: Duration::from_millis(settings.webhook_retry_base_ms.max(1)),
            give_up_after: chrono::Duration::seconds(settings.webhook_give_up_secs as i64),
            // An attempt takes at most `timeout`; the margin covers recording it.
            visibility_secs: (timeout.as_secs() + 30) as i32,
            users_in_flight: Arc::default(),
        }
    }

    /// Reads and attempts deliveries until `stop` is cancelled, waking at each new delivery
    /// (`wake_ups`, fed by the server's LISTEN connection), when an attempt ends, or after
    /// [`IDLE_POLL`] (retries become visible without a notification). Attempts run side by
    /// side, each bounded by its timeout, so a slow receiver holds only its own slot; at most
    /// [`CONCURRENCY`] run at once, and at most [`PER_USER_IN_FLIGHT`] of one user's, so one
    /// user's tarpits cannot take every slot. Database errors are logged and retried after a
    /// pause; they never end the loop.
    pub async fn run(self: Arc<Self>, mut wake_ups: watch::Receiver<u64>, stop: CancellationToken) {
        let mut in_flight = tokio::task::JoinSet::new();
        while !stop.is_cancelled() {
            wake_ups.mark_unchanged();
            let free = CONCURRENCY - in_flight.len() as i32;
            if free > 0 {
                match self.queue.read(self.visibility_secs, free).await {
                    Ok(messages) if !messages.is_empty() => {
                        for m in messages {
                            let me = self.clone();
                            in_flight.spawn(async move {
                                me.attempt(m.msg_id, m.message.delivery_id).await
                            });
                        }
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not read webhook deliveries"),
                }
            }
            // Nothing to start: wait for a new delivery, a free slot, a retry coming due, or
            // stop.
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = wake_ups.changed() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
            }
        }
        // Unfinished attempts are abandoned: their messages reappear after the visibility
        // timeout.
        in_flight.shutdown().await;
    }

    /// One attempt of one delivery, recorded; the message is archived when the delivery
    /// ends and made visible again after the backoff delay otherwise.
    async fn attempt(&self, msg_id: i64, delivery_id: Uuid) {
        if let Err(e) = self.try_attempt(msg_id, delivery_id).await {
            // The message reappears when its visibility timeout ends.
            tracing::warn!(%delivery_id, error = %e, "webhook attempt not recorded");
        }
    }

    async fn try_attempt(&self, msg_id: i64, delivery_id: Uuid) -> anyhow::Result<()> {
        let Some(delivery) = store::pending(&self.pool, delivery_id).await? else {
            // Delivered, given up, or its webhook was removed.
            self.queue.archive(msg_id).await?;
            return Ok(());
        };
        let Some(_slot) = self.users_in_flight.admit(delivery.user_id) else {
            // This user's other attempts hold their share: try again shortly, without
            // counting an attempt.
            self.queue.hide_for(msg_id, 1).await?;
            return Ok(());
        };
        let outcome = self.post(&delivery).await;
        // One draw of the jittered delay decides both whether to give up and when to retry.
        let delay = self.retry_delay(delivery.attempts);
        let attempt = match outcome {
            Ok(status_code) => Attempt::Delivered { status_code },
            Err((status_code, error)) => {
                let next = Utc::now() + chrono::Duration::from_std(delay)?;
                Attempt::Failed {
                    status_code,
                    error,
                    give_up: next - delivery.created_at > self.give_up_after,
                }
            }
        };
        match attempt {
            Attempt::Delivered { .. } | Attempt::Failed { give_up: true, .. } => {
                // The delivery's end and its message's acknowledgement commit together: whoever
                // sees it delivered (or given up) finds nothing left to retry.
                let mut tx = self.pool.begin().await?;
                store::record_attempt(&mut *tx, delivery_id, &attempt).await?;
                self.queue.archive_in(&mut tx, msg_id).await?;
                tx.commit().await?;
                if let Attempt::Delivered { .. } = attempt {
                    metrics::counter!(WEBHOOK_ATTEMPTS, "outcome" => "delivered").increment(1);
                } else {
                    metrics::counter!(WEBHOOK_ATTEMPTS, "outcome" => "given_up").increment(1);
                    tracing::warn!(%delivery_id, "webhook delivery given up");
                }
            }
            Attempt::Failed { .. } => {
                store::record_attempt(&self.pool, delivery_id, &attempt).await?;
                metrics::counter!(WEBHOOK_ATTEMPTS, "outcome" => "retried").increment(1);
                // pgmq's visibility timeout has a resolution of seconds.
                let secs = delay.as_secs_f64().ceil().max(1.0) as i32;
                self.queue.hide_for(msg_id, secs).await?;
            }
        }
        Ok(())
    }

    /// The wait after the `attempts_before + 1`-th attempt failed: the base delay doubling
    /// with each attempt, with jitter, at most an hour.
    fn retry_delay(&self, attempts_before: i32) -> Duration {
        ExponentialBuilder::default()
            .with_min_delay(self.retry_base)
            .with_max_delay(MAX_RETRY_DELAY)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
            .nth(attempts_before.max(0) as usize)
            .unwrap_or(MAX_RETRY_DELAY)
    }

    /// POSTs the signed body. `Ok(status)` for a 2xx answer; otherwise the status (if any)
    /// and what went wrong, in words that never say whether a refused address was reachable.
    async fn post(&self, delivery: &store::PendingDelivery) -> Result<u16, (Option<u16>, String)> {
        let secret = self
            .secret_box
            .open_bound(
                &delivery.secret_cipher,
                &delivery.secret_nonce,
                if delivery.secret_bound {
                    delivery.webhook_id.as_bytes()
                } else {
                    b""
                },
            )
            .map_err(|_| (None, "the signing secret cannot be read".to_owned()))?;
        let body = serde_json::to_vec(&delivery.body)
            .map_err(|e| (None, format!("the body cannot be encoded: {e}")))?;
        let headers = sign(&secret, delivery.delivery_id, Utc::now().timestamp(), &body)
            .map_err(|_| (None, "the signing secret is malformed".to_owned()))?;
        let not_allowed = || (None, "the URL is not allowed".to_owned());
        // IP literals never reach the client's resolver, so the URL itself is checked too.
        self.guard
            .check_url(&delivery.url)
            .map_err(|_| not_allowed())?;
        let mut request = self
            .client
            .post(&delivery.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, "Smelt-Webhooks/1");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.body(body).send().await {
            Ok(answer) if answer.status().is_success() => Ok(answer.status().as_u16()),
            Ok(answer) => Err((
                Some(answer.status().as_u16()),
                format!("the receiver answered {}", answer.status()),
            )),
            Err(e) if outbound::is_refusal(&e) => Err(not_allowed()),
            Err(e) if e.is_timeout() => Err((None, "the receiver did not answer in time".into())),
            Err(e) => Err((
                None,
                truncate(&format!("the receiver could not be reached: {e}")),
            )),
        }
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// The key bytes of a `whsec_` secret are what the HMAC uses; exposed for receivers written
/// in Rust (and tests) that check signatures without the `standardwebhooks` crate.
pub fn secret_key_bytes(secret: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX)?)
        .ok()
}

/// Checks a `webhook-signature` header value (`v1,<base64>`, several separated by spaces)
/// against the id, timestamp and body, as a receiver does.
pub fn verify(secret: &str, id: &str, timestamp: i64, body: &[u8], signatures: &str) -> bool {
    use base64::Engine;
    let Some(key) = secret_key_bytes(secret) else {
        return false;
    };
    let signed = [
        id.as_bytes(),
        b".",
        timestamp.to_string().as_bytes(),
        b".",
        body,
    ]
    .concat();
    signatures.split(' ').any(|candidate| {
        candidate
            .strip_prefix("v1,")
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .is_some_and(|sig| crypto::hmac_verify(&key, &signed, &sig))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_secret_and_nothing_else() {
        let secret = new_secret();
        let id = Uuid::new_v4();
        let body = br#"{"event":"completed"}"#;
        let headers = sign(&secret, id, 1_700_000_000, body).unwrap();
        let signature = &headers[2].1;
        assert!(signature.starts_with("v1,"));
        assert!(verify(
            &secret,
            &id.to_string(),
            1_700_000_000,
            body,
            signature
        ));
        assert!(!verify(
            &secret,
            &id.to_string(),
            1_700_000_001,
            body,
            signature
        ));
        assert!(!verify(
            &new_secret(),
            &id.to_string(),
            1_700_000_000,
            body,
            signature
        ));
        assert!(!verify(
            &secret,
            &id.to_string(),
            1_700_000_000,
            b"{}",
            signature
        ));
    }
}
