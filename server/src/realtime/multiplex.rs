//! `GET /api/ws`: one socket following several smelts (a history page with running smelts).
//!
//! Client → server text frames (nothing else is accepted; anything else closes with 1002):
//! - `{"type": "subscribe", "channel": "smelt:{id}", "token": "…"?, "after_seq": N?}` — the
//!   token is the smelt's subscription token (or an access token or key); without one, the
//!   access token or key the socket was opened with (`?token=` or `Authorization`) must be the
//!   owner's. Every subscribe is authorised when it arrives: a token that has expired since
//!   the socket opened is refused, and a socket opened with a service key closes with 4501 as
//!   soon as the key is revoked or expires. Subscribing to a channel already followed only
//!   repeats the acknowledgement. Subscribes count against the address's socket rate limit.
//! - `{"type": "unsubscribe", "channel": "smelt:{id}"}`.
//!
//! Server → client: `{"event": "subscribed" | "unsubscribed", "channel": …}`,
//! `{"event": "error", "channel": …, "code": 4501, "message": …}` for a refused subscription
//! (the socket stays open), and each channel's frames exactly as on the per-smelt socket (the
//! payload's `id` / `smelt_id` names the smelt), with the same guarantees per channel. A
//! channel ends after its terminal event. Overflow or shutdown closes the whole socket with
//! 4000 / 4001 (reconnect and resubscribe with `after_seq`).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::stream::{self, Stream};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use smelt_core::domain::Scope;
use tokio_stream::StreamMap;
use uuid::Uuid;

use super::feed::{Closing, Feed, FeedRequest, Step};
use super::writer::{Heartbeat, Writer};
use super::{close, SocketQuery};
use crate::limits::{Action, ClientIp};
use crate::state::AppState;

/// Most channels one socket may follow at once.
pub const MAX_CHANNELS: usize = 100;

type Steps = Pin<Box<dyn Stream<Item = Step> + Send>>;

/// A client message.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Subscribe {
        channel: String,
        token: Option<String>,
        after_seq: Option<i64>,
    },
    Unsubscribe {
        channel: String,
    },
}

/// `GET /api/ws` handler.
#[utoipa::path(
    get,
    path = "/ws",
    operation_id = "multiplex_socket",
    summary = "One WebSocket for several smelts",
    tag = "realtime",
    security((), ("bearer" = [])),
    params(("token" = Option<String>, Query, description = "An access token (or send it as `Authorization: Bearer`); channels subscribed without their own token must belong to its user")),
    description = "One WebSocket (`Upgrade: websocket`) following several smelts. The client \
        sends `{\"type\": \"subscribe\", \"channel\": \"smelt:{id}\", \"token\"?: \"…\", \
        \"after_seq\"?: N}` and `{\"type\": \"unsubscribe\", \"channel\": …}`; the server answers \
        `{\"event\": \"subscribed\" | \"unsubscribed\" | \"error\", \"channel\": …}` and then \
        sends each channel's `WireEvent` frames as `/api/smelts/{id}/ws` does. An invalid \
        connection token closes the socket with 4501.",
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 426, description = "`websocket_required`: not a WebSocket upgrade", body = crate::http::error::ApiErrorBody),
        (status = 429, description = "`rate_limited`; see `Retry-After`", body = crate::http::error::ApiErrorBody)
    )
)]
pub async fn upgrade(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Query(query): Query<SocketQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match super::accept(&state, ip, ws) {
        Ok(ws) => ws,
        Err(refused) => return axum::response::IntoResponse::into_response(refused),
    };
    let header_token = crate::auth::bearer_token(&headers).map(str::to_owned);
    // The connection-level token is optional, but when present it must be a valid access token
    // or a service key with the `smelts:read` scope.
    let user = match query.token.or(header_token) {
        None => Ok(None),
        Some(token) => match crate::auth::authenticate(&state, &token).await {
            Ok(caller) if caller.require(Scope::SmeltsRead).is_ok() => Ok(Some(ConnectionUser {
                token,
                key_id: caller.key.map(|k| k.key_id),
            })),
            Ok(_) => Err(close::FORBIDDEN),
            Err(_) => Err(close::UNAUTHORIZED),
        },
    };
    // One pointer in the socket's task instead of the whole state, held for as long as the
    // client stays.
    let state = Arc::new(state);
    ws.on_upgrade(move |socket| {
        let sessions = state.sessions.clone();
        sessions.track_future(run(socket, state, ip, user))
    })
}

fn steps(feed: Feed, first: Step) -> Steps {
    Box::pin(stream::unfold(
        Some((feed, Some(first))),
        |state| async move {
            let (mut feed, pending) = state?;
            let step = match pending {
                Some(step) => step,
                None => feed.next_batch(super::session::MAX_BATCH).await,
            };
            let done = matches!(step, Step::Finish(..));
            Some((step, if done { None } else { Some((feed, None)) }))
        },
    ))
}

fn control(value: serde_json::Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

/// Who opened a multiplexed socket: the token (checked again at every subscribe), and the
/// service key it is, if it is one.
#[derive(Clone)]
struct ConnectionUser {
    token: String,
    key_id: Option<Uuid>,
}

/// What to do after a client message.
enum Reply {
    /// Send this control frame.
    Send(serde_json::Value),
    /// Close the socket: its key was revoked or expired.
    Close(Closing),
}

const KEY_REVOKED: Closing = Closing {
    code: close::UNAUTHORIZED,
    reason: "the service key was revoked",
};

async fn run(
    socket: WebSocket,
    state: Arc<AppState>,
    ip: std::net::IpAddr,
    user: Result<Option<ConnectionUser>, close::Close>,
) {
    let _open = super::OpenSocket::new("multiplex");
    let (sink, mut stream) = socket.split();
    let ping_every = Duration::from_secs(state.settings.realtime.ping_secs.max(1));
    let mut writer = Writer::new(sink, ping_every, "multiplex");
    let user = match user {
        Ok(u) => u,
        Err(code) => {
            return writer
                .close(Closing {
                    code,
                    reason: "unauthorized",
                })
                .await
        }
    };
    let mut heartbeat = Heartbeat::new(ping_every);
    let mut channels: StreamMap<Uuid, Steps> = StreamMap::new();
    let connection_key = user.as_ref().and_then(|u| u.key_id);
    let mut revocations = state.hub.revocations();
    loop {
        tokio::select! {
            revoked = revocations.recv(), if connection_key.is_some() => {
                let still_active = match revoked {
                    Ok(key_id) => Some(key_id) != connection_key,
                    // Missed some: ask the database about this socket's key.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let key_id = connection_key.unwrap_or_default();
                        smelt_core::db::service_keys::is_active(&state.pool, key_id).await.unwrap_or(true)
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => true,
                };
                if !still_active {
                    return writer.close(KEY_REVOKED).await;
                }
            }
            Some((smelt_id, step)) = channels.next(), if !channels.is_empty() => {
                let (batch, closing) = match step {
                    Step::Send(batch) => (batch, None),
                    Step::Finish(batch, closing) => (batch, Some(closing)),
                };
                if !writer.send_batch(&batch).await {
                    return;
                }
                match closing {
                    None => {}
                    Some(c) if c.code == close::FINISHED => {
                        channels.remove(&smelt_id);
                    }
                    Some(c) if c.code == close::SERVER_ERROR => {
                        channels.remove(&smelt_id);
                        let error = json!({"event": "error", "channel": format!("smelt:{smelt_id}"), "code": c.code, "message": c.reason});
                        if !writer.send(control(error)).await {
                            return;
                        }
                    }
                    // Overflow or shutdown concern the whole socket.
                    Some(c) => return writer.close(c).await,
                }
            }
            message = stream.next() => {
                let text = match message {
                    None | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(Message::Ping(_))) | Some(Ok(Message::Pong(_))) => {
                        heartbeat.answered();
                        continue;
                    }
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) | Some(Err(_)) => {
                        return writer.close(Closing { code: close::PROTOCOL_ERROR, reason: "protocol error" }).await;
                    }
                };
                let Ok(parsed) = serde_json::from_str::<ClientMessage>(&text) else {
                    return writer.close(Closing { code: close::PROTOCOL_ERROR, reason: "expected subscribe or unsubscribe" }).await;
                };
                if let ClientMessage::Subscribe { channel, .. } = &parsed {
                    if state.rate_limits.check(Action::Connect, ip, None).is_err() {
                        let refused = refusal(channel, close::RATE_LIMITED);
                        if !writer.send(control(refused)).await {
                            return;
                        }
                        continue;
                    }
                }
                // Boxed: a subscribe (authorisation, snapshot) is rare, and inline its state
                // would size the socket's task for good.
                match Box::pin(handle(&state, user.as_ref(), &mut channels, parsed)).await {
                    Reply::Send(reply) => {
                        if !writer.send(control(reply)).await {
                            return;
                        }
                    }
                    Reply::Close(closing) => return writer.close(closing).await,
                }
            }
            alive = heartbeat.due() => {
                if !alive {
                    return writer.close(Closing { code: close::HEARTBEAT_TIMEOUT, reason: "no pong: reconnect" }).await;
                }
                if !writer.send(Message::Ping(Default::default())).await {
                    return;
                }
            }
        }
    }
}

fn refusal(channel: &str, code: close::Close) -> serde_json::Value {
    json!({"event": "error", "channel": channel, "code": code, "message": code.reason()})
}

/// Applies one client message; returns the acknowledgement or error to send, or the close
/// of a socket whose key is no longer valid.
async fn handle(
    state: &AppState,
    user: Option<&ConnectionUser>,
    channels: &mut StreamMap<Uuid, Steps>,
    message: ClientMessage,
) -> Reply {
    match message {
        ClientMessage::Unsubscribe { channel } => {
            if let Some(id) = channel
                .strip_prefix("smelt:")
                .and_then(|id| id.parse::<Uuid>().ok())
            {
                channels.remove(&id);
            }
            Reply::Send(json!({"event": "unsubscribed", "channel": channel}))
        }
        ClientMessage::Subscribe {
            channel,
            token,
            after_seq,
        } => {
            let Some(smelt_id) = channel
                .strip_prefix("smelt:")
                .and_then(|id| id.parse::<Uuid>().ok())
            else {
                return Reply::Send(refusal(&channel, close::NOT_FOUND));
            };
            if channels.contains_key(&smelt_id) {
                return Reply::Send(json!({"event": "subscribed", "channel": channel}));
            }
            if channels.len() >= MAX_CHANNELS || after_seq.is_some_and(|n| n < 0) {
                return Reply::Send(refusal(&channel, close::BAD_REQUEST));
            }
            // Authorised now, not when the socket opened: the token may have expired and the
            // key may have been revoked since.
            let (grant, key_id) = match (token, user) {
                (Some(t), _) => match super::grant(state, smelt_id, Some(&t)).await {
                    Ok(granted) => granted,
                    Err(code) => return Reply::Send(refusal(&channel, code)),
                },
                (None, Some(user)) => {
                    match super::grant(state, smelt_id, Some(&user.token)).await {
                        Ok(granted) => granted,
                        Err(close::UNAUTHORIZED) if user.key_id.is_some() => {
                            return Reply::Close(KEY_REVOKED)
                        }
                        Err(code) => return Reply::Send(refusal(&channel, code)),
                    }
                }
                (None, None) => return Reply::Send(refusal(&channel, close::UNAUTHORIZED)),
            };
            let request = FeedRequest {
                smelt_id,
                grant,
                after_seq,
                key_id,
            };
            match Feed::start(
                state.hub.clone(),
                state.broker.clone(),
                state.settings.realtime.socket_queue,
                request,
            )
            .await
            {
                Ok((feed, first)) => {
                    channels.insert(smelt_id, steps(feed, first));
                    Reply::Send(json!({"event": "subscribed", "channel": channel}))
                }
                Err(closing) => Reply::Send(refusal(&channel, closing.code)),
            }
        }
    }
}
