//! WebSocket close codes. 1000 means the smelt finished; 4000–4499 mean "reconnect and resume
//! with `after_seq`"; 4500–4999 are terminal (do not reconnect).

/// The smelt reached `completed` or `failed` and everything was delivered.
pub const FINISHED: u16 = 1000;
/// The client sent something a subscriber may not send (clients cannot publish).
pub const PROTOCOL_ERROR: u16 = 1002;
/// The client sent a frame larger than the server accepts.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// The socket's outbound queue overflowed: reconnect with `after_seq`.
pub const SLOW_CONSUMER: u16 = 4000;
/// The server is shutting down: reconnect (to another server) with `after_seq`.
pub const SHUTTING_DOWN: u16 = 4001;
/// The client stopped answering pings: reconnect with `after_seq`.
pub const HEARTBEAT_TIMEOUT: u16 = 4002;
/// A server-side read failed: reconnect with `after_seq`.
pub const SERVER_ERROR: u16 = 4003;
/// The request was malformed (for example `after_seq` is not a number).
pub const BAD_REQUEST: u16 = 4500;
/// No valid token was presented.
pub const UNAUTHORIZED: u16 = 4501;
/// The token is valid but not for this smelt.
pub const FORBIDDEN: u16 = 4503;
/// The smelt does not exist (or is not visible to this caller).
pub const NOT_FOUND: u16 = 4504;
/// A subscribe on the multiplexed socket over the address's rate limit, sent as that
/// channel's `error` event (the socket stays open): try again later.
pub const RATE_LIMITED: u16 = 4429;
