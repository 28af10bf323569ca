//! Users of the built-in sign-up and their refresh tokens.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// A stored user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub user_id: Uuid,
    pub email: String,
    pub password_hash: String,
}

/// The email is taken (constraint `app_user_email_key`).
#[derive(Debug, thiserror::Error)]
#[error("email already registered")]
pub struct EmailTaken;

/// Inserts a user. `Ok(Err(EmailTaken))` when the normalised email exists.
pub async fn insert<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    email: &str,
    password_hash: &str,
) -> Result<Result<(), EmailTaken>, sqlx::Error> {
    let result =
        sqlx::query("insert into app_user (user_id, email, password_hash) values ($1, $2, $3)")
            .bind(user_id)
            .bind(email)
            .bind(password_hash)
            .execute(db)
            .await;
    match result {
        Ok(_) => Ok(Ok(())),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("app_user_email_key") => {
            Ok(Err(EmailTaken))
        }
        Err(e) => Err(e),
    }
}

/// A user by normalised email.
pub async fn by_email<'e>(
    db: impl PgExecutor<'e>,
    email: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as("select user_id, email, password_hash from app_user where email = $1")
        .bind(email)
        .fetch_optional(db)
        .await
}

/// A user's email, if they signed up here.
pub async fn email_of<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("select email from app_user where user_id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await
}

/// Stores a refresh token's hash in a family.
pub async fn insert_refresh<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    family_id: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into refresh_token (refresh_token_id, user_id, family_id, token_hash, expires_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(family_id)
    .bind(token_hash)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshLookup {
    /// Current and unexpired: it has now been marked rotated.
    Rotated { user_id: Uuid, family_id: Uuid },
    /// Unknown or expired.
    Invalid,
    /// Already rotated or revoked: a replay. Its whole family has been revoked.
    Reused,
}

/// user, family, expiry, rotated at, revoked at.
type RefreshRow = (
    Uuid,
    Uuid,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

/// Consumes a refresh token (locking it, so two concurrent uses cannot both succeed).
pub async fn consume_refresh(
    conn: &mut PgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<RefreshLookup, sqlx::Error> {
    let row: Option<RefreshRow> = sqlx::query_as(
        "select user_id, family_id, expires_at, rotated_at, revoked_at from refresh_token
         where token_hash = $1 for update",
    )
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((user_id, family_id, expires_at, rotated_at, revoked_at)) = row else {
        return Ok(RefreshLookup::Invalid);
    };
    if rotated_at.is_some() || revoked_at.is_some() {
        revoke_family(&mut *conn, family_id).await?;
        return Ok(RefreshLookup::Reused);
    }
    if expires_at <= now {
        return Ok(RefreshLookup::Invalid);
    }
    sqlx::query("update refresh_token set rotated_at = now() where token_hash = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(RefreshLookup::Rotated { user_id, family_id })
}

/// Revokes every token of a family.
pub async fn revoke_family<'e>(
    db: impl PgExecutor<'e>,
    family_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update refresh_token set revoked_at = coalesce(revoked_at, now()) where family_id = $1",
    )
    .bind(family_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Revokes the family of a token (logout). Returns false when the token is unknown.
pub async fn revoke_by_token<'e>(
    db: impl PgExecutor<'e>,
    token_hash: &[u8],
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update refresh_token set revoked_at = coalesce(revoked_at, now())
         where family_id = (select family_id from refresh_token where token_hash = $1)",
    )
    .bind(token_hash)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// True while the session `family_id` (a refresh-token family) can still refresh: some token
/// of it is neither revoked (logout, reuse) nor expired.
pub async fn session_active<'e>(
    db: impl PgExecutor<'e>,
    family_id: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select exists (select 1 from refresh_token where family_id = $1 \
         and revoked_at is null and expires_at > now())",
    )
    .bind(family_id)
    .fetch_one(db)
    .await
}

/// Saves a user's own provider key, sealed (`ciphertext` with its tag, `nonce`) and bound to
/// the user id as associated data, with its last four characters and the base URL the user
/// chose (`None`: the operator's default), and marks it valid. The profile must exist.
pub async fn save_api_key<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    ciphertext: &[u8],
    nonce: &[u8],
    last4: &str,
    base_url: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update user_profile set api_key_ciphertext = $2, api_key_nonce = $3, api_key_last4 = $4,
                                 api_key_base_url = $5, api_key_status = 'valid', api_key_bound = true,
                                 updated_at = now()
         where user_id = $1",
    )
    .bind(user_id)
    .bind(ciphertext)
    .bind(nonce)
    .bind(last4)
    .bind(base_url)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes a user's own key: back to weekly credits.
pub async fn remove_api_key<'e>(db: impl PgExecutor<'e>, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update user_profile set api_key_ciphertext = null, api_key_nonce = null, api_key_last4 = null,
                                 api_key_base_url = null, api_key_status = 'none', updated_at = now()
         where user_id = $1",
    )
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Records that the provider refused a user's key (it stays stored, marked invalid, so the
/// user sees why their smelts now cost credits).
pub async fn mark_api_key_invalid<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update user_profile set api_key_status = 'invalid', updated_at = now() where user_id = $1",
    )
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(())
}

/// A user's sealed own key, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredApiKey {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    /// The base URL the user chose; `None` for the operator's default.
    pub base_url: Option<String>,
    /// True when it was sealed bound to the user id (every key saved since binding began;
    /// older keys open without associated data).
    pub bound: bool,
}

/// The user's own key while it is valid.
pub async fn valid_api_key<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
) -> Result<Option<StoredApiKey>, sqlx::Error> {
    type Sealed = (Option<Vec<u8>>, Option<Vec<u8>>, Option<String>, bool);
    let row: Option<Sealed> = sqlx::query_as(
        "select api_key_ciphertext, api_key_nonce, api_key_base_url, api_key_bound from user_profile
         where user_id = $1 and api_key_status = 'valid'",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some((Some(ciphertext), Some(nonce), base_url, bound)) => Some(StoredApiKey {
            ciphertext,
            nonce,
            base_url,
            bound,
        }),
        _ => None,
    })
}
