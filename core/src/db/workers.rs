//! `worker_heartbeat`: which workers are alive and how many jobs each runs at once, for the
//! queue's wait estimates (see the `smelt_queue` database function).

use sqlx::PgExecutor;
use uuid::Uuid;

/// Records that a worker with `slots` concurrent jobs, serving the Whisper `models` (names),
/// is alive now, and forgets workers not seen for a day (they stopped without saying so).
pub async fn beat<'e>(
    db: impl PgExecutor<'e>,
    worker_id: Uuid,
    slots: u32,
    models: &[&str],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "with gone as (delete from worker_heartbeat where seen_at < now() - interval '1 day')
         insert into worker_heartbeat (worker_id, slots, models, seen_at)
         values ($1, $2, $3, now())
         on conflict (worker_id) do update
         set slots = excluded.slots, models = excluded.models, seen_at = now()",
    )
    .bind(worker_id)
    .bind(i32::try_from(slots.max(1)).unwrap_or(i32::MAX))
    .bind(models)
    .execute(db)
    .await?;
    Ok(())
}

/// The Whisper models served by the workers alive (seen in the last 30 s), by name.
pub async fn served_models<'e>(db: impl PgExecutor<'e>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select distinct unnest(models) from worker_heartbeat
         where seen_at > now() - interval '30 seconds'",
    )
    .fetch_all(db)
    .await
}

/// Removes a stopping worker.
pub async fn forget<'e>(db: impl PgExecutor<'e>, worker_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("delete from worker_heartbeat where worker_id = $1")
        .bind(worker_id)
        .execute(db)
        .await?;
    Ok(())
}
