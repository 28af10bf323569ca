//! Database access: bootstrap (create the database, run migrations, install pgmq) and every
//! SQL statement of the project, one module per table family. No code outside this module
//! runs a query, and no SQL outside it (and `migrations/`) names a smelt status; a test scans
//! the source tree for both.

pub mod credits;
pub mod dead_letters;
pub mod events;
pub mod health;
pub mod prompts;
pub mod queues;
pub mod quotas;
pub mod retention;
pub mod secrets;
pub mod service_keys;
pub mod smelts;
pub mod transcripts;
pub(crate) mod transitions;
pub mod uploads;
pub mod users;
pub mod webhooks;
pub mod workers;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// Failure to reach or prepare the database at start-up.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("invalid DATABASE_URL: {0}")]
    InvalidUrl(sqlx::Error),
    #[error("cannot reach Postgres: {0}")]
    Connect(sqlx::Error),
    #[error("cannot create database {name}: {source}")]
    CreateDatabase { name: String, source: sqlx::Error },
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("queue setup failed: {0}")]
    Queue(#[from] crate::queue::QueueError),
}

/// Embedded SQL migrations from `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Connection options parsed from a URL.
pub fn connect_options(url: &str) -> Result<PgConnectOptions, BootstrapError> {
    PgConnectOptions::from_str(url)
        .map(|o| o.log_statements(tracing::log::LevelFilter::Trace))
        .map_err(BootstrapError::InvalidUrl)
}

/// Creates the database named in `options` when it does not exist yet (connecting to the
/// `postgres` maintenance database to do so). Safe when several processes race to create it.
pub async fn create_database_if_missing(options: &PgConnectOptions) -> Result<(), BootstrapError> {
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let mut admin = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .map_err(BootstrapError::Connect)?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .map_err(BootstrapError::Connect)?;
    if !exists {
        let sql = format!("create database \"{}\"", name.replace('"', "\"\""));
        match sqlx::query(&sql).execute(&mut admin).await {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // 42P04 duplicate_database: another process created it first.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(source) => return Err(BootstrapError::CreateDatabase { name, source }),
        }
    }
    let _ = admin.close().await;
    Ok(())
}

/// Everything a process needs before serving: the database exists, migrations and pgmq's SQL
/// are applied, the job queue exists. Returns the shared pool.
pub async fn bootstrap(url: &str, pool_size: u32) -> Result<PgPool, BootstrapError> {
    let options = connect_options(url)?;
    create_database_if_missing(&options).await?;
    let pool = PgPoolOptions::new()
        .max_connections(pool_size)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(BootstrapError::Connect)?;
    MIGRATOR.run(&pool).await?;
    crate::queue::install(&pool).await?;
    Ok(pool)
}
