//! Following a smelt to its end through the realtime hub, as its owner's sockets do
//! ([`Feed`]): a snapshot first, then live events, so that nothing is missed between creating
//! the smelt and subscribing, and nothing is polled. A feed that ends early — this follower
//! fell behind, or a read failed — is resumed after the last event it delivered; one that the
//! server ends (shutting down, the key revoked) ends the following.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use smelt_core::domain::{ErrorCode, SmeltStatus};
use smelt_core::dto::{FailedPayload, SegmentDto, SegmentPayload, SmeltDto};
use smelt_core::events::{EventKind, WireEvent};
use uuid::Uuid;

use crate::auth::Caller;
use crate::http::error::ApiError;
use crate::realtime::close;
use crate::realtime::feed::{Closing, Feed, FeedRequest, Grant, Outgoing, Step};
use crate::state::AppState;

/// Most times a feed that ended early is resumed before the following gives up.
const MAX_RESUMES: u32 = 20;
/// Pause before resuming after a failed read, so that a struggling database is not hammered.
const RESUME_PAUSE: Duration = Duration::from_millis(250);

/// What a followed smelt did.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// A finished piece of its transcript, new to this follower.
    Segment(SegmentDto),
    /// It ended: the last update.
    Ended(Ending),
}

/// How a followed smelt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// Completed: its transcript is stored.
    Completed,
    /// Failed or cancelled, with its smelt error code and message.
    Failed { code: ErrorCode, message: String },
}

/// A follower of one smelt of its caller. Dropping it unsubscribes; the smelt goes on.
pub struct Follower {
    state: AppState,
    request: FeedRequest,
    feed: Option<Feed>,
    pending: VecDeque<Update>,
    /// The segments delivered so far, by file and index (a redelivered job may publish a
    /// segment again).
    seen: HashSet<(Uuid, u32)>,
    ended: bool,
    resumes: u32,
}

impl Follower {
    /// A follower of `smelt_id`, which `caller` owns; it subscribes on the first [`next`].
    ///
    /// [`next`]: Follower::next
    pub fn new(state: AppState, smelt_id: Uuid, caller: Caller) -> Self {
        Follower {
            state,
            request: FeedRequest {
                smelt_id,
                grant: Grant::User(caller.user_id),
                after_seq: None,
                key_id: caller.key.map(|k| k.key_id),
            },
            feed: None,
            pending: VecDeque::new(),
            seen: HashSet::new(),
            ended: false,
            resumes: 0,
        }
    }

    /// Whether the segment of `file_id` at `index` was delivered already.
    pub fn has_seen(&self, file_id: Uuid, index: u32) -> bool {
        self.seen.contains(&(file_id, index))
    }

    /// The next update, waiting for it; `None` after [`Update::Ended`]. Errors: 503
    /// `try_again` when the server is shutting down or the feed cannot be read, 401
    /// `unauthorized` when the key was revoked meanwhile, 404 `not_found` when the smelt was
    /// deleted.
    pub async fn next(&mut self) -> Result<Option<Update>, ApiError> {
        loop {
            if let Some(update) = self.pending.pop_front() {
                return Ok(Some(update));
            }
            if self.ended {
                return Ok(None);
            }
            let step = match self.feed.as_mut() {
                Some(feed) => feed.next().await,
                None => {
                    let started = Feed::start(
                        self.state.hub.clone(),
                        self.state.broker.clone(),
                        self.state.settings.realtime.socket_queue,
                        self.request,
                    )
                    .await;
                    match started {
                        Ok((feed, step)) => {
                            self.feed = Some(feed);
                            step
                        }
                        Err(closing) => {
                            self.end_early(closing).await?;
                            continue;
                        }
                    }
                }
            };
            let (batch, closing) = match step {
                Step::Send(batch) => (batch, None),
                Step::Finish(batch, closing) => (batch, Some(closing)),
            };
            for item in &batch {
                self.take(item)?;
            }
            if let Some(closing) = closing {
                if !self.ended {
                    self.end_early(closing).await?;
                }
            }
        }
    }

    /// Follows the smelt to its end, passing over its segments.
    pub async fn ending(&mut self) -> Result<Ending, ApiError> {
        while let Some(update) = self.next().await? {
            if let Update::Ended(ending) = update {
                return Ok(ending);
            }
        }
        Err(ApiError::Internal(anyhow::anyhow!(
            "the feed of a smelt ended without its end"
        )))
    }

    /// A feed that closed before the smelt's end: resumed after the last event it delivered
    /// when the close says to resume (from a new snapshot when it claimed the smelt finished),
    /// else the error for the client.
    async fn end_early(&mut self, closing: Closing) -> Result<(), ApiError> {
        if let Some(feed) = self.feed.take() {
            self.request.after_seq = Some(feed.last_seq());
        }
        let resumable = matches!(
            closing.code,
            close::SLOW_CONSUMER | close::SERVER_ERROR | close::FINISHED
        );
        if resumable && self.resumes < MAX_RESUMES {
            self.resumes += 1;
            match closing.code {
                close::FINISHED => self.request.after_seq = None,
                close::SERVER_ERROR => tokio::time::sleep(RESUME_PAUSE).await,
                _ => {}
            }
            return Ok(());
        }
        tracing::warn!(
            smelt_id = %self.request.smelt_id,
            code = closing.code.code(),
            reason = closing.reason,
            "stopped following a smelt before its end"
        );
        Err(match closing.code {
            close::UNAUTHORIZED => ApiError::invalid_token(),
            close::NOT_FOUND => ApiError::smelt_not_found(),
            _ => ApiError::client(
                StatusCode::SERVICE_UNAVAILABLE,
                "try_again",
                "LOST TRACK OF THE SMELT. IT GOES ON: FIND IT IN YOUR HISTORY",
            ),
        })
    }

    /// Turns one delivered event into updates.
    fn take(&mut self, item: &Outgoing) -> Result<(), ApiError> {
        // A queue place (no seq) says nothing this follower needs; nothing follows an end.
        if item.transient || self.ended {
            return Ok(());
        }
        match item.kind {
            EventKind::Snapshot => {
                let smelt: SmeltDto = payload(item)?;
                for segment in smelt.segments {
                    self.segment(segment);
                }
                match smelt.status {
                    SmeltStatus::Completed => self.end(Ending::Completed),
                    SmeltStatus::Failed | SmeltStatus::Cancelled => self.end(Ending::Failed {
                        code: smelt.error_code.unwrap_or(ErrorCode::InternalError),
                        message: smelt.error_message.unwrap_or_default(),
                    }),
                    _ => {}
                }
            }
            EventKind::Segment => {
                let segment: SegmentPayload = payload(item)?;
                self.segment(segment.segment);
            }
            EventKind::Completed => self.end(Ending::Completed),
            EventKind::Failed | EventKind::Cancelled => {
                let failed: FailedPayload = payload(item)?;
                self.end(Ending::Failed {
                    code: failed.error_code,
                    message: failed.error_message,
                });
            }
            EventKind::Progress => {}
        }
        Ok(())
    }

    fn segment(&mut self, segment: SegmentDto) {
        if self.seen.insert((segment.file_id, segment.index)) {
            self.pending.push_back(Update::Segment(segment));
        }
    }

    fn end(&mut self, ending: Ending) {
        self.ended = true;
        self.pending.push_back(Update::Ended(ending));
    }
}

/// The payload of a delivered event.
fn payload<T: DeserializeOwned>(item: &Outgoing) -> Result<T, ApiError> {
    let event: WireEvent = serde_json::from_str(item.text.as_str())?;
    Ok(serde_json::from_value(event.payload)?)
}
