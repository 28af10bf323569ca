//! Completion webhooks (`webhook`) and their deliveries (`webhook_delivery`). Deliveries are
//! made by the lifecycle in the transaction that ends a smelt, each with a message on the
//! `smelt_webhooks` queue; the dispatcher ([`crate::webhooks`]) records every attempt here.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::DeliveryStatus;
use crate::events::EventKind;

/// A registered webhook, as its owner sees it (never the secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    pub webhook_id: Uuid,
    pub url: String,
    pub created_at: DateTime<Utc>,
}

/// One delivery as the owner's delivery log shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    pub smelt_id: Uuid,
    /// `completed`, `failed` or `cancelled`.
    pub event: EventKind,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// HTTP status of the last answer, if the receiver answered.
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What the dispatcher needs to make one attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingDelivery {
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    /// The webhook's owner.
    pub user_id: Uuid,
    /// True when the secret was sealed bound to the webhook id (every webhook registered
    /// since binding began).
    pub secret_bound: bool,
    pub url: String,
    pub secret_cipher: Vec<u8>,
    pub secret_nonce: Vec<u8>,
    /// The JSON body to send.
    pub body: serde_json::Value,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// The receiver answered 2xx.
    Delivered { status_code: u16 },
    /// It answered otherwise, or could not be reached; `give_up` ends the retries.
    Failed {
        status_code: Option<u16>,
        error: String,
        give_up: bool,
    },
}

/// Registers a webhook with its secret, sealed bound to `webhook_id`.
pub async fn insert<'e>(
    db: impl PgExecutor<'e>,
    webhook_id: Uuid,
    user_id: Uuid,
    url: &str,
    (secret_cipher, secret_nonce): (&[u8], &[u8]),
) -> Result<WebhookRow, sqlx::Error> {
    sqlx::query_as(
        "insert into webhook (webhook_id, user_id, url, secret_cipher, secret_nonce, secret_bound) \
         values ($1, $2, $3, $4, $5, true) returning webhook_id, url, created_at",
    )
    .bind(webhook_id)
    .bind(user_id)
    .bind(url)
    .bind(secret_cipher)
    .bind(secret_nonce)
    .fetch_one(db)
    .await
}

/// A user's webhooks, newest first.
pub async fn list<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
) -> Result<Vec<WebhookRow>, sqlx::Error> {
    sqlx::query_as(
        "select webhook_id, url, created_at from webhook where user_id = $1 \
         order by created_at desc, webhook_id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// How many webhooks a user has.
pub async fn count<'e>(db: impl PgExecutor<'e>, user_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from webhook where user_id = $1")
        .bind(user_id)
        .fetch_one(db)
        .await
}

/// Removes a user's webhook and its delivery log; `false` when the user has no such webhook.
pub async fn delete<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    webhook_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from webhook where user_id = $1 and webhook_id = $2")
        .bind(user_id)
        .bind(webhook_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The last `limit` deliveries of a user's webhook, newest first; `None` when the user has
/// no such webhook.
pub async fn deliveries<'e>(
    db: impl PgExecutor<'e> + Copy,
    user_id: Uuid,
    webhook_id: Uuid,
    limit: i64,
) -> Result<Option<Vec<DeliveryRow>>, sqlx::Error> {
    let owned: bool = sqlx::query_scalar(
        "select exists (select 1 from webhook where user_id = $1 and webhook_id = $2)",
    )
    .bind(user_id)
    .bind(webhook_id)
    .fetch_one(db)
    .await?;
    if !owned {
        return Ok(None);
    }
    sqlx::query_as(
        "select delivery_id, webhook_id, smelt_id, event, status, attempts, last_status_code, \
                last_error, created_at, last_attempt_at, delivered_at \
         from webhook_delivery where webhook_id = $1 \
         order by created_at desc, delivery_id limit $2",
    )
    .bind(webhook_id)
    .bind(limit)
    .fetch_all(db)
    .await
    .map(Some)
}

/// A delivery still to be attempted; `None` when it was delivered, given up, or its webhook
/// was removed.
pub async fn pending<'e>(
    db: impl PgExecutor<'e>,
    delivery_id: Uuid,
) -> Result<Option<PendingDelivery>, sqlx::Error> {
    sqlx::query_as(
        "select d.delivery_id, w.webhook_id, w.user_id, w.secret_bound, w.url, w.secret_cipher, \
                w.secret_nonce, d.body, d.attempts, d.created_at \
         from webhook_delivery d join webhook w using (webhook_id) \
         where d.delivery_id = $1 and d.status = $2",
    )
    .bind(delivery_id)
    .bind(DeliveryStatus::Pending)
    .fetch_optional(db)
    .await
}

/// Records an attempt.
pub async fn record_attempt<'e>(
    db: impl PgExecutor<'e>,
    delivery_id: Uuid,
    attempt: &Attempt,
) -> Result<(), sqlx::Error> {
    let (status, code, error) = match attempt {
        Attempt::Delivered { status_code } => (DeliveryStatus::Delivered, Some(*status_code), None),
        Attempt::Failed {
            status_code,
            error,
            give_up,
        } => (
            if *give_up {
                DeliveryStatus::GivenUp
            } else {
                DeliveryStatus::Pending
            },
            *status_code,
            Some(error.as_str()),
        ),
    };
    sqlx::query(
        "update webhook_delivery set status = $2, attempts = attempts + 1, \
             last_status_code = $3, last_error = $4, last_attempt_at = now(), \
             delivered_at = case when $2 = $5 then now() end \
         where delivery_id = $1",
    )
    .bind(delivery_id)
    .bind(status)
    .bind(code.map(i32::from))
    .bind(error)
    .bind(DeliveryStatus::Delivered)
    .execute(db)
    .await?;
    Ok(())
}

/// Creates a delivery of a smelt's terminal event (`seq`) to each of `owner`'s webhooks (once
/// per webhook and event: a smelt requeued after failing ends again, and that ending is
/// delivered too), inside the caller's transaction; `body` is the JSON sent. Returns the new
/// deliveries' ids, for the caller to queue.
pub async fn create_deliveries<'e>(
    db: impl PgExecutor<'e>,
    owner: Uuid,
    smelt_id: Uuid,
    (event, seq): (EventKind, i64),
    body: &str,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "insert into webhook_delivery (webhook_id, smelt_id, event, seq, body)
         select w.webhook_id, $2, $3, $4, $5::jsonb from webhook w where w.user_id = $1
         on conflict (webhook_id, smelt_id, seq) do nothing
         returning delivery_id",
    )
    .bind(owner)
    .bind(smelt_id)
    .bind(event)
    .bind(seq)
    .bind(body)
    .fetch_all(db)
    .await
}

/// Deletes up to `limit` finished deliveries (delivered or given up) created before `before`;
/// returns how many. `dry_run` only counts them.
pub async fn prune_finished<'e>(
    db: impl PgExecutor<'e>,
    before: DateTime<Utc>,
    dry_run: bool,
) -> Result<u64, sqlx::Error> {
    if dry_run {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from webhook_delivery where status <> $1 and created_at < $2",
        )
        .bind(DeliveryStatus::Pending)
        .bind(before)
        .fetch_one(db)
        .await?;
        return Ok(n as u64);
    }
    let done = sqlx::query("delete from webhook_delivery where status <> $1 and created_at < $2")
        .bind(DeliveryStatus::Pending)
        .bind(before)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
