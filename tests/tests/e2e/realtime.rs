//! The smelt socket: snapshot for late subscribers, resume with `after_seq`, authorization.

use smelt_core::events::EventKind;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::helpers::{insert_pending_texts, spawn_app, spawn_idle_app, TestDatabase};

const TEXT: &str =
    "The team agreed to ship the release on Monday. Alice will update the changelog. \
    Bob asked whether the migration is safe. It is safe because it only adds columns.";

#[tokio::test]
async fn a_client_connecting_after_completion_gets_a_snapshot_holding_the_results() {
    let app = spawn_app().await;
    let created = app.create_text(TEXT, &["summarize"], None).await;
    // Pasted text may be done before this first socket subscribes: its snapshot then says so.
    let live = app.follow(&created).await;
    assert!(live.completed(), "{:?}", live.last());

    let late = app.follow(&created).await;

    assert_eq!(late.events.len(), 1, "only the snapshot: {:?}", late.events);
    let snapshot = &late.events[0];
    assert_eq!(snapshot.event, EventKind::Snapshot);
    assert_eq!(
        snapshot.seq,
        live.last().seq,
        "the snapshot reflects the last event"
    );
    assert_eq!(snapshot.payload["status"], "completed");
    assert_eq!(snapshot.payload["results"], live.last().payload["results"]);
    assert_eq!(late.close_code, Some(1000));
}

#[tokio::test]
async fn a_client_resuming_with_after_seq_receives_exactly_the_later_events() {
    let app = spawn_app().await;
    let created = app.create_text(TEXT, &["action_items"], None).await;
    let id = created["id"].as_str().unwrap();
    let token = created["subscription_token"].as_str().unwrap();
    assert_eq!(
        app.follow(&created).await.last().event,
        EventKind::Completed
    );
    let stored: Vec<i64> =
        sqlx::query_scalar("select seq from smelt_event where smelt_id = $1 order by seq")
            .bind(id.parse::<Uuid>().unwrap())
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(
        stored.len() >= 3,
        "a text smelt stores several events: {stored:?}"
    );

    for after in [0, 1, stored.len() as i64 - 1] {
        let got = app
            .connect(id, &format!("token={token}&after_seq={after}"))
            .await
            .collect()
            .await;
        let seqs: Vec<i64> = got.events.iter().map(|e| e.seq).collect();
        let expected: Vec<i64> = stored.iter().copied().filter(|s| *s > after).collect();
        assert_eq!(seqs, expected, "after_seq={after}");
        assert!(
            got.events.iter().all(|e| e.event != EventKind::Snapshot),
            "no snapshot on resume"
        );
        assert_eq!(got.close_code, Some(1000));
    }
}

#[tokio::test]
async fn sockets_without_a_valid_grant_are_closed_with_terminal_codes() {
    let app = spawn_app().await;
    let owner = Uuid::new_v4();
    let owner_token = app.token_for(owner);
    let mine = app.create_text(TEXT, &[], Some(&owner_token)).await;
    let other = app.create_text(TEXT, &[], None).await;
    let id = mine["id"].as_str().unwrap();

    let cases = [
        (id.to_owned(), String::new(), 4501),
        (id.to_owned(), "token=not-a-jwt".to_owned(), 4501),
        (
            id.to_owned(),
            format!("token={}", other["subscription_token"].as_str().unwrap()),
            4503,
        ),
        (
            id.to_owned(),
            format!("token={}", app.token_for(Uuid::new_v4())),
            4504,
        ),
        (
            Uuid::new_v4().to_string(),
            format!("token={owner_token}"),
            4504,
        ),
        (
            id.to_owned(),
            format!("token={owner_token}&after_seq=minus-one"),
            4500,
        ),
    ];
    for (smelt, query, code) in cases {
        let got = app.connect(&smelt, &query).await.collect().await;
        assert!(got.events.is_empty(), "{query}: nothing is delivered");
        assert_eq!(got.close_code, Some(code), "{query}");
    }

    let owner_view = app
        .connect(id, &format!("token={owner_token}"))
        .await
        .collect()
        .await;
    assert_eq!(
        owner_view.events[0].event,
        EventKind::Snapshot,
        "the owner's access token is a grant"
    );
    assert_eq!(owner_view.close_code, Some(1000));
}

#[tokio::test]
async fn a_client_that_tries_to_publish_is_disconnected_with_a_protocol_error() {
    // No worker: the smelt stays pending, so only the client's frame can end the session.
    let app = spawn_idle_app().await;
    let created = app.create_text(TEXT, &[], None).await;
    let mut socket = app.subscribe(&created).await;
    socket.read_until(|e| e.event == EventKind::Snapshot).await;
    socket
        .send(Message::text(r#"{"event":"completed","payload":{}}"#))
        .await;
    let rest = socket.collect().await;
    assert!(rest.events.is_empty());
    assert_eq!(rest.close_code, Some(1002));
}

/// Rows read from user tables (sequential and index fetches) by `pool`'s one connection so
/// far: its backend's statistics are flushed first, so the count includes every statement it
/// ran before.
async fn rows_read(pool: &sqlx::PgPool) -> i64 {
    sqlx::query("select pg_stat_force_next_flush()")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query_scalar(
        "select coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)::bigint
         from pg_stat_user_tables",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Rows read by a fresh subscription to `smelt_id` and by a resume after seq 0, through the
/// server's feed on a broker whose pool has one connection.
async fn rows_read_by_subscribing(pool: &sqlx::PgPool, smelt_id: Uuid) -> (i64, i64) {
    use smelt_server::realtime::broker::postgres::PgBroker;
    use smelt_server::realtime::feed::{Feed, FeedRequest, Grant};
    use smelt_server::realtime::hub::Hub;
    use std::sync::Arc;

    let hub = Arc::new(Hub::new());
    let broker = Arc::new(PgBroker::new(pool.clone()));
    let mut read = Vec::new();
    for after_seq in [None, Some(0)] {
        let before = rows_read(pool).await;
        let request = FeedRequest {
            smelt_id,
            grant: Grant::Subscription,
            after_seq,
            key_id: None,
        };
        let started = Feed::start(hub.clone(), broker.clone(), 64, request).await;
        assert!(started.is_ok(), "the subscription starts");
        read.push(rows_read(pool).await - before);
    }
    (read[0], read[1])
}

#[tokio::test]
async fn subscribing_to_a_smelt_with_ten_thousand_others_pending_reads_no_more_rows_than_with_none()
{
    // A database of its own with no server on it: every row read is read by this test's one
    // connection, so the table statistics count exactly the subscription's reads.
    let database = TestDatabase::fresh();
    let pool = smelt_core::db::bootstrap(&database.url, 1).await.unwrap();
    let subject = insert_pending_texts(&pool, 1).await[0];
    let alone = rows_read_by_subscribing(&pool, subject).await;

    insert_pending_texts(&pool, 10_000).await;
    let pending: i64 = sqlx::query_scalar("select count(*) from pgmq.q_smelt_jobs_fast")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(pending, 10_001);
    let behind_ten_thousand = rows_read_by_subscribing(&pool, subject).await;

    assert!(alone.0 > 0, "the snapshot reads the smelt: {alone:?}");
    assert_eq!(
        behind_ten_thousand, alone,
        "rows read by (a snapshot, a resume) with 10,000 others pending and with none"
    );
}
