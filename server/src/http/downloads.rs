//! `GET /api/downloads/{key}?expires=…&filename=…&sig=…`: result documents at the signed URLs
//! the fs store hands out ([`DownloadSigner`]). An S3 store gives presigned URLs of the object
//! store instead, which never lead here.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use smelt_core::blob::{BlobError, SignedUrlRefused};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::{ApiError, ApiErrorBody};
use crate::state::AppState;

/// Routes of the download endpoint.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download))
}

/// The signed part of the URL.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Signature {
    /// Unix time (s) after which the URL is refused.
    expires: i64,
    /// Name the browser saves the document as.
    filename: String,
    /// HMAC-SHA-256, hex.
    sig: String,
}

/// The document as `text/markdown` attachment. 403 `forbidden` for an expired, altered or
/// incomplete URL; 404 `not_found` when the document no longer exists (its smelt was deleted).
#[utoipa::path(
    get,
    path = "/downloads/{*key}",
    operation_id = "download_result",
    summary = "A result document at a signed URL",
    tag = "downloads",
    params(
        ("key" = String, Path, description = "The document's key, `results/{smelt_id}/{result_id}.md` (may contain `/`)"),
        Signature
    ),
    responses(
        (status = 200, description = "The document, as an attachment", content_type = "text/markdown", body = String),
        (status = 403, description = "`forbidden`: the link expired, was altered or is incomplete", body = ApiErrorBody),
        (status = 404, description = "`not_found`: the document no longer exists", body = ApiErrorBody)
    )
)]
async fn download(
    State(state): State<AppState>,
    Path(key): Path<String>,
    query: Result<Query<Signature>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(signature) = query.map_err(|_| refused(SignedUrlRefused::BadSignature))?;
    // Only result documents are ever offered for download; raw uploads never are.
    if !key.starts_with("results/") {
        return Err(refused(SignedUrlRefused::BadSignature));
    }
    state
        .downloads
        .verify(&key, signature.expires, &signature.filename, &signature.sig)
        .map_err(refused)?;
    let body = match state.blobs.get(&key).await {
        Ok(body) => body,
        Err(BlobError::NotFound(_)) => {
            return Err(ApiError::client(
                StatusCode::NOT_FOUND,
                "not_found",
                "RESULT NOT FOUND",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", signature.filename))
            .map_err(|_| refused(SignedUrlRefused::BadSignature))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/markdown; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            // The URL itself is the credential: keep it out of shared caches.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

fn refused(reason: SignedUrlRefused) -> ApiError {
    let message = match reason {
        SignedUrlRefused::Expired => "DOWNLOAD LINK EXPIRED. OPEN THE SMELT AGAIN FOR A NEW ONE",
        SignedUrlRefused::BadSignature => "INVALID DOWNLOAD LINK",
    };
    ApiError::client(StatusCode::FORBIDDEN, "forbidden", message)
}
