//! What the retention cleanup ([`crate::retention`]) reads and deletes.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// Takes the session-level advisory lock `key` on `conn` if nobody holds it; `false` when
/// another session does.
pub async fn try_lock(conn: &mut PgConnection, key: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(conn)
        .await
}

/// Releases the advisory lock `key` held by `conn`'s session.
pub async fn unlock(conn: &mut PgConnection, key: i64) -> Result<(), sqlx::Error> {
    sqlx::query("select pg_advisory_unlock($1)")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// A finished anonymous smelt past its retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiredSmelt {
    pub smelt_id: Uuid,
    pub created_at: DateTime<Utc>,
    /// Its stored events.
    pub events: i64,
}

/// Up to `limit` finished (completed, failed or cancelled) anonymous smelts created before
/// `cutoff`, after `after` in (creation time, id) order: keyset pagination, so a dry run that
/// deletes nothing still moves on.
pub async fn expired_anonymous<'e>(
    db: impl PgExecutor<'e>,
    cutoff: DateTime<Utc>,
    after: (DateTime<Utc>, Uuid),
    limit: i64,
) -> Result<Vec<ExpiredSmelt>, sqlx::Error> {
    let rows: Vec<(Uuid, DateTime<Utc>, i64)> = sqlx::query_as(
        "select s.smelt_id, s.created_at,
                (select count(*) from smelt_event e where e.smelt_id = s.smelt_id)
         from smelt s
         where s.user_id is null and s.status in ('completed', 'failed', 'cancelled')
           and s.created_at < $1 and (s.created_at, s.smelt_id) > ($2, $3)
         order by s.created_at, s.smelt_id
         limit $4",
    )
    .bind(cutoff)
    .bind(after.0)
    .bind(after.1)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(smelt_id, created_at, events)| ExpiredSmelt {
            smelt_id,
            created_at,
            events,
        })
        .collect())
}

/// Deletes an anonymous smelt's rows (files, results, segments and events cascade).
pub async fn delete_anonymous<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from smelt where smelt_id = $1 and user_id is null")
        .bind(smelt_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Up to `limit` finished smelts, after `after` in id order, that ended before `cutoff` and
/// still store uploads, with how many. A dead-lettered smelt keeps its audio for a requeue
/// until its letter goes.
pub async fn expired_uploads<'e>(
    db: impl PgExecutor<'e>,
    cutoff: DateTime<Utc>,
    after: Uuid,
    limit: i64,
) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select s.smelt_id, count(*)
         from smelt_file f join smelt s using (smelt_id)
         where f.storage_key is not null and s.status in ('completed', 'failed', 'cancelled')
           and s.completed_at < $1 and s.smelt_id > $2
           and not exists (select 1 from pgmq.q_smelt_jobs_dlq d
                           where d.message ->> 'smelt_id' = s.smelt_id::text)
         group by s.smelt_id
         order by s.smelt_id
         limit $3",
    )
    .bind(cutoff)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await
}
