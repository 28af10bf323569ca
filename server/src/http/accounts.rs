//! Email/password accounts: `POST /api/auth/signup`, `/login`, `/refresh`, `/logout`.
//!
//! Passwords are hashed with Argon2id (on the blocking pool: hashing is deliberately slow).
//! Access tokens are short-lived HS256 JWTs with Supabase-compatible claims; refresh tokens
//! are random, stored as SHA-256 hashes, rotated on every use, and a reused one revokes its
//! whole family (a stolen token is useless once either party refreshes).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Duration;
use email_address::EmailAddress;
use serde::{Deserialize, Serialize};
use smelt_core::crypto::{random_token, sha256};
use smelt_core::db::credits;
use smelt_core::db::users::{self, RefreshLookup};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::body::JsonBody;
use super::error::{ApiError, ApiErrorBody};
use crate::limits::{Action, ClientIp};
use crate::state::AppState;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in characters (bounds hashing work).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Routes under `/auth`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
}

/// Sign-up and login body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Credentials {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// 8 to 256 characters.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
}

/// Refresh and logout body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// A session: `access_token` (JWT, `expires_in` seconds) and a `refresh_token`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    pub access_token: String,
    /// Always `bearer`.
    #[schema(example = "bearer")]
    pub token_type: &'static str,
    /// Lifetime of the access token, in seconds.
    pub expires_in: u64,
    pub refresh_token: String,
    pub user: SessionUser,
}

/// The signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionUser {
    pub id: Uuid,
    pub email: String,
}

/// Trims and lowercases an address and checks its syntax (RFC 5321/5322 via `email_address`).
pub fn normalise_email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim().to_lowercase();
    if email.len() > 254 || !EmailAddress::is_valid(&email) {
        return Err(ApiError::invalid_data("INVALID EMAIL ADDRESS"));
    }
    Ok(email)
}

fn check_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(ApiError::invalid_data(
            "PASSWORD MUST BE 8 TO 256 CHARACTERS",
        ));
    }
    Ok(())
}

fn invalid_credentials() -> ApiError {
    ApiError::client(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "WRONG EMAIL OR PASSWORD",
    )
}

/// Issues an access token and a new refresh token in `family_id`.
async fn issue(
    state: &AppState,
    user_id: Uuid,
    email: String,
    family_id: Uuid,
) -> Result<Session, ApiError> {
    let ttl = state.settings.http.access_token_ttl_secs;
    let access_token = state.tokens.sign_access(user_id, ttl, family_id);
    let refresh_token = random_token(32);
    let expires_at =
        state.clock.now() + Duration::seconds(state.settings.http.refresh_token_ttl_secs as i64);
    users::insert_refresh(
        &state.pool,
        user_id,
        family_id,
        &sha256(refresh_token.as_bytes()),
        expires_at,
    )
    .await?;
    Ok(Session {
        access_token,
        token_type: "bearer",
        expires_in: ttl,
        refresh_token,
        user: SessionUser { id: user_id, email },
    })
}

/// `POST /api/auth/signup` → 201 session. 400 `invalid_data` (email, password), 409
/// `email_taken`, 429 `rate_limited`.
#[utoipa::path(
    post,
    path = "/auth/signup",
    operation_id = "signup",
    summary = "Sign up with email and password",
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 201, description = "Signed up and signed in", body = Session),
        (status = 400, description = "`invalid_data`: the email, the password or the body", body = ApiErrorBody),
        (status = 409, description = "`email_taken`", body = ApiErrorBody),
        (status = 429, description = "`rate_limited`; see `Retry-After`", body = ApiErrorBody)
    )
)]
async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    state.rate_limits.check(Action::Login, ip, None)?;
    let email = normalise_email(&body.email)?;
    check_password(&body.password)?;
    let password = body.password;
    let hash = tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await?
    .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))?;
    let user_id = Uuid::now_v7();
    let mut tx = state.pool.begin().await?;
    if users::insert(&mut *tx, user_id, &email, &hash)
        .await?
        .is_err()
    {
        return Err(ApiError::client(
            StatusCode::CONFLICT,
            "email_taken",
            "THAT EMAIL IS ALREADY REGISTERED. LOG IN",
        ));
    }
    credits::ensure_profile(
        &mut *tx,
        user_id,
        state.clock.now(),
        state.limits.weekly_credits,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%user_id, "user signed up");
    Ok((
        StatusCode::CREATED,
        Json(issue(&state, user_id, email, Uuid::now_v7()).await?),
    ))
}

/// `POST /api/auth/login` → 200 session. 401 `invalid_credentials`, 429 `rate_limited`.
#[utoipa::path(
    post,
    path = "/auth/login",
    operation_id = "login",
    summary = "Log in with email and password",
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 200, description = "Signed in", body = Session),
        (status = 400, description = "`invalid_data`: not a JSON body", body = ApiErrorBody),
        (status = 401, description = "`invalid_credentials`", body = ApiErrorBody),
        (status = 429, description = "`rate_limited`; see `Retry-After`", body = ApiErrorBody)
    )
)]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<Json<Session>, ApiError> {
    state.rate_limits.check(Action::Login, ip, None)?;
    let email = body.email.trim().to_lowercase();
    let user = users::by_email(&state.pool, &email).await?;
    // Verify against a real hash even for unknown emails, so timing does not reveal accounts.
    let (stored, known) = match &user {
        Some(u) => (u.password_hash.clone(), true),
        None => (dummy_hash().to_owned(), false),
    };
    let password = body.password;
    let matches = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await?;
    match user {
        Some(user) if matches && known => Ok(Json(
            issue(&state, user.user_id, user.email, Uuid::now_v7()).await?,
        )),
        _ => Err(invalid_credentials()),
    }
}

fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"not a real password", &salt)
            .expect("hashing works")
            .to_string()
    })
}

/// `POST /api/auth/refresh` → 200 session with a rotated refresh token. 401 `invalid_token`
/// for an unknown, expired, revoked or reused token (reuse also revokes the family).
#[utoipa::path(
    post,
    path = "/auth/refresh",
    operation_id = "refresh",
    summary = "Rotate a refresh token for a new session",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new session; the refresh token is rotated", body = Session),
        (status = 400, description = "`invalid_data`: not a JSON body", body = ApiErrorBody),
        (status = 401, description = "`invalid_token`: unknown, expired, revoked or reused (reuse revokes the token's family)", body = ApiErrorBody)
    )
)]
async fn refresh(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<Json<Session>, ApiError> {
    let hash = sha256(body.refresh_token.as_bytes());
    let mut tx = state.pool.begin().await?;
    let lookup = users::consume_refresh(&mut tx, &hash, state.clock.now()).await?;
    tx.commit().await?;
    let RefreshLookup::Rotated { user_id, family_id } = lookup else {
        if lookup == RefreshLookup::Reused {
            tracing::warn!("a rotated refresh token was presented again; its family is revoked");
        }
        return Err(ApiError::client(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "SESSION EXPIRED. LOG IN AGAIN",
        ));
    };
    let email = users::email_of(&state.pool, user_id)
        .await?
        .unwrap_or_default();
    Ok(Json(issue(&state, user_id, email, family_id).await?))
}

/// `POST /api/auth/logout` → 204; the refresh token's family is revoked. Unknown tokens are
/// also answered 204 (logging out twice is not an error).
#[utoipa::path(
    post,
    path = "/auth/logout",
    operation_id = "logout",
    summary = "Revoke a refresh token and its family",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "The refresh token's family is revoked (also for unknown tokens)"),
        (status = 400, description = "`invalid_data`: not a JSON body", body = ApiErrorBody)
    )
)]
async fn logout(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    users::revoke_by_token(&state.pool, &sha256(body.refresh_token.as_bytes())).await?;
    Ok(StatusCode::NO_CONTENT)
}
