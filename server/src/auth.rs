//! Authentication. A request is signed in when it carries `Authorization: Bearer <token>` with
//! either
//!
//! - a valid HS256 access token (`aud = "authenticated"`, `sub` = user id) signed with the
//!   configured secret — ours or an external issuer's such as Supabase Auth: a browser
//!   session, which may do everything its user may; or
//! - a service API key (`ck_…`, see [`smelt_core::service_keys`]) that is neither revoked nor
//!   expired: it acts for its owner within its scopes, under its own rate limit.
//!
//! [`Caller`] accepts both; [`AuthUser`] (the profile, prompts and key management) only a
//! session.
//!
//! A smelt's subscription token is checked by [`holder`]: it allows that one smelt while the
//! service key or session that created the smelt lives.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use smelt_core::domain::Scope;
use smelt_core::service_keys;
use smelt_core::tokens::{Creator, ACCESS_AUDIENCE, SUBSCRIPTION_AUDIENCE};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::state::AppState;

/// The scopes a service key holds, as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    fn bit(scope: Scope) -> u8 {
        1 << Scope::ALL.iter().position(|s| *s == scope).unwrap_or(0)
    }

    /// True when `scope` is in the set.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & Self::bit(scope) != 0
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Scopes(iter.into_iter().fold(0, |bits, s| bits | Self::bit(s)))
    }
}

/// The service key a request was authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyGrant {
    pub key_id: Uuid,
    pub scopes: Scopes,
}

/// A signed-in caller: a session (`key` is `None`) or a service key. Rejects with 401
/// `unauthorized` when the token is missing, invalid, revoked or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: Uuid,
    pub key: Option<KeyGrant>,
    /// The session of an access token we issued (`None` for keys and other issuers' tokens).
    pub session_id: Option<Uuid>,
}

impl Caller {
    /// Allows a session always, and a key when it holds `scope`; 403 `insufficient_scope`
    /// otherwise.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        match self.key {
            Some(key) if !key.scopes.contains(scope) => {
                Err(ApiError::insufficient_scope(Some(scope.as_str())))
            }
            _ => Ok(()),
        }
    }

    /// What created a smelt this caller creates, for its subscription token.
    pub fn creator(&self) -> Creator {
        Creator {
            key_id: self.key.map(|k| k.key_id),
            session_id: self.session_id,
        }
    }
}

/// A valid subscription token of one smelt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    /// The service key that created the smelt, if one did: revoking it ends the holder's
    /// live feeds too.
    pub creator_key: Option<Uuid>,
}

/// Why a subscription token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderRefusal {
    /// The token is for another smelt.
    OtherSmelt,
    /// The service key or session that created the smelt was revoked, expired or logged out.
    CreatorGone,
    /// The check could not be made (database unreachable).
    Unavailable,
}

/// Checks `token` as the subscription token of `smelt_id`. `Ok(None)` when it is not a
/// subscription token at all (the caller then tries it as an access token or key).
pub async fn holder(
    state: &AppState,
    token: &str,
    smelt_id: Uuid,
) -> Result<Option<Holder>, HolderRefusal> {
    let Ok(claims) = state.tokens.verify(token, SUBSCRIPTION_AUDIENCE) else {
        return Ok(None);
    };
    if claims.sub != smelt_id {
        return Err(HolderRefusal::OtherSmelt);
    }
    let unavailable = |e: sqlx::Error| {
        tracing::warn!(error = %e, "could not check a subscription token's creator");
        HolderRefusal::Unavailable
    };
    if let Some(key_id) = claims.key_id {
        if !smelt_core::db::service_keys::is_active(&state.pool, key_id)
            .await
            .map_err(unavailable)?
        {
            return Err(HolderRefusal::CreatorGone);
        }
    }
    if let Some(session_id) = claims.session_id {
        if !smelt_core::db::users::session_active(&state.pool, session_id)
            .await
            .map_err(unavailable)?
        {
            return Err(HolderRefusal::CreatorGone);
        }
    }
    Ok(Some(Holder {
        creator_key: claims.key_id,
    }))
}

/// A caller who may be anonymous. A token that is present but invalid is still rejected with
/// 401: a broken session must not silently become anonymous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaybeCaller(pub Option<Caller>);

/// A signed-in browser session (no service key): 403 `insufficient_scope` for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    pub user_id: Uuid,
}

/// The bearer token of a request, if any.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks a token: an access token by its signature, a service key by its hash in the
/// database (counting the request against the key's rate limit). Errors: 401 `unauthorized`
/// for an invalid, revoked or expired token; 429 `rate_limited` for a key over its limit.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    if service_keys::is_service_key(token) {
        let key =
            smelt_core::db::service_keys::use_by_hash(&state.pool, &service_keys::hash(token))
                .await?
                .ok_or_else(ApiError::invalid_token)?;
        state.rate_limits.check_key(key.key_id)?;
        return Ok(Caller {
            user_id: key.user_id,
            key: Some(KeyGrant {
                key_id: key.key_id,
                scopes: key.scopes.iter().copied().collect(),
            }),
            session_id: None,
        });
    }
    state
        .tokens
        .verify(token, ACCESS_AUDIENCE)
        .map(|claims| Caller {
            user_id: claims.sub,
            key: None,
            session_id: claims.session_id,
        })
        .map_err(|_| ApiError::invalid_token())
}

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer_token(&parts.headers) {
            None if parts.headers.contains_key(AUTHORIZATION) => Err(ApiError::invalid_token()),
            None => Ok(MaybeCaller(None)),
            Some(token) => authenticate(state, token)
                .await
                .map(|c| MaybeCaller(Some(c))),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match MaybeCaller::from_request_parts(parts, state).await? {
            MaybeCaller(Some(caller)) => Ok(caller),
            MaybeCaller(None) => Err(ApiError::login_required()),
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.key.is_some() {
            return Err(ApiError::insufficient_scope(None));
        }
        Ok(AuthUser {
            user_id: caller.user_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_holds_exactly_its_scopes() {
        let scopes: Scopes = [Scope::SmeltsRead].into_iter().collect();
        let caller = Caller {
            user_id: Uuid::nil(),
            key: Some(KeyGrant {
                key_id: Uuid::nil(),
                scopes,
            }),
            session_id: None,
        };
        assert!(caller.require(Scope::SmeltsRead).is_ok());
        assert_eq!(
            caller.require(Scope::SmeltsWrite).unwrap_err().code(),
            "insufficient_scope"
        );
        let session = Caller {
            user_id: Uuid::nil(),
            key: None,
            session_id: None,
        };
        assert!(Scope::ALL.iter().all(|s| session.require(*s).is_ok()));
    }
}
