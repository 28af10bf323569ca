//! `smelt-loadtest`: load client for Smelt, loopback targets only.
//!
//! - `fanout`: WebSocket subscribers over many channels, events published at a fixed rate;
//!   delivery latency, deliveries and subscriptions per second, server memory per connection.
//!   Against Smelt (smelts, events written through the worker's progress sink) or, with the
//!   same shapes and the same measuring code, against nchan (`--target nchan`).
//! - `create`: `POST /api/smelts` at a fixed rate (open loop); latency and status codes.
//! - `dequeue`: a long queue drained while watchers follow the waiting smelts; dequeue
//!   latency, events written to waiting smelts, queue places pushed.
//!
//! Both print a progress bar on standard error and a JSON report on standard output (or to
//! `--report`). See BENCHMARKS.md for the method and the numbers.

mod accounts;
mod addresses;
mod args;
mod channels;
mod cpu;
mod create;
mod dequeue;
mod driver;
mod fanout;
mod latency;
mod listen_probe;
mod progress;
mod provider;
mod report;
mod rss;
mod subscribers;

use clap::Parser;

use args::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Fanout(args) => report::write(&fanout::run(args).await?, cli.report.as_deref()),
        Command::Create(args) => report::write(&create::run(args).await?, cli.report.as_deref()),
        Command::Dequeue(args) => report::write(&dequeue::run(args).await?, cli.report.as_deref()),
    }
}
