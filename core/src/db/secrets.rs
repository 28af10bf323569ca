//! `secret_fingerprint`: which key sealed users' secrets, recorded by the first process that
//! used one (see [`crate::secrets`]).

use sqlx::PgPool;

/// The fingerprint the database holds under `name`, recording `ours` if it holds none yet.
pub async fn recorded_fingerprint(
    pool: &PgPool,
    name: &str,
    ours: &str,
) -> Result<String, sqlx::Error> {
    sqlx::query(
        "insert into secret_fingerprint (name, fingerprint) values ($1, $2)
         on conflict (name) do nothing",
    )
    .bind(name)
    .bind(ours)
    .execute(pool)
    .await?;
    sqlx::query_scalar("select fingerprint from secret_fingerprint where name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
}

/// Records `ours` as the fingerprint under `name`, in place of the one recorded.
pub async fn replace_fingerprint(pool: &PgPool, name: &str, ours: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update secret_fingerprint set fingerprint = $2 where name = $1")
        .bind(name)
        .bind(ours)
        .execute(pool)
        .await?;
    Ok(())
}

/// True when something sealed with the encryption key is stored: a user's own API key or a
/// webhook's signing secret.
pub async fn own_keys_stored(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select exists (select 1 from user_profile where api_key_ciphertext is not null) \
             or exists (select 1 from webhook)",
    )
    .fetch_one(pool)
    .await
}
