//! Cross-origin access: only the origins in `SMELT_CORS_ORIGINS`, never with credentials.

use reqwest::Method;

use crate::helpers::{spawn_app_with, AppOptions, TestApp};

const ALLOWED: &str = "https://notes.example.com";

async fn app_allowing(origins: Vec<String>) -> TestApp {
    spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(move |s| s.server.http.cors_origins = origins)),
        ..AppOptions::default()
    })
    .await
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/api/smelts"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_succeeds_and_another_origin_is_granted_nothing() {
    let app = app_allowing(vec![ALLOWED.into()]).await;
    let allowed = preflight(&app, ALLOWED).await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some(ALLOWED)
    );
    let methods = header(&allowed, "access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let headers = header(&allowed, "access-control-allow-headers").unwrap();
    assert!(headers.contains("authorization"), "{headers}");
    assert_eq!(header(&allowed, "access-control-allow-credentials"), None);

    // Without `Access-Control-Allow-Origin` the browser grants the page nothing (the method
    // and header lists a preflight may still carry are not a grant).
    let other = preflight(&app, "https://evil.example.net").await;
    assert_eq!(header(&other, "access-control-allow-origin"), None);
    assert_eq!(header(&other, "access-control-allow-credentials"), None);

    // A simple request from the allowed origin carries the header too.
    let response = app
        .client
        .get(app.url("/api/config"))
        .header("Origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        Some(ALLOWED)
    );
}

#[tokio::test]
async fn without_configured_origins_no_cross_origin_access_is_granted() {
    let app = app_allowing(Vec::new()).await;
    let response = preflight(&app, ALLOWED).await;
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn a_wildcard_allows_any_origin_without_credentials() {
    let app = app_allowing(vec!["*".into()]).await;
    let response = preflight(&app, "https://anywhere.example.org").await;
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&response, "access-control-allow-credentials"), None);
}
