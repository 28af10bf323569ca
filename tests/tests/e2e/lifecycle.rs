//! The lifecycle's answers to a worker: a smelt cancelled under a running worker is a normal
//! end of its run, not an error.

use reqwest::multipart::Form;
use serde_json::Value;
use smelt_core::events::EventKind;
use smelt_worker::Outcome;
use uuid::Uuid;

use crate::helpers::{captured_logs, encode, file_part, spawn_idle_app, speak, worker};

#[tokio::test]
async fn a_smelt_cancelled_mid_transcription_stops_its_worker_without_an_error_line() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    // Long enough (about three minutes) to be still transcribing when it is cancelled.
    let speech = "The review covered the roadmap, the hiring plan and the budget, and every \
        owner agreed on a date for the next step. "
        .repeat(24);
    let mp3 = std::fs::read(encode(&speak(dir.path(), &speech), "mp3")).unwrap();
    let created: Value = app
        .create(
            Form::new().part("files[]", file_part(mp3, "review.mp3", "audio/mpeg")),
            Some(&token),
        )
        .await
        .json()
        .await
        .unwrap();
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let mut socket = app.subscribe(&created).await;
    let worker = worker(&app).await;
    let job = tokio::spawn(async move { worker.try_process_one().await });

    socket.read_until(|e| e.event == EventKind::Segment).await;
    let cancelled = app
        .client
        .post(app.url(&format!("/api/smelts/{id}/cancel")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    assert_eq!(socket.collect().await.last().event, EventKind::Cancelled);

    let outcome = job
        .await
        .unwrap()
        .expect("the worker's run ends without error");
    assert_eq!(outcome, Outcome::Skipped(id), "the worker stopped the job");
    let logs = captured_logs();
    let about_it: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains(&id.to_string()))
        .collect();
    assert!(
        about_it
            .iter()
            .any(|l| l.contains("smelt deleted or cancelled while running; stopped")),
        "the worker said it stopped: {about_it:#?}"
    );
    let errors: Vec<&&str> = about_it.iter().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "no error line: {errors:#?}");
}
