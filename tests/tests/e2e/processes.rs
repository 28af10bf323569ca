//! Real server processes for tests that kill or multiply them: `smelt-server` (API only) or
//! `smelt` (with embedded workers), and the `smelt-worker` and `smelt-admin` commands.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::helpers::{workspace_root, TEST_SECRET};

/// The `smelt-server` binary next to this test's build (built on first use).
pub fn server_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| build_binary("smelt-server"))
}

/// The all-in-one `smelt` binary next to this test's build (built on first use).
pub fn all_in_one_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| build_binary("smelt"))
}

/// The `smelt-worker` binary next to this test's build (built on first use).
pub fn worker_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| build_binary("smelt-worker"))
}

/// The `smelt-admin` binary next to this test's build (built on first use).
pub fn admin_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| build_binary("smelt-admin"))
}

/// The `smelt-cleanup` binary next to this test's build (built on first use).
pub fn cleanup_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| build_binary("smelt-cleanup"))
}

fn build_binary(name: &str) -> PathBuf {
    {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().parent().unwrap().to_owned();
        let binary = dir.join(name);
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--quiet", "--bin", name])
            .current_dir(workspace_root())
            .env("CARGO_TARGET_DIR", dir.parent().unwrap());
        // Cargo gives this test process the variables it sets for crates (`CARGO_PKG_NAME`,
        // `CARGO_MANIFEST_DIR`, ...). Build scripts such as ring's watch some of them, so
        // passing them on would make this build and a plain `cargo build` rebuild each other.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_MANIFEST_")
                || key.starts_with("CARGO_BIN_")
                || matches!(
                    key.as_ref(),
                    "CARGO_CRATE_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_RUSTC_CURRENT_DIR"
                        | "CARGO_TARGET_TMPDIR"
                        | "OUT_DIR"
                )
            {
                cargo.env_remove(key.as_ref());
            }
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "{name} builds");
        binary
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server process (`smelt-server`, or `smelt` when it embeds workers); killed when
/// dropped.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
}

impl ServerProcess {
    /// Starts a server on `database_url` and `port` with `workers` embedded workers (`smelt`;
    /// `smelt-server` when 0), and waits until it answers HTTP.
    pub async fn start(
        database_url: &str,
        data_dir: &Path,
        port: u16,
        workers: usize,
    ) -> ServerProcess {
        Self::start_with(database_url, data_dir, port, workers, &[]).await
    }

    /// [`ServerProcess::start`] with more settings in its environment.
    pub async fn start_with(
        database_url: &str,
        data_dir: &Path,
        port: u16,
        workers: usize,
        env: &[(&str, &str)],
    ) -> ServerProcess {
        let binary = if workers == 0 {
            server_binary()
        } else {
            all_in_one_binary()
        };
        let child = Command::new(binary)
            .env("DATABASE_URL", database_url)
            .env("SMELT_BIND", format!("127.0.0.1:{port}"))
            .env("SMELT_DATA_DIR", data_dir)
            .env("SMELT_WEB_DIR", workspace_root().join("web/dist"))
            .env("SMELT_JWT_SECRET", TEST_SECRET)
            .env("SMELT_EMBEDDED_WORKERS", workers.to_string())
            .env("SMELT_PROGRESS_INTERVAL_MS", "50")
            .env("SMELT_QUEUE_POLL_SECS", "1")
            .env("SMELT_CLEANUP_INTERVAL_SECS", "0")
            .env("SMELT_RATE_CREATE_PER_MIN", "100000")
            .env("SMELT_RATE_WS_PER_MIN", "100000")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server starts");
        let server = ServerProcess { child, port };
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/api/ready-check");
        let mut up = false;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        for _ in 0..600 {
            tick.tick().await;
            if client.get(&url).send().await.is_ok() {
                up = true;
                break;
            }
        }
        assert!(up, "the server on port {port} answers");
        server
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL (no graceful shutdown) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts a `smelt-worker` process on `database_url` with a short visibility timeout (so a
/// killed worker's job is redelivered quickly).
pub fn start_worker(database_url: &str, data_dir: &Path, visibility_secs: u32) -> Child {
    Command::new(worker_binary())
        .env("DATABASE_URL", database_url)
        .env("SMELT_DATA_DIR", data_dir)
        .env("SMELT_VISIBILITY_TIMEOUT_SECS", visibility_secs.to_string())
        .env("SMELT_PROGRESS_INTERVAL_MS", "50")
        .env("SMELT_QUEUE_POLL_SECS", "1")
        .env("SMELT_CLEANUP_INTERVAL_SECS", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("smelt-worker starts")
}
