//! `GET /api/ws`: several smelts on one socket.

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::helpers::{spawn_idle_app, Socket, TestApp};

async fn mux(app: &TestApp, token: &str) -> Socket {
    TestApp::connect_url(&format!("ws://{}/api/ws?token={token}", app.address)).await
}

async fn send(socket: &mut Socket, value: Value) {
    socket.send(Message::text(value.to_string())).await;
}

#[tokio::test]
async fn one_socket_follows_several_smelts_to_their_end() {
    let app = spawn_idle_app().await;
    let owner = app.token_for(Uuid::new_v4());
    let a = app
        .create_text("Alice will send the slides by Monday.", &[], Some(&owner))
        .await;
    let b = app
        .create_text(
            "Bob asked about the budget. It is approved.",
            &[],
            Some(&owner),
        )
        .await;
    let stranger = app
        .create_text(
            "Someone else's notes.",
            &[],
            Some(&app.token_for(Uuid::new_v4())),
        )
        .await;
    let channel = |v: &Value| format!("smelt:{}", v["id"].as_str().unwrap());
    let mut socket = mux(&app, &owner).await;

    for created in [&a, &b] {
        send(
            &mut socket,
            json!({"type": "subscribe", "channel": channel(created)}),
        )
        .await;
        assert_eq!(
            socket.next_json().await.unwrap(),
            json!({"event": "subscribed", "channel": channel(created)})
        );
        let snapshot = socket.next_json().await.unwrap();
        assert_eq!(
            (snapshot["event"].as_str(), &snapshot["payload"]["id"]),
            (Some("snapshot"), &created["id"])
        );
    }
    // Subscribing twice changes nothing: an acknowledgement, no second snapshot.
    send(
        &mut socket,
        json!({"type": "subscribe", "channel": channel(&a)}),
    )
    .await;
    assert_eq!(socket.next_json().await.unwrap()["event"], "subscribed");

    send(
        &mut socket,
        json!({"type": "subscribe", "channel": channel(&stranger)}),
    )
    .await;
    let refused = socket.next_json().await.unwrap();
    assert_eq!(
        (refused["event"].as_str(), refused["code"].as_u64()),
        (Some("error"), Some(4504))
    );
    send(&mut socket, json!({"type": "subscribe", "channel": channel(&stranger), "token": a["subscription_token"]})).await;
    assert_eq!(socket.next_json().await.unwrap()["code"], 4503);

    let worker = crate::read::worker(&app).await;
    worker.try_process_one().await.unwrap();
    worker.try_process_one().await.unwrap();
    let mut completed = Vec::new();
    let mut seqs: std::collections::HashMap<String, Vec<i64>> = Default::default();
    while completed.len() < 2 {
        let frame = socket.next_json().await.expect("the socket stays open");
        let smelt = frame["payload"]["smelt_id"].as_str().unwrap().to_owned();
        seqs.entry(smelt.clone())
            .or_default()
            .push(frame["seq"].as_i64().unwrap());
        if frame["event"] == "completed" {
            completed.push(smelt);
        }
    }
    for (smelt, list) in seqs {
        assert_eq!(
            list,
            (1..=list.len() as i64).collect::<Vec<_>>(),
            "{smelt}: in order, once each"
        );
    }
    send(
        &mut socket,
        json!({"type": "unsubscribe", "channel": channel(&a)}),
    )
    .await;
    assert_eq!(socket.next_json().await.unwrap()["event"], "unsubscribed");

    send(
        &mut socket,
        json!({"type": "publish", "channel": channel(&a), "payload": {}}),
    )
    .await;
    assert_eq!(
        socket.next_json().await.unwrap_err(),
        Some(1002),
        "clients cannot publish"
    );
}
