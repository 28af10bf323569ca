//! Caps on what one user may own (service keys, custom prompts, webhooks). The count and the
//! insert run in one transaction under an advisory lock per user and kind, so concurrent
//! creations cannot pass the cap together.

use sqlx::PgConnection;
use uuid::Uuid;

/// Something a user owns under a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    /// Service keys that are neither revoked nor expired.
    ServiceKeys,
    /// Custom prompts.
    Prompts,
    /// Webhooks.
    Webhooks,
}

impl Owned {
    /// The first key of the advisory lock: one lock space per kind.
    fn lock_space(self) -> i32 {
        match self {
            Owned::ServiceKeys => 0x736b_0001,
            Owned::Prompts => 0x736b_0002,
            Owned::Webhooks => 0x736b_0003,
        }
    }

    fn count_query(self) -> &'static str {
        match self {
            Owned::ServiceKeys => {
                "select count(*) from service_key where user_id = $1 and revoked_at is null \
                 and (expires_at is null or expires_at > now())"
            }
            Owned::Prompts => "select count(*) from user_prompt where user_id = $1",
            Owned::Webhooks => "select count(*) from webhook where user_id = $1",
        }
    }
}

/// Takes the transaction-scoped lock of `user_id`'s `kind` (held until `conn`'s transaction
/// ends) and returns how many the user has now. Call it inside the transaction that inserts.
pub async fn lock_and_count(
    conn: &mut PgConnection,
    kind: Owned,
    user_id: Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query("select pg_advisory_xact_lock($1, hashtext($2::text))")
        .bind(kind.lock_space())
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar(kind.count_query())
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await
}
