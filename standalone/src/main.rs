//! `smelt`: the whole service in one process — the HTTP API, the realtime hub and
//! `SMELT_EMBEDDED_WORKERS` pipeline workers.

use clap::Parser;
use smelt::Settings;
use smelt_core::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Configuration: flags and environment (a `.env` file counts as environment).
    let _ = dotenvy::dotenv();
    let settings = Settings::parse();
    telemetry::init(&settings.server.log);

    // Database, migrations, queue and listeners, the workers, then the socket.
    let app = smelt::build(settings).await?;
    tracing::info!(address = %app.address(), "smelt listening");

    // Serve until Ctrl-C or SIGTERM; the workers stop with the server.
    app.run_until_stopped(telemetry::shutdown_signal()).await
}
