use clap::Args;

/// Where the database is.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Database")]
pub struct DatabaseSettings {
    /// Postgres connection URL. The database is created if it does not exist.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/smelt"
    )]
    pub database_url: String,

    /// Maximum connections in the shared pool (per process).
    #[arg(long, env = "SMELT_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,
}
