//! Credit reservation and refund. Reservation runs inside the transaction that creates the
//! smelt and takes row locks, so no interleaving of requests can spend more than there is.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor};
use uuid::Uuid;

use crate::credits::{days_until, next_weekly_reset};
use crate::domain::{ApiKeyStatus, CreditSource};

/// What a new smelt was charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charge {
    /// Nothing, and no payer recorded: smelts the operator makes for itself (the load
    /// generator's).
    Free,
    /// No credit: the user's valid own API key pays, and only it may run the smelt.
    OwnKey,
    /// One weekly credit of the user.
    Weekly,
    /// The client address's smelt of the day.
    Anonymous { ip_hash: String, date: NaiveDate },
}

impl Charge {
    /// What the smelt row records of it (`None` for a free smelt).
    pub fn source(&self) -> Option<CreditSource> {
        match self {
            Charge::Free => None,
            Charge::OwnKey => Some(CreditSource::OwnKey),
            Charge::Weekly => Some(CreditSource::Weekly),
            Charge::Anonymous { .. } => Some(CreditSource::Anonymous),
        }
    }
}

/// Why a smelt was refused for credits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Anonymous daily smelt already used.
    DailyLimit,
    /// Weekly credits used up: `used` of `max`, `days` until the reset.
    WeeklyLimit { used: i32, max: i32, days: i64 },
}

/// A user's profile row.
#[derive(Debug, Clone, FromRow)]
pub struct ProfileRow {
    pub user_id: Uuid,
    pub credits_remaining: i32,
    pub weekly_credits_max: i32,
    pub credits_reset_at: DateTime<Utc>,
    pub api_key_ciphertext: Option<Vec<u8>>,
    pub api_key_nonce: Option<Vec<u8>>,
    pub api_key_last4: Option<String>,
    pub api_key_base_url: Option<String>,
    pub api_key_status: ApiKeyStatus,
}

const PROFILE_COLUMNS: &str = "user_id, credits_remaining, weekly_credits_max, credits_reset_at, \
    api_key_ciphertext, api_key_nonce, api_key_last4, api_key_base_url, api_key_status";

/// Creates the profile of a user seen for the first time (`weekly` credits, all of them left).
pub async fn ensure_profile<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    now: DateTime<Utc>,
    weekly: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into user_profile (user_id, credits_remaining, weekly_credits_max, credits_reset_at)
         values ($1, $2, $2, $3) on conflict (user_id) do nothing",
    )
    .bind(user_id)
    .bind(weekly)
    .bind(next_weekly_reset(now))
    .execute(db)
    .await?;
    Ok(())
}

/// The profile with the weekly reset applied when due (written back; the week starts with
/// `weekly` credits, the setting in force). Locks the row when `for_update`.
pub async fn profile(
    conn: &mut PgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
    weekly: i32,
    for_update: bool,
) -> Result<ProfileRow, sqlx::Error> {
    ensure_profile(&mut *conn, user_id, now, weekly).await?;
    let lock = if for_update { "for update" } else { "" };
    let mut row: ProfileRow = sqlx::query_as(&format!(
        "select {PROFILE_COLUMNS} from user_profile where user_id = $1 {lock}"
    ))
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    if row.credits_reset_at <= now {
        row.weekly_credits_max = weekly;
        row.credits_remaining = weekly;
        row.credits_reset_at = next_weekly_reset(now);
        sqlx::query(
            "update user_profile set credits_remaining = $2, weekly_credits_max = $2,
                                     credits_reset_at = $3, updated_at = now()
             where user_id = $1",
        )
        .bind(user_id)
        .bind(row.credits_remaining)
        .bind(row.credits_reset_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(row)
}

/// Reserves one credit of a signed-in user; with a valid own key none, and the key pays
/// ([`Charge::OwnKey`]).
pub async fn reserve_user(
    conn: &mut PgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
    weekly: i32,
) -> Result<Result<Charge, Refusal>, sqlx::Error> {
    let row = profile(conn, user_id, now, weekly, true).await?;
    if row.api_key_status == ApiKeyStatus::Valid {
        return Ok(Ok(Charge::OwnKey));
    }
    if row.credits_remaining <= 0 {
        return Ok(Err(Refusal::WeeklyLimit {
            used: row.weekly_credits_max - row.credits_remaining,
            max: row.weekly_credits_max,
            days: days_until(now, row.credits_reset_at),
        }));
    }
    sqlx::query("update user_profile set credits_remaining = credits_remaining - 1, updated_at = now() where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(Ok(Charge::Weekly))
}

/// Reserves the anonymous smelt of the day for a hashed client address. One statement: the
/// upsert's row lock makes concurrent attempts queue, and only the first finds room.
pub async fn reserve_anonymous(
    conn: &mut PgConnection,
    ip_hash: &str,
    now: DateTime<Utc>,
    daily: i32,
) -> Result<Result<Charge, Refusal>, sqlx::Error> {
    let date = now.date_naive();
    let reserved: Option<i32> = sqlx::query_scalar(
        "insert into anonymous_usage (ip_hash, usage_date, smelts_used) values ($1, $2, 1)
         on conflict (ip_hash, usage_date) do update set smelts_used = anonymous_usage.smelts_used + 1
         where anonymous_usage.smelts_used < $3
         returning smelts_used",
    )
    .bind(ip_hash)
    .bind(date)
    .bind(daily)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match reserved {
        Some(_) => Ok(Charge::Anonymous {
            ip_hash: ip_hash.to_owned(),
            date,
        }),
        None => Err(Refusal::DailyLimit),
    })
}

/// A read-only look at whether a signed-in user could be charged now: the refusal the
/// reservation would give, if any. It decides nothing — only [`reserve_user`], under its row
/// lock, does — but it lets a request be refused before its body is read.
pub async fn precheck_user<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    now: DateTime<Utc>,
    weekly: i32,
) -> Result<Option<Refusal>, sqlx::Error> {
    let row: Option<(i32, i32, DateTime<Utc>, ApiKeyStatus)> = sqlx::query_as(
        "select credits_remaining, weekly_credits_max, credits_reset_at, api_key_status
         from user_profile where user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    let Some((remaining, max, reset_at, key_status)) = row else {
        // A first smelt: the profile starts with a full week.
        return Ok((weekly <= 0).then(|| Refusal::WeeklyLimit {
            used: 0,
            max: weekly,
            days: days_until(now, next_weekly_reset(now)),
        }));
    };
    if key_status == ApiKeyStatus::Valid || reset_at <= now {
        return Ok(None);
    }
    Ok((remaining <= 0).then(|| Refusal::WeeklyLimit {
        used: max - remaining,
        max,
        days: days_until(now, reset_at),
    }))
}

/// A read-only look at whether an anonymous address has a smelt left today (see
/// [`precheck_user`]).
pub async fn precheck_anonymous<'e>(
    db: impl PgExecutor<'e>,
    ip_hash: &str,
    now: DateTime<Utc>,
    daily: i32,
) -> Result<Option<Refusal>, sqlx::Error> {
    let used: Option<i32> = sqlx::query_scalar(
        "select smelts_used from anonymous_usage where ip_hash = $1 and usage_date = $2",
    )
    .bind(ip_hash)
    .bind(now.date_naive())
    .fetch_optional(db)
    .await?;
    Ok((used.unwrap_or(0) >= daily).then_some(Refusal::DailyLimit))
}

/// What a smelt was charged: source, user, hashed address, usage day.
type ChargedRow = (
    CreditSource,
    Option<Uuid>,
    Option<String>,
    Option<NaiveDate>,
);

/// Gives a failed smelt's credit back, once: the smelt row records the refund in the same
/// statement that claims it. Returns true when a credit was returned now.
pub async fn refund(conn: &mut PgConnection, smelt_id: Uuid) -> Result<bool, sqlx::Error> {
    let claimed: Option<ChargedRow> = sqlx::query_as(
        "update smelt set credit_refunded_at = now()
         where smelt_id = $1 and credit_source in ('weekly', 'anonymous')
           and credit_refunded_at is null
         returning credit_source, user_id, anon_ip_hash, anon_usage_date",
    )
    .bind(smelt_id)
    .fetch_optional(&mut *conn)
    .await?;
    match claimed {
        None => Ok(false),
        Some((CreditSource::Weekly, Some(user_id), _, _)) => {
            // Never above the weekly maximum (the week may have been reset since).
            sqlx::query(
                "update user_profile set credits_remaining = least(credits_remaining + 1, weekly_credits_max),
                                         updated_at = now()
                 where user_id = $1",
            )
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
            Ok(true)
        }
        Some((_, _, Some(ip_hash), Some(date))) => {
            sqlx::query(
                "update anonymous_usage set smelts_used = greatest(smelts_used - 1, 0)
                 where ip_hash = $1 and usage_date = $2",
            )
            .bind(ip_hash)
            .bind(date)
            .execute(&mut *conn)
            .await?;
            Ok(true)
        }
        Some(_) => Ok(false),
    }
}

/// Takes a requeued smelt's credit again if its failure refunded it (inside the caller's
/// transaction, the smelt row locked): a weekly credit of its owner (with `weekly` credits
/// when the week has been reset since), or its anonymous address's count of the day, restored
/// without a limit (an operator requeue is not the visitor asking again). `false` when the
/// owner has no credit left; nothing is charged then.
pub async fn charge_again(
    conn: &mut PgConnection,
    smelt_id: Uuid,
    now: DateTime<Utc>,
    weekly: i32,
) -> Result<bool, sqlx::Error> {
    type Refunded = (
        Option<CreditSource>,
        Option<Uuid>,
        Option<String>,
        Option<NaiveDate>,
    );
    let refunded: Option<Refunded> = sqlx::query_as(
        "select credit_source, user_id, anon_ip_hash, anon_usage_date from smelt
         where smelt_id = $1 and credit_refunded_at is not null",
    )
    .bind(smelt_id)
    .fetch_optional(&mut *conn)
    .await?;
    match refunded {
        Some((Some(CreditSource::Weekly), Some(user_id), _, _)) => {
            let row = profile(conn, user_id, now, weekly, true).await?;
            if row.credits_remaining <= 0 {
                return Ok(false);
            }
            sqlx::query(
                "update user_profile set credits_remaining = credits_remaining - 1,
                                         updated_at = now()
                 where user_id = $1",
            )
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        }
        Some((Some(CreditSource::Anonymous), _, Some(ip_hash), Some(date))) => {
            sqlx::query(
                "update anonymous_usage set smelts_used = smelts_used + 1
                 where ip_hash = $1 and usage_date = $2",
            )
            .bind(ip_hash)
            .bind(date)
            .execute(&mut *conn)
            .await?;
        }
        _ => {}
    }
    Ok(true)
}
