//! End-to-end tests: each test starts a real server (with its embedded worker when it needs
//! one) on a fresh Postgres database, and talks to it over HTTP and WebSocket.

mod accounts;
mod audio;
mod create_validation;
mod credits;
mod delivery;
mod health;
mod helpers;
mod hosted;
mod multiplex;
mod pipeline;
mod processes;
mod prompts;
mod provider_stub;
mod read;
mod realtime;
mod speech;
mod text;
