//! Secrets that have safe local defaults: when not configured, a random value is generated
//! once and kept under `<data_dir>/secrets/`, so tokens survive restarts on one machine.

use std::path::Path;

use rand::RngCore;

/// Production refuses the generated development secrets: every secret must be configured.
pub fn require_explicit(settings: &crate::settings::Settings) -> anyhow::Result<()> {
    let missing: Vec<&str> = [
        ("SMELT_JWT_SECRET", &settings.jwt_secret),
        ("SMELT_ENCRYPTION_KEY", &settings.encryption_key),
        ("SMELT_IP_HASH_SECRET", &settings.ip_hash_secret),
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
/// random bytes, hex-encoded, mode 0600, on first use).
pub fn resolve(configured: Option<&str>, data_dir: &Path, name: &str) -> std::io::Result<String> {
    if let Some(value) = configured.filter(|v| !v.is_empty()) {
        return Ok(value.to_owned());
    }
    let dir = data_dir.join("secrets");
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(existing) if !existing.trim().is_empty() => return Ok(existing.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(&dir)?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &secret)?;
    tracing::info!(path = %path.display(), "generated a local secret");
    Ok(secret)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}
