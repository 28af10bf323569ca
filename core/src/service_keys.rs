//! Service API keys: `ck_` followed by 43 base64url characters (32 random bytes), sent as
//! `Authorization: Bearer ck_…` by programs that call Smelt without a browser session.
//!
//! A key is shown once, when it is made; the database keeps only its SHA-256 hash (the key has
//! 256 random bits, so a plain hash cannot be reversed by guessing) and its first characters
//! to tell keys apart in a list.

use crate::crypto;

/// What every service key starts with (and access tokens never do).
pub const PREFIX: &str = "ck_";

/// Characters of a key kept in the clear for display: `ck_` and 8 more.
const DISPLAY_PREFIX_CHARS: usize = PREFIX.len() + 8;

/// Random bytes in a key.
const KEY_BYTES: usize = 32;

/// A freshly made key: the secret to hand to the user once, and what is stored.
pub struct NewKey {
    /// The whole key (`ck_…`). Never stored, never logged.
    pub secret: String,
    /// The key's first characters, for lists.
    pub prefix: String,
    /// SHA-256 of the whole key.
    pub hash: Vec<u8>,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Makes a new random key.
pub fn generate() -> NewKey {
    let secret = format!("{PREFIX}{}", crypto::random_token(KEY_BYTES));
    NewKey {
        prefix: secret[..DISPLAY_PREFIX_CHARS].to_owned(),
        hash: hash(&secret),
        secret,
    }
}

/// True when a bearer token is a service key rather than an access token.
pub fn is_service_key(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// The stored hash of a presented key.
pub fn hash(key: &str) -> Vec<u8> {
    crypto::sha256(key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_is_recognised_and_only_its_hash_and_prefix_are_kept() {
        let key = generate();
        assert!(is_service_key(&key.secret));
        assert_eq!(key.secret.len(), PREFIX.len() + 43);
        assert!(key.secret.starts_with(&key.prefix));
        assert_eq!(key.hash, hash(&key.secret));
        assert!(!format!("{key:?}").contains(&key.secret));
        assert_ne!(generate().secret, key.secret);
    }

    #[test]
    fn access_tokens_are_not_service_keys() {
        assert!(!is_service_key("eyJhbGciOiJIUzI1NiJ9.e30.x"));
    }
}
