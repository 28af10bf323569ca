//! Realtime delivery of smelt events: the [`hub`] registry, the [`broker`] that feeds it, the
//! transport-independent [`feed`] of one subscriber, and its transports: one [`session`] task
//! per WebSocket (`GET /api/smelts/{id}/ws`), [`sse`] (`GET /api/smelts/{id}/events`), and
//! the [`multiplex`]ed socket following several smelts (`GET /api/ws`).

pub mod broker;
pub mod close;
pub mod feed;
pub mod hub;
pub mod multiplex;
pub mod session;
pub mod sse;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use smelt_core::tokens::{ACCESS_AUDIENCE, SUBSCRIPTION_AUDIENCE};
use uuid::Uuid;

use crate::http::error::ApiError;
use crate::limits::{Action, ClientIp};
use crate::state::AppState;
use feed::{FeedRequest, Grant};

/// Largest frame a client may send, in bytes.
pub const MAX_CLIENT_FRAME_BYTES: usize = 4 * 1024;

/// Read and write buffer of each socket, in bytes. tungstenite's defaults (128 KiB each) would
/// cost ~140 KiB per idle connection; clients send tiny frames, and each frame we send is
/// flushed at once, so small buffers cost nothing in throughput.
pub const SOCKET_BUFFER_BYTES: usize = 4 * 1024;

/// Admits a socket: counts the connect against the client's rate limit, answers 426 in the
/// envelope when the request is not an upgrade, and applies the frame limits and buffer sizes.
pub fn accept(
    state: &AppState,
    ip: std::net::IpAddr,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<WebSocketUpgrade, ApiError> {
    state.limits.check(Action::Connect, ip, None)?;
    let ws = ws.map_err(|_| {
        ApiError::client(
            StatusCode::UPGRADE_REQUIRED,
            "websocket_required",
            "CONNECT WITH A WEBSOCKET",
        )
    })?;
    Ok(ws
        .max_message_size(MAX_CLIENT_FRAME_BYTES)
        .max_frame_size(MAX_CLIENT_FRAME_BYTES)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES))
}

/// Routes of the realtime API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/smelts/{id}/ws", get(upgrade))
        .route("/smelts/{id}/events", get(sse::events))
        .route("/ws", get(multiplex::upgrade))
}

/// Query of the socket and SSE URLs: `token` (subscription token or access token) and
/// `after_seq`.
#[derive(Debug, Deserialize)]
pub struct SocketQuery {
    pub token: Option<String>,
    pub after_seq: Option<String>,
}

/// Who may follow a smelt, from a token.
fn grant(state: &AppState, smelt_id: Uuid, token: Option<&str>) -> Result<Grant, u16> {
    let token = token.ok_or(close::UNAUTHORIZED)?;
    if let Ok(claims) = state.tokens.verify(token, SUBSCRIPTION_AUDIENCE) {
        return if claims.sub == smelt_id {
            Ok(Grant::Subscription)
        } else {
            Err(close::FORBIDDEN)
        };
    }
    state
        .tokens
        .verify(token, ACCESS_AUDIENCE)
        .map(|claims| Grant::User(claims.sub))
        .map_err(|_| close::UNAUTHORIZED)
}

/// Builds the feed request of `/smelts/{id}/…` from the path, the query (`token`,
/// `after_seq`) and the `Authorization` header. `Err` is the refusal's close code.
pub fn request_from(
    state: &AppState,
    id: &str,
    query: &SocketQuery,
    headers: &HeaderMap,
) -> Result<FeedRequest, u16> {
    let smelt_id: Uuid = id.parse().map_err(|_| close::NOT_FOUND)?;
    let header_token = crate::auth::bearer_token(headers);
    let grant = grant(state, smelt_id, query.token.as_deref().or(header_token))?;
    let after_seq = match query.after_seq.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or(close::BAD_REQUEST)?,
        ),
    };
    Ok(FeedRequest {
        smelt_id,
        grant,
        after_seq,
    })
}

/// `GET /api/smelts/{id}/ws`: upgrades, then hands the socket to a session. Authorization
/// failures are reported as close codes (browsers cannot read an HTTP status of a failed
/// upgrade); a request that is not a WebSocket upgrade gets 426 in the error envelope.
async fn upgrade(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Query(query): Query<SocketQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match accept(&state, ip, ws) {
        Ok(ws) => ws,
        Err(refused) => return refused.into_response(),
    };
    let request = request_from(&state, &id, &query, &headers);
    ws.on_upgrade(move |socket| {
        let sessions = state.sessions.clone();
        sessions.track_future(session::run(socket, state, request))
    })
}
