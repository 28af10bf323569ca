//! `GET /api/smelts/{id}` (three shapes, owner only) and `GET /api/smelts` (filter, sort,
//! pagination).

use serde_json::Value;
use smelt_worker::Outcome;
use uuid::Uuid;

use crate::helpers::{file_part, spawn_idle_app};

pub use crate::helpers::worker;

#[tokio::test]
async fn a_smelt_reads_back_as_processing_then_completed_for_its_owner() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let created = app
        .create_text(
            "Bob will send the slides on Monday. The launch moved to May.",
            &["summarize"],
            Some(&token),
        )
        .await;
    let path = format!("/api/smelts/{}", created["id"].as_str().unwrap());

    let (status, pending) = app.get(&path, Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["progress"]["percentage"], 0);
    assert_eq!(pending["progress"]["stage"], "pending");
    assert_eq!(pending["progress"]["message"], "Waiting to process...");
    assert!(pending.get("results").is_none() && pending.get("error_code").is_none());

    let outcome = worker(&app).await.try_process_one().await.unwrap();
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");

    let (_, done) = app.get(&path, Some(&token)).await;
    assert_eq!(done["status"], "completed");
    assert!(done.get("progress").is_none());
    assert!(done["completed_at"].is_string());
    assert_eq!(done["results"][0]["filename"], "Pasted text");
    assert!(done["results"][0]["content"]
        .as_str()
        .unwrap()
        .starts_with("# Summary"));
}

#[tokio::test]
async fn a_failed_smelt_reads_back_with_its_error() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    let wav = std::fs::read(crate::helpers::speak(dir.path(), "A short note.")).unwrap();
    let form =
        reqwest::multipart::Form::new().part("files[]", file_part(wav, "x.wav", "audio/wav"));
    let created: Value = app.create(form, Some(&token)).await.json().await.unwrap();
    app.damage_stored_uploads(&[1u8; 4096]).await;
    let outcome = worker(&app).await.try_process_one().await.unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::Failed(_, smelt_core::domain::ErrorCode::CorruptedFile)
        ),
        "{outcome:?}"
    );

    let (status, failed) = app
        .get(
            &format!("/api/smelts/{}", created["id"].as_str().unwrap()),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error_code"], "corrupted_file");
    assert_eq!(
        failed["error_message"],
        "CORRUPTED FILE. TRY A DIFFERENT ONE"
    );
    assert_eq!(failed["files"][0]["status"], "failed");
    assert_eq!(failed["files"][0]["error_code"], "corrupted_file");
}

#[tokio::test]
async fn only_the_owner_can_read_a_smelt() {
    let app = spawn_idle_app().await;
    let owner = app.token_for(Uuid::new_v4());
    let mine = app.create_text("hello world", &[], Some(&owner)).await;
    let anonymous = app.create_text("hello world", &[], None).await;
    let mine_path = format!("/api/smelts/{}", mine["id"].as_str().unwrap());
    let stranger = app.token_for(Uuid::new_v4());

    let (status, body) = app.get(&mine_path, Some(&stranger)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, body) = app.get(&mine_path, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, _) = app
        .get(
            &format!("/api/smelts/{}", anonymous["id"].as_str().unwrap()),
            Some(&owner),
        )
        .await;
    assert_eq!(status, 404, "anonymous smelts cannot be read back");
    let (status, _) = app.get("/api/smelts/not-a-uuid", Some(&owner)).await;
    assert_eq!(status, 404);
    let (status, body) = app.get(&mine_path, Some("garbage")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
}

#[tokio::test]
async fn the_list_filters_sorts_and_paginates_the_callers_smelts() {
    let app = spawn_idle_app().await;
    let token = app.token_for(Uuid::new_v4());
    let mut ids = Vec::new();
    for i in 0..5 {
        let created = app
            .create_text(&format!("note number {i}"), &["summarize"], Some(&token))
            .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    app.create_text("someone else's", &[], Some(&app.token_for(Uuid::new_v4())))
        .await;
    let w = worker(&app).await;
    // Complete the two oldest.
    for _ in 0..2 {
        assert!(matches!(
            w.try_process_one().await.unwrap(),
            Outcome::Completed(_)
        ));
    }

    let (status, page) = app.get("/api/smelts?limit=2&page=1", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(
        page["pagination"],
        serde_json::json!({"page": 1, "limit": 2, "total": 5, "total_pages": 3})
    );
    let listed: Vec<&str> = page["smelts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        vec![ids[4].as_str(), ids[3].as_str()],
        "newest first by default"
    );
    assert_eq!(page["smelts"][0]["file_count"], 1);
    assert_eq!(
        page["smelts"][0]["default_prompt_names"],
        serde_json::json!(["summarize"])
    );

    let (_, asc) = app.get("/api/smelts?order=asc&limit=1", Some(&token)).await;
    assert_eq!(asc["smelts"][0]["id"], ids[0]);
    let (_, completed) = app.get("/api/smelts?status=completed", Some(&token)).await;
    assert_eq!(completed["pagination"]["total"], 2);
    assert!(completed["smelts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["status"] == "completed"));
    let (_, pending) = app.get("/api/smelts?status=pending", Some(&token)).await;
    assert_eq!(pending["pagination"]["total"], 3);
    let (_, by_completion) = app
        .get("/api/smelts?sort=completed_at&order=desc", Some(&token))
        .await;
    assert_eq!(
        by_completion["smelts"][0]["id"], ids[1],
        "most recently completed first"
    );

    for bad in [
        "limit=51",
        "limit=0",
        "page=0",
        "status=done",
        "sort=name",
        "order=up",
    ] {
        let (status, body) = app.get(&format!("/api/smelts?{bad}"), Some(&token)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_data")),
            "{bad}"
        );
    }
    let (status, _) = app.get("/api/smelts", None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn deleting_a_smelt_removes_its_rows_and_uploads_for_the_owner_only() {
    let app = spawn_idle_app().await;
    let owner = app.token_for(Uuid::new_v4());
    let form = reqwest::multipart::Form::new().part(
        "files[]",
        file_part(crate::pipeline::silent_wav(1), "x.wav", "audio/wav"),
    );
    let created: Value = app.create(form, Some(&owner)).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/smelts/{id}");
    assert_eq!(app.stored_uploads().await, 1);

    let stranger = app.token_for(Uuid::new_v4());
    assert_eq!(app.delete(&path, &stranger).await, 404);
    assert_eq!(app.delete(&path, &owner).await, 204);

    assert_eq!(app.get(&path, Some(&owner)).await.0, 404);
    let uuid: Uuid = id.parse().unwrap();
    for table in ["smelt", "smelt_file", "smelt_result", "smelt_event"] {
        let left: i64 =
            sqlx::query_scalar(&format!("select count(*) from {table} where smelt_id = $1"))
                .bind(uuid)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert_eq!(left, 0, "{table}");
    }
    assert_eq!(app.stored_uploads().await, 0, "the upload is gone");
    assert_eq!(app.delete(&path, &owner).await, 404);
}
