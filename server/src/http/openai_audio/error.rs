//! Errors of the OpenAI-compatible routes, in OpenAI's shape
//! `{"error": {"message", "type", "param", "code"}}` so that OpenAI's SDKs raise their usual
//! exceptions (`AuthenticationError` for 401, `BadRequestError` for 400, …). `code` carries
//! Smelt's own code: one of `docs/api.md#error-codes`, or for a smelt that failed its
//! `docs/api.md#smelt-error-codes` code.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use smelt_core::domain::ErrorCode;
use utoipa::ToSchema;

use crate::http::error::ApiError;

/// OpenAI's SDKs retry 408, 409, 429 and 5xx answers unless this header says `false`.
const SHOULD_RETRY: &str = "x-should-retry";

/// The body of every error answer of `/v1/audio/*`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenAiErrorBody {
    /// What went wrong.
    pub error: OpenAiErrorDetail,
}

/// The inside of [`OpenAiErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenAiErrorDetail {
    /// Message to show the user, in capitals.
    #[schema(example = "FILE TOO CHUNKY. MAX 25MB. YOUR FILE: 26.1MB")]
    pub message: String,
    /// `invalid_request_error` for a 4xx answer, `server_error` for a 5xx one.
    #[serde(rename = "type")]
    #[schema(example = "invalid_request_error")]
    pub kind: &'static str,
    /// Always null: the code and message name the field.
    pub param: Option<String>,
    /// Smelt's machine code: an `ApiErrorCode`, or the smelt error code (`ErrorCode`) of a
    /// smelt that failed.
    #[schema(example = "file_too_large")]
    pub code: &'static str,
}

/// An error of an OpenAI-compatible route: status, Smelt's code and message, and the headers
/// that tell OpenAI's SDKs whether and when to retry.
#[derive(Debug)]
pub struct OpenAiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Smelt's machine code (`docs/api.md#error-codes` or `#smelt-error-codes`).
    pub code: &'static str,
    /// Message to show the user, in capitals.
    pub message: String,
    /// Seconds to wait before trying again (`Retry-After`), for 429.
    pub retry_after_secs: Option<u64>,
    /// Sends `x-should-retry: false`: retrying would only repeat what already happened.
    pub final_answer: bool,
}

impl OpenAiError {
    /// An error with its status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        OpenAiError {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
            final_answer: false,
        }
    }

    /// 404 `not_found`: a path under `/v1` that Smelt does not serve (it serves only
    /// `/v1/audio/transcriptions` and `/v1/audio/translations`).
    pub fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "NOT FOUND")
    }

    /// 405 `method_not_allowed`: a route of `/v1` with a method other than `POST`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "METHOD NOT ALLOWED",
        )
    }

    /// The answer for a smelt that ended without a transcript, with its smelt error code and
    /// message: 400 for what is wrong with the file or with the user's own provider key, 429
    /// when the provider throttles or its quota is used up, 409 `cancelled` when its owner
    /// cancelled it, 502 when a provider connection was lost, 500 otherwise. Never retried by
    /// OpenAI's SDKs (`x-should-retry: false`): the worker already retried what could be, and
    /// each retry would be a new smelt.
    pub fn smelt_failed(code: ErrorCode, message: String) -> Self {
        let status = match code {
            ErrorCode::FileTooLarge
            | ErrorCode::InvalidFormat
            | ErrorCode::DurationExceeded
            | ErrorCode::CorruptedFile
            | ErrorCode::ApiKeyInvalid
            | ErrorCode::ApiKeyUnreadable
            | ErrorCode::UrlNotAllowed
            | ErrorCode::UrlUnreachable => StatusCode::BAD_REQUEST,
            ErrorCode::ApiRateLimited | ErrorCode::ApiQuotaExhausted => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ErrorCode::Cancelled => StatusCode::CONFLICT,
            ErrorCode::ConnectionLost => StatusCode::BAD_GATEWAY,
            ErrorCode::TranscriptionFailed
            | ErrorCode::SynthesisFailed
            | ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if message.trim().is_empty() {
            code.message(None)
        } else {
            message
        };
        OpenAiError {
            final_answer: true,
            ..Self::new(status, code.as_str(), message)
        }
    }

    /// The body: `type` follows the status.
    pub fn body(&self) -> OpenAiErrorBody {
        OpenAiErrorBody {
            error: OpenAiErrorDetail {
                message: self.message.clone(),
                kind: if self.status.is_server_error() {
                    "server_error"
                } else {
                    "invalid_request_error"
                },
                param: None,
                code: self.code,
            },
        }
    }
}

impl From<ApiError> for OpenAiError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Client {
                status,
                code,
                message,
            } => Self::new(status, code, message),
            ApiError::RateLimited { retry_after_secs } => OpenAiError {
                retry_after_secs: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("TOO MANY REQUESTS. TRY AGAIN IN {retry_after_secs} SECONDS"),
                )
            },
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "SOMETHING WENT WRONG. TRY AGAIN",
                )
            }
        }
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.final_answer {
            headers.insert(
                HeaderName::from_static(SHOULD_RETRY),
                HeaderValue::from_static("false"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_smelt_is_the_clients_fault_only_when_its_file_or_key_is() {
        let status = |code| OpenAiError::smelt_failed(code, String::new()).status;
        assert_eq!(status(ErrorCode::CorruptedFile), StatusCode::BAD_REQUEST);
        assert_eq!(status(ErrorCode::Cancelled), StatusCode::CONFLICT);
        assert_eq!(
            status(ErrorCode::TranscriptionFailed),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let failed = OpenAiError::smelt_failed(ErrorCode::CorruptedFile, String::new());
        assert_eq!(failed.message, "CORRUPTED FILE. TRY A DIFFERENT ONE");
        let body = serde_json::to_value(failed.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {
                "message": "CORRUPTED FILE. TRY A DIFFERENT ONE",
                "type": "invalid_request_error",
                "param": null,
                "code": "corrupted_file"
            }})
        );
        let response = failed.into_response();
        assert_eq!(response.headers()["x-should-retry"], "false");
    }

    #[test]
    fn smelts_errors_keep_their_status_and_code_and_a_server_fault_says_so() {
        let refused: OpenAiError = ApiError::invalid_token().into();
        assert_eq!(
            (refused.status, refused.code),
            (StatusCode::UNAUTHORIZED, "unauthorized")
        );
        let internal: OpenAiError = ApiError::Internal(anyhow::anyhow!("boom")).into();
        assert_eq!(internal.body().error.kind, "server_error");
        let limited: OpenAiError = ApiError::RateLimited {
            retry_after_secs: 7,
        }
        .into();
        assert_eq!(limited.into_response().headers()["retry-after"], "7");
    }
}
