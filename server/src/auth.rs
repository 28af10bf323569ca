//! Authentication extractors. A request is signed in when it carries
//! `Authorization: Bearer <jwt>` with a valid HS256 access token (`aud = "authenticated"`,
//! `sub` = user id) signed with the configured secret — ours or an external issuer's such as
//! Supabase Auth.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use smelt_core::tokens::ACCESS_AUDIENCE;
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::state::AppState;

/// A signed-in caller. Rejects with 401 `unauthorized` when the token is missing or invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub user_id: Uuid,
}

/// A caller who may be anonymous. A token that is present but invalid is still rejected with
/// 401: a broken session must not silently become anonymous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

/// The bearer token of a request, if any.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Verifies an access token and returns its user.
pub fn verify_access_token(state: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    state
        .tokens
        .verify(token, ACCESS_AUDIENCE)
        .map(|claims| AuthUser {
            user_id: claims.sub,
        })
        .map_err(|_| ApiError::invalid_token())
}

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer_token(&parts.headers) {
            None if parts.headers.contains_key(AUTHORIZATION) => Err(ApiError::invalid_token()),
            None => Ok(MaybeAuthUser(None)),
            Some(token) => verify_access_token(state, token).map(|u| MaybeAuthUser(Some(u))),
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match MaybeAuthUser::from_request_parts(parts, state).await? {
            MaybeAuthUser(Some(user)) => Ok(user),
            MaybeAuthUser(None) => Err(ApiError::login_required()),
        }
    }
}
