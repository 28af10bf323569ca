//! Settings in sections, one struct per concern. Each binary composes the sections it reads
//! into its own settings struct (`#[command(flatten)]`), so its `--help` lists exactly its
//! settings:
//!
//! | section | read by |
//! | --- | --- |
//! | [`DatabaseSettings`], [`StorageSettings`], [`SecretSettings`], [`LogSettings`] | every binary |
//! | [`SigningSettings`] | server, admin |
//! | [`HttpSettings`], [`RealtimeSettings`], [`RateLimitSettings`], [`WebhookSettings`] | server |
//! | [`LimitSettings`] | server, worker, admin |
//! | [`ProviderSettings`], [`IngestSettings`] | server, worker |
//! | [`WorkerSettings`], [`WhisperSettings`], [`HostedSettings`] | worker |
//! | [`RetentionSettings`] | worker, admin |
//!
//! Every field is a command-line flag and an environment variable (a `.env` file is read by
//! the binaries first). Defaults are safe for a development machine that has only Postgres.
//! Closed sets of values ([`Environment`], [`BlobStoreKind`], [`LogFormat`]) are enums: an
//! unknown value stops the binary at start-up with a message naming the accepted ones.

mod database;
mod http;
mod ingest;
mod limits;
mod log;
mod provider;
mod retention;
mod secrets;
mod storage;
mod webhooks;
mod worker;

pub use database::DatabaseSettings;
pub use http::{HttpSettings, RealtimeSettings};
pub use ingest::IngestSettings;
pub use limits::{LimitSettings, RateLimitSettings};
pub use log::{LogFormat, LogSettings};
pub use provider::{HostedSettings, ProviderSettings};
pub use retention::RetentionSettings;
pub use secrets::{Environment, SecretSettings, SigningSettings};
pub use storage::{BlobStoreKind, StorageSettings};
pub use webhooks::WebhookSettings;
pub use worker::{default_models_dir, WhisperSettings, WorkerSettings};
