//! HS256 tokens: users' access tokens (claims compatible with Supabase Auth: `sub`, `exp`,
//! `aud = "authenticated"`, `role`) and subscription tokens that let their holder follow one
//! smelt (`sub` = smelt id, `aud = "smelt-subscription"`). The audiences differ so that one
//! kind can never be used as the other.
//!
//! Access tokens we issue name their session (`smelt_session`, the refresh-token family; a
//! claim of our own, so that other issuers' `session_id` is never mistaken for one of ours). A
//! subscription token names what created its smelt — the service key (`key_id`) or our session
//! — so that it dies with them.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Audience of user access tokens.
pub const ACCESS_AUDIENCE: &str = "authenticated";
/// Audience of subscription tokens.
pub const SUBSCRIPTION_AUDIENCE: &str = "smelt-subscription";

/// Claims of both token kinds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id (access) or smelt id (subscription).
    pub sub: Uuid,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    pub aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Issued at, seconds since the Unix epoch (absent in tokens of other issuers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Unique token id, so that two tokens issued in the same second differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<Uuid>,
    /// One of our sessions (a refresh-token family): on an access token, the session it
    /// belongs to; on a subscription token, the session that created the smelt.
    #[serde(
        rename = "smelt_session",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub session_id: Option<Uuid>,
    /// On a subscription token: the service key that created the smelt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<Uuid>,
}

/// What created a smelt, written into its subscription token: a service key, a signed-in
/// session, or neither (anonymous, or a session of another issuer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Creator {
    /// The service key that created the smelt.
    pub key_id: Option<Uuid>,
    /// Our session (refresh-token family) that created it.
    pub session_id: Option<Uuid>,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
#[error("invalid token: {0}")]
pub struct InvalidToken(#[from] jsonwebtoken::errors::Error);

/// Signs and verifies tokens with one HS256 secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    /// Keys from the shared secret (bytes of the configured string).
    pub fn new(secret: &[u8]) -> Self {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Signs claims for `sub` and `aud`, valid for `ttl_secs` seconds.
    pub fn sign(&self, sub: Uuid, aud: &str, ttl_secs: u64, role: Option<&str>) -> String {
        self.encode(Self::claims(sub, aud, ttl_secs, role))
    }

    /// Signs an access token for `user_id` in the session `session_id` (the refresh-token
    /// family), valid for `ttl_secs` seconds.
    pub fn sign_access(&self, user_id: Uuid, ttl_secs: u64, session_id: Uuid) -> String {
        let mut claims = Self::claims(user_id, ACCESS_AUDIENCE, ttl_secs, Some("authenticated"));
        claims.session_id = Some(session_id);
        self.encode(claims)
    }

    /// Signs the subscription token of `smelt_id`, valid for `ttl_secs` seconds and only as
    /// long as `creator` lives.
    pub fn sign_subscription(&self, smelt_id: Uuid, ttl_secs: u64, creator: Creator) -> String {
        let mut claims = Self::claims(smelt_id, SUBSCRIPTION_AUDIENCE, ttl_secs, None);
        claims.key_id = creator.key_id;
        claims.session_id = creator.session_id;
        self.encode(claims)
    }

    fn claims(sub: Uuid, aud: &str, ttl_secs: u64, role: Option<&str>) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub,
            exp: now + ttl_secs as i64,
            aud: aud.to_owned(),
            role: role.map(str::to_owned),
            iat: Some(now),
            jti: Some(Uuid::new_v4()),
            session_id: None,
            key_id: None,
        }
    }

    fn encode(&self, claims: Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Verifies signature (HS256 only, so `alg: none` is refused), expiry and audience.
    pub fn verify(&self, token: &str, aud: &str) -> Result<Claims, InvalidToken> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[aud]);
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.leeway = 5;
        Ok(jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)?.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_token_is_not_an_access_token() {
        let keys = TokenKeys::new(b"secret");
        let id = Uuid::new_v4();
        let sub = keys.sign(id, SUBSCRIPTION_AUDIENCE, 60, None);
        assert_eq!(keys.verify(&sub, SUBSCRIPTION_AUDIENCE).unwrap().sub, id);
        assert!(keys.verify(&sub, ACCESS_AUDIENCE).is_err());
        assert!(TokenKeys::new(b"other")
            .verify(&sub, SUBSCRIPTION_AUDIENCE)
            .is_err());
    }

    #[test]
    fn two_tokens_for_the_same_user_in_the_same_second_differ() {
        let keys = TokenKeys::new(b"secret");
        let user = Uuid::new_v4();
        let first = keys.sign(user, ACCESS_AUDIENCE, 900, Some("authenticated"));
        let second = keys.sign(user, ACCESS_AUDIENCE, 900, Some("authenticated"));
        assert_ne!(first, second);
        assert!(keys.verify(&first, ACCESS_AUDIENCE).unwrap().iat.is_some());
    }

    #[test]
    fn a_subscription_token_names_what_created_its_smelt() {
        let keys = TokenKeys::new(b"secret");
        let creator = Creator {
            key_id: Some(Uuid::new_v4()),
            session_id: None,
        };
        let token = keys.sign_subscription(Uuid::new_v4(), 60, creator);
        let claims = keys.verify(&token, SUBSCRIPTION_AUDIENCE).unwrap();
        assert_eq!((claims.key_id, claims.session_id), (creator.key_id, None));
        let session = Uuid::new_v4();
        let access = keys.sign_access(Uuid::new_v4(), 60, session);
        assert_eq!(
            keys.verify(&access, ACCESS_AUDIENCE).unwrap().session_id,
            Some(session)
        );
    }
}
