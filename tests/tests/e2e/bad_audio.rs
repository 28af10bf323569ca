//! Bad audio gets a clear answer: malformed variants of every accepted format — truncated,
//! bit-flipped, the header alone, random bytes after the header, empty — are refused at upload
//! with 400 `corrupted_file`, or end `failed` with `corrupted_file` (or complete, when they
//! still decode) on their first delivery. None ends `internal_error`, none is dead-lettered,
//! and the worker goes on to complete a clean smelt.

use std::time::Duration;

use serde_json::Value;
use smelt_core::events::EventKind;
use uuid::Uuid;

use crate::helpers::{
    encode, eventually, file_part, spawn_app_with, speak, AppOptions, TestApp, ARCHIVED_JOBS,
};

/// A deterministic byte sequence (a linear congruential generator), so that a failure can be
/// reproduced from the test alone.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u8
        })
        .collect()
}

/// Where the container's header ends, roughly: WAV's 44 bytes, else the first 2 % (at least
/// 256 bytes) — enough for the parsers to recognise the format.
fn header_len(extension: &str, len: usize) -> usize {
    match extension {
        "wav" => 44,
        _ => (len / 50).max(256).min(len),
    }
}

/// The malformed variants of one recording, named.
fn variants(extension: &str, clean: &[u8]) -> Vec<(String, Vec<u8>)> {
    let header = header_len(extension, clean.len());
    let mut flipped = clean.to_vec();
    let positions = noise(clean.len() as u64, 400);
    for pair in positions.chunks(2).take(200) {
        let at = (usize::from(pair[0]) << 8 | usize::from(pair[1])) * clean.len() / 65_536;
        flipped[at] ^= 0xff;
    }
    let mut random_after_header = clean[..header].to_vec();
    random_after_header.extend(noise(7, clean.len() - header));
    vec![
        (
            "truncated to a tenth".into(),
            clean[..clean.len() / 10].to_vec(),
        ),
        ("200 bytes flipped".into(), flipped),
        ("the header alone".into(), clean[..header].to_vec()),
        ("random bytes after the header".into(), random_after_header),
        ("empty".into(), Vec::new()),
    ]
}

/// A WAV whose header claims about 2 GB (over six hours at 44.1 kHz stereo) but holds one
/// second.
fn lying_wav(clean_wav: &[u8]) -> Vec<u8> {
    let mut wav = clean_wav[..44 + 32_000.min(clean_wav.len() - 44)].to_vec();
    wav[4..8].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    wav[40..44].copy_from_slice(&0x7fff_ffccu32.to_le_bytes());
    wav
}

/// The one user every variant is uploaded as.
static USER: std::sync::LazyLock<Uuid> = std::sync::LazyLock::new(Uuid::new_v4);

/// How many times the queue delivered the smelt's job, and whether it was dead-lettered. The
/// worker archives the job just after the smelt's last event, so this waits for the archive.
async fn deliveries(app: &TestApp, smelt_id: &str) -> (i32, bool) {
    let archived = || async {
        sqlx::query_scalar::<_, i32>(&format!(
            "select read_ct from {ARCHIVED_JOBS} where message->>'smelt_id' = $1"
        ))
        .bind(smelt_id)
        .fetch_optional(&app.pool)
        .await
        .unwrap()
    };
    eventually(Duration::from_secs(30), "the job is archived", || async {
        archived().await.is_some()
    })
    .await;
    let read = archived().await;
    let dead: bool = sqlx::query_scalar(
        "select exists (select 1 from pgmq.q_smelt_jobs_dlq where message->>'smelt_id' = $1)",
    )
    .bind(smelt_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    (read.unwrap_or(0), dead)
}

/// Uploads one variant and follows it; returns what happened, for the report.
async fn try_variant(app: &TestApp, name: &str, extension: &str, bytes: Vec<u8>) -> String {
    let mime = match extension {
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "webm" => "audio/webm",
        _ => "audio/ogg",
    };
    let form = reqwest::multipart::Form::new().part(
        "files[]",
        file_part(bytes, &format!("bad.{extension}"), mime),
    );
    let token = app.token_for(*USER);
    let answer = app.create(form, Some(&token)).await;
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap();
    if status == 400 {
        assert_eq!(
            body["error"]["code"], "corrupted_file",
            "{extension}, {name}: refused for the wrong reason: {body}"
        );
        return "refused at upload".into();
    }
    assert_eq!(status, 201, "{extension}, {name}: {body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let got = app.follow(&body).await;
    let last = got.last();
    let outcome = match last.event {
        EventKind::Completed => "completed".to_owned(),
        EventKind::Failed => {
            assert_eq!(
                last.payload["error_code"], "corrupted_file",
                "{extension}, {name}: {:?}",
                last.payload
            );
            "failed corrupted_file".to_owned()
        }
        other => panic!("{extension}, {name}: ended with {other:?}"),
    };
    let (read, dead) = deliveries(app, &id).await;
    assert_eq!(
        read, 1,
        "{extension}, {name}: decided on its first delivery"
    );
    assert!(!dead, "{extension}, {name}: dead-lettered");
    outcome
}

#[tokio::test]
async fn malformed_files_of_every_format_are_refused_or_fail_as_corrupted_on_the_first_delivery() {
    // Completions spend credits; the user must not run out halfway through.
    let app = spawn_app_with(AppOptions {
        configure: Some(Box::new(|s| s.server.limits.weekly_credits = 1000)),
        ..AppOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let wav = speak(
        dir.path(),
        "Broken recorders and careless uploads still deserve a clear answer.",
    );
    let mut report = Vec::new();
    for extension in ["wav", "mp3", "m4a", "webm", "ogg"] {
        let file = if extension == "wav" {
            wav.clone()
        } else {
            encode(&wav, extension)
        };
        let clean = std::fs::read(&file).unwrap();
        for (name, bytes) in variants(extension, &clean) {
            let outcome = try_variant(&app, &name, extension, bytes).await;
            report.push(format!("{extension}, {name}: {outcome}"));
        }
    }
    let lying = lying_wav(&std::fs::read(&wav).unwrap());
    let outcome = try_variant(&app, "a header claiming six hours", "wav", lying).await;
    report.push(format!("wav, a header claiming six hours: {outcome}"));
    println!("{}", report.join("\n"));

    // The worker is still there for a clean file.
    let clean = std::fs::read(encode(&wav, "mp3")).unwrap();
    let form = reqwest::multipart::Form::new()
        .part("files[]", file_part(clean, "clean.mp3", "audio/mpeg"));
    let created: Value = app.create(form, None).await.json().await.unwrap();
    assert!(
        app.follow(&created).await.completed(),
        "a clean smelt completes"
    );
}
