//! End-to-end tests: each test starts a real server (with its embedded worker when it needs
//! one) on a fresh Postgres database, and talks to it over HTTP and WebSocket.

mod accounts;
mod api_reference;
mod audio;
#[path = "../../../worker/tests/audio_support/mod.rs"]
#[allow(dead_code)]
mod audio_support;
mod bad_audio;
mod binaries;
mod cors;
mod create_validation;
mod credits;
mod delivery;
mod hardening;
mod health;
mod helpers;
mod hosted;
mod lanes;
mod languages;
mod lifecycle;
mod logs;
mod long_speech;
mod metrics;
mod multiplex;
mod object_store;
mod openai_compat;
mod openapi;
mod pipeline;
mod processes;
mod prompts;
mod provider_stub;
mod read;
mod realtime;
mod retention;
mod scope;
mod service_keys;
mod source_rules;
mod speech;
mod storage;
mod text;
mod transcripts;
mod url_ingest;
mod waiting;
mod webhooks;
