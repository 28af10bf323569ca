//! The blob stores: the same behaviour from the local disk and from a real S3-compatible
//! server (s3s-fs); uploads refused while streaming leave no object; result documents at
//! signed URLs that expire; deletion leaves nothing behind.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{TimeDelta, Utc};
use futures::StreamExt;
use reqwest::multipart::Form;
use serde_json::Value;
use smelt_core::blob::{self, BlobError, BlobStore, ByteStream, FsBlobStore};
use smelt_core::clock::ManualClock;
use uuid::Uuid;

use crate::helpers::{file_part, spawn_app_with, speak, AppOptions, Configure, TestApp};
use crate::object_store::S3Server;

/// `n` bytes of a repeating pattern, in chunks of 64 KiB, failing after `fail_after` bytes.
fn pattern_stream(n: usize, fail_after: Option<usize>) -> ByteStream {
    let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    let chunks: Vec<std::io::Result<Bytes>> = data
        .chunks(64 * 1024)
        .scan(0usize, move |sent, chunk| {
            *sent += chunk.len();
            Some(match fail_after {
                Some(limit) if *sent > limit => Err(std::io::Error::other("client went away")),
                _ => Ok(Bytes::copy_from_slice(chunk)),
            })
        })
        .collect();
    Box::pin(futures::stream::iter(chunks))
}

async fn read_all(store: &dyn BlobStore, key: &str) -> Vec<u8> {
    let mut body = store.get(key).await.expect("the blob is readable");
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    bytes
}

/// Everything a blob store promises, checked on `store`.
async fn behaves_like_a_blob_store(store: &dyn BlobStore) {
    let smelt = Uuid::new_v4();
    let small = blob::upload_key(smelt, Uuid::new_v4(), "wav");
    assert_eq!(store.put(&small, blob::once("hello")).await.unwrap(), 5);
    assert!(store.exists(&small).await.unwrap());
    assert_eq!(read_all(store, &small).await, b"hello");
    store.put(&small, blob::once("replaced")).await.unwrap();
    assert_eq!(read_all(store, &small).await, b"replaced", "put replaces");

    // Larger than one S3 part: a multipart upload there, a streamed file here.
    let large = blob::upload_key(smelt, Uuid::new_v4(), "mp3");
    let size = 12 * 1024 * 1024 + 123;
    assert_eq!(
        store.put(&large, pattern_stream(size, None)).await.unwrap(),
        size as u64
    );
    let read = read_all(store, &large).await;
    assert_eq!(read.len(), size);
    assert!(
        read.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8),
        "bytes intact"
    );
    let copy = tempfile::NamedTempFile::new().unwrap();
    store.fetch_to_file(&large, copy.path()).await.unwrap();
    assert_eq!(std::fs::metadata(copy.path()).unwrap().len(), size as u64);

    // A body that fails, before and after a first part went out, stores nothing.
    for fail_after in [100 * 1024, 7 * 1024 * 1024] {
        let key = blob::upload_key(smelt, Uuid::new_v4(), "m4a");
        let failed = store
            .put(&key, pattern_stream(size, Some(fail_after)))
            .await;
        assert!(matches!(failed, Err(BlobError::Io(_))), "{failed:?}");
        assert!(
            !store.exists(&key).await.unwrap(),
            "no blob after a failed put"
        );
    }

    let document = blob::result_key(smelt, Uuid::new_v4());
    store.put(&document, blob::once("# Notes\n")).await.unwrap();
    let [uploads, results] = blob::smelt_prefixes(smelt);
    let mut expected = vec![small.clone(), large.clone()];
    expected.sort();
    assert_eq!(
        store.list(&uploads).await.unwrap(),
        expected,
        "exactly the stored uploads"
    );
    assert_eq!(store.list(&results).await.unwrap(), vec![document.clone()]);
    assert!(store
        .list(&format!("uploads/{}/", Uuid::new_v4()))
        .await
        .unwrap()
        .is_empty());

    let missing = blob::upload_key(smelt, Uuid::new_v4(), "wav");
    assert!(matches!(
        store.get(&missing).await,
        Err(BlobError::NotFound(_))
    ));
    assert!(!store.exists(&missing).await.unwrap());
    store
        .delete(&missing)
        .await
        .expect("deleting a missing blob is fine");

    let other = blob::upload_key(Uuid::new_v4(), Uuid::new_v4(), "wav");
    store.put(&other, blob::once("other smelt")).await.unwrap();
    assert_eq!(blob::purge_smelt(store, smelt).await.unwrap(), 3);
    assert!(store.list(&uploads).await.unwrap().is_empty());
    assert!(store.list(&results).await.unwrap().is_empty());
    assert!(
        store.exists(&other).await.unwrap(),
        "other smelts' blobs stay"
    );
}

#[tokio::test]
async fn the_fs_store_behaves_like_a_blob_store() {
    let dir = tempfile::tempdir().unwrap();
    behaves_like_a_blob_store(&FsBlobStore::new(dir.path())).await;
}

#[tokio::test]
async fn the_s3_store_behaves_like_a_blob_store() {
    let s3 = S3Server::start().await;
    behaves_like_a_blob_store(&s3.store().await).await;
    assert_eq!(
        s3.pending_parts(),
        0,
        "failed multipart uploads were aborted"
    );
}

/// Which store an app test runs on.
enum Backend {
    Fs,
    S3(S3Server),
}

impl Backend {
    async fn s3() -> Self {
        Backend::S3(S3Server::start().await)
    }

    fn configure(&self, extra: impl FnOnce(&mut smelt::Settings) + Send + 'static) -> Configure {
        let store: Option<Configure> = match self {
            Backend::Fs => None,
            Backend::S3(server) => Some(server.configure()),
        };
        Box::new(move |settings| {
            if let Some(store) = store {
                store(settings);
            }
            extra(settings);
        })
    }
}

async fn oversized_upload_leaves_no_object(backend: Backend) {
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(backend.configure(|_| {})),
        ..AppOptions::default()
    })
    .await;
    // A first small file is fully stored before the second one runs over the limit.
    let small = crate::pipeline::silent_wav(8);
    let big = vec![7u8; 26 * 1024 * 1024];
    let form = Form::new()
        .part("files[]", file_part(small, "first.wav", "audio/wav"))
        .part("files[]", file_part(big, "second.mp3", "audio/mpeg"));
    let response = app.create(form, Some(&app.token_for(Uuid::new_v4()))).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "file_too_large");
    assert_eq!(
        app.stored_blobs("").await,
        Vec::<String>::new(),
        "no object is left"
    );
    if let Backend::S3(server) = &backend {
        assert_eq!(
            server.pending_parts(),
            0,
            "the multipart upload was aborted"
        );
    }
}

#[tokio::test]
async fn fs_an_upload_over_25_mb_is_refused_and_leaves_no_object() {
    oversized_upload_leaves_no_object(Backend::Fs).await;
}

#[tokio::test]
async fn s3_an_upload_over_25_mb_is_refused_and_leaves_no_object() {
    oversized_upload_leaves_no_object(Backend::s3().await).await;
}

/// Resolves a download URL (relative ones against the app).
fn absolute(app: &TestApp, url: &str) -> String {
    if url.starts_with('/') {
        app.url(url)
    } else {
        url.to_owned()
    }
}

/// The same URL with one character of its signature changed.
fn tampered(url: &str) -> String {
    let marker = if url.contains("X-Amz-Signature=") {
        "X-Amz-Signature="
    } else {
        "sig="
    };
    let at = url.find(marker).unwrap() + marker.len();
    let mut bytes = url.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    String::from_utf8(bytes).unwrap()
}

async fn download_urls_work_until_they_expire(backend: Backend) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = spawn_app_with(AppOptions {
        clock: Some(clock.clone()),
        configure: Some(backend.configure(|s| s.server.http.download_url_ttl_secs = 600)),
        ..AppOptions::default()
    })
    .await;
    let token = app.token_for(Uuid::new_v4());
    let text = "The launch moves to Thursday. Priya owns the checklist and Omar books the room.";
    let created = app.create_text(text, &["summarize"], Some(&token)).await;
    let smelt = app.finish(&created, &token).await;
    let result = &smelt["results"][0];
    let url = absolute(
        &app,
        result["download_url"].as_str().expect("a download_url"),
    );

    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200, "a fresh URL works");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(
        response.text().await.unwrap(),
        result["content"].as_str().unwrap()
    );

    let response = reqwest::get(tampered(&url)).await.unwrap();
    assert_eq!(response.status(), 403, "a tampered URL is refused");

    // A URL issued one TTL and a minute ago has expired by now.
    clock.set(Utc::now() - TimeDelta::seconds(660));
    let (_, smelt) = app
        .get(
            &format!("/api/smelts/{}", created["id"].as_str().unwrap()),
            Some(&token),
        )
        .await;
    clock.set(Utc::now());
    let old = absolute(&app, smelt["results"][0]["download_url"].as_str().unwrap());
    assert_ne!(old, url);
    let response = reqwest::get(&old).await.unwrap();
    assert_eq!(response.status(), 403, "an expired URL is refused");
}

#[tokio::test]
async fn fs_download_urls_work_until_they_expire_and_refuse_tampering() {
    download_urls_work_until_they_expire(Backend::Fs).await;
}

#[tokio::test]
async fn s3_download_urls_work_until_they_expire_and_refuse_tampering() {
    download_urls_work_until_they_expire(Backend::s3().await).await;
}

async fn delete_leaves_nothing(backend: Backend) {
    // Uploads are kept after completion here, so that there is audio to delete.
    let app = spawn_app_with(AppOptions {
        configure: Some(backend.configure(|s| s.retention.upload_retention_hours = 24)),
        ..AppOptions::default()
    })
    .await;
    let token = app.token_for(Uuid::new_v4());
    let wav = speak(app.data_dir.path(), "Please archive the quarterly report.");
    let form = Form::new()
        .part(
            "files[]",
            file_part(std::fs::read(&wav).unwrap(), "report.wav", "audio/wav"),
        )
        .text("default_prompt_names[]", "summarize");
    let response = app.create(form, Some(&token)).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let smelt = app.finish(&created, &token).await;
    let id: Uuid = smelt["id"].as_str().unwrap().parse().unwrap();
    let [uploads, results] = blob::smelt_prefixes(id);
    assert_eq!(
        app.stored_blobs(&uploads).await.len(),
        1,
        "the upload is kept"
    );
    assert_eq!(
        app.stored_blobs(&results).await.len(),
        2,
        "the transcript and the summary are stored"
    );

    assert_eq!(app.delete(&format!("/api/smelts/{id}"), &token).await, 204);
    for table in [
        "smelt",
        "smelt_file",
        "smelt_result",
        "smelt_event",
        "smelt_segment",
    ] {
        let left: i64 =
            sqlx::query_scalar(&format!("select count(*) from {table} where smelt_id = $1"))
                .bind(id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert_eq!(left, 0, "no {table} row remains");
    }
    assert_eq!(
        app.stored_blobs("").await,
        Vec::<String>::new(),
        "no blob remains"
    );
}

#[tokio::test]
async fn fs_delete_leaves_nothing_of_the_smelt() {
    delete_leaves_nothing(Backend::Fs).await;
}

#[tokio::test]
async fn s3_delete_leaves_nothing_of_the_smelt() {
    delete_leaves_nothing(Backend::s3().await).await;
}
