//! Probes of the database for readiness checks.

use sqlx::PgExecutor;

/// Runs the cheapest statement there is: `Ok` when the database answers on `db` (a pool, or
/// a listener's own connection).
pub async fn ping<'e>(db: impl PgExecutor<'e>) -> Result<(), sqlx::Error> {
    sqlx::query("select 1").execute(db).await?;
    Ok(())
}
