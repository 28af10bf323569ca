//! Realtime delivery of smelt events: the [`hub`] registry, the [`broker`] that feeds it, one
//! [`session`] task per socket, and the upgrade route `GET /api/smelts/{id}/ws`.

pub mod broker;
pub mod close;
pub mod hub;
pub mod session;

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
use session::{Grant, SessionRequest};

/// Largest text frame a client may send, in bytes.
pub const MAX_CLIENT_FRAME_BYTES: usize = 4 * 1024;

/// Routes of the realtime API.
pub fn router() -> Router<AppState> {
    Router::new().route("/smelts/{id}/ws", get(upgrade))
}

/// Query of the socket URL: `token` (subscription token or access token) and `after_seq`.
#[derive(Debug, Deserialize)]
pub struct SocketQuery {
    pub token: Option<String>,
    pub after_seq: Option<String>,
}

/// Who may follow a smelt, from the token in the query or the `Authorization` header.
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
    if let Err(limited) = state.limits.check(Action::Connect, ip, None) {
        return limited.into_response();
    }
    let Ok(ws) = ws else {
        return ApiError::client(
            StatusCode::UPGRADE_REQUIRED,
            "websocket_required",
            "CONNECT WITH A WEBSOCKET",
        )
        .into_response();
    };
    let header_token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_owned);
    let token = query.token.clone().or(header_token);
    let request = match id.parse::<Uuid>() {
        Err(_) => Err(close::NOT_FOUND),
        Ok(smelt_id) => grant(&state, smelt_id, token.as_deref()).and_then(|grant| {
            let after_seq = match query.after_seq.as_deref() {
                None | Some("") => None,
                Some(v) => Some(
                    v.parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 0)
                        .ok_or(close::BAD_REQUEST)?,
                ),
            };
            Ok(SessionRequest {
                smelt_id,
                grant,
                after_seq,
            })
        }),
    };
    ws.max_message_size(MAX_CLIENT_FRAME_BYTES)
        .max_frame_size(MAX_CLIENT_FRAME_BYTES)
        .on_upgrade(move |socket| {
            let sessions = state.sessions.clone();
            sessions.track_future(session::run(socket, state, request))
        })
}
