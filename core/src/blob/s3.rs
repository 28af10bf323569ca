//! [`S3BlobStore`]: blobs as objects in a bucket of any S3-compatible store (AWS S3,
//! Cloudflare R2, MinIO), through aws-sdk-s3.
//!
//! Uploads of unknown length are sent as multipart uploads in parts of [`PART_BYTES`], so one
//! upload holds at most about one part in memory; a body that fails mid-way aborts the
//! multipart upload and leaves no object. Downloads are presigned `GetObject` URLs.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use bytes::BytesMut;
use futures::StreamExt;
use tokio_util::io::ReaderStream;

use super::{BlobError, BlobStore, ByteStream};
use crate::clock::Clock;
use crate::settings::StorageSettings;

/// Size of one multipart-upload part, in bytes: S3's minimum for every part but the last
/// (5 MiB), which is also the most one upload buffers.
pub const PART_BYTES: usize = 5 * 1024 * 1024;

/// Capacity of a part's buffer: a part plus room for the chunk that crosses the part size, so
/// the buffer is allocated once instead of doubling past it.
const PART_CAPACITY: usize = PART_BYTES + 1024 * 1024;

/// Bodies up to this size are buffered as they come; a larger one gets a part's buffer.
const SMALL_BODY_BYTES: usize = 64 * 1024;

/// Appends `chunk`, growing the buffer straight to [`PART_CAPACITY`] once the body is large.
fn append(buffer: &mut BytesMut, chunk: &[u8]) {
    if buffer.len() + chunk.len() > SMALL_BODY_BYTES && buffer.capacity() < PART_CAPACITY {
        buffer.reserve(PART_CAPACITY - buffer.len());
    }
    buffer.extend_from_slice(chunk);
}

/// Where the bucket is and how to reach it (`SMELT_S3_*` settings).
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    pub region: String,
    /// A custom endpoint (`http://127.0.0.1:9000` for MinIO, the account URL for R2).
    pub endpoint: Option<String>,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (MinIO).
    pub force_path_style: bool,
    /// Static credentials; when absent, the standard AWS chain (environment, profile, web
    /// identity, instance metadata).
    pub credentials: Option<(String, String)>,
}

impl S3Config {
    /// The S3 part of the settings. Errors: `SMELT_S3_BUCKET` unset, or only one half of the
    /// static credentials given.
    pub fn from_settings(settings: &StorageSettings) -> anyhow::Result<Self> {
        let bucket = settings
            .s3_bucket
            .clone()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| anyhow::anyhow!("SMELT_BLOB_STORE=s3 needs SMELT_S3_BUCKET"))?;
        let credentials = match (&settings.s3_access_key_id, &settings.s3_secret_access_key) {
            (Some(id), Some(secret)) => Some((id.clone(), secret.clone())),
            (None, None) => None,
            _ => anyhow::bail!(
                "set both SMELT_S3_ACCESS_KEY_ID and SMELT_S3_SECRET_ACCESS_KEY, or neither"
            ),
        };
        Ok(S3Config {
            bucket,
            region: settings.s3_region.clone(),
            endpoint: settings.s3_endpoint.clone().filter(|e| !e.is_empty()),
            force_path_style: settings.s3_force_path_style,
            credentials,
        })
    }
}

/// Blobs in one S3 bucket.
#[derive(Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    /// Dates presigned URLs (a test clock can issue URLs that are already expired).
    clock: Arc<dyn Clock>,
}

impl S3BlobStore {
    /// A client for the bucket, checked with `HeadBucket` so that a wrong bucket, endpoint or
    /// credential fails at start rather than on the first upload.
    pub async fn connect(config: &S3Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()));
        if let Some((id, secret)) = &config.credentials {
            loader = loader.credentials_provider(Credentials::new(id, secret, None, None, "smelt"));
        }
        let shared = loader.load().await;
        // Checksums only where S3 requires them: R2 and older MinIO reject some of the
        // newer default checksum headers.
        let mut builder = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(config.force_path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        let store = S3BlobStore {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
            clock,
        };
        store
            .client
            .head_bucket()
            .bucket(&store.bucket)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "bucket {:?} is not reachable: {}",
                    store.bucket,
                    DisplayErrorContext(e)
                )
            })?;
        Ok(store)
    }

    async fn put_multipart(
        &self,
        key: &str,
        first: BytesMut,
        body: &mut ByteStream,
    ) -> Result<u64, BlobError> {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(remote)?;
        let upload_id = upload
            .upload_id()
            .ok_or_else(|| BlobError::Remote("multipart upload without an id".into()))?
            .to_owned();
        let result = self.send_parts(key, &upload_id, first, body).await;
        if result.is_err() {
            // Without an abort the parts already sent would linger (and be billed).
            if let Err(e) = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await
            {
                tracing::warn!(%key, error = %DisplayErrorContext(e), "could not abort a multipart upload");
            }
        }
        result
    }

    async fn send_parts(
        &self,
        key: &str,
        upload_id: &str,
        mut buffer: BytesMut,
        body: &mut ByteStream,
    ) -> Result<u64, BlobError> {
        let mut parts = Vec::new();
        let mut written = 0u64;
        loop {
            let next = body.next().await.transpose()?;
            let last = next.is_none();
            if let Some(chunk) = next {
                append(&mut buffer, &chunk);
            }
            if buffer.len() >= PART_BYTES || (last && (!buffer.is_empty() || parts.is_empty())) {
                // The part leaves the buffer whole; the next buffer is allocated only when
                // the next chunk arrives, after this part is sent and freed.
                let part = std::mem::take(&mut buffer).freeze();
                written += part.len() as u64;
                let number = parts.len() as i32 + 1;
                let sent = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .part_number(number)
                    .body(Body::from(part))
                    .send()
                    .await
                    .map_err(remote)?;
                parts.push(
                    CompletedPart::builder()
                        .set_e_tag(sent.e_tag().map(str::to_owned))
                        .part_number(number)
                        .build(),
                );
            }
            if last {
                break;
            }
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(remote)?;
        Ok(written)
    }
}

fn remote(e: impl std::error::Error + Send + Sync + 'static) -> BlobError {
    BlobError::Remote(DisplayErrorContext(e).to_string())
}

#[async_trait::async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, mut body: ByteStream) -> Result<u64, BlobError> {
        // Small bodies (the common case for documents) go in one PutObject; anything reaching
        // a part's size switches to a multipart upload.
        let mut buffer = BytesMut::new();
        while let Some(chunk) = body.next().await {
            append(&mut buffer, &chunk?);
            if buffer.len() >= PART_BYTES {
                return self.put_multipart(key, buffer, &mut body).await;
            }
        }
        let written = buffer.len() as u64;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(Body::from(buffer.freeze()))
            .send()
            .await
            .map_err(remote)?;
        Ok(written)
    }

    async fn get(&self, key: &str) -> Result<ByteStream, BlobError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => Ok(Box::pin(ReaderStream::new(object.body.into_async_read()))),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                Err(BlobError::NotFound(key.into()))
            }
            Err(e) => Err(remote(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(remote)?;
        Ok(())
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(e) => Err(remote(e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(remote)?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key().map(str::to_owned)),
            );
        }
        keys.sort();
        Ok(keys)
    }

    async fn download_url(
        &self,
        key: &str,
        filename: &str,
        ttl: Duration,
    ) -> Result<String, BlobError> {
        let issued: SystemTime = self.clock.now().into();
        let presigning = PresigningConfig::builder()
            .start_time(issued)
            .expires_in(ttl)
            .build()
            .map_err(remote)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{filename}\""))
            .response_content_type("text/markdown; charset=utf-8")
            .presigned(presigning)
            .await
            .map_err(remote)?;
        Ok(request.uri().to_owned())
    }
}
