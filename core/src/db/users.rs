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
