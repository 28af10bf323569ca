use clap::Args;

/// Users' own OpenAI-compatible providers: where their keys are checked and run, and which
/// private hosts they may name.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Users' providers")]
pub struct ProviderSettings {
    /// Default base URL of the OpenAI-compatible API that users' own keys are checked
    /// against (`GET {base}/models`) and run on when they give none.
    #[arg(
        long,
        env = "SMELT_OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,

    /// Comma-separated hosts (names, addresses, or `*.example.lan` wildcards) whose provider
    /// URLs users may use even though they are plain `http` or resolve to loopback, private
    /// or link-local addresses (a provider on the LAN: Ollama, llama.cpp, vLLM). Every other
    /// user-chosen URL must be `https` to a public address.
    #[arg(long, env = "SMELT_PROVIDER_ALLOWED_HOSTS", value_delimiter = ',')]
    pub provider_allowed_hosts: Vec<String>,
}

/// The hosted engines the worker runs: the operator's provider account, the models, and how
/// provider calls are retried.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Hosted engines")]
pub struct HostedSettings {
    /// API key of an operator-paid OpenAI-compatible provider, used for users without a valid
    /// own key. Unset: the local engines.
    #[arg(long, env = "SMELT_HOSTED_API_KEY", hide_env_values = true)]
    pub hosted_api_key: Option<String>,

    /// Base URL of the operator's provider.
    #[arg(
        long,
        env = "SMELT_HOSTED_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub hosted_base_url: String,

    /// Transcription model on hosted providers.
    #[arg(long, env = "SMELT_TRANSCRIPTION_MODEL", default_value = "whisper-1")]
    pub transcription_model: String,

    /// Chat model on hosted providers.
    #[arg(long, env = "SMELT_CHAT_MODEL", default_value = "gpt-4o-mini")]
    pub chat_model: String,

    /// Attempts per provider call (first try included) for rate limits, 5xx and timeouts.
    #[arg(long, env = "SMELT_PROVIDER_MAX_ATTEMPTS", default_value_t = 4)]
    pub provider_max_attempts: usize,

    /// First provider retry delay in milliseconds (doubled per retry; `Retry-After` wins).
    #[arg(long, env = "SMELT_PROVIDER_RETRY_BASE_MS", default_value_t = 1_000)]
    pub provider_retry_base_ms: u64,

    /// Longest `Retry-After` a worker waits for, in seconds. A provider asking for longer ends
    /// the smelt at once with `api_rate_limited` and the seconds it asked for, so that no
    /// provider (a user's included) can park a worker.
    #[arg(
        long,
        env = "SMELT_PROVIDER_MAX_RETRY_AFTER_SECS",
        default_value_t = 60
    )]
    pub provider_max_retry_after_secs: u64,

    /// Longest audio sent in one hosted transcription request, in seconds (10 minutes of
    /// 16 kHz 16-bit WAV is ~19 MB, under the usual 25 MiB limit). Requests are cut in a pause
    /// and never lose or repeat a word at the cut.
    #[arg(long, env = "SMELT_PROVIDER_CHUNK_SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u16).range(10..=780))]
    pub provider_chunk_seconds: u16,

    /// Timeout of one provider request, in seconds.
    #[arg(long, env = "SMELT_PROVIDER_TIMEOUT_SECS", default_value_t = 300)]
    pub provider_timeout_secs: u64,

    /// Longest text sent in one chat request, in characters; longer transcripts are
    /// summarised in chunks and combined.
    #[arg(long, env = "SMELT_CHAT_CONTEXT_CHARS", default_value_t = 24_000)]
    pub chat_context_chars: usize,
}
