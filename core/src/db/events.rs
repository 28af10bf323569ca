//! The `smelt_event` log: appending events (with their gap-free seqs and their NOTIFYs) and
//! reading them back for resume and repair.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::events::{EventKind, NewEvent, WireEvent, NOTIFY_CHANNEL};

/// The columns of [`append`]'s arrays, one entry per event.
#[derive(Default)]
pub(crate) struct EventColumns<'a> {
    pub smelt_ids: Vec<Uuid>,
    pub kinds: Vec<&'static str>,
    pub payloads: Vec<&'a str>,
    pub inline: Vec<bool>,
}

impl<'a> EventColumns<'a> {
    /// The columns of `events`, each for its smelt.
    pub fn of(events: impl IntoIterator<Item = (Uuid, &'a NewEvent)>) -> Self {
        let mut columns = EventColumns::default();
        for (smelt_id, event) in events {
            columns.smelt_ids.push(smelt_id);
            columns.kinds.push(event.kind.as_str());
            columns.payloads.push(&event.payload);
            columns.inline.push(event.fits_inline());
        }
        columns
    }
}

/// One appended event: its smelt and the seq it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub smelt_id: Uuid,
    pub seq: i64,
}

/// Appends events, each to its smelt, in one statement inside the caller's transaction: each
/// smelt's `last_seq` moves past its new events (the row lock serialises the writers of one
/// smelt, and a rolled back transaction rolls its numbers back, so every smelt's sequence
/// stays gap-free), the events are stored and each is announced with `pg_notify` (delivered
/// only if and when the transaction commits; see [`crate::events::Announcement`]) in the
/// order given. `appended_us` is the writer's clock (Unix µs), the start of the delivery
/// latency.
///
/// Returns the appended events in the order given; events of smelts that do not exist are
/// left out.
pub(crate) async fn append(
    conn: &mut PgConnection,
    events: &[(Uuid, &NewEvent)],
    appended_us: i64,
) -> Result<Vec<Appended>, sqlx::Error> {
    let columns = EventColumns::of(events.iter().copied());
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "with item as (
             select i.smelt_id, i.kind, i.payload, i.inline, i.ord,
                    row_number() over (partition by i.smelt_id order by i.ord) as k,
                    count(*) over (partition by i.smelt_id) as n
             from unnest($1::uuid[], $2::text[], $3::text[], $4::bool[]) with ordinality
                  as i(smelt_id, kind, payload, inline, ord)
         ), bumped as (
             update smelt s set last_seq = s.last_seq + c.n
             from (select smelt_id, max(n) as n from item group by smelt_id) c
             where s.smelt_id = c.smelt_id
             returning s.smelt_id, s.last_seq
         ), numbered as (
             select i.smelt_id, b.last_seq - i.n + i.k as seq, i.kind, i.payload, i.inline, i.ord
             from item i join bumped b using (smelt_id)
         ), stored as (
             insert into smelt_event (smelt_id, seq, kind, payload)
             select smelt_id, seq, kind, payload::jsonb from numbered
         ), announced as (
             select pg_notify($5, concat_ws(' ', smelt_id, seq, kind, $6::bigint,
                                            case when inline then payload end))
             from numbered order by ord
         )
         select n.smelt_id, n.seq from numbered n, (select count(*) from announced) a
         order by n.ord",
    )
    .bind(&columns.smelt_ids)
    .bind(&columns.kinds)
    .bind(&columns.payloads)
    .bind(&columns.inline)
    .bind(NOTIFY_CHANNEL)
    .bind(appended_us)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(smelt_id, seq)| Appended { smelt_id, seq })
        .collect())
}

/// Stored events of a smelt with `after_seq < seq <= up_to_seq` (no upper bound when `None`),
/// in seq order.
pub async fn range<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
    after_seq: i64,
    up_to_seq: Option<i64>,
) -> Result<Vec<WireEvent>, sqlx::Error> {
    let rows: Vec<(i64, EventKind, serde_json::Value)> = sqlx::query_as(
        "select seq, kind, payload from smelt_event
         where smelt_id = $1 and seq > $2 and ($3::bigint is null or seq <= $3)
         order by seq",
    )
    .bind(smelt_id)
    .bind(after_seq)
    .bind(up_to_seq)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, event, payload)| WireEvent {
            event,
            seq,
            payload,
        })
        .collect())
}

/// Seq of the oldest stored event of a smelt, if any (events may be pruned by retention).
pub async fn first_seq<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("select min(seq) from smelt_event where smelt_id = $1")
        .bind(smelt_id)
        .fetch_one(db)
        .await
}

/// The `last_seq` of each of `smelt_ids` that exists (one indexed read, whatever the number),
/// for the realtime backstop to see events whose announcement never arrived.
pub async fn last_seqs<'e>(
    db: impl PgExecutor<'e>,
    smelt_ids: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    sqlx::query_as("select smelt_id, last_seq from smelt where smelt_id = any($1)")
        .bind(smelt_ids)
        .fetch_all(db)
        .await
}
