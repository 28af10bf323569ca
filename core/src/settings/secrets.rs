use clap::{Args, ValueEnum};

/// How strict start-up is about secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    /// Missing secrets are generated once under the data directory.
    Development,
    /// Every secret must be configured; generated ones are refused.
    Production,
}

/// The deployment mode and the key that seals users' secrets at rest (their provider API keys
/// and their webhooks' signing secrets). Every process that opens them reads it.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Secrets")]
pub struct SecretSettings {
    /// `development` or `production`. Production refuses to start without explicit secrets
    /// (`SMELT_JWT_SECRET`, `SMELT_ENCRYPTION_KEY`, `SMELT_IP_HASH_SECRET` where the binary
    /// reads them).
    #[arg(
        long,
        env = "SMELT_ENV",
        value_enum,
        ignore_case = true,
        default_value_t = Environment::Development
    )]
    pub env: Environment,

    /// 32-byte key (hex or base64) encrypting users' API keys at rest (AES-256-GCM). When
    /// unset, generated once into `<data_dir>/secrets/encryption_key`.
    #[arg(long, env = "SMELT_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<String>,
}

impl SecretSettings {
    /// True in production mode.
    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }
}

/// The keys the server signs with: its tokens and download URLs, and the HMAC standing in for
/// anonymous clients' addresses.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Signing secrets")]
pub struct SigningSettings {
    /// HS256 secret for access tokens and subscription tokens (and the key of the fs store's
    /// signed download URLs). When unset, a random secret is generated once and kept in
    /// `<data_dir>/secrets/jwt_secret`.
    #[arg(long, env = "SMELT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Secret of the HMAC that stands in for anonymous clients' addresses. When unset,
    /// generated once into `<data_dir>/secrets/ip_hash_secret`.
    #[arg(long, env = "SMELT_IP_HASH_SECRET", hide_env_values = true)]
    pub ip_hash_secret: Option<String>,
}
