//! Smelt's shared core: what the HTTP server and the worker both need.
//!
//! - [`settings`]: the one configuration struct (flags and environment variables).
//! - [`domain`]: parsed domain types (status, mode, prompt names, error codes, stages).
//! - [`dto`]: the JSON shapes of `docs/api.md`.
//! - [`events`]: the realtime event model and its wire encoding.
//! - [`lifecycle`]: every status change of a smelt, and the progress sink of a running one.
//! - [`limits`]: files, sizes, durations and credits allowed (settings).
//! - [`listener`]: the one LISTEN loop (reconnects, health checks, catch-up) and its routes.
//! - [`media`]: audio containers read without decoding (track, duration).
//! - [`db`]: connection, migrations and the SQL queries.
//! - [`queue`]: the pgmq job queue.
//! - [`blob`]: where uploads and result documents live (local disk or S3), signed downloads.
//! - [`outbound`]: the guard for calls to URLs users chose (SSRF).
//! - [`metrics`]: Prometheus metric names and the process-wide recorder.
//! - [`retention`]: how long things are kept, and the cleanup that enforces it.
//! - [`tokens`]: HS256 access tokens and per-smelt subscription tokens.
//! - [`transcript`]: transcript exports (text, SubRip, WebVTT, JSON).
//! - [`uploads`]: the one way to delete a smelt's raw uploads.
//! - [`credits`], [`clock`], [`crypto`]: credit rules, injectable time, secrets at rest.
//! - [`telemetry`]: logging setup and shutdown signals for the binaries.

pub mod blob;
pub mod clock;
pub mod credits;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod dto;
pub mod events;
pub mod lifecycle;
pub mod limits;
pub mod listener;
pub mod media;
pub mod metrics;
pub mod outbound;
pub mod queue;
pub mod retention;
pub mod secrets;
pub mod service_keys;
pub mod settings;
pub mod telemetry;
pub mod tokens;
pub mod transcript;
pub mod uploads;
pub mod webhooks;
