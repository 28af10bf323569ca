//! `POST /api/smelts` validation: every create error of `docs/api.md#error-codes` that needs no
//! account state, plus malformed requests. No worker runs, so nothing is processed.

use reqwest::multipart::Form;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{file_part, spawn_idle_app, TestApp};

async fn app() -> TestApp {
    spawn_idle_app().await
}

fn wav(name: &str) -> reqwest::multipart::Part {
    file_part(crate::pipeline::silent_wav(1), name, "audio/wav")
}

async fn assert_error(response: reqwest::Response, status: u16, code: &str, message: &str) {
    assert_eq!(response.status().as_u16(), status);
    let body: Value = response.json().await.expect("a JSON error envelope");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["message"], message, "{body}");
}

#[tokio::test]
async fn a_valid_upload_answers_201_with_the_subscription_details() {
    let app = app().await;
    let response = app
        .create(
            Form::new()
                .part("files[]", wav("meeting.wav"))
                .text("mode", "separate"),
            None,
        )
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    assert_eq!(body["status"], "pending");
    assert_eq!(body["mode"], "separate");
    assert_eq!(body["subscription_channel"], format!("smelt:{id}"));
    assert_eq!(body["subscription_url"], format!("/api/smelts/{id}/ws"));
    assert!(
        body["subscription_token"]
            .as_str()
            .unwrap()
            .split('.')
            .count()
            == 3,
        "a JWT"
    );
    assert_eq!(body["files"][0]["filename"], "meeting.wav");
    assert_eq!(
        body["files"][0]["size_bytes"],
        crate::pipeline::silent_wav(1).len()
    );
    assert_eq!(body["files"][0]["input_type"], "audio");
    assert_eq!(body["files"][0]["position"], 0);
    assert_eq!(body["user_prompt_id"], Value::Null);
    assert_eq!(app.stored_uploads().await, 1);
    assert_eq!(
        app.queued_jobs().await,
        1,
        "the job is queued with the smelt"
    );
}

#[tokio::test]
async fn nothing_to_process_is_no_input() {
    let app = app().await;
    let msg = "NOTHING TO PROCESS. UPLOAD A FILE OR ENTER TEXT";
    assert_error(
        app.create(Form::new().text("mode", "separate"), None).await,
        400,
        "no_input",
        msg,
    )
    .await;
    assert_error(
        app.create(Form::new().text("text", "  \n "), None).await,
        400,
        "no_input",
        msg,
    )
    .await;
}

#[tokio::test]
async fn files_and_text_together_are_mixed_input() {
    let app = app().await;
    let form = Form::new()
        .part("files[]", wav("a.wav"))
        .text("text", "hello there");
    assert_error(
        app.create(form, None).await,
        400,
        "mixed_input",
        "CHOOSE EITHER FILES OR TEXT, NOT BOTH",
    )
    .await;
    assert_eq!(
        app.stored_uploads().await,
        0,
        "a rejected request leaves no blob"
    );
}

#[tokio::test]
async fn six_files_are_too_many() {
    let app = app().await;
    let token = app.token_for(Uuid::new_v4());
    let mut form = Form::new();
    for i in 0..6 {
        form = form.part("files[]", wav(&format!("{i}.wav")));
    }
    assert_error(
        app.create(form, Some(&token)).await,
        400,
        "too_many_files",
        "MAX 5 FILES ALLOWED",
    )
    .await;
    assert_eq!(app.stored_uploads().await, 0);
}

#[tokio::test]
async fn a_file_over_25_mb_is_too_large_and_is_not_kept() {
    let app = app().await;
    let big = vec![7u8; 26 * 1024 * 1024];
    let form = Form::new().part("files[]", file_part(big, "long.mp3", "audio/mpeg"));
    assert_error(
        app.create(form, None).await,
        400,
        "file_too_large",
        "FILE TOO CHUNKY. MAX 25MB. YOUR FILE: 26.0MB",
    )
    .await;
    assert_eq!(app.stored_uploads().await, 0);
}

#[tokio::test]
async fn a_file_that_is_not_audio_is_an_invalid_format() {
    let app = app().await;
    let form = Form::new().part(
        "files[]",
        file_part(b"hello".to_vec(), "notes.txt", "text/plain"),
    );
    assert_error(
        app.create(form, None).await,
        400,
        "invalid_format",
        "CAN'T READ THAT. TRY .MP3 .WAV .M4A .WEBM .OGG",
    )
    .await;
}

#[tokio::test]
async fn combine_mode_needs_a_login_and_two_files() {
    let app = app().await;
    let two = || {
        Form::new()
            .part("files[]", wav("a.wav"))
            .part("files[]", wav("b.wav"))
            .text("mode", "combine")
    };
    assert_error(
        app.create(two(), None).await,
        400,
        "combine_requires_auth",
        "COMBINE MODE REQUIRES LOGIN",
    )
    .await;

    let token = app.token_for(Uuid::new_v4());
    let one = Form::new()
        .part("files[]", wav("a.wav"))
        .text("mode", "combine");
    assert_error(
        app.create(one, Some(&token)).await,
        400,
        "combine_requires_multiple",
        "COMBINE MODE NEEDS 2+ FILES",
    )
    .await;
    assert_eq!(
        app.create(two(), Some(&token)).await.status(),
        201,
        "a signed-in user may combine two files"
    );
}

#[tokio::test]
async fn anonymous_users_cannot_upload_several_files_or_use_a_custom_prompt() {
    let app = app().await;
    let msg = "LOGIN REQUIRED FOR THIS FEATURE";
    let two = Form::new()
        .part("files[]", wav("a.wav"))
        .part("files[]", wav("b.wav"));
    assert_error(app.create(two, None).await, 401, "unauthorized", msg).await;
    let custom = Form::new()
        .text("text", "some text")
        .text("user_prompt_id", Uuid::new_v4().to_string());
    assert_error(app.create(custom, None).await, 401, "unauthorized", msg).await;
    assert_eq!(app.stored_uploads().await, 0);
}

#[tokio::test]
async fn a_custom_prompt_that_is_not_the_users_is_not_found() {
    let app = app().await;
    let token = app.token_for(Uuid::new_v4());
    let form = Form::new()
        .text("text", "some text")
        .text("user_prompt_id", Uuid::new_v4().to_string());
    assert_error(
        app.create(form, Some(&token)).await,
        404,
        "prompt_not_found",
        "PROMPT NOT FOUND",
    )
    .await;
}

#[tokio::test]
async fn field_values_outside_their_domain_are_invalid_data() {
    let app = app().await;
    let cases = [
        (
            Form::new().text("text", "hi").text("mode", "merge"),
            "INVALID MODE. USE SEPARATE OR COMBINE",
        ),
        (
            Form::new()
                .text("text", "hi")
                .text("default_prompt_names[]", "poem"),
            "UNKNOWN PROMPT: poem",
        ),
        (
            Form::new()
                .text("text", "hi")
                .text("user_prompt_id", "not-a-uuid"),
            "INVALID PROMPT ID",
        ),
        (
            Form::new().text("text", "x".repeat(50_001)),
            "TOO MUCH TEXT. MAX 50,000 CHARACTERS",
        ),
        (
            Form::new().text("text", "hi").text("colour", "blue"),
            "UNKNOWN FIELD: colour",
        ),
    ];
    for (form, message) in cases {
        assert_error(app.create(form, None).await, 400, "invalid_data", message).await;
    }
    let exactly_max = Form::new().text("text", "é".repeat(50_000));
    assert_eq!(
        app.create(exactly_max, None).await.status(),
        201,
        "50,000 characters are allowed"
    );
}

#[tokio::test]
async fn bodies_that_are_not_a_multipart_form_are_rejected_in_the_envelope() {
    let app = app().await;
    let json = app
        .client
        .post(app.url("/api/smelts"))
        .json(&serde_json::json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_error(
        json,
        400,
        "invalid_multipart",
        "EXPECTED A multipart/form-data BODY",
    )
    .await;
    let broken = app
        .client
        .post(app.url("/api/smelts"))
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nunterminated")
        .send()
        .await
        .unwrap();
    assert_error(
        broken,
        400,
        "invalid_multipart",
        "MALFORMED MULTIPART REQUEST",
    )
    .await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_envelope() {
    let app = app().await;
    let missing = app
        .client
        .get(app.url("/api/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_error(missing, 404, "not_found", "NOT FOUND").await;
    let wrong_method = app
        .client
        .delete(app.url("/api/smelts"))
        .send()
        .await
        .unwrap();
    assert_error(
        wrong_method,
        405,
        "method_not_allowed",
        "METHOD NOT ALLOWED",
    )
    .await;
}
