//! Audio that cannot be processed fails with its smelt error codes, announced on the socket.

use smelt_core::events::EventKind;

use std::time::Duration;

use crate::helpers::{eventually, file_part, spawn_app};

#[tokio::test]
async fn random_bytes_named_mp3_are_refused_at_upload_as_a_corrupted_file() {
    let app = spawn_app().await;
    let noise: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let form = reqwest::multipart::Form::new()
        .part("files[]", file_part(noise, "noise.mp3", "audio/mpeg"));
    let answer = app.create(form, None).await;
    assert_eq!(answer.status(), 400);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "corrupted_file");
    assert_eq!(
        body["error"]["message"],
        "CORRUPTED FILE. TRY A DIFFERENT ONE"
    );
    assert_eq!(app.stored_uploads().await, 0, "nothing is stored");
}

#[tokio::test]
async fn a_file_damaged_after_upload_fails_as_a_corrupted_file_on_the_socket() {
    let app = crate::helpers::spawn_idle_app().await;
    let dir = tempfile::tempdir().unwrap();
    let wav = std::fs::read(crate::helpers::speak(dir.path(), "A note.")).unwrap();
    let form =
        reqwest::multipart::Form::new().part("files[]", file_part(wav, "note.wav", "audio/wav"));
    let created: serde_json::Value = app.create(form, None).await.json().await.unwrap();
    let noise: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    app.damage_stored_uploads(&noise).await;
    let following = app.subscribe(&created).await;
    crate::read::worker(&app)
        .await
        .try_process_one()
        .await
        .unwrap();
    let got = following.collect().await;

    let failed = got.last();
    assert_eq!(failed.event, EventKind::Failed);
    assert_eq!(failed.payload["error_code"], "corrupted_file");
    assert_eq!(
        failed.payload["error_message"],
        "CORRUPTED FILE. TRY A DIFFERENT ONE"
    );
    assert_eq!(got.close_code, Some(1000));
    // The upload is deleted right after the terminal event commits.
    eventually(
        Duration::from_secs(10),
        "the raw upload is deleted",
        || async { app.stored_uploads().await == 0 },
    )
    .await;
}
