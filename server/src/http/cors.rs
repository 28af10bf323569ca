//! Cross-origin access (CORS, <https://fetch.spec.whatwg.org/#http-cors-protocol>) for web
//! pages served from other origins, from `SMELT_CORS_ORIGINS`.
//!
//! The API authenticates with bearer tokens in the `Authorization` header, never with cookies,
//! so no origin is ever allowed credentials (`Access-Control-Allow-Credentials` is never sent).
//! A request from an origin that is not listed gets no CORS headers at all, so the browser
//! keeps its response from the page.

use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may cache a preflight answer (`Access-Control-Max-Age`).
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// A configured origin that is not a valid `scheme://host[:port]` header value.
#[derive(Debug, thiserror::Error)]
#[error("SMELT_CORS_ORIGINS: {0:?} is not an origin such as https://app.example.com")]
pub struct InvalidOrigin(String);

/// The CORS layer for `origins` (exact origins, or `*` for any), or `None` when the list is
/// empty. Errors: an entry that is not `http(s)://host[:port]`.
pub fn layer(origins: &[String]) -> Result<Option<CorsLayer>, InvalidOrigin> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let allow_origin = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let parsed = origins
            .iter()
            .map(|origin| parse_origin(origin))
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(parsed)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([
                header::RETRY_AFTER,
                header::CONTENT_DISPOSITION,
                HeaderName::from_static("x-request-id"),
            ])
            .max_age(PREFLIGHT_MAX_AGE),
    ))
}

/// An origin as browsers send it: scheme, host and optional port, nothing else.
fn parse_origin(origin: &str) -> Result<HeaderValue, InvalidOrigin> {
    let invalid = || InvalidOrigin(origin.to_owned());
    let url = url::Url::parse(origin).map_err(|_| invalid())?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare {
        return Err(invalid());
    }
    // `Url` normalises (lower-case host, default port dropped), as browsers do in `Origin`.
    HeaderValue::from_str(url.origin().ascii_serialization().as_str()).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_allows_no_other_origin() {
        assert!(layer(&[]).unwrap().is_none());
        assert!(layer(&[" ".into()]).unwrap().is_none());
    }

    #[test]
    fn origins_are_normalised_like_browsers_send_them() {
        assert_eq!(
            parse_origin("HTTPS://App.Example.com:443").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            parse_origin("http://localhost:5173").unwrap(),
            "http://localhost:5173"
        );
    }

    #[test]
    fn entries_with_paths_or_other_schemes_are_refused() {
        for bad in [
            "https://a.example/path",
            "ftp://a.example",
            "a.example",
            "https://a.example/?q",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
