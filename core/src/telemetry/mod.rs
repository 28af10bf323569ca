//! Logging and process signals, shared by every binary.
//!
//! Every log line passes through [`Redacting`], which blanks secrets (tokens, keys,
//! passwords, signed URLs) before the line is written, whatever code logged it. Requests get a
//! `request` span (method, path, and the `smelt_id` they concern once known); each job a
//! worker runs gets a `smelt` span, so every line about one smelt can be found by its id.

mod redact;

pub use redact::{redact, Redacting};

use crate::settings::{LogFormat, LogSettings};
use tracing_subscriber::EnvFilter;

/// Installs the global tracing subscriber (text or JSON, filtered by `settings.log`), writing
/// redacted lines to stderr so that commands can keep stdout for their output. Calling it
/// twice is harmless (tests build many applications in one process).
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting::new(std::io::stderr));
    let _ = match settings.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutdown requested");
}
