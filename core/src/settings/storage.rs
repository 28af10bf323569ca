use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Where blobs (uploads, result documents) live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BlobStoreKind {
    /// The local disk, under `<data_dir>/blobs`.
    Fs,
    /// An S3-compatible object store (AWS S3, Cloudflare R2, MinIO).
    S3,
}

/// Local state and the blob store.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Storage")]
pub struct StorageSettings {
    /// Directory for local state: the fs blob store (`blobs/`) and generated local secrets.
    #[arg(long, env = "SMELT_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Where blobs (uploads, result documents) live: `fs` (under `<data_dir>/blobs`) or `s3`.
    #[arg(long, env = "SMELT_BLOB_STORE", value_enum, default_value_t = BlobStoreKind::Fs)]
    pub blob_store: BlobStoreKind,

    /// Bucket of the `s3` store (must exist).
    #[arg(long, env = "SMELT_S3_BUCKET")]
    pub s3_bucket: Option<String>,

    /// Region of the `s3` store (`auto` for Cloudflare R2).
    #[arg(long, env = "SMELT_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// Endpoint of an S3-compatible store other than AWS (MinIO, R2), e.g.
    /// `http://minio:9000`. Unset: AWS S3.
    #[arg(long, env = "SMELT_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// Path-style addressing (`endpoint/bucket/key`), which MinIO needs.
    #[arg(long, env = "SMELT_S3_FORCE_PATH_STYLE", default_value_t = false, action = clap::ArgAction::Set)]
    pub s3_force_path_style: bool,

    /// Access key id of the `s3` store. Unset (with the secret): the standard AWS credential
    /// chain (environment, profile, web identity, instance metadata).
    #[arg(long, env = "SMELT_S3_ACCESS_KEY_ID", hide_env_values = true)]
    pub s3_access_key_id: Option<String>,

    /// Secret access key of the `s3` store.
    #[arg(long, env = "SMELT_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
}
