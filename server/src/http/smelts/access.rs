//! Who may act on one smelt outside its socket (cancel it, export its transcript): its owner,
//! with an access token, or whoever holds its subscription token — the anonymous creator
//! included, while the key or session that created the smelt lives. The token comes as
//! `Authorization: Bearer …` or `?token=…`.

use axum::http::{HeaderMap, StatusCode};
use smelt_core::domain::Scope;
use uuid::Uuid;

use crate::auth::HolderRefusal;
use crate::http::error::ApiError;
use crate::state::AppState;

/// What a presented token proves about one smelt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmeltAccess {
    /// A signed-in user: allowed when they own the smelt.
    User(Uuid),
    /// The smelt's own subscription token.
    Holder,
}

impl SmeltAccess {
    /// Checks the token of a request about `smelt_id`: 401 `unauthorized` without a valid
    /// token (a subscription token whose creating key or session is gone included), 403
    /// `forbidden` for another smelt's subscription token, 403 `insufficient_scope` for a
    /// service key without `scope`.
    pub async fn of(
        state: &AppState,
        smelt_id: Uuid,
        headers: &HeaderMap,
        query_token: Option<&str>,
        scope: Scope,
    ) -> Result<Self, ApiError> {
        let token = crate::auth::bearer_token(headers)
            .or(query_token)
            .ok_or_else(ApiError::login_required)?;
        match crate::auth::holder(state, token, smelt_id).await {
            Ok(Some(_)) => return Ok(SmeltAccess::Holder),
            Ok(None) => {}
            Err(HolderRefusal::OtherSmelt) => {
                return Err(ApiError::client(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "THAT TOKEN IS FOR ANOTHER SMELT",
                ))
            }
            Err(HolderRefusal::CreatorGone) => return Err(ApiError::invalid_token()),
            Err(HolderRefusal::Unavailable) => {
                return Err(anyhow::anyhow!("the token's creator could not be checked").into())
            }
        }
        let caller = crate::auth::authenticate(state, token).await?;
        caller.require(scope)?;
        Ok(SmeltAccess::User(caller.user_id))
    }

    /// True when this access covers a smelt owned by `owner` (404 otherwise, so that others'
    /// smelts look like missing ones).
    pub fn allows(self, owner: Option<Uuid>) -> bool {
        match self {
            SmeltAccess::Holder => true,
            SmeltAccess::User(user) => owner == Some(user),
        }
    }
}
