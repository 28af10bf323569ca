use clap::Args;

/// Recordings given by link (`url` in `POST /api/smelts`): which hosts the links may name
/// beyond the public internet (see [`crate::outbound`]).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Recordings by link")]
pub struct IngestSettings {
    /// Comma-separated hosts (names, addresses, or `*.example.lan` wildcards) that recording
    /// links may name even though they are plain `http`, use another port or resolve to
    /// loopback, private or link-local addresses (a media server on the LAN). Every other
    /// link must be `https` to a public address. The server checks links when a smelt is
    /// created, the worker again when it downloads them.
    #[arg(long, env = "SMELT_INGEST_ALLOWED_HOSTS", value_delimiter = ',')]
    pub ingest_allowed_hosts: Vec<String>,
}
