//! `/healthz` and `/readyz`.

use std::time::Duration;

use crate::helpers::spawn_idle_app;

#[tokio::test]
async fn the_server_reports_alive_and_then_ready_with_each_check() {
    let app = spawn_idle_app().await;
    let (status, body) = app.get("/healthz", None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));

    // The LISTEN connection comes up in the background; poll with a deadline.
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let ready = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            tick.tick().await;
            let (status, body) = app.get("/readyz", None).await;
            if status == 200 {
                return body;
            }
            assert_eq!(status, 503, "{body}");
            assert!(
                body["failing"].as_array().is_some_and(|f| !f.is_empty()),
                "{body}"
            );
        }
    })
    .await
    .expect("ready within 10 s");
    assert_eq!(
        ready["checks"],
        serde_json::json!({"database": true, "listener": true, "queue": true, "storage": true})
    );
}

#[tokio::test]
async fn the_web_app_answers_its_own_routes_with_its_page() {
    let app = spawn_idle_app().await;
    let response = reqwest::get(app.url("/history")).await.unwrap();
    assert_eq!(response.status(), 200, "a deep link loads the app");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let api = reqwest::get(app.url("/api/no-such-thing")).await.unwrap();
    assert_eq!(api.status(), 404, "unknown API routes stay 404");
}
