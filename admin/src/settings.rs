//! The settings of `smelt-admin` (and `smelt-cleanup`): the sections its commands read.

use clap::Args;
use smelt_core::settings::{
    DatabaseSettings, LimitSettings, LogSettings, RetentionSettings, SecretSettings,
    SigningSettings, StorageSettings,
};

/// Everything the operator commands read: the database and the blob store they work on, the
/// secrets they fingerprint, the weekly credits a requeue charges again, and the retention
/// the cleanup enforces.
#[derive(Debug, Clone, Args)]
#[group(id = "smelt-admin")]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub storage: StorageSettings,
    #[command(flatten)]
    pub secrets: SecretSettings,
    #[command(flatten)]
    pub signing: SigningSettings,
    #[command(flatten)]
    pub limits: LimitSettings,
    #[command(flatten)]
    pub retention: RetentionSettings,
    #[command(flatten)]
    pub log: LogSettings,
}
