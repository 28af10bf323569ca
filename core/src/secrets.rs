//! Secrets that have safe local defaults: when not configured, a random value is generated
//! once and kept under `<data_dir>/secrets/`, so tokens survive restarts on one machine.
//!
//! Generated files are created atomically — written to a temporary file, then linked into
//! place only if no file is there yet — so processes starting together on a fresh data
//! directory all end up with the one secret the first of them wrote.
//!
//! The key that encrypts users' API keys fails closed: its fingerprint is recorded in the
//! database by the first process that uses it, and a process whose key is missing, malformed or
//! different refuses to start while any user's key is stored (and always in production),
//! instead of running with a key that cannot open them.

use std::io::Write;
use std::path::Path;

use rand::RngCore;
use sqlx::PgPool;

use crate::crypto::{self, SecretBox};
use crate::db;
use crate::settings::{SecretSettings, SigningSettings};

/// Production refuses the generated development secrets: every secret must be configured.
pub fn require_explicit(secrets: &SecretSettings, signing: &SigningSettings) -> anyhow::Result<()> {
    let missing: Vec<&str> = [
        ("SMELT_JWT_SECRET", &signing.jwt_secret),
        ("SMELT_ENCRYPTION_KEY", &secrets.encryption_key),
        ("SMELT_IP_HASH_SECRET", &signing.ip_hash_secret),
    ]
    .into_iter()
    .filter(|(_, v)| v.as_deref().is_none_or(str::is_empty))
    .map(|(name, _)| name)
    .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "production mode needs explicit secrets; set {}",
            missing.join(", ")
        )
    }
}

/// The configured secret, or the one stored under `data_dir/secrets/<name>` (created with 32
/// random bytes, hex-encoded, mode 0600, on first use; when several processes create it at
/// once, they all read back the one that won).
pub fn resolve(configured: Option<&str>, data_dir: &Path, name: &str) -> std::io::Result<String> {
    if let Some(value) = configured.filter(|v| !v.is_empty()) {
        return Ok(value.to_owned());
    }
    let dir = data_dir.join("secrets");
    let path = dir.join(name);
    if let Some(existing) = read_existing(&path)? {
        return Ok(existing);
    }
    std::fs::create_dir_all(&dir)?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // Write the whole secret under a private temporary name, then link it into place: the
    // link fails if another process got there first, and nobody ever reads a half-written
    // file.
    let mut staged = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .tempfile_in(&dir)?;
    restrict(staged.as_file())?;
    staged.write_all(secret.as_bytes())?;
    staged.as_file().sync_all()?;
    match std::fs::hard_link(staged.path(), &path) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a local secret");
            Ok(secret)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_existing(&path)?
            .ok_or_else(|| std::io::Error::other(format!("{} is empty", path.display()))),
        Err(e) => Err(e),
    }
}

fn read_existing(path: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(existing) if !existing.trim().is_empty() => Ok(Some(existing.trim().to_owned())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn restrict(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// Name of the encryption key's row in `secret_fingerprint`.
const ENCRYPTION_KEY: &str = "encryption_key";

/// True when something sealed is stored: a user's own API key or a webhook's secret.
pub async fn own_keys_stored(pool: &PgPool) -> Result<bool, sqlx::Error> {
    db::secrets::own_keys_stored(pool).await
}

/// The configured (or locally generated) encryption key, or why it cannot be used.
fn usable_key(settings: &SecretSettings, data_dir: &Path) -> Result<[u8; 32], String> {
    let text = resolve(settings.encryption_key.as_deref(), data_dir, ENCRYPTION_KEY)
        .map_err(|e| format!("the encryption key cannot be read: {e}"))?;
    crypto::parse_key(&text).map_err(|e| format!("SMELT_ENCRYPTION_KEY is unusable: {e}"))
}

/// Opens the key that encrypts users' API keys and checks it against the one they were
/// encrypted with (the fingerprint the first process recorded).
///
/// - The key matches: `Some`.
/// - It differs but nothing was sealed yet and this is not production: this key takes the
///   recorded one's place (with a warning), `Some`.
/// - It is missing or malformed but nothing was sealed yet and this is not production:
///   `None`; users' own keys then cannot be used (their smelts fail with
///   `api_key_unreadable`, never falling back to the operator's provider).
///
/// # Errors
/// The key is unusable or different while some user's key is stored, or in production; or
/// the database cannot be read. The message names `SMELT_ENCRYPTION_KEY`.
pub async fn encryption_box(
    settings: &SecretSettings,
    data_dir: &Path,
    pool: &PgPool,
) -> anyhow::Result<Option<SecretBox>> {
    let refuse = |why: &str| {
        anyhow::anyhow!(
            "{why}; refusing to start: users' API keys could not be opened. Set \
             SMELT_ENCRYPTION_KEY to the key the other processes use."
        )
    };
    let key = match usable_key(settings, data_dir) {
        Ok(key) => key,
        Err(why) => {
            if settings.is_production() || own_keys_stored(pool).await? {
                return Err(refuse(&why));
            }
            tracing::warn!(reason = %why, "users' own API keys cannot be used until the encryption key is fixed");
            return Ok(None);
        }
    };
    let ours = crypto::key_fingerprint(&key);
    if db::secrets::recorded_fingerprint(pool, ENCRYPTION_KEY, &ours).await? != ours {
        let why =
            "SMELT_ENCRYPTION_KEY differs from the key the stored API keys were encrypted with";
        if settings.is_production() || own_keys_stored(pool).await? {
            return Err(refuse(why));
        }
        // Nothing was sealed with the recorded key: this one takes its place.
        tracing::warn!("{why}; no API key is stored, so this key is recorded instead");
        db::secrets::replace_fingerprint(pool, ENCRYPTION_KEY, &ours).await?;
    }
    Ok(Some(SecretBox::new(&key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_creating_one_secret_at_once_all_get_the_same_one() {
        let dir = tempfile::tempdir().unwrap();
        let secrets: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| s.spawn(|| resolve(None, dir.path(), "jwt_secret").unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(secrets.iter().all(|s| s == &secrets[0]), "{secrets:?}");
        let stored = std::fs::read_to_string(dir.path().join("secrets/jwt_secret")).unwrap();
        assert_eq!(stored, secrets[0]);
        let leftovers = std::fs::read_dir(dir.path().join("secrets"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
