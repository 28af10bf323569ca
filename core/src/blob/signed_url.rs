//! Signed download URLs for blobs the server serves itself (the fs store).
//!
//! A URL is `{public_url}/api/downloads/{key}?expires={unix s}&filename={name}&sig={hex}`
//! where `sig` is HMAC-SHA-256 over `key \n expires \n filename`. The server answers it only
//! while `expires` lies ahead and the signature matches, so a URL can be handed to anyone for
//! its lifetime, and changing any part of it (key, expiry, name) invalidates it.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::crypto::{hmac_hex, hmac_verify_hex};

/// Path under which the server serves signed downloads; the key follows it.
pub const DOWNLOAD_ROUTE: &str = "/api/downloads";

/// Label of the download-URL key derived from the JWT secret (a distinct key per purpose).
const DERIVATION_LABEL: &[u8] = b"smelt download urls v1";

/// Why a signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignedUrlRefused {
    /// `expires` has passed.
    #[error("the download link has expired")]
    Expired,
    /// The signature does not match the key, expiry and filename.
    #[error("the download link is not valid")]
    BadSignature,
}

/// Signs and verifies download URLs.
#[derive(Clone)]
pub struct DownloadSigner {
    secret: Arc<[u8]>,
    /// Prefix of every URL: the server's public origin (`https://smelt.example`), or empty for
    /// URLs relative to the origin the API was called on.
    public_url: String,
    clock: Arc<dyn Clock>,
}

impl DownloadSigner {
    /// A signer whose key is derived from the server's JWT secret (HMAC of a fixed label), so
    /// no further secret needs configuring and the JWT secret itself is never used twice.
    pub fn derived_from(
        jwt_secret: &[u8],
        public_url: Option<&str>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let key = hmac_hex(jwt_secret, DERIVATION_LABEL);
        DownloadSigner {
            secret: Arc::from(key.into_bytes()),
            public_url: public_url.unwrap_or("").trim_end_matches('/').to_owned(),
            clock,
        }
    }

    /// A URL for `key`, valid for `ttl` from now (rounded up to whole seconds).
    pub fn sign(&self, key: &str, filename: &str, ttl: Duration) -> String {
        let expires = self.clock.now().timestamp() + ttl.as_secs_f64().ceil() as i64;
        let sig = hmac_hex(&self.secret, signed_text(key, expires, filename).as_bytes());
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("expires", &expires.to_string())
            .append_pair("filename", filename)
            .append_pair("sig", &sig)
            .finish();
        format!("{}{DOWNLOAD_ROUTE}/{key}?{query}", self.public_url)
    }

    /// Checks a URL's parts. Errors: [`SignedUrlRefused`].
    pub fn verify(
        &self,
        key: &str,
        expires: i64,
        filename: &str,
        sig: &str,
    ) -> Result<(), SignedUrlRefused> {
        // The signature first: an altered expiry is a bad link, not an expired one.
        if !hmac_verify_hex(
            &self.secret,
            signed_text(key, expires, filename).as_bytes(),
            sig,
        ) {
            return Err(SignedUrlRefused::BadSignature);
        }
        if self.clock.now().timestamp() >= expires {
            return Err(SignedUrlRefused::Expired);
        }
        Ok(())
    }
}

fn signed_text(key: &str, expires: i64, filename: &str) -> String {
    format!("{key}\n{expires}\n{filename}")
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use super::*;
    use crate::clock::ManualClock;

    fn parts(url: &str) -> (String, i64, String, String) {
        let (path, query) = url.split_once('?').unwrap();
        let key = path.strip_prefix("/api/downloads/").unwrap().to_owned();
        let pairs: std::collections::HashMap<String, String> =
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
        (
            key,
            pairs["expires"].parse().unwrap(),
            pairs["filename"].clone(),
            pairs["sig"].clone(),
        )
    }

    #[test]
    fn a_url_is_valid_until_it_expires_and_only_as_issued() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let signer = DownloadSigner::derived_from(b"jwt", None, clock.clone());
        let url = signer.sign("results/a/b.md", "my notes.md", Duration::from_secs(600));
        let (key, expires, filename, sig) = parts(&url);
        assert_eq!(filename, "my notes.md");
        assert_eq!(signer.verify(&key, expires, &filename, &sig), Ok(()));

        let tampered = [
            signer.verify("results/a/c.md", expires, &filename, &sig),
            signer.verify(&key, expires + 3600, &filename, &sig),
            signer.verify(&key, expires, "other.md", &sig),
            signer.verify(&key, expires, &filename, "00ff"),
        ];
        assert!(tampered
            .iter()
            .all(|r| *r == Err(SignedUrlRefused::BadSignature)));

        clock.set(Utc::now() + TimeDelta::seconds(601));
        assert_eq!(
            signer.verify(&key, expires, &filename, &sig),
            Err(SignedUrlRefused::Expired)
        );
    }

    #[test]
    fn a_public_origin_prefixes_the_url() {
        let signer = DownloadSigner::derived_from(
            b"jwt",
            Some("https://smelt.example/"),
            Arc::new(crate::clock::SystemClock),
        );
        let url = signer.sign("results/a/b.md", "b.md", Duration::from_secs(1));
        assert!(url.starts_with("https://smelt.example/api/downloads/results/a/b.md?"));
    }
}
