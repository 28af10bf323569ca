//! WebSocket close codes: the one list of every close a transport sends (WebSocket, SSE's
//! refusals, the multiplexed socket's closes and channel `error`s). 1000 means the smelt
//! finished; 4000–4499 mean "reconnect (or try again) and resume with `after_seq`"; 4500–4999
//! are terminal (do not reconnect). The tables in README.md and docs/api.md, and the client
//! library's, list exactly these (a test checks).

/// A close the server sends, with its code ([`Close::code`]) and what the client should do
/// ([`Close::action`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Close {
    /// 1000: the smelt reached `completed`, `failed` or `cancelled` and everything was sent.
    Finished,
    /// 1002: the client sent something a subscriber may not send (clients cannot publish).
    ProtocolError,
    /// 1009: the client sent a frame larger than the server accepts.
    MessageTooBig,
    /// 4000: the socket's outbound queue overflowed.
    SlowConsumer,
    /// 4001: the server is shutting down (reconnect to another).
    ShuttingDown,
    /// 4002: the client stopped answering pings.
    HeartbeatTimeout,
    /// 4003: a server-side read failed.
    ServerError,
    /// 4429: a subscribe on the multiplexed socket over the address's rate limit, sent as that
    /// channel's `error` event (the socket stays open).
    RateLimited,
    /// 4500: the request was malformed (for example `after_seq` is not a number).
    BadRequest,
    /// 4501: no valid token, or the key or session behind it is gone.
    Unauthorized,
    /// 4503: the token is valid but not for this smelt.
    Forbidden,
    /// 4504: the smelt does not exist (or is not visible to this caller).
    NotFound,
}

/// What a client does after a [`Close`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing more will come: stop.
    Finished,
    /// Reconnect (or subscribe again) with `after_seq`.
    Resume,
    /// Do not reconnect.
    Stop,
}

impl Close {
    /// Every close, in code order.
    pub const ALL: [Close; 12] = [
        Close::Finished,
        Close::ProtocolError,
        Close::MessageTooBig,
        Close::SlowConsumer,
        Close::ShuttingDown,
        Close::HeartbeatTimeout,
        Close::ServerError,
        Close::RateLimited,
        Close::BadRequest,
        Close::Unauthorized,
        Close::Forbidden,
        Close::NotFound,
    ];

    /// The WebSocket close code.
    pub const fn code(self) -> u16 {
        match self {
            Close::Finished => 1000,
            Close::ProtocolError => 1002,
            Close::MessageTooBig => 1009,
            Close::SlowConsumer => 4000,
            Close::ShuttingDown => 4001,
            Close::HeartbeatTimeout => 4002,
            Close::ServerError => 4003,
            Close::RateLimited => 4429,
            Close::BadRequest => 4500,
            Close::Unauthorized => 4501,
            Close::Forbidden => 4503,
            Close::NotFound => 4504,
        }
    }

    /// What the client should do, by the code's range.
    pub const fn action(self) -> Action {
        match self.code() {
            1000 => Action::Finished,
            4000..=4499 => Action::Resume,
            _ => Action::Stop,
        }
    }

    /// A short reason, for close frames and channel `error`s.
    pub const fn reason(self) -> &'static str {
        match self {
            Close::Finished => "finished",
            Close::ProtocolError => "protocol error",
            Close::MessageTooBig => "message too big",
            Close::SlowConsumer => "slow consumer: reconnect",
            Close::ShuttingDown => "shutting down: reconnect",
            Close::HeartbeatTimeout => "no pong: reconnect",
            Close::ServerError => "try again",
            Close::RateLimited => "too many subscribes: slow down",
            Close::BadRequest => "bad request",
            Close::Unauthorized => "unauthorized",
            Close::Forbidden => "forbidden",
            Close::NotFound => "not found",
        }
    }
}

impl From<Close> for u16 {
    fn from(close: Close) -> u16 {
        close.code()
    }
}

impl serde::Serialize for Close {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.code())
    }
}

/// [`Close::Finished`].
pub const FINISHED: Close = Close::Finished;
/// [`Close::ProtocolError`].
pub const PROTOCOL_ERROR: Close = Close::ProtocolError;
/// [`Close::MessageTooBig`].
pub const MESSAGE_TOO_BIG: Close = Close::MessageTooBig;
/// [`Close::SlowConsumer`].
pub const SLOW_CONSUMER: Close = Close::SlowConsumer;
/// [`Close::ShuttingDown`].
pub const SHUTTING_DOWN: Close = Close::ShuttingDown;
/// [`Close::HeartbeatTimeout`].
pub const HEARTBEAT_TIMEOUT: Close = Close::HeartbeatTimeout;
/// [`Close::ServerError`].
pub const SERVER_ERROR: Close = Close::ServerError;
/// [`Close::RateLimited`].
pub const RATE_LIMITED: Close = Close::RateLimited;
/// [`Close::BadRequest`].
pub const BAD_REQUEST: Close = Close::BadRequest;
/// [`Close::Unauthorized`].
pub const UNAUTHORIZED: Close = Close::Unauthorized;
/// [`Close::Forbidden`].
pub const FORBIDDEN: Close = Close::Forbidden;
/// [`Close::NotFound`].
pub const NOT_FOUND: Close = Close::NotFound;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_in_order_and_their_range_says_what_to_do() {
        let codes: Vec<u16> = Close::ALL.iter().map(|c| c.code()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted);
        assert_eq!(Close::Finished.action(), Action::Finished);
        assert_eq!(Close::SlowConsumer.action(), Action::Resume);
        assert_eq!(Close::RateLimited.action(), Action::Resume);
        assert_eq!(Close::ProtocolError.action(), Action::Stop);
        assert_eq!(Close::NotFound.action(), Action::Stop);
    }
}
