//! The only statements that write `smelt.status`. They are crate-private: the lifecycle
//! ([`crate::lifecycle`]) calls them with the event, credit effect and metric that go with
//! each change.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::events::EventColumns;
use crate::domain::{ErrorCode, SmeltStatus, Stage};
use crate::dto::SegmentDto;
use crate::events::{NewEvent, NOTIFY_CHANNEL};

/// A running smelt's state to publish (see [`publish_progress`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProgressState<'a> {
    pub status: SmeltStatus,
    /// 0–100; the stored value never decreases.
    pub percentage: u8,
    pub message: &'a str,
}

/// Transcript segments of one file to store with a progress publication.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SegmentBatch<'a> {
    pub file_id: Uuid,
    pub segments: &'a [SegmentDto],
    /// How far the file's transcription has got, in ms of its audio.
    pub transcribed_ms: u32,
}

/// Publishes a running smelt's progress in one statement, committed asynchronously (a
/// database crash may lose the last few hundred milliseconds of progress, which the
/// redelivered job publishes again): the smelt moves to `state` (its percentage never goes
/// back; leaving the queue records when it started), the segments are stored with how far
/// their file got, and the events are appended and announced as [`super::events::append`]
/// does. Returns the seq of the last event appended; `None` when the smelt is not running
/// (finished, cancelled or deleted).
pub(crate) async fn publish_progress(
    conn: &mut PgConnection,
    smelt_id: Uuid,
    state: ProgressState<'_>,
    segments: Option<SegmentBatch<'_>>,
    events: &[NewEvent],
    appended_us: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let columns = EventColumns::of(events.iter().map(|e| (smelt_id, e)));
    let rows = segments
        .map(|b| serde_json::to_value(b.segments).map_err(|e| sqlx::Error::Encode(Box::new(e))))
        .transpose()?;
    let row: Option<i64> = sqlx::query_scalar(
        "with previous as (
             select smelt_id, status from smelt
             where smelt_id = $1 and status not in ('completed', 'failed', 'cancelled')
             for update
         ), moved as (
             update smelt s
             set status = $2,
                 progress_percentage = greatest(s.progress_percentage, $3),
                 progress_message = $4,
                 started_at = case when p.status = 'pending' and $2 <> 'pending'
                                   then coalesce(s.started_at, now()) else s.started_at end,
                 last_seq = s.last_seq + cardinality($8::text[]),
                 updated_at = now()
             from previous p
             where s.smelt_id = p.smelt_id
             returning s.last_seq, p.status as previous
         ), segment as (
             insert into smelt_segment (smelt_file_id, segment_index, smelt_id, start_ms, end_ms,
                                        text, words)
             select $5, (x ->> 'index')::integer, $1, (x ->> 'start_ms')::integer,
                    (x ->> 'end_ms')::integer, x ->> 'text', nullif(x -> 'words', 'null'::jsonb)
             from moved, jsonb_array_elements(coalesce($6::jsonb, '[]'::jsonb)) as x
             where $5::uuid is not null
             on conflict on constraint smelt_segment_pkey do nothing
         ), transcribed as (
             update smelt_file set transcribed_ms = greatest(transcribed_ms, $7),
                                   transcript_advanced_at = now()
             from moved where smelt_file_id = $5
         ), numbered as (
             select m.last_seq - cardinality($8::text[]) + e.k as seq, e.kind, e.payload, e.inline
             from moved m, unnest($8::text[], $9::text[], $10::bool[]) with ordinality
                  as e(kind, payload, inline, k)
         ), stored as (
             insert into smelt_event (smelt_id, seq, kind, payload)
             select $1, seq, kind, payload::jsonb from numbered
         ), announced as (
             select pg_notify($11, concat_ws(' ', $1, seq, kind, $12::bigint,
                                             case when inline then payload end))
             from numbered order by seq
         ), asynchronous as (
             select set_config('synchronous_commit', 'off', true)
         )
         select m.last_seq from moved m,
                (select count(*) from announced) a, (select count(*) from asynchronous) c",
    )
    .bind(smelt_id)
    .bind(state.status)
    .bind(i16::from(state.percentage))
    .bind(state.message)
    .bind(segments.map(|b| b.file_id))
    .bind(rows)
    .bind(segments.map(|b| i32::try_from(b.transcribed_ms).unwrap_or(i32::MAX)))
    .bind(&columns.kinds)
    .bind(&columns.payloads)
    .bind(&columns.inline)
    .bind(NOTIFY_CHANNEL)
    .bind(appended_us)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row)
}

/// How a smelt ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending<'a> {
    /// Every stage ran: 100%, and its files that did not fail are completed.
    Completed,
    /// Processing failed with this code and message, in this prompt's synthesis if any.
    Failed {
        code: ErrorCode,
        message: &'a str,
        failed_prompt: Option<&'a str>,
    },
    /// Its owner cancelled it.
    Cancelled,
}

impl Ending<'_> {
    /// The final status.
    pub fn status(&self) -> SmeltStatus {
        match self {
            Ending::Completed => SmeltStatus::Completed,
            Ending::Failed { .. } => SmeltStatus::Failed,
            Ending::Cancelled => SmeltStatus::Cancelled,
        }
    }
}

/// A smelt that has just ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ended {
    /// Its status before (`pending` when it ended without leaving the queue).
    pub previous: SmeltStatus,
    /// Its owner (`None` for an anonymous smelt).
    pub user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Ends a smelt that is not finished yet (inside the caller's transaction); its files end
/// with it (completed, or failed when unfinished). `None` when it is gone or already
/// finished.
pub(crate) async fn end(
    conn: &mut PgConnection,
    smelt_id: Uuid,
    ending: Ending<'_>,
) -> Result<Option<Ended>, sqlx::Error> {
    let status = ending.status();
    let (code, message, failed_prompt) = match ending {
        Ending::Completed => (None, None, None),
        Ending::Failed {
            code,
            message,
            failed_prompt,
        } => (Some(code), Some(message.to_owned()), failed_prompt),
        Ending::Cancelled => (
            Some(ErrorCode::Cancelled),
            Some(ErrorCode::Cancelled.message(None)),
            None,
        ),
    };
    let ended: Option<(SmeltStatus, Option<Uuid>, DateTime<Utc>)> = sqlx::query_as(
        "update smelt s
         set status = $2, error_code = $3, error_message = $4, failed_prompt = $5,
             progress_percentage = case when $2 = 'completed' then 100
                                        else s.progress_percentage end,
             progress_message = $6, completed_at = now(), updated_at = now()
         from (select smelt_id, status from smelt
               where smelt_id = $1 and status not in ('completed', 'failed', 'cancelled')
               for update) previous
         where s.smelt_id = previous.smelt_id
         returning previous.status, s.user_id, s.created_at",
    )
    .bind(smelt_id)
    .bind(status)
    .bind(code)
    .bind(message)
    .bind(failed_prompt)
    .bind(Stage::of(status).message)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((previous, user_id, created_at)) = ended else {
        return Ok(None);
    };
    // A completed smelt's files that did not fail are completed; an ended one's unfinished
    // files fail with it.
    sqlx::query(
        "update smelt_file
         set status = case when $2 = 'completed' then 'completed' else 'failed' end
         where smelt_id = $1
           and status <> case when $2 = 'completed' then 'failed' else 'completed' end",
    )
    .bind(smelt_id)
    .bind(status)
    .execute(&mut *conn)
    .await?;
    Ok(Some(Ended {
        previous,
        user_id,
        created_at,
    }))
}

/// The status of a smelt, its row locked for the rest of the caller's transaction; `None`
/// when it does not exist.
pub(crate) async fn lock(
    conn: &mut PgConnection,
    smelt_id: Uuid,
) -> Result<Option<SmeltStatus>, sqlx::Error> {
    sqlx::query_scalar("select status from smelt where smelt_id = $1 for update")
        .bind(smelt_id)
        .fetch_optional(conn)
        .await
}

/// Puts a failed smelt back in the queue (inside the caller's transaction): `pending` again,
/// its error and refund forgotten, its unfinished files pending. What it kept (transcripts,
/// documents) stays. `false` when it is not failed.
pub(crate) async fn reopen(conn: &mut PgConnection, smelt_id: Uuid) -> Result<bool, sqlx::Error> {
    let reopened = sqlx::query(
        "update smelt set status = 'pending', error_code = null, error_message = null,
                          failed_prompt = null, completed_at = null, credit_refunded_at = null,
                          progress_message = $2, updated_at = now()
         where smelt_id = $1 and status = 'failed'",
    )
    .bind(smelt_id)
    .bind(Stage::of(SmeltStatus::Pending).message)
    .execute(&mut *conn)
    .await?;
    if reopened.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "update smelt_file set status = 'pending', error_code = null
         where smelt_id = $1 and status <> 'completed'",
    )
    .bind(smelt_id)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}
