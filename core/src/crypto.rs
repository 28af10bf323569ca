//! Small cryptographic building blocks: AES-256-GCM for API keys at rest, HMAC-SHA-256 for
//! client addresses, SHA-256 for high-entropy tokens (refresh tokens).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A key that is not 32 bytes of hex or base64.
#[derive(Debug, thiserror::Error)]
#[error("an encryption key must be 32 bytes, hex (64 characters) or base64 encoded")]
pub struct InvalidKey;

/// Ciphertext that does not open with this key (tampered, or another key).
#[derive(Debug, thiserror::Error)]
#[error("ciphertext cannot be decrypted with this key")]
pub struct DecryptError;

/// Parses a 32-byte key written as 64 hex characters or base64.
pub fn parse_key(text: &str) -> Result<[u8; 32], InvalidKey> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| InvalidKey))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        STANDARD.decode(text).map_err(|_| InvalidKey)?
    };
    bytes.try_into().map_err(|_| InvalidKey)
}

/// A fingerprint of a 32-byte key: hex HMAC-SHA-256 of a fixed label under it. Two processes
/// compare fingerprints to learn whether they hold the same key; it reveals nothing of it.
pub fn key_fingerprint(key: &[u8; 32]) -> String {
    hmac_hex(key, b"smelt encryption key fingerprint")
}

/// Seals and opens secrets with AES-256-GCM (a fresh random 96-bit nonce per seal).
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// A box for a 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        SecretBox {
            cipher: Aes256Gcm::new(key.into()),
        }
    }

    /// Encrypts `plaintext`; returns `(ciphertext with tag, nonce)`.
    pub fn seal(&self, plaintext: &str) -> (Vec<u8>, Vec<u8>) {
        self.seal_bound(plaintext, b"")
    }

    /// Encrypts `plaintext` bound to `aad` (associated data: the id of the row that stores
    /// it), so that the ciphertext opens only for that row — copied into another row it is
    /// refused. Returns `(ciphertext with tag, nonce)`.
    pub fn seal_bound(&self, plaintext: &str, aad: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad,
        };
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("AES-GCM encryption of a short secret cannot fail");
        (ciphertext, nonce.to_vec())
    }

    /// Decrypts what [`SecretBox::seal`] produced.
    pub fn open(&self, ciphertext: &[u8], nonce: &[u8]) -> Result<String, DecryptError> {
        self.open_bound(ciphertext, nonce, b"")
    }

    /// Decrypts what [`SecretBox::seal_bound`] produced with the same `aad`.
    pub fn open_bound(
        &self,
        ciphertext: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<String, DecryptError> {
        if nonce.len() != 12 {
            return Err(DecryptError);
        }
        let payload = Payload {
            msg: ciphertext,
            aad,
        };
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| DecryptError)?;
        String::from_utf8(plain).map_err(|_| DecryptError)
    }
}

/// HMAC-SHA-256 of `data` under `secret`, hex-encoded (64 characters).
pub fn hmac_hex(secret: &[u8], data: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(data);
    hex(&mac.finalize().into_bytes())
}

/// True when `signature_hex` is the HMAC-SHA-256 of `data` under `secret`. The comparison
/// takes the same time wherever the signatures differ.
pub fn hmac_verify_hex(secret: &[u8], data: &[u8], signature_hex: &str) -> bool {
    ::hex::decode(signature_hex).is_ok_and(|signature| hmac_verify(secret, data, &signature))
}

/// True when `signature` is the HMAC-SHA-256 of `data` under `secret` (constant-time).
pub fn hmac_verify(secret: &[u8], data: &[u8], signature: &[u8]) -> bool {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.verify_slice(signature).is_ok()
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// `n` random bytes, base64url without padding (for opaque tokens).
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_nonce() {
        let key = [7u8; 32];
        let sealed = SecretBox::new(&key);
        let (ct, nonce) = sealed.seal("sk-test-1234");
        assert!(
            !ct.windows(4).any(|w| w == b"1234"),
            "the plaintext does not show"
        );
        assert_eq!(sealed.open(&ct, &nonce).unwrap(), "sk-test-1234");
        assert!(SecretBox::new(&[8u8; 32]).open(&ct, &nonce).is_err());
        let mut tampered = ct.clone();
        tampered[0] ^= 1;
        assert!(sealed.open(&tampered, &nonce).is_err());
    }

    #[test]
    fn a_secret_bound_to_its_row_does_not_open_for_another() {
        let sealed = SecretBox::new(&[7u8; 32]);
        let (ct, nonce) = sealed.seal_bound("whsec_abc", b"row-1");
        assert_eq!(
            sealed.open_bound(&ct, &nonce, b"row-1").unwrap(),
            "whsec_abc"
        );
        assert!(sealed.open_bound(&ct, &nonce, b"row-2").is_err());
        assert!(sealed.open(&ct, &nonce).is_err());
    }

    #[test]
    fn keys_parse_from_hex_or_base64() {
        assert_eq!(parse_key(&"ab".repeat(32)).unwrap(), [0xab; 32]);
        assert_eq!(parse_key(&STANDARD.encode([1u8; 32])).unwrap(), [1; 32]);
        assert!(parse_key("short").is_err());
    }
}
