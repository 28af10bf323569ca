//! A real S3-compatible server for the tests: `s3s-fs` (installed by `scripts/setup.sh`, or
//! named by `SMELT_TEST_S3S_FS`), one process per test, with its own data directory.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use smelt::Settings;
use smelt_core::blob::{S3BlobStore, S3Config};
use smelt_core::clock::{Clock, SystemClock};
use smelt_core::settings::BlobStoreKind;

use crate::helpers::Configure;
use crate::processes::free_port;

const ACCESS_KEY: &str = "smelt-test-access";
const SECRET_KEY: &str = "smelt-test-secret-key";
/// The bucket every test server gets.
pub const BUCKET: &str = "smelt-test";

/// A running `s3s-fs` with [`BUCKET`] created; killed when dropped.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
    root: tempfile::TempDir,
}

impl S3Server {
    /// Starts the server, waits until it accepts connections, and creates [`BUCKET`].
    pub async fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        let port = free_port();
        let binary = std::env::var("SMELT_TEST_S3S_FS").unwrap_or_else(|_| "s3s-fs".into());
        let child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {binary} (scripts/setup.sh installs it): {e}")
            });
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            root,
        };
        let address = format!("127.0.0.1:{port}");
        let accepting = tokio::time::timeout(Duration::from_secs(30), async {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tick.tick().await;
                if tokio::net::TcpStream::connect(&address).await.is_ok() {
                    return;
                }
            }
        })
        .await;
        assert!(accepting.is_ok(), "s3s-fs accepts connections");
        server
            .client()
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .expect("the test bucket is created");
        server
    }

    /// A plain S3 client of this server (what an operator's tools would use).
    pub fn client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Settings changes that make an app store its blobs here.
    pub fn configure(&self) -> Configure {
        let endpoint = self.endpoint.clone();
        Box::new(move |settings: &mut Settings| {
            settings.server.storage.blob_store = BlobStoreKind::S3;
            settings.server.storage.s3_bucket = Some(BUCKET.into());
            settings.server.storage.s3_region = "us-east-1".into();
            settings.server.storage.s3_endpoint = Some(endpoint);
            settings.server.storage.s3_force_path_style = true;
            settings.server.storage.s3_access_key_id = Some(ACCESS_KEY.into());
            settings.server.storage.s3_secret_access_key = Some(SECRET_KEY.into());
        })
    }

    /// Smelt's S3 store on this server, dating presigned URLs by `clock`.
    pub async fn store_with_clock(&self, clock: Arc<dyn Clock>) -> S3BlobStore {
        let config = S3Config {
            bucket: BUCKET.into(),
            region: "us-east-1".into(),
            endpoint: Some(self.endpoint.clone()),
            force_path_style: true,
            credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
        };
        S3BlobStore::connect(&config, clock)
            .await
            .expect("the S3 store connects")
    }

    /// Smelt's S3 store on this server.
    pub async fn store(&self) -> S3BlobStore {
        self.store_with_clock(Arc::new(SystemClock)).await
    }

    /// Parts of multipart uploads neither completed nor aborted, as s3s-fs keeps them on
    /// disk (`.upload_id-{id}.part-{n}` under its root).
    pub fn pending_parts(&self) -> usize {
        std::fs::read_dir(self.root.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".upload_id-"))
            .count()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
