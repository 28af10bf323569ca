//! `smelt-server`: the HTTP API, the realtime hub and (by default) embedded workers.

use clap::Parser;
use smelt_core::settings::Settings;
use smelt_core::telemetry;
use smelt_server::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Configuration: flags and environment (a `.env` file counts as environment).
    let _ = dotenvy::dotenv();
    let settings = Settings::parse();
    telemetry::init(&settings);

    // Database, migrations, queue and listener, then the socket.
    let app = Application::build(settings).await?;
    tracing::info!(address = %app.address(), "smelt-server listening");

    // Serve until Ctrl-C or SIGTERM.
    app.run_until_stopped(telemetry::shutdown_signal()).await
}
