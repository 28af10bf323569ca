//! JSON request bodies with rejections in the error envelope.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Like `axum::Json`, but a malformed body answers 400 `invalid_data` in the envelope.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::invalid_data("EXPECTED A JSON BODY"))
            }
            Err(_) => Err(ApiError::invalid_data("INVALID JSON BODY")),
        }
    }
}
