//! Command line of `smelt-loadtest`: one subcommand per load shape.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Load client for Smelt. Targets loopback addresses only: a server or database host that is
/// not loopback is refused before anything is sent.
#[derive(Debug, Parser)]
#[command(name = "smelt-loadtest", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Writes the JSON report to this file instead of standard output.
    #[arg(long, global = true)]
    pub report: Option<PathBuf>,
}

/// The load shapes.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Holds many WebSocket subscribers over many channels and publishes events on them at a
    /// fixed rate: delivery latency from publish to receipt, deliveries per second,
    /// subscriptions per second, server memory per connection. Against Smelt (smelts, events
    /// through the worker's progress sink) or, with the same shape, against nchan.
    Fanout(FanoutArgs),
    /// Posts text smelts to `POST /api/smelts` at a fixed request rate (open loop): latency
    /// from each request's scheduled time, and status codes.
    Create(CreateArgs),
    /// Drains a long queue as fast as one worker loop can while watchers follow the smelts
    /// that wait: each dequeue's latency, events written to the waiting smelts, queue places
    /// pushed.
    Dequeue(crate::dequeue::DequeueArgs),
}

/// The database of the Smelt server under test, where the load client creates the smelts
/// and writes or claims their jobs as the server and a worker would.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// The server's database (`DATABASE_URL`); the host must be loopback or a Unix socket.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/smelt"
    )]
    pub database_url: String,
}

/// The server under test.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Server address, `host:port`; the host must be loopback (`127.0.0.0/8`, `::1`,
    /// `localhost`).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub server: String,
    /// The server's JWT secret (`SMELT_JWT_SECRET`), to sign tokens the server accepts.
    /// Needed by every Smelt load.
    #[arg(long, env = "SMELT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// The server's process id, for its resident memory and CPU time. Found from the process
    /// listening on the server's port when absent. For nginx, its master process: the
    /// workers are found as its children.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

impl ServerArgs {
    /// The JWT secret, required for a Smelt server.
    pub fn jwt_secret(&self) -> anyhow::Result<&str> {
        self.jwt_secret
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("--jwt-secret (or SMELT_JWT_SECRET) is required"))
    }
}

/// The pub/sub server a fan-out run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// Smelt: smelts created in its database, events written through the worker's progress
    /// sink, subscribers on `/api/smelts/{id}/ws`.
    Smelt,
    /// nchan (nginx module), configured as in `loadtest/nchan/nginx.conf.in`: subscribers on
    /// `{nchan-url}/sub/{channel}`, events POSTed to `{nchan-url}/pub/{channel}`.
    Nchan,
}

/// `fanout` options.
#[derive(Debug, Args)]
pub struct FanoutArgs {
    /// The server measured.
    #[arg(long, value_enum, default_value_t = Target::Smelt)]
    pub target: Target,
    #[command(flatten)]
    pub server: ServerArgs,
    /// nchan's base URL, `http://host:port` (loopback only), with its subscriber location at
    /// `/sub/{channel}` and its publisher location at `/pub/{channel}`; with `--target nchan`
    /// it replaces `--server`.
    #[arg(long, required_if_eq("target", "nchan"))]
    pub nchan_url: Option<String>,
    /// Size of each message published to nchan (bytes; at least the seq and send time it
    /// carries). The default is a little more than a Smelt progress frame of a one-file smelt
    /// (~290 bytes), so that nchan does not get the smaller frames.
    #[arg(long, default_value_t = 400)]
    pub nchan_message_bytes: usize,
    /// The server's database (Smelt only).
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// WebSocket subscribers to open and hold.
    #[arg(long, default_value_t = 1_000)]
    pub subscribers: usize,
    /// Channels (smelts) the subscribers are spread over; subscriber `i` follows channel
    /// `i mod channels`.
    #[arg(long, default_value_t = 100)]
    pub channels: usize,
    /// Events published per second, in total, round-robin over the channels. Each event is
    /// delivered to every subscriber of its channel, so deliveries per second are this rate
    /// times the subscribers per channel.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Seconds of publishing.
    #[arg(long, default_value_t = 20)]
    pub duration_secs: u64,
    /// Concurrent event writers (each with its own database or HTTP connection); each owns a
    /// share of the channels and publishes its events in order.
    #[arg(long, default_value_t = 16)]
    pub writers: usize,
    /// Connection attempts in flight while subscribing.
    #[arg(long, default_value_t = 256)]
    pub connect_concurrency: usize,
    /// Client sockets bound to each source address in `127.0.0.0/8` (a source address has
    /// ~28,000 ephemeral ports, and the server limits socket connects per address).
    #[arg(long, default_value_t = 250)]
    pub per_address: usize,
    /// Milliseconds to let the server settle before reading its idle memory.
    #[arg(long, default_value_t = 2_000)]
    pub settle_ms: u64,
    /// Seconds to wait, after the last event is written, for the last deliveries.
    #[arg(long, default_value_t = 10)]
    pub drain_secs: u64,
    /// Also LISTEN on the notification channel from this client, to report the database leg
    /// of the latency (COMMIT → notification) on its own. Smelt only.
    #[arg(long)]
    pub listen_probe: bool,
}

/// How the `create` load is allowed to create smelts under the credit rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Credits {
    /// A few users, each with an own API key saved through `PUT /api/profile/api-key` and
    /// checked against a provider stub this client serves on loopback: unlimited smelts.
    OwnKey,
    /// Fresh users with their five weekly credits each, as many as the run needs.
    Weekly,
}

/// `create` options.
#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Requests per second, scheduled at fixed intervals whatever the responses do.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 30)]
    pub duration_secs: u64,
    /// Seconds of load before the measured part (same rate; not in the percentiles).
    #[arg(long, default_value_t = 3)]
    pub warmup_secs: u64,
    /// How the requests get past the credit rules.
    #[arg(long, value_enum, default_value_t = Credits::OwnKey)]
    pub credits: Credits,
    /// Users with an own key (`--credits own-key`); requests go round-robin over them.
    #[arg(long, default_value_t = 20)]
    pub users: usize,
    /// Source addresses in `127.0.0.0/8` the requests are spread over (the server limits
    /// creations per address).
    #[arg(long, default_value_t = 16)]
    pub addresses: usize,
    /// A file whose text is posted; a built-in meeting excerpt (~1.3 KB) when absent.
    #[arg(long)]
    pub text_file: Option<PathBuf>,
    /// Seconds before a request counts as timed out.
    #[arg(long, default_value_t = 10)]
    pub timeout_secs: u64,
}
