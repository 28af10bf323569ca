//! `spawn_app()` and typed helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use std::sync::{Arc, Mutex};

use smelt::Settings;
use smelt_core::blob::BlobStore;
use smelt_core::clock::{Clock, ManualClock, SystemClock};
use smelt_core::events::{EventKind, WireEvent};
use smelt_core::tokens::{TokenKeys, ACCESS_AUDIENCE};
use sqlx::PgPool;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// JWT secret of every test app.
pub const TEST_SECRET: &str = "smelt-test-secret-at-least-32-bytes";
/// Longest a test waits for a smelt to finish (local transcription on 2 cores).
pub const FINISH_DEADLINE: Duration = Duration::from_secs(180);

/// A running server on its own database and data directory.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
    pub data_dir: tempfile::TempDir,
    pub settings: Settings,
    /// The app's blob store (fs or s3, as configured).
    pub blobs: Arc<dyn BlobStore>,
    /// Dropped with the app, after its server was told to stop.
    _database: TestDatabase,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A change to a test app's settings.
pub type Configure = Box<dyn FnOnce(&mut Settings) + Send>;

/// Options of [`spawn_app_with`].
pub struct AppOptions {
    /// Workers inside the server (0: jobs stay queued until a test processes them).
    pub workers: usize,
    /// A clock the test controls (the system clock otherwise).
    pub clock: Option<Arc<ManualClock>>,
    /// Login attempts per minute per address (effectively unlimited otherwise).
    pub login_per_min: Option<u32>,
    /// Base URL of the OpenAI-compatible provider (a stub started by the test).
    pub openai_base_url: Option<String>,
    /// Any other change to the settings.
    pub configure: Option<Configure>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            workers: 1,
            clock: None,
            login_per_min: None,
            openai_base_url: None,
            configure: None,
        }
    }
}

/// The archives of the lanes' job queues as one relation (`message`, `read_ct`).
pub const ARCHIVED_JOBS: &str = "(select message, read_ct from pgmq.a_smelt_jobs_fast
    union all select message, read_ct from pgmq.a_smelt_jobs
    union all select message, read_ct from pgmq.a_smelt_jobs_bulk) archived";

/// A server with one embedded worker.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

/// A server without workers (jobs stay queued until the test processes them).
pub async fn spawn_idle_app() -> TestApp {
    spawn_app_with(AppOptions {
        workers: 0,
        ..AppOptions::default()
    })
    .await
}

fn admin_url() -> String {
    std::env::var("SMELT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// Settings of a test app on `db_name` (the database is created by the server on start).
pub fn test_settings(db_name: &str, data_dir: &Path, workers: usize) -> Settings {
    let mut settings = Settings::from_env();
    let server = &mut settings.server;
    server.database.database_url = format!("{}/{db_name}", admin_url());
    server.database.db_pool_size = 8;
    server.http.bind = "127.0.0.1:0".into();
    server.storage.data_dir = data_dir.to_owned();
    server.http.web_dir = workspace_root().join("web/dist");
    server.signing.jwt_secret = Some(TEST_SECRET.into());
    server.log.log = "warn".into();
    // Tests of limits set their own; the others must never meet one.
    server.rate_limits.rate_create_per_min = 100_000;
    server.rate_limits.rate_login_per_min = 100_000;
    server.rate_limits.rate_ws_per_min = 100_000;
    // Every test client shares the loopback address.
    server.http.max_uploads_per_address = 0;
    settings.embedded_workers = workers;
    settings.worker.progress_interval_ms = 50;
    settings.worker.queue_poll_secs = 1;
    // The periodic retention cleanup would race tests that age their data; the tests of it
    // turn it on.
    settings.retention.cleanup_interval_secs = 0;
    settings
}

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// A server configured by `options`.
pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    let database = TestDatabase::fresh();
    let data_dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&database.name, data_dir.path(), options.workers);
    if let Some(n) = options.login_per_min {
        settings.server.rate_limits.rate_login_per_min = n;
    }
    if let Some(url) = options.openai_base_url {
        settings.server.provider.openai_base_url = url;
    }
    if let Some(configure) = options.configure {
        configure(&mut settings);
    }
    capture_logs();
    let clock: Arc<dyn Clock> = match options.clock {
        Some(c) => c,
        None => Arc::new(SystemClock),
    };
    let app = smelt::build_with_clock(settings.clone(), clock)
        .await
        .expect("the app builds");
    let address = format!("127.0.0.1:{}", app.address().port());
    let pool = app.state().pool.clone();
    let blobs = app.state().blobs.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::new(),
        pool,
        data_dir,
        settings,
        blobs,
        _database: database,
        shutdown: Some(tx),
    }
}

/// Everything the apps of this test binary logged (debug level for Smelt's crates).
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the log capture once per test binary.
fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = "info,smelt_core=debug,smelt_server=debug,smelt_worker=debug,tower_http=debug";
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(smelt_core::telemetry::Redacting::new(|| LogWriter))
            .with_ansi(false)
            .try_init();
    });
}

/// The warnings and errors captured so far (of every app in this test binary), one per line.
pub fn captured_warnings() -> String {
    captured_logs()
        .lines()
        .filter(|line| line.contains(" WARN ") || line.contains(" ERROR "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The captured logs so far.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A database name of its own for one test (created by whoever bootstraps it first), dropped
/// with everything in it when this value is dropped.
pub struct TestDatabase {
    /// The database's name.
    pub name: String,
    /// Its connection URL.
    pub url: String,
}

impl TestDatabase {
    /// A fresh name on the test server.
    pub fn fresh() -> Self {
        let name = format!("smelt_test_{}", Uuid::new_v4().simple());
        TestDatabase {
            url: format!("{}/{name}", admin_url()),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // From a thread of its own: Drop cannot await.
        let (url, name) = (format!("{}/postgres", admin_url()), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(pool) = PgPool::connect(&url).await {
                    let _ =
                        sqlx::query(&format!("drop database if exists \"{name}\" with (force)"))
                            .execute(&pool)
                            .await;
                }
            });
        })
        .join();
    }
}

/// A form part holding `bytes` as file `name` with MIME type `mime`.
pub fn file_part(bytes: Vec<u8>, name: &str, mime: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .unwrap()
}

impl TestApp {
    /// Stops the server gracefully (as on SIGTERM).
    pub fn shut_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// `http://127.0.0.1:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// An access token for `user_id`, as a login or Supabase Auth would issue it.
    pub fn token_for(&self, user_id: Uuid) -> String {
        TokenKeys::new(TEST_SECRET.as_bytes()).sign(
            user_id,
            ACCESS_AUDIENCE,
            3600,
            Some("authenticated"),
        )
    }

    /// `POST /api/smelts` with a form, optionally as a user.
    pub async fn create(
        &self,
        form: reqwest::multipart::Form,
        token: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url("/api/smelts")).multipart(form);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send().await.expect("request sent")
    }

    /// Creates a text smelt and returns the 201 body.
    pub async fn create_text(&self, text: &str, prompts: &[&str], token: Option<&str>) -> Value {
        let mut form = reqwest::multipart::Form::new().text("text", text.to_owned());
        for p in prompts {
            form = form.text("default_prompt_names[]", (*p).to_owned());
        }
        let response = self.create(form, token).await;
        assert_eq!(
            response.status(),
            201,
            "create failed: {}",
            response.text().await.unwrap()
        );
        response.json().await.unwrap()
    }

    /// A client whose connections come from `ip` (any 127.0.0.0/8 address on loopback).
    pub fn client_from(&self, ip: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    }

    /// `POST path` with a JSON body and an optional bearer token; returns status and body.
    pub async fn post_json(&self, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
        self.send_json(self.client.post(self.url(path)), body, token)
            .await
    }

    /// Sends a request with a JSON body; returns status and JSON body (null when empty).
    pub async fn send_json(
        &self,
        request: reqwest::RequestBuilder,
        body: Value,
        token: Option<&str>,
    ) -> (u16, Value) {
        let mut request = request.json(&body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Signs up a fresh user; returns the session body.
    pub async fn sign_up(&self, email: &str) -> Value {
        let (status, body) = self
            .post_json(
                "/api/auth/signup",
                serde_json::json!({"email": email, "password": "correct horse battery"}),
                None,
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// `DELETE path` with a bearer token; returns the status.
    pub async fn delete(&self, path: &str, token: &str) -> u16 {
        let response = self
            .client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    }

    /// `GET path` with an optional bearer token; returns status and JSON body.
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.client.get(self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET path` (with a bearer token) and its body as text, whatever the status.
    pub async fn get_text(&self, path: &str, token: &str) -> String {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Opens a smelt's socket with `query` (e.g. `token=…&after_seq=3`).
    pub async fn connect(&self, smelt_id: &str, query: &str) -> Socket {
        let url = format!("ws://{}/api/smelts/{smelt_id}/ws?{query}", self.address);
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("socket opens");
        Socket {
            ws,
            places: Vec::new(),
        }
    }

    /// Opens a socket at `url` (`ws://…`).
    pub async fn connect_url(url: &str) -> Socket {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("socket opens");
        Socket {
            ws,
            places: Vec::new(),
        }
    }

    /// Opens a socket whose client side has a tiny receive buffer (a slow reader).
    pub async fn connect_slow(&self, smelt_id: &str, query: &str) -> Socket {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(2048).unwrap();
        let stream = socket.connect(self.address.parse().unwrap()).await.unwrap();
        let url = format!("ws://{}/api/smelts/{smelt_id}/ws?{query}", self.address);
        let (ws, _) =
            tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(stream))
                .await
                .expect("socket opens");
        Socket {
            ws,
            places: Vec::new(),
        }
    }

    /// Opens the socket of a created smelt with its subscription token.
    pub async fn subscribe(&self, created: &Value) -> Socket {
        let query = format!("token={}", created["subscription_token"].as_str().unwrap());
        self.connect(created["id"].as_str().unwrap(), &query).await
    }

    /// Follows a created smelt to its end and returns everything received.
    pub async fn follow(&self, created: &Value) -> Transcript {
        self.subscribe(created).await.collect().await
    }

    /// Messages archived (acknowledged) in the lanes' job queues.
    pub async fn archived_jobs(&self) -> i64 {
        sqlx::query_scalar(&format!("select count(*) from {ARCHIVED_JOBS}"))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Messages in the lanes' job queues, visible or not.
    pub async fn queued_jobs(&self) -> i64 {
        sqlx::query_scalar(
            "select (select count(*) from pgmq.q_smelt_jobs_fast)
                  + (select count(*) from pgmq.q_smelt_jobs)
                  + (select count(*) from pgmq.q_smelt_jobs_bulk)",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }

    /// Number of raw uploads in the blob store.
    pub async fn stored_uploads(&self) -> usize {
        self.stored_blobs("uploads/").await.len()
    }

    /// Replaces the bytes of every stored upload with `bytes`: a file damaged in storage
    /// after it was accepted, which only the worker can find out.
    pub async fn damage_stored_uploads(&self, bytes: &[u8]) {
        for key in self.stored_blobs("uploads/").await {
            let body = futures::stream::iter([Ok(axum::body::Bytes::copy_from_slice(bytes))]);
            self.blobs
                .put(&key, Box::pin(body))
                .await
                .expect("the blob store writes");
        }
    }

    /// Keys of the stored blobs under `prefix`.
    pub async fn stored_blobs(&self, prefix: &str) -> Vec<String> {
        self.blobs.list(prefix).await.expect("the blob store lists")
    }

    /// Follows a created smelt to its end and answers with the owner's `GET` of it.
    pub async fn finish(&self, created: &Value, token: &str) -> Value {
        let transcript = self.follow(created).await;
        assert!(transcript.completed(), "the smelt completes");
        let (status, smelt) = self
            .get(
                &format!("/api/smelts/{}", created["id"].as_str().unwrap()),
                Some(token),
            )
            .await;
        assert_eq!(status, 200, "{smelt}");
        smelt
    }
}

/// An open smelt socket.
pub struct Socket {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// Live queue places read so far (their `progress` payloads), oldest first.
    pub places: Vec<serde_json::Value>,
}

/// What a socket delivered until it closed.
#[derive(Debug)]
pub struct Transcript {
    pub events: Vec<WireEvent>,
    /// The payloads of live queue places (`progress` frames with `seq: null`, not in the log).
    pub places: Vec<serde_json::Value>,
    /// Close code sent by the server (`None` if the connection ended without a close frame).
    pub close_code: Option<u16>,
}

/// A text frame of a smelt's socket.
enum Frame {
    /// An event of the log (or a snapshot).
    Event(WireEvent),
    /// A live queue place: its `progress` payload.
    Place(serde_json::Value),
}

fn frame(text: &str) -> Frame {
    let value: serde_json::Value = serde_json::from_str(text).expect("a JSON frame");
    if value["seq"].is_null() {
        assert_eq!(
            value["event"], "progress",
            "only a queue place has no seq: {text}"
        );
        return Frame::Place(value["payload"].clone());
    }
    Frame::Event(serde_json::from_value(value).expect("a wire event"))
}

impl Transcript {
    /// The events of one kind.
    pub fn of(&self, kind: EventKind) -> Vec<&WireEvent> {
        self.events.iter().filter(|e| e.event == kind).collect()
    }

    /// The last event.
    pub fn last(&self) -> &WireEvent {
        self.events.last().expect("at least one event")
    }

    /// Whether the smelt completed: its last event is `completed`, or — when it completed
    /// before the subscription — the snapshot the server sent before closing shows it so.
    pub fn completed(&self) -> bool {
        let last = self.last();
        last.event == EventKind::Completed
            || (last.event == EventKind::Snapshot && last.payload["status"] == "completed")
    }
}

impl Socket {
    /// Reads frames until the server closes the socket (or [`FINISH_DEADLINE`] passes, which
    /// fails the test).
    pub async fn collect(mut self) -> Transcript {
        let mut events = Vec::new();
        let mut places = std::mem::take(&mut self.places);
        let close_code = tokio::time::timeout(FINISH_DEADLINE, async {
            while let Some(message) = self.ws.next().await {
                match message {
                    Ok(Message::Text(text)) => match frame(&text) {
                        Frame::Event(event) => events.push(event),
                        Frame::Place(place) => places.push(place),
                    },
                    Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                    Ok(_) => {}
                    Err(_) => return None,
                }
            }
            None
        })
        .await
        .expect("the socket closes before the deadline");
        Transcript {
            events,
            places,
            close_code,
        }
    }

    /// The next text frame as JSON (`None` once the server closed), with the close code. Live
    /// queue places are kept in [`Socket::places`] instead.
    pub async fn next_json(&mut self) -> Result<serde_json::Value, Option<u16>> {
        let places = &mut self.places;
        let ws = &mut self.ws;
        let next = tokio::time::timeout(FINISH_DEADLINE, async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                        if value["event"] == "progress" && value["seq"].is_null() {
                            places.push(value["payload"].clone());
                            continue;
                        }
                        return Ok(value);
                    }
                    Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
                    Some(Ok(_)) => continue,
                    _ => return Err(None),
                }
            }
        })
        .await;
        next.expect("a frame arrives before the deadline")
    }

    /// Sends a frame to the server.
    pub async fn send(&mut self, message: Message) {
        use futures::SinkExt;
        self.ws.send(message).await.expect("frame sent");
    }

    /// Reads frames until the smelt's place in the queue is `position`: from a snapshot, or
    /// from a live place frame read within `within` (the test fails otherwise). Returns the
    /// place's `progress` object.
    pub async fn read_place(&mut self, position: u64, within: Duration) -> serde_json::Value {
        let ws = &mut self.ws;
        let places = &mut self.places;
        let found = tokio::time::timeout(within, async {
            loop {
                let Some(Ok(message)) = ws.next().await else {
                    return None;
                };
                let Message::Text(text) = message else {
                    continue;
                };
                let progress = match frame(&text) {
                    Frame::Event(event) if event.event == EventKind::Snapshot => {
                        event.payload["progress"].clone()
                    }
                    Frame::Event(_) => continue,
                    Frame::Place(place) => {
                        places.push(place.clone());
                        place["progress"].clone()
                    }
                };
                if progress["queue_position"] == position {
                    return Some(progress);
                }
            }
        })
        .await;
        match found {
            Ok(Some(progress)) => progress,
            Ok(None) => panic!("the socket ended before place {position}; places: {places:?}"),
            Err(_) => panic!("no place {position} within {within:?}; places: {places:?}"),
        }
    }

    /// Reads frames until an event satisfies `until` (inclusive), then returns the events;
    /// live queue places met on the way are kept in [`Socket::places`]. The socket stays open.
    pub async fn read_until(&mut self, until: impl Fn(&WireEvent) -> bool) -> Vec<WireEvent> {
        let mut events = Vec::new();
        let places = &mut self.places;
        let ws = &mut self.ws;
        let ended = tokio::time::timeout(FINISH_DEADLINE, async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) => match frame(&text) {
                        Frame::Event(event) => {
                            let done = until(&event);
                            events.push(event);
                            if done {
                                return None;
                            }
                        }
                        Frame::Place(place) => places.push(place),
                    },
                    Some(Ok(Message::Close(frame))) => return Some(format!("closed: {frame:?}")),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Some(format!("failed: {e}")),
                    None => return Some("ended".to_owned()),
                }
            }
        })
        .await
        .expect("the expected event arrives before the deadline");
        if let Some(ended) = ended {
            panic!(
                "the socket {ended} before the expected event; received {events:?}\n\
                 warnings logged so far:\n{}",
                captured_warnings()
            );
        }
        events
    }
}

/// A worker on the app's database and store, driven one job at a time by the test.
pub async fn worker(app: &TestApp) -> smelt_worker::Worker {
    let settings = Arc::new(app.settings.worker_settings());
    smelt_worker::Worker::new(app.pool.clone(), settings, app.blobs.clone())
        .await
        .unwrap()
}

/// Subscribes to a queued smelt of an idle app, waits for the snapshot, then processes the
/// job with an in-process worker: the transcript holds the snapshot and every later event.
pub async fn follow_from_start(app: &TestApp, created: &Value) -> Transcript {
    let mut socket = app.subscribe(created).await;
    let mut events = socket.read_until(|e| e.event == EventKind::Snapshot).await;
    let worker = worker(app).await;
    let job = tokio::spawn(async move { worker.try_process_one().await.unwrap() });
    let rest = socket.collect().await;
    job.await.unwrap();
    events.extend(rest.events);
    Transcript {
        events,
        places: rest.places,
        close_code: rest.close_code,
    }
}

/// Polls `condition` every 20 ms until it holds; fails the test after `deadline`.
pub async fn eventually<F: std::future::Future<Output = bool>>(
    deadline: Duration,
    what: &str,
    mut condition: impl FnMut() -> F,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let polled = tokio::time::timeout(deadline, async {
        loop {
            tick.tick().await;
            if condition().await {
                return;
            }
        }
    })
    .await;
    assert!(polled.is_ok(), "{what} within {deadline:?}");
}

// Running tools and scoring transcripts are shared with the worker's audio tests.
pub use crate::audio_support::{run, word_recall};

/// Speaks `sentence` with espeak-ng into `dir/speech.wav` and returns its path.
pub fn speak(dir: &Path, sentence: &str) -> PathBuf {
    let wav = dir.join("speech.wav");
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&wav)
        .arg(sentence));
    wav
}

/// Encodes a WAV with ffmpeg into `dir/speech.{extension}` (`mp3` via libmp3lame, `webm`
/// and `ogg` Opus via libopus, `m4a` and `mp4` AAC).
pub fn encode(wav: &Path, extension: &str) -> PathBuf {
    let out = wav.with_extension(extension);
    let codec = match extension {
        "mp3" => "libmp3lame",
        "webm" | "ogg" | "opus" => "libopus",
        _ => "aac",
    };
    run(Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(wav)
        .args(["-c:a", codec])
        .arg(&out));
    out
}

/// Stage order (`docs/api.md#smelts`).
pub fn stage_rank(stage: &str) -> usize {
    [
        "pending",
        "validating",
        "decoding",
        "transcribing",
        "synthesizing",
        "completed",
        "failed",
    ]
    .iter()
    .position(|s| *s == stage)
    .unwrap_or_else(|| panic!("unknown stage {stage}"))
}

/// Asserts that progress events have seqs in order, stages that never go back and
/// percentages that never decrease.
pub fn assert_progress_is_monotonic(events: &[WireEvent]) {
    let mut last_rank = 0;
    let mut last_pct = 0;
    let mut last_seq = 0;
    for e in events {
        assert!(e.seq > last_seq, "seq {} after {last_seq}", e.seq);
        last_seq = e.seq;
        if e.event != EventKind::Progress {
            continue;
        }
        let stage = e.payload["progress"]["stage"].as_str().unwrap();
        let pct = e.payload["progress"]["percentage"].as_u64().unwrap();
        assert!(stage_rank(stage) >= last_rank, "stage {stage} went back");
        assert!(pct >= last_pct, "percentage {pct} after {last_pct}");
        last_rank = stage_rank(stage);
        last_pct = pct;
    }
}

/// Inserts `count` pending text smelts ("Smelt number {i} waits for its turn."), anonymous,
/// each with its file and its job in the fast lane, in one transaction, as the create
/// endpoint inserts them. Returns their ids in order.
pub async fn insert_pending_texts(pool: &PgPool, count: usize) -> Vec<Uuid> {
    use smelt_core::db::credits::Charge;
    use smelt_core::db::smelts::{NewFile, NewSmelt};
    use smelt_core::domain::{speech, InputType, Lane, PromptName, SmeltMode};

    let queue = smelt_core::queue::JobQueue::new(pool.clone()).await;
    let mut ids = Vec::with_capacity(count);
    let mut tx = pool.begin().await.unwrap();
    for i in 0..count {
        let text = format!("Smelt number {i} waits for its turn.");
        let new = NewSmelt {
            smelt_id: Uuid::now_v7(),
            user_id: None,
            mode: SmeltMode::Separate,
            input_type: InputType::Text,
            default_prompt_names: vec![PromptName::Summarize],
            user_prompt_id: None,
            input_text: Some(text.clone()),
            charge: Charge::Free,
            word_timestamps: false,
            model: speech::TINY_EN.name,
            language: "auto",
            task: speech::Task::Transcribe,
            lane: Lane::Fast,
        };
        let file = NewFile::pasted_text(&text);
        smelt_core::lifecycle::create_in(&mut tx, &queue, &new, &[file])
            .await
            .unwrap();
        ids.push(new.smelt_id);
    }
    tx.commit().await.unwrap();
    ids
}
