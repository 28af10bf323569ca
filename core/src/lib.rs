//! Smelt's shared core: what the HTTP server and the worker both need.
//!
//! - [`settings`]: the one configuration struct (flags and environment variables).
//! - [`domain`]: parsed domain types (status, mode, prompt names, error codes, stages).
//! - [`dto`]: the JSON shapes of `spec/smelts-api.md` §3/§5.
//! - [`events`]: the realtime event model and its wire encoding.
//! - [`db`]: connection, migrations and the SQL queries.
//! - [`queue`]: the pgmq job queue.
//! - [`blob`]: where uploaded audio lives.
//! - [`tokens`]: HS256 access tokens and per-smelt subscription tokens.
//! - [`credits`], [`clock`], [`crypto`]: credit rules, injectable time, secrets at rest.

pub mod blob;
pub mod clock;
pub mod credits;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod dto;
pub mod events;
pub mod queue;
pub mod secrets;
pub mod settings;
pub mod tokens;
