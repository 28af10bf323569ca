//! Service API keys (`service_key`): made, listed and revoked by their owner; looked up by
//! hash on every request that presents one.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::Scope;

/// A key as its owner sees it in a list (never the key itself).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServiceKeyRow {
    pub key_id: Uuid,
    pub name: String,
    /// `ck_` and the key's next 8 characters.
    pub prefix: String,
    /// Wire spellings of [`Scope`].
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key that may be used now: not revoked, not expired.
#[derive(Debug, Clone)]
pub struct ActiveKey {
    pub key_id: Uuid,
    pub user_id: Uuid,
    pub scopes: Vec<Scope>,
}

/// What a new key is.
#[derive(Debug, Clone)]
pub struct NewServiceKey<'a> {
    pub key_id: Uuid,
    pub user_id: Uuid,
    pub name: &'a str,
    pub prefix: &'a str,
    pub hash: &'a [u8],
    pub scopes: &'a [Scope],
    pub expires_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "key_id, name, prefix, scopes, created_at, expires_at, last_used_at, revoked_at";

/// Stores a new key.
pub async fn insert<'e>(
    db: impl PgExecutor<'e>,
    key: &NewServiceKey<'_>,
) -> Result<ServiceKeyRow, sqlx::Error> {
    let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
    sqlx::query_as(&format!(
        "insert into service_key (key_id, user_id, name, prefix, key_hash, scopes, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7) returning {COLUMNS}"
    ))
    .bind(key.key_id)
    .bind(key.user_id)
    .bind(key.name)
    .bind(key.prefix)
    .bind(key.hash)
    .bind(&scopes)
    .bind(key.expires_at)
    .fetch_one(db)
    .await
}

/// A user's keys, newest first, revoked ones included.
pub async fn list<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
) -> Result<Vec<ServiceKeyRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from service_key where user_id = $1 order by created_at desc, key_id"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// Revokes a user's key (at once: a trigger announces it on `smelt_key_revoked`, and the
/// servers close the sockets it opened). `false` when the user has no such key; revoking a
/// revoked key again is a no-op that returns `true`.
pub async fn revoke<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    key_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let found: Option<Uuid> = sqlx::query_scalar(
        "update service_key set revoked_at = coalesce(revoked_at, now()) \
         where user_id = $1 and key_id = $2 returning key_id",
    )
    .bind(user_id)
    .bind(key_id)
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}

/// The usable key with this hash, marking it used. `None` when no key has the hash or it is
/// revoked or expired. `last_used_at` is written at most once a minute per key, so a busy key
/// does not turn every request into a write.
pub async fn use_by_hash<'e>(
    db: impl PgExecutor<'e>,
    hash: &[u8],
) -> Result<Option<ActiveKey>, sqlx::Error> {
    let row: Option<(Uuid, Uuid, Vec<String>)> = sqlx::query_as(
        "with found as ( \
             select key_id, user_id, scopes from service_key \
             where key_hash = $1 and revoked_at is null \
               and (expires_at is null or expires_at > now())), \
         touched as ( \
             update service_key k set last_used_at = now() from found \
             where k.key_id = found.key_id \
               and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute')) \
         select key_id, user_id, scopes from found",
    )
    .bind(hash)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(key_id, user_id, scopes)| ActiveKey {
        key_id,
        user_id,
        // The schema's CHECK admits only known scopes.
        scopes: scopes.iter().filter_map(|s| s.parse().ok()).collect(),
    }))
}

/// True while the key may be used (not revoked, not expired).
pub async fn is_active<'e>(db: impl PgExecutor<'e>, key_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select exists (select 1 from service_key where key_id = $1 and revoked_at is null \
         and (expires_at is null or expires_at > now()))",
    )
    .bind(key_id)
    .fetch_one(db)
    .await
}
