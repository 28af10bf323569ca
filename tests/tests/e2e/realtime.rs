//! The smelt socket: snapshot for late subscribers, resume with `after_seq`, authorization.

use smelt_core::events::EventKind;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_idle_app};

const TEXT: &str =
    "The team agreed to ship the release on Monday. Alice will update the changelog. \
    Bob asked whether the migration is safe. It is safe because it only adds columns.";

#[tokio::test]
async fn a_client_connecting_after_completion_gets_a_snapshot_holding_the_results() {
    let app = spawn_app().await;
    let created = app.create_text(TEXT, &["summarize"], None).await;
    let live = app.follow(&created).await;
    assert_eq!(live.last().event, EventKind::Completed);

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
