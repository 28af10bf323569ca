//! Smelt's operator commands, which need the database and the settings but not the speech
//! engine:
//!
//! - `dead-letters list [--json]`: the dead-letter queue, each letter with its smelt,
//!   deliveries and last error;
//! - `dead-letters requeue (<msg-id>… | --all)`: puts jobs back in the queue (the smelt goes
//!   back to `pending`; its credit is taken again only if it was refunded);
//! - `dead-letters purge --older-than-days N`: removes old letters and the audio their smelts
//!   kept for a requeue;
//! - `secrets`: fingerprints of this host's secrets (never the secrets), to check that every
//!   process uses the same ones;
//! - `cleanup [--dry-run]`: one retention cleanup run, reported as JSON (also the
//!   `smelt-cleanup` binary).

pub mod commands;
pub mod settings;

pub use settings::Settings;
