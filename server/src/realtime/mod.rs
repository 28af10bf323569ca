//! Realtime delivery of smelt events: the [`hub`] registry, the [`broker`] that feeds it, the
//! transport-independent [`feed`] of one subscriber with its queue of [`frames`], and its
//! transports: one [`session`] task per WebSocket (`GET /api/smelts/{id}/ws`), [`sse`]
//! (`GET /api/smelts/{id}/events`), and the [`multiplex`]ed socket following several smelts
//! (`GET /api/ws`). Both WebSocket transports write, ping and close through one [`writer`].

pub mod backstop;
pub mod broker;
pub mod close;
pub mod every;
pub mod feed;
pub mod frames;
pub mod hub;
pub mod multiplex;
pub mod places;
pub mod revocations;
pub mod session;
pub mod sse;
pub mod writer;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use smelt_core::domain::Scope;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::HolderRefusal;
use crate::http::error::{ApiError, ApiErrorBody};
use crate::limits::{Action, ClientIp};
use crate::state::AppState;
use feed::{FeedRequest, Grant};

/// Counts one open connection of a transport (`ws`, `multiplex`, `sse`) in the
/// `smelt_open_sockets` gauge for as long as it lives.
pub struct OpenSocket(&'static str);

impl OpenSocket {
    /// Counts a connection that just opened.
    pub fn new(transport: &'static str) -> Self {
        metrics::gauge!(smelt_core::metrics::OPEN_SOCKETS, "transport" => transport).increment(1.0);
        OpenSocket(transport)
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        metrics::gauge!(smelt_core::metrics::OPEN_SOCKETS, "transport" => self.0).decrement(1.0);
    }
}

/// What a per-smelt socket needs once it is upgraded: the hub, the broker and the settings.
/// A session holds it for as long as its client stays, so it is three pointers rather than
/// the whole [`AppState`] (1.3 KB, and clones of keys and URLs).
#[derive(Clone)]
pub struct SocketContext {
    /// The channel registry the session subscribes in.
    pub hub: std::sync::Arc<hub::Hub>,
    /// Where the session's snapshot, replay and gap reads come from.
    pub broker: std::sync::Arc<dyn broker::Broker>,
    /// The server's settings (the queue size and ping interval of `realtime`).
    pub settings: std::sync::Arc<crate::settings::Settings>,
}

impl SocketContext {
    /// The context of `state`'s sockets.
    pub fn of(state: &AppState) -> Self {
        SocketContext {
            hub: state.hub.clone(),
            broker: state.broker.clone(),
            settings: state.settings.clone(),
        }
    }
}

/// Largest frame a client may send, in bytes.
pub const MAX_CLIENT_FRAME_BYTES: usize = 4 * 1024;

/// Read buffer of each socket, in bytes, allocated when the socket opens. Clients send only
/// pongs, closes and (on the multiplexed socket) small subscribe frames; a larger frame, up to
/// [`MAX_CLIENT_FRAME_BYTES`], grows the buffer while it is read. tungstenite's default
/// (128 KiB) would cost that much per idle connection.
pub const SOCKET_READ_BUFFER_BYTES: usize = 512;

/// Bytes a socket gathers before writing them out (tungstenite's default: 128 KiB). Each batch
/// of frames is flushed at once anyway; the buffer grows only as far as a batch needs.
pub const SOCKET_WRITE_BUFFER_BYTES: usize = 4 * 1024;

/// Admits a socket: counts the connect against the client's rate limit, answers 426 in the
/// envelope when the request is not an upgrade, and applies the frame limits and buffer sizes.
pub fn accept(
    state: &AppState,
    ip: std::net::IpAddr,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<WebSocketUpgrade, ApiError> {
    state.rate_limits.check(Action::Connect, ip, None)?;
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
        .read_buffer_size(SOCKET_READ_BUFFER_BYTES)
        .write_buffer_size(SOCKET_WRITE_BUFFER_BYTES))
}

/// Routes of the realtime API.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upgrade))
        .routes(routes!(sse::events))
        .routes(routes!(multiplex::upgrade))
}

/// Query of the socket and SSE URLs: `token` (subscription token or access token) and
/// `after_seq`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SocketQuery {
    /// The smelt's `subscription_token` or its owner's access token (or send it as
    /// `Authorization: Bearer`).
    pub token: Option<String>,
    /// Replay every stored event with a greater seq instead of starting with a snapshot.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub after_seq: Option<String>,
}

/// Who may follow a smelt, from a token, and the service key behind it (if one): the key of
/// an access grant, or the key that created the smelt for its subscription token. A key needs
/// the `smelts:read` scope.
pub async fn grant(
    state: &AppState,
    smelt_id: Uuid,
    token: Option<&str>,
) -> Result<(Grant, Option<Uuid>), close::Close> {
    let token = token.ok_or(close::UNAUTHORIZED)?;
    match crate::auth::holder(state, token, smelt_id).await {
        Ok(Some(holder)) => return Ok((Grant::Subscription, holder.creator_key)),
        Ok(None) => {}
        Err(HolderRefusal::OtherSmelt) => return Err(close::FORBIDDEN),
        Err(HolderRefusal::CreatorGone) => return Err(close::UNAUTHORIZED),
        Err(HolderRefusal::Unavailable) => return Err(close::SERVER_ERROR),
    }
    let caller = crate::auth::authenticate(state, token)
        .await
        .map_err(|_| close::UNAUTHORIZED)?;
    caller
        .require(Scope::SmeltsRead)
        .map_err(|_| close::FORBIDDEN)?;
    Ok((Grant::User(caller.user_id), caller.key.map(|k| k.key_id)))
}

/// Builds the feed request of `/smelts/{id}/…` from the path, the query (`token`,
/// `after_seq`) and the `Authorization` header. `Err` is the refusal's close code.
pub async fn request_from(
    state: &AppState,
    id: &str,
    query: &SocketQuery,
    headers: &HeaderMap,
) -> Result<FeedRequest, close::Close> {
    let smelt_id: Uuid = id.parse().map_err(|_| close::NOT_FOUND)?;
    crate::http::record_smelt(smelt_id);
    let header_token = crate::auth::bearer_token(headers);
    let (grant, key_id) = grant(state, smelt_id, query.token.as_deref().or(header_token)).await?;
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
        key_id,
    })
}

/// `GET /api/smelts/{id}/ws`: upgrades, then hands the socket to a session. Authorization
/// failures are reported as close codes (browsers cannot read an HTTP status of a failed
/// upgrade); a request that is not a WebSocket upgrade gets 426 in the error envelope.
#[utoipa::path(
    get,
    path = "/smelts/{id}/ws",
    operation_id = "smelt_socket",
    summary = "WebSocket of one smelt's events",
    tag = "realtime",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The smelt's id"), SocketQuery),
    description = "A WebSocket (`Upgrade: websocket`) following one smelt. Every server frame \
        is a JSON `WireEvent`: first a `snapshot` (the `SmeltDto`) or, with `after_seq`, the \
        replay of every stored event after it; then live `progress` (`ProgressPayload`), \
        `completed` (`CompletedPayload`) or `failed` (`FailedPayload`) events. Refusals come \
        as close codes after the upgrade: 4500 bad `after_seq`, 4501 no valid token, 4503 \
        token for another smelt, 4504 no such smelt; 4000 slow consumer, 4001 shutting down, \
        4002 no pong, 4003 read failure (reconnect with `after_seq`); 1000 when the smelt \
        finished and everything was sent; 1002 when the client sends a data frame, 1009 when \
        it sends a frame over 4 KiB.",
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 426, description = "`websocket_required`: not a WebSocket upgrade", body = ApiErrorBody),
        (status = 429, description = "`rate_limited`; see `Retry-After`", body = ApiErrorBody)
    )
)]
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
    let request = request_from(&state, &id, &query, &headers).await;
    // The session outlives the request; it keeps the request's span (with the smelt id).
    let span = tracing::Span::current();
    let context = SocketContext::of(&state);
    let sessions = state.sessions.clone();
    ws.on_upgrade(move |socket| {
        sessions.track_future(tracing::Instrument::instrument(
            session::run(socket, context, request),
            span,
        ))
    })
}
