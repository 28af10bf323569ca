//! End-to-end tests: each test starts a real server (with its embedded worker when it needs
//! one) on a fresh Postgres database, and talks to it over HTTP and WebSocket.

mod audio;
mod create_validation;
mod helpers;
mod read;
mod realtime;
mod speech;
mod text;
