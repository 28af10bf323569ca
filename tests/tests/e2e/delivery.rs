//! Delivery guarantees under failure: a killed LISTEN connection, a killed server process,
//! slow consumers, many subscribers, several servers, SSE resume, hostile frames.

use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;
use smelt_core::db::smelts;
use smelt_core::domain::SmeltStatus;
use smelt_core::events::EventKind;
use smelt_core::lifecycle::ProgressSink;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::helpers::{spawn_app_with, spawn_idle_app, AppOptions, Socket, TestApp, Transcript};
use crate::processes::{free_port, ServerProcess};

const TEXT: &str = "Alice will send the budget by Friday. The launch moved to May. What about hiring? We hire two engineers.";

/// Publishes `n` progress events through a sink of the smelt (one statement each, with its
/// NOTIFY), as the worker's sink does while it transcribes.
async fn emit_progress(app: &TestApp, smelt_id: Uuid, n: usize) {
    let mut sink = sink_for(app, smelt_id).await;
    let mut conn = app.pool.acquire().await.unwrap();
    let smelt = smelts::fetch(&mut conn, smelt_id).await.unwrap().unwrap();
    let file_id = smelt.files[0].smelt_file_id;
    for i in 0..n {
        sink.publish_segments(file_id, &[], 0, i as f64 / n as f64)
            .await
            .unwrap();
    }
}

/// A sink for the smelt, as the worker would hold it.
async fn sink_for(app: &TestApp, smelt_id: Uuid) -> ProgressSink {
    let mut conn = app.pool.acquire().await.unwrap();
    let smelt = smelts::fetch(&mut conn, smelt_id).await.unwrap().unwrap();
    ProgressSink::new(app.pool.clone(), &smelt, Duration::ZERO)
}

fn seqs(t: &Transcript) -> Vec<i64> {
    t.events
        .iter()
        .filter(|e| e.event != EventKind::Snapshot)
        .map(|e| e.seq)
        .collect()
}

async fn created_text(app: &TestApp) -> (Value, Uuid) {
    let token = app.token_for(Uuid::new_v4());
    let created = app.create_text(TEXT, &[], Some(&token)).await;
    let id = created["id"].as_str().unwrap().parse().unwrap();
    (created, id)
}

async fn subscribed(app: &TestApp, created: &Value) -> Socket {
    let mut socket = app.subscribe(created).await;
    socket.read_until(|e| e.event == EventKind::Snapshot).await;
    socket
}

#[tokio::test]
async fn killing_the_listen_connection_loses_no_event() {
    let app = spawn_idle_app().await;
    let (created, id) = created_text(&app).await;
    let sockets = join_all((0..5).map(|_| subscribed(&app, &created))).await;
    let mut sink = sink_for(&app, id).await;
    sink.enter(SmeltStatus::Validating).await.unwrap();
    emit_progress(&app, id, 5).await;

    let killed: i64 = sqlx::query_scalar(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid()
           and (query ilike 'listen%smelt_events%' or query = 'select 1')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(killed, 1, "the server's LISTEN backend was terminated");

    // Announced while the listener is down or reconnecting: Postgres drops these NOTIFYs.
    emit_progress(&app, id, 10).await;
    sink.enter(SmeltStatus::Synthesizing).await.unwrap();
    sink.complete().await.unwrap();

    let stored: i64 = sqlx::query_scalar("select max(seq) from smelt_event where smelt_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for socket in sockets {
        let got = socket.collect().await;
        assert_eq!(
            seqs(&got),
            (1..=stored).collect::<Vec<_>>(),
            "every event once, in order"
        );
        assert_eq!(got.last().event, EventKind::Completed);
        assert_eq!(got.close_code, Some(1000));
    }
}

#[tokio::test]
async fn clients_resume_across_a_killed_and_restarted_server_without_gap_or_duplicate() {
    let app = spawn_idle_app().await;
    let (created, id) = created_text(&app).await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = ServerProcess::start(
        &app.settings.server.database.database_url,
        data.path(),
        port,
        0,
    )
    .await;
    let token = created["subscription_token"].as_str().unwrap();
    let url = |after: Option<i64>| {
        let resume = after.map(|n| format!("&after_seq={n}")).unwrap_or_default();
        format!("ws://127.0.0.1:{port}/api/smelts/{id}/ws?token={token}{resume}")
    };

    let mut socket = TestApp::connect_url(&url(None)).await;
    // Nothing happens before the snapshot is in: it reflects seq 0.
    let snapshot = socket.read_until(|e| e.event == EventKind::Snapshot).await;
    assert_eq!(snapshot[0].seq, 0);
    let mut sink = sink_for(&app, id).await;
    sink.enter(SmeltStatus::Validating).await.unwrap();
    emit_progress(&app, id, 4).await;
    let before = socket.read_until(|e| e.seq == 5).await;
    server.kill();
    let tail = socket.collect().await;
    assert_ne!(tail.close_code, Some(1000), "the connection broke");

    // The smelt goes on while no server is up.
    emit_progress(&app, id, 6).await;
    let last_seen = before
        .iter()
        .chain(tail.events.iter())
        .map(|e| e.seq)
        .max()
        .unwrap();
    let _server = ServerProcess::start(
        &app.settings.server.database.database_url,
        data.path(),
        port,
        0,
    )
    .await;
    let mut resumed = TestApp::connect_url(&url(Some(last_seen))).await;
    let replayed = resumed.read_until(|e| e.seq == 11).await;
    sink.enter(SmeltStatus::Synthesizing).await.unwrap();
    sink.complete().await.unwrap();
    let rest = resumed.collect().await;

    let assembled: Vec<i64> = before
        .iter()
        .chain(&tail.events)
        .chain(&replayed)
        .chain(&rest.events)
        .filter(|e| e.event != EventKind::Snapshot)
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        assembled,
        (1..=13).collect::<Vec<_>>(),
        "no gap, no duplicate"
    );
    assert_eq!(rest.close_code, Some(1000));
    assert_eq!(rest.last().event, EventKind::Completed);
}

#[tokio::test]
async fn a_subscriber_that_never_reads_is_closed_as_slow_while_a_hundred_others_keep_up() {
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| {
            // Room for readers that a busy machine starves for a moment; a reader that never
            // reads still overflows it long before the 1,502 events end.
            s.server.realtime.socket_queue = 512;
            s.server.http.socket_send_buffer_bytes = Some(4096);
        })),
        ..AppOptions::default()
    })
    .await;
    let (created, id) = created_text(&app).await;
    let token = created["subscription_token"].as_str().unwrap().to_owned();
    let mut slow = app
        .connect_slow(&id.to_string(), &format!("token={token}"))
        .await;
    slow.read_until(|e| e.event == EventKind::Snapshot).await;
    let fast = join_all((0..100).map(|_| subscribed(&app, &created))).await;
    let readers: Vec<_> = fast
        .into_iter()
        .map(|s| tokio::spawn(s.collect()))
        .collect();

    emit_progress(&app, id, 1500).await;
    let mut sink = sink_for(&app, id).await;
    sink.enter(SmeltStatus::Synthesizing).await.unwrap();
    sink.complete().await.unwrap();
    let total = 1502;

    for reader in readers {
        let got = reader.await.unwrap();
        assert_eq!(
            got.close_code,
            Some(1000),
            "a fast subscriber finished normally"
        );
        assert_eq!(seqs(&got), (1..=total).collect::<Vec<_>>());
    }
    let got = slow.collect().await;
    assert_eq!(
        got.close_code,
        Some(4000),
        "the slow subscriber is told to reconnect and resume"
    );
    let prefix = seqs(&got);
    assert_eq!(
        prefix,
        (1..=prefix.len() as i64).collect::<Vec<_>>(),
        "what it got is in order"
    );
    assert!((prefix.len() as i64) < total);
    let resumed = app
        .connect(
            &id.to_string(),
            &format!("token={token}&after_seq={}", prefix.len()),
        )
        .await
        .collect()
        .await;
    assert_eq!(
        seqs(&resumed),
        ((prefix.len() as i64 + 1)..=total).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_graceful_shutdown_closes_sockets_with_the_resume_code() {
    let mut app = spawn_idle_app().await;
    let (created, _) = created_text(&app).await;
    let sockets = join_all((0..3).map(|_| subscribed(&app, &created))).await;
    app.shut_down();
    for socket in sockets {
        assert_eq!(socket.collect().await.close_code, Some(4001));
    }
}

#[tokio::test]
async fn a_thousand_subscribers_of_one_smelt_all_receive_its_completion() {
    let app = spawn_idle_app().await;
    let (created, id) = created_text(&app).await;
    let mut sockets = Vec::with_capacity(1000);
    for _ in 0..10 {
        sockets.extend(join_all((0..100).map(|_| subscribed(&app, &created))).await);
    }
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|s| tokio::spawn(s.collect()))
        .collect();
    let worker = crate::read::worker(&app).await;
    assert!(
        matches!(worker.try_process_one().await.unwrap(), smelt_worker::Outcome::Completed(done) if done == id)
    );
    let mut completed = 0;
    for reader in readers {
        let got = reader.await.unwrap();
        if got.close_code == Some(1000) && got.last().event == EventKind::Completed {
            completed += 1;
        }
    }
    assert_eq!(completed, 1000);
}

#[tokio::test]
async fn two_server_processes_both_deliver_a_workers_events() {
    let app = spawn_idle_app().await;
    let data = tempfile::tempdir().unwrap();
    let (created, id) = created_text(&app).await;
    let token = created["subscription_token"].as_str().unwrap();
    let listener_only = ServerProcess::start(
        &app.settings.server.database.database_url,
        data.path(),
        free_port(),
        0,
    )
    .await;
    let url = |port: u16| format!("ws://127.0.0.1:{port}/api/smelts/{id}/ws?token={token}");
    let mut on_listener_only = TestApp::connect_url(&url(listener_only.port)).await;
    let first = on_listener_only
        .read_until(|e| e.event == EventKind::Snapshot)
        .await;
    assert_eq!(first[0].seq, 0, "nothing has happened yet");

    // The other server runs the worker: every event reaches the first one through Postgres.
    let with_worker = ServerProcess::start(
        &app.settings.server.database.database_url,
        data.path(),
        free_port(),
        1,
    )
    .await;
    let on_worker_server =
        TestApp::connect_url(&format!("{}&after_seq=0", url(with_worker.port))).await;
    // Both sockets are read at once: a client that stops reading stops answering pings, and
    // a slow run would see the first socket closed as gone.
    let (on_worker_server, live) =
        tokio::join!(on_worker_server.collect(), on_listener_only.collect());

    let stored: Vec<i64> =
        sqlx::query_scalar("select seq from smelt_event where smelt_id = $1 order by seq")
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        seqs(&live),
        stored,
        "the server without the worker got every event live (its socket closed with {:?} after \
         {:?})",
        live.close_code,
        live.events
            .iter()
            .map(|e| (e.seq, e.event))
            .collect::<Vec<_>>()
    );
    assert_eq!(seqs(&on_worker_server), stored);
    assert_eq!(live.last().event, EventKind::Completed);
    assert_eq!(
        (live.close_code, on_worker_server.close_code),
        (Some(1000), Some(1000))
    );
}

/// `(id, event, data)` of each SSE event in a finished stream.
fn parse_sse(body: &str) -> Vec<(i64, String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim_start().to_owned()))
            };
            Some((
                field("id:")?.parse().ok()?,
                field("event:")?,
                serde_json::from_str(&field("data:")?).ok()?,
            ))
        })
        .collect()
}

#[tokio::test]
async fn sse_with_last_event_id_resumes_exactly_like_the_websocket() {
    let app = crate::helpers::spawn_app().await;
    let (created, id) = created_text(&app).await;
    let token = created["subscription_token"].as_str().unwrap();
    assert_eq!(
        app.follow(&created).await.last().event,
        EventKind::Completed
    );

    let ws = app
        .connect(&id.to_string(), &format!("token={token}&after_seq=1"))
        .await
        .collect()
        .await;
    let sse = app
        .client
        .get(app.url(&format!("/api/smelts/{id}/events?token={token}")))
        .header("last-event-id", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(sse.headers()["content-type"], "text/event-stream");
    let events = parse_sse(&sse.text().await.unwrap());
    assert_eq!(events.iter().map(|e| e.0).collect::<Vec<_>>(), seqs(&ws));
    for ((_, kind, data), frame) in events.iter().zip(&ws.events) {
        assert_eq!(kind, frame.event.as_str());
        assert_eq!(data["payload"], frame.payload);
    }

    let fresh = app
        .client
        .get(app.url(&format!("/api/smelts/{id}/events?token={token}")))
        .send()
        .await
        .unwrap();
    let fresh = parse_sse(&fresh.text().await.unwrap());
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].1, "snapshot");
    let refused = app
        .client
        .get(app.url(&format!("/api/smelts/{id}/events?token=nope")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn garbage_binary_and_oversized_frames_close_that_socket_with_a_protocol_error() {
    let app = spawn_idle_app().await;
    let (created, _) = created_text(&app).await;
    let frames = [
        Message::text("{{{ not json"),
        Message::binary(vec![0u8, 159, 146, 150]),
        Message::text("x".repeat(64 * 1024)),
    ];
    let bystander = subscribed(&app, &created).await;
    for frame in frames {
        let mut socket = subscribed(&app, &created).await;
        socket.send(frame).await;
        let got = socket.collect().await;
        assert!(got.events.is_empty());
        assert_eq!(got.close_code, Some(1002));
    }
    // The others are untouched: the bystander still gets the smelt to its end.
    let worker = crate::read::worker(&app).await;
    worker.try_process_one().await.unwrap();
    assert_eq!(bystander.collect().await.close_code, Some(1000));
}

#[tokio::test]
async fn an_event_committed_without_its_notify_reaches_a_live_subscriber_through_the_backstop() {
    let app = spawn_app_with(AppOptions {
        workers: 0,
        configure: Some(Box::new(|s| s.server.realtime.backstop_secs = 1)),
        ..AppOptions::default()
    })
    .await;
    let (created, id) = created_text(&app).await;
    let mut socket = subscribed(&app, &created).await;
    // A writer that commits an event and never announces it.
    let seq: i64 = sqlx::query_scalar(
        "with next as (update smelt set last_seq = last_seq + 1 where smelt_id = $1 \
                       returning last_seq) \
         insert into smelt_event (smelt_id, seq, kind, payload) \
         select $1, last_seq, 'progress', \
                jsonb_build_object('smelt_id', $1::text, \
                                   'progress', jsonb_build_object('percentage', 0)) \
         from next returning seq",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let got = socket.read_until(|e| e.seq == seq).await;
    let last = got.last().unwrap();
    assert_eq!((last.event, last.seq), (EventKind::Progress, seq));
}

#[tokio::test]
async fn a_large_event_being_read_holds_up_only_its_own_smelts_events() {
    let app = spawn_idle_app().await;
    let (created_a, a) = created_text(&app).await;
    let (created_b, b) = created_text(&app).await;
    let _socket_a = subscribed(&app, &created_a).await;
    let mut socket_b = subscribed(&app, &created_b).await;
    let last_seq = |id: Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("select last_seq from smelt where smelt_id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (next_a, next_b) = (last_seq(a).await + 1, last_seq(b).await + 1);

    // The event log cannot be read until this transaction ends: the server's read of A's
    // large event (announced without its payload) waits on it.
    let mut blocker = app.pool.begin().await.unwrap();
    sqlx::query("lock table smelt_event in access exclusive mode")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let now_us = chrono::Utc::now().timestamp_micros();
    let announce = |payload: String| {
        let pool = app.pool.clone();
        async move {
            sqlx::query("select pg_notify('smelt_events', $1)")
                .bind(payload)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    announce(format!("{a} {next_a} progress {now_us}")).await;
    let payload = format!(r#"{{"smelt_id":"{b}","progress":{{"percentage":50}}}}"#);
    announce(format!("{b} {next_b} progress {now_us} {payload}")).await;

    let got = socket_b.read_until(|e| e.seq == next_b).await;
    assert_eq!(got.last().unwrap().payload["progress"]["percentage"], 50);
    blocker.rollback().await.unwrap();
}
