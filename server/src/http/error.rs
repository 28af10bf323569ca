//! The HTTP layer's error type. Every error leaves as the envelope
//! `{"error": {"code": "...", "message": "..."}}` (`docs/api.md#error-codes`); internal failures
//! are logged with their cause and shown only as `internal_error`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorBody {
    /// What went wrong.
    pub error: ApiErrorDetail,
}

/// The inside of the error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorDetail {
    /// Machine-readable code.
    #[schema(value_type = ApiErrorCode)]
    pub code: &'static str,
    /// Message to show the user, in capitals.
    #[schema(example = "SMELT NOT FOUND")]
    pub message: String,
}

/// The codes an error answer carries, listed with their statuses in `docs/api.md#error-codes`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    /// `POST /api/smelts` without files or text, or `/v1/audio/*` without `file`.
    NoInput,
    /// `POST /api/smelts` with both files and text.
    MixedInput,
    /// More than five files (more than one on `/v1/audio/*`).
    TooManyFiles,
    /// A file over 25 MB.
    FileTooLarge,
    /// A file that is not MP3, WAV or M4A.
    InvalidFormat,
    /// Combine mode without a signed-in user.
    CombineRequiresAuth,
    /// Combine mode with fewer than two files.
    CombineRequiresMultiple,
    /// An anonymous client's smelt of the day is used.
    DailyLimit,
    /// A user's weekly credits are used.
    WeeklyLimit,
    /// No valid access token, or a feature that needs one.
    Unauthorized,
    /// A prompt that does not exist or is not the caller's.
    PromptNotFound,
    /// A field, query parameter or JSON body outside its domain.
    InvalidData,
    /// A create body that is not usable multipart/form-data.
    InvalidMultipart,
    /// A create body over the size limit.
    PayloadTooLarge,
    /// An unknown route, or a smelt or document that does not exist (or is not the caller's).
    NotFound,
    /// A route that exists, with another method.
    MethodNotAllowed,
    /// An expired or altered download link, or a token for another smelt.
    Forbidden,
    /// Too many requests from the address or user; see `Retry-After`.
    RateLimited,
    /// Wrong email or password.
    InvalidCredentials,
    /// Sign-up with a registered email.
    EmailTaken,
    /// An unknown, expired, revoked or reused refresh token.
    InvalidToken,
    /// The provider rejected the API key.
    ApiKeyInvalid,
    /// The API key could not be checked with its provider.
    ProviderUnreachable,
    /// A socket route requested without a WebSocket upgrade.
    WebsocketRequired,
    /// The event stream could not start; retry.
    TryAgain,
    /// Cancelling a smelt that completed, failed or was cancelled already.
    AlreadyFinished,
    /// An uploaded file is longer than the duration limit.
    DurationExceeded,
    /// An uploaded file whose container cannot be read, or with no audio track or packet.
    CorruptedFile,
    /// An upload took longer than `SMELT_UPLOAD_DEADLINE_SECS`.
    UploadTimeout,
    /// A provider base URL that is plain `http` or not a public address (and not allowed).
    ProviderNotAllowed,
    /// A webhook URL that is plain `http` or not a public address (and not allowed).
    WebhookUrlNotAllowed,
    /// A recording's link that is not `https` to a public address on its scheme's port (and
    /// whose host is not allowed).
    UrlNotAllowed,
    /// A service API key without the scope the route needs, or a key used where only a
    /// signed-in session may act (managing keys, the profile, prompts).
    InsufficientScope,
    /// A failure on the server's side.
    InternalError,
}

/// An API error: status, machine code and human message.
#[derive(Debug)]
pub enum ApiError {
    /// A client error with its status, code and message.
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// 429 `rate_limited` with a `Retry-After` header.
    RateLimited { retry_after_secs: u64 },
    /// A bug or an unavailable dependency: logged, answered 500 `internal_error`.
    Internal(anyhow::Error),
}

impl ApiError {
    /// A client error.
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Client {
            status,
            code,
            message: message.into(),
        }
    }
    /// 400 with a code and message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, code, message)
    }
    /// 400 `invalid_data`: a field has a value outside its domain.
    pub fn invalid_data(message: impl Into<String>) -> Self {
        Self::bad_request("invalid_data", message)
    }
    /// 401 `unauthorized` for endpoints that need a signed-in user.
    pub fn login_required() -> Self {
        Self::client(StatusCode::UNAUTHORIZED, "unauthorized", "LOGIN REQUIRED")
    }
    /// 401 `unauthorized` for features anonymous users cannot use (several files, custom prompts).
    pub fn feature_requires_login() -> Self {
        Self::client(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "LOGIN REQUIRED FOR THIS FEATURE",
        )
    }
    /// 401 `unauthorized` for a missing, malformed, expired or wrongly signed token.
    pub fn invalid_token() -> Self {
        Self::client(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "INVALID OR EXPIRED TOKEN. LOG IN AGAIN",
        )
    }
    /// 403 `insufficient_scope`: a service key without `scope` (or any key, for routes that
    /// need a signed-in session: `scope` is then `None`).
    pub fn insufficient_scope(scope: Option<&str>) -> Self {
        let message = match scope {
            Some(scope) => format!("THIS KEY LACKS THE {} SCOPE", scope.to_uppercase()),
            None => "SIGN IN TO DO THIS: SERVICE KEYS CANNOT".to_owned(),
        };
        Self::client(StatusCode::FORBIDDEN, "insufficient_scope", message)
    }
    /// 404 `not_found` for a smelt that does not exist or is not the caller's.
    pub fn smelt_not_found() -> Self {
        Self::client(StatusCode::NOT_FOUND, "not_found", "SMELT NOT FOUND")
    }
    /// 404 `not_found` for an unknown route.
    pub fn route_not_found() -> Self {
        Self::client(StatusCode::NOT_FOUND, "not_found", "NOT FOUND")
    }
    /// The machine code (for logs and tests).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Client { code, .. } => code,
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError::Internal(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::Client {
                status,
                code,
                message,
            } => (status, code, message),
            ApiError::RateLimited { retry_after_secs } => {
                let body = ApiErrorBody::new(
                    "rate_limited",
                    format!("TOO MANY REQUESTS. TRY AGAIN IN {retry_after_secs} SECONDS"),
                );
                let headers = [(
                    axum::http::header::RETRY_AFTER,
                    retry_after_secs.to_string(),
                )];
                return (StatusCode::TOO_MANY_REQUESTS, headers, Json(body)).into_response();
            }
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "SOMETHING WENT WRONG. TRY AGAIN".to_owned(),
                )
            }
        };
        (status, Json(ApiErrorBody::new(code, message))).into_response()
    }
}

impl ApiErrorBody {
    /// The envelope of `code` and `message`.
    pub fn new(code: &'static str, message: String) -> Self {
        ApiErrorBody {
            error: ApiErrorDetail { code, message },
        }
    }
}
