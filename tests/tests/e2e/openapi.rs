//! `GET /api/openapi.json`: a valid OpenAPI 3 document whose operations are exactly the
//! routes of the README's API table, each of them actually routed by the server.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{spawn_idle_app, workspace_root};

/// A route: upper-case method and path template (`/api/smelts/{id}`).
type Route = (String, String);

/// The methods an OpenAPI path item can hold, as its keys.
const OPERATION_KEYS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The routes of one cell of the README's API table. Each code span is either
/// `METHOD /path[query]` or a lone `METHOD` that shares the path of the next span
/// (`` `GET`/`POST /api/prompts` ``); query parts (`?…`, `[?…]`) are not part of the path.
fn routes_of_cell(cell: &str) -> Vec<Route> {
    let mut routes = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for span in cell.split('`').skip(1).step_by(2) {
        let is_method = |word: &str| OPERATION_KEYS.contains(&word.to_lowercase().as_str());
        match span.split_once(' ') {
            None if is_method(span) => pending.push(span.to_owned()),
            Some((method, target)) if is_method(method) && target.starts_with('/') => {
                let path = target.split(['?', '[']).next().unwrap_or_default();
                pending.push(method.to_owned());
                routes.extend(pending.drain(..).map(|m| (m, path.to_owned())));
            }
            _ => panic!("not a route in the README's API table: `{span}` in {cell:?}"),
        }
    }
    assert!(pending.is_empty(), "a method without a path in {cell:?}");
    routes
}

/// Every route of the table that follows `## API` in the README.
fn readme_routes() -> BTreeSet<Route> {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let section = readme
        .split("\n## API\n")
        .nth(1)
        .expect("the README has an API section");
    let rows = section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2); // the header and its rule
    let routes: BTreeSet<Route> = rows
        .flat_map(|row| routes_of_cell(row.split('|').nth(1).unwrap_or_default()))
        .collect();
    assert!(
        routes.len() > 10,
        "too few routes read from the README: {routes:?}"
    );
    routes
}

/// Every operation of the document.
fn document_routes(document: &Value) -> BTreeSet<Route> {
    let paths = document["paths"]
        .as_object()
        .expect("the document has paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            OPERATION_KEYS
                .iter()
                .filter(|key| item.get(**key).is_some())
                .map(move |key| (key.to_uppercase(), path.clone()))
        })
        .collect()
}

/// `path` with every parameter (`{id}`, `{key}`) filled with a fresh UUID.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some((before, after)) = rest.split_once('{') {
        let (_, tail) = after.split_once('}').expect("a closed path parameter");
        out.push_str(before);
        out.push_str(&Uuid::new_v4().to_string());
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[test]
fn readme_cells_name_each_method_with_its_full_path() {
    let route = |m: &str, p: &str| (m.to_owned(), p.to_owned());
    assert_eq!(
        routes_of_cell(" `GET`/`POST /api/prompts`, `GET`/`DELETE /api/prompts/{id}` "),
        vec![
            route("GET", "/api/prompts"),
            route("POST", "/api/prompts"),
            route("GET", "/api/prompts/{id}"),
            route("DELETE", "/api/prompts/{id}"),
        ]
    );
    assert_eq!(
        routes_of_cell("`GET /api/ws[?token=<access token>]`, `GET /api/d/{key}?sig=…`"),
        vec![route("GET", "/api/ws"), route("GET", "/api/d/{key}")]
    );
    assert_eq!(concrete("/a/{id}/b").len(), "/a//b".len() + 36);
}

#[tokio::test]
async fn the_document_names_exactly_the_readme_routes_and_each_is_routed() {
    let app = spawn_idle_app().await;
    let response = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let text = response.text().await.unwrap();
    let spec = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    assert!(spec.openapi.starts_with("3."), "{}", spec.openapi);
    assert_eq!(spec.info.title, "Smelt");
    let document: Value = serde_json::from_str(&text).unwrap();
    assert!(
        document["components"]["securitySchemes"]["bearer"].is_object(),
        "no bearer scheme"
    );

    let documented = document_routes(&document);
    let readme = readme_routes();
    assert_eq!(
        readme,
        documented,
        "README only: {:?}; document only: {:?}",
        readme.difference(&documented).collect::<Vec<_>>(),
        documented.difference(&readme).collect::<Vec<_>>()
    );

    let operation_ids: Vec<&str> = documented
        .iter()
        .map(|(method, path)| {
            document["paths"][path][method.to_lowercase()]["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"))
        })
        .collect();
    let unique: BTreeSet<&str> = operation_ids.iter().copied().collect();
    assert_eq!(unique.len(), operation_ids.len(), "{operation_ids:?}");

    let codes = &document["components"]["schemas"]["ApiErrorCode"]["enum"];
    let codes: BTreeSet<&str> = codes
        .as_array()
        .expect("ApiErrorCode lists the error codes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let unknown_route = serde_json::json!({"error": {"code": "not_found", "message": "NOT FOUND"}});
    for (method, path) in &documented {
        let url = app.url(&concrete(path));
        let response = app
            .client
            .request(Method::from_bytes(method.as_bytes()).unwrap(), &url)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let route = format!("{method} {path}");
        assert!(
            !(status == 404 && body == unknown_route),
            "{route} is documented but not routed"
        );
        assert_ne!(status, 405, "{route} is routed for another method: {body}");
        let responses = &document["paths"][path][method.to_lowercase()]["responses"];
        assert!(
            responses.get(status.to_string()).is_some(),
            "{route} answered {status}, which its operation does not document: {body}"
        );
        if let Some(code) = body["error"]["code"].as_str() {
            assert!(
                codes.contains(code),
                "{route} answered the undocumented error code {code}"
            );
        }
    }
}
