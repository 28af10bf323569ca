//! `smelt-server`: the HTTP API and the realtime hub. It runs no pipeline: jobs are processed
//! by `smelt-worker` processes (or use `smelt`, which embeds workers).

use clap::Parser;
use smelt_core::telemetry;
use smelt_server::{Application, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Configuration: flags and environment (a `.env` file counts as environment).
    let _ = dotenvy::dotenv();
    let settings = Settings::parse();
    telemetry::init(&settings.log);

    // Database, migrations, queue and listener, then the socket.
    let app = Application::build(settings).await?;
    tracing::info!(address = %app.address(), "smelt-server listening");

    // Serve until Ctrl-C or SIGTERM.
    app.run_until_stopped(telemetry::shutdown_signal()).await
}
