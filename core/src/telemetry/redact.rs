//! Secret redaction for log output.
//!
//! Structured fields are the first defence (request spans record the path, never the query;
//! request bodies holding secrets print them as `[redacted]`). This is the second: every
//! formatted line is scanned for the shapes secrets take in Smelt — bearer tokens and JWTs,
//! `token=`/`sig=`/presigned-URL query parameters, JSON or debug fields named like secrets,
//! provider API keys, service API keys and webhook secrets — and those values are replaced
//! before the line reaches its writer.

use std::io::{self, Write};
use std::sync::LazyLock;

use regex::Regex;
use tracing_subscriber::fmt::MakeWriter;

/// What replaces a secret.
const REDACTED: &str = "[redacted]";

/// Names whose values are secrets, in query strings, JSON and debug output.
const SECRET_NAMES: &str = "token|access_token|refresh_token|subscription_token|sig|signature|\
password|api_key|apikey|secret|client_secret|x-amz-signature|x-amz-credential|\
x-amz-security-token";

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    vec![
        // `Authorization: Bearer …` in any casing.
        (
            Regex::new(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+").unwrap(),
            "$1 [redacted]",
        ),
        // JWTs: three base64url segments, the first a JSON header (`eyJ`).
        (
            Regex::new(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*").unwrap(),
            REDACTED,
        ),
        // `name=value` in query strings and forms.
        (
            Regex::new(&format!(r"(?i)\b({SECRET_NAMES})=[^&\s\x22']+")).unwrap(),
            "$1=[redacted]",
        ),
        // `"name": "value"` (JSON) and `name: "value"` (Debug).
        (
            Regex::new(&format!(
                r#"(?i)("?\b(?:{SECRET_NAMES})"?\s*[:=]\s*)"(?:[^"\\]|\\.)*""#
            ))
            .unwrap(),
            "$1\"[redacted]\"",
        ),
        // OpenAI-style provider keys.
        (
            Regex::new(r"\bsk-[A-Za-z0-9_-]{8,}").unwrap(),
            "sk-[redacted]",
        ),
        // Smelt's service API keys (`ck_` + 43 base64url characters) and webhook secrets.
        (
            Regex::new(r"\bck_[A-Za-z0-9_-]{16,}").unwrap(),
            "ck_[redacted]",
        ),
        (
            Regex::new(r"\bwhsec_[A-Za-z0-9+/=]{16,}").unwrap(),
            "whsec_[redacted]",
        ),
    ]
});

/// `line` with every secret it recognises replaced by `[redacted]`.
pub fn redact(line: &str) -> String {
    let mut out = std::borrow::Cow::Borrowed(line);
    for (pattern, replacement) in PATTERNS.iter() {
        if let std::borrow::Cow::Owned(changed) = pattern.replace_all(&out, *replacement) {
            out = std::borrow::Cow::Owned(changed);
        }
    }
    out.into_owned()
}

/// A [`MakeWriter`] whose writers redact each write before passing it on. The fmt layer
/// writes one whole event per call, so a secret is never split across two writes.
#[derive(Debug, Clone)]
pub struct Redacting<M> {
    inner: M,
}

impl<M> Redacting<M> {
    /// Wraps a writer factory (`std::io::stderr`, a test capture).
    pub fn new(inner: M) -> Self {
        Redacting { inner }
    }
}

/// One redacting writer.
#[derive(Debug)]
pub struct RedactingWriter<W> {
    inner: W,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => self.inner.write_all(redact(text).as_bytes())?,
            // Not text: nothing to recognise, pass it on untouched.
            Err(_) => self.inner.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.inner.make_writer(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn every_shape_of_secret_is_redacted() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        let cases = [
            (format!("authorization: Bearer {jwt}"), jwt),
            (format!("url=/api/smelts/1/ws?token={jwt}&after_seq=3"), jwt),
            (
                "GET /api/downloads/results/a/b.md?expires=1&sig=deadbeef00".into(),
                "deadbeef00",
            ),
            (
                "https://b.s3/k?X-Amz-Credential=AKIA123%2F2026&X-Amz-Signature=abc123def".into(),
                "abc123def",
            ),
            (
                "https://b.s3/k?X-Amz-Credential=AKIA123%2F2026&X-Amz-Signature=abc123def".into(),
                "AKIA123",
            ),
            (
                r#"body={"email":"a@b.c","password":"hunter2hunter2"}"#.into(),
                "hunter2",
            ),
            (
                r#"Credentials { email: "a@b.c", password: "hunter2hunter2" }"#.into(),
                "hunter2",
            ),
            (r#"{"refresh_token": "r3fr3sh-t0ken"}"#.into(), "r3fr3sh"),
            (
                "key check failed for sk-proj-abcdefghijklmnop".into(),
                "abcdefghijklmnop",
            ),
            (format!("token {jwt} in a message"), jwt),
        ];
        for (line, secret) in cases {
            let cleaned = redact(&line);
            assert!(!cleaned.contains(secret), "{line} → {cleaned}");
            assert!(cleaned.contains("redacted"), "{cleaned}");
        }
    }

    #[test]
    fn ordinary_lines_are_left_alone() {
        let line = r#"smelt completed smelt_id=0193 stage="synthesizing" path=/api/smelts seq=12"#;
        assert_eq!(redact(line), line);
    }
}
