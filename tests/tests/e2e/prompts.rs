//! Custom prompts: CRUD for their owner, 404 for everyone else, and their use in a smelt.

use reqwest::multipart::Form;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::spawn_idle_app;

#[tokio::test]
async fn prompts_belong_to_their_owner() {
    let app = spawn_idle_app().await;
    let owner = app.token_for(Uuid::new_v4());
    let stranger = app.token_for(Uuid::new_v4());

    let (status, created) = app
        .post_json(
            "/api/prompts",
            json!({"title": "Decisions", "body": "List every decision made."}),
            Some(&owner),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let path = format!("/api/prompts/{}", created["id"].as_str().unwrap());

    let (status, listed) = app.get("/api/prompts", Some(&owner)).await;
    assert_eq!(
        (status, listed["prompts"].as_array().unwrap().len()),
        (200, 1)
    );
    let (status, patched) = app
        .send_json(
            app.client.patch(app.url(&path)),
            json!({"title": "Decisions made"}),
            Some(&owner),
        )
        .await;
    assert_eq!(
        (status, patched["title"].as_str(), patched["body"].as_str()),
        (
            200,
            Some("Decisions made"),
            Some("List every decision made.")
        )
    );

    let (status, body) = app.get(&path, Some(&stranger)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("prompt_not_found"))
    );
    assert_eq!(app.delete(&path, &stranger).await, 404);
    let (_, others) = app.get("/api/prompts", Some(&stranger)).await;
    assert!(others["prompts"].as_array().unwrap().is_empty());

    // The stranger cannot use it; the owner can.
    let form = |id: &str| {
        Form::new()
            .text("text", "some notes")
            .text("user_prompt_id", id.to_owned())
    };
    let prompt_id = created["id"].as_str().unwrap();
    assert_eq!(
        app.create(form(prompt_id), Some(&stranger)).await.status(),
        404
    );
    assert_eq!(
        app.create(form(prompt_id), Some(&owner)).await.status(),
        201
    );

    assert_eq!(app.delete(&path, &owner).await, 204);
    let (status, _) = app.get(&path, Some(&owner)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn prompt_fields_have_length_limits() {
    let app = spawn_idle_app().await;
    let owner = app.token_for(Uuid::new_v4());
    for body in [
        json!({"title": "", "body": "x"}),
        json!({"title": "x".repeat(101), "body": "x"}),
        json!({"title": "t", "body": "x".repeat(4001)}),
        json!({"title": "t"}),
    ] {
        let (status, response) = app.post_json("/api/prompts", body, Some(&owner)).await;
        assert_eq!(
            (status, response["error"]["code"].as_str()),
            (400, Some("invalid_data"))
        );
    }
}
