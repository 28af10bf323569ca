//! A subscriber's feed of one smelt, independent of the transport (WebSocket or SSE).
//!
//! Ordering and exactly-once come from the seq: the hub subscription is registered *before*
//! the catch-up read (snapshot, or replay after `after_seq`), so any event committed after
//! that read arrives live; live frames at or below the last seq delivered are duplicates of
//! the catch-up and are dropped; a frame beyond the next seq means announcements were missed,
//! and the gap is read from the broker's log before it goes out.

use std::sync::{Arc, LazyLock};

use axum::extract::ws::Utf8Bytes;
use smelt_core::events::{EventKind, WireEvent};
use smelt_core::metrics::{DELIVERY_LATENCY, EVENTS_DELIVERED};
use uuid::Uuid;

use super::broker::{frame_of, Broker};
use super::close::{self, Close};
use super::hub::{Frame, Hub, Removal, Subscription};

/// What the token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// A subscription token for this smelt.
    Subscription,
    /// A user's access token: allowed when the user owns the smelt.
    User(Uuid),
}

/// An authorized request to follow one smelt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedRequest {
    pub smelt_id: Uuid,
    pub grant: Grant,
    /// Resume after this seq instead of starting from a snapshot.
    pub after_seq: Option<i64>,
    /// The service key that authorised the request, if one did: revoking it ends the feed
    /// with 4501.
    pub key_id: Option<Uuid>,
}

/// Why a feed ended: a close code (see [`close`]) and a short reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closing {
    pub code: Close,
    pub reason: &'static str,
}

/// One encoded event to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub seq: i64,
    pub kind: EventKind,
    pub text: Utf8Bytes,
    /// When the writer appended the event (Unix µs), for events delivered live.
    pub appended_us: Option<i64>,
    /// A live-only frame (a queue place, `seq: null` on the wire): SSE sends it without an
    /// `id`, so that it never becomes a resume point.
    pub transient: bool,
}

/// Metric handles of the delivery path, looked up once rather than on every frame written.
struct DeliveryMetrics {
    ws: metrics::Counter,
    multiplex: metrics::Counter,
    sse: metrics::Counter,
    latency: metrics::Histogram,
}

static DELIVERY_METRICS: LazyLock<DeliveryMetrics> = LazyLock::new(|| {
    // The handles bind to the recorder installed at this moment: make sure it is ours.
    smelt_core::metrics::recorder();
    let delivered =
        |transport: &'static str| metrics::counter!(EVENTS_DELIVERED, "transport" => transport);
    DeliveryMetrics {
        ws: delivered("ws"),
        multiplex: delivered("multiplex"),
        sse: delivered("sse"),
        latency: metrics::histogram!(DELIVERY_LATENCY),
    }
});

impl Outgoing {
    /// Counts the frame as written to a client over `transport` (`ws`, `multiplex` or `sse`)
    /// and, for a live event, records its delivery latency.
    pub fn delivered(&self, transport: &'static str) {
        let handles = &*DELIVERY_METRICS;
        match transport {
            "ws" => handles.ws.increment(1),
            "multiplex" => handles.multiplex.increment(1),
            "sse" => handles.sse.increment(1),
            other => metrics::counter!(EVENTS_DELIVERED, "transport" => other).increment(1),
        }
        if let Some(appended_us) = self.appended_us {
            let micros = chrono::Utc::now().timestamp_micros() - appended_us;
            handles.latency.record(micros.max(0) as f64 / 1e6);
        }
    }
}

/// The next thing a transport must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Deliver these events, in order.
    Send(Vec<Outgoing>),
    /// Deliver these events, then end with this close.
    Finish(Vec<Outgoing>, Closing),
}

fn closing(code: Close, reason: &'static str) -> Closing {
    Closing { code, reason }
}

fn outgoing(event: &WireEvent) -> Outgoing {
    let frame = frame_of(event);
    Outgoing {
        seq: frame.seq,
        kind: event.event,
        text: frame.text,
        appended_us: None,
        transient: false,
    }
}

/// A live feed: its hub subscription and the last seq delivered. Unsubscribes when dropped.
pub struct Feed {
    hub: Arc<Hub>,
    broker: Arc<dyn Broker>,
    subscription: Subscription,
    smelt_id: Uuid,
    last_seq: i64,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.hub.unsubscribe(self.smelt_id, self.subscription.id);
    }
}

impl Feed {
    /// Subscribes, checks the grant against the smelt, and returns the feed with its catch-up
    /// step: a snapshot, or the stored events after `after_seq` (a snapshot when the log no
    /// longer holds them). `Err` is a terminal closing (not found, forbidden) or a retryable
    /// one (server error).
    pub async fn start(
        hub: Arc<Hub>,
        broker: Arc<dyn Broker>,
        queue_capacity: usize,
        request: FeedRequest,
    ) -> Result<(Feed, Step), Closing> {
        let smelt_id = request.smelt_id;
        let subscription = hub.subscribe_with_key(smelt_id, queue_capacity, request.key_id);
        let mut feed = Feed {
            hub,
            broker,
            subscription,
            smelt_id,
            last_seq: 0,
        };
        let server_error = |e: super::broker::BrokerError| {
            tracing::warn!(%smelt_id, error = %e, "catch-up read failed");
            closing(close::SERVER_ERROR, "try again")
        };
        // A resume needs one light read (owner, status, seqs); the snapshot (files, segments,
        // results) is read only for a new subscriber or one that can no longer resume.
        if let Some(after) = request.after_seq {
            let head = feed
                .broker
                .head(smelt_id)
                .await
                .map_err(server_error)?
                .ok_or(closing(close::NOT_FOUND, "not found"))?;
            if let Grant::User(user_id) = request.grant {
                if head.user_id != Some(user_id) {
                    return Err(closing(close::NOT_FOUND, "not found"));
                }
            }
            let stored = match head.first_stored_seq {
                Some(first) => first <= after + 1,
                None => after == head.last_seq,
            };
            if after <= head.last_seq && stored {
                feed.hub
                    .caught_up(smelt_id, feed.subscription.id, head.last_seq);
                feed.last_seq = after;
                let events = feed
                    .broker
                    .events_since(smelt_id, after, None)
                    .await
                    .map_err(server_error)?;
                let batch: Vec<Outgoing> = events.iter().map(outgoing).collect();
                let (feed, step) = feed.deliver(batch);
                // The client already holds the terminal event: nothing more will come.
                if let Step::Send(batch) = step {
                    if head.status.is_terminal() && feed.last_seq >= head.last_seq {
                        return Ok((
                            feed,
                            Step::Finish(batch, closing(close::FINISHED, "finished")),
                        ));
                    }
                    return Ok((feed, Step::Send(batch)));
                }
                return Ok((feed, step));
            }
        }
        let snapshot = feed
            .broker
            .snapshot(smelt_id)
            .await
            .map_err(server_error)?
            .ok_or(closing(close::NOT_FOUND, "not found"))?;
        if let Grant::User(user_id) = request.grant {
            if snapshot.user_id != Some(user_id) {
                return Err(closing(close::NOT_FOUND, "not found"));
            }
        }
        feed.hub
            .caught_up(smelt_id, feed.subscription.id, snapshot.last_seq);
        let status = snapshot.dto.status;
        let mut dto = snapshot.dto;
        // A pending smelt's place, when the hub computed it at the seq the snapshot reflects.
        if let (Some(progress), Some(place)) = (
            dto.progress.as_mut(),
            feed.hub.place(smelt_id, snapshot.last_seq),
        ) {
            if status == smelt_core::domain::SmeltStatus::Pending {
                progress.queue_position = Some(place.position);
                progress.estimated_wait_seconds = place.estimated_wait_seconds;
            }
        }
        let event = WireEvent {
            event: EventKind::Snapshot,
            seq: snapshot.last_seq,
            payload: serde_json::to_value(&dto).expect("DTOs serialise"),
        };
        feed.last_seq = snapshot.last_seq;
        let batch = vec![Outgoing {
            seq: event.seq,
            kind: EventKind::Snapshot,
            text: Utf8Bytes::from(event.encode()),
            appended_us: None,
            transient: false,
        }];
        if status.is_terminal() {
            return Ok((
                feed,
                Step::Finish(batch, closing(close::FINISHED, "finished")),
            ));
        }
        Ok((feed, Step::Send(batch)))
    }

    /// The seq of the last event delivered (or reflected by the snapshot).
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    /// The smelt this feed follows.
    pub fn smelt_id(&self) -> Uuid {
        self.smelt_id
    }

    /// Records a batch as delivered and ends the feed after a terminal event.
    fn deliver(self, batch: Vec<Outgoing>) -> (Feed, Step) {
        let mut feed = self;
        let step = feed.accept(batch);
        (feed, step)
    }

    fn accept(&mut self, batch: Vec<Outgoing>) -> Step {
        let mut out = Vec::with_capacity(batch.len());
        for item in batch {
            if item.seq <= self.last_seq && item.kind != EventKind::Snapshot {
                continue;
            }
            self.last_seq = item.seq;
            let terminal = item.kind.is_terminal();
            out.push(item);
            if terminal {
                return Step::Finish(out, closing(close::FINISHED, "finished"));
            }
        }
        Step::Send(out)
    }

    /// Waits for the next live frame and returns what to deliver: nothing for a duplicate,
    /// the missing events plus the frame after a gap. Ends with a slow-consumer closing when
    /// the hub dropped this subscriber, and a shutting-down closing when the hub closed.
    pub async fn next(&mut self) -> Step {
        let Some(frame) = self.subscription.rx.recv().await else {
            return Step::Finish(
                Vec::new(),
                if self.subscription.removal() == Removal::Revoked {
                    closing(close::UNAUTHORIZED, "the service key was revoked")
                } else if self.subscription.lagged() {
                    closing(
                        close::SLOW_CONSUMER,
                        "slow consumer: reconnect with after_seq",
                    )
                } else {
                    closing(
                        close::SHUTTING_DOWN,
                        "server shutting down: reconnect with after_seq",
                    )
                },
            );
        };
        self.after_live(frame).await
    }

    /// [`Feed::next`], then every frame already queued behind it (at most `max` in all), so
    /// that a transport writes them together and flushes once.
    pub async fn next_batch(&mut self, max: usize) -> Step {
        let mut out = match self.next().await {
            Step::Send(batch) => batch,
            finish => return finish,
        };
        for _ in 1..max {
            let Ok(frame) = self.subscription.rx.try_recv() else {
                break;
            };
            match self.after_live(frame).await {
                Step::Send(more) => out.extend(more),
                Step::Finish(more, closing) => {
                    out.extend(more);
                    return Step::Finish(out, closing);
                }
            }
        }
        Step::Send(out)
    }

    async fn after_live(&mut self, frame: Frame) -> Step {
        if frame.transient {
            // A place computed before the last event this feed delivered is stale.
            if frame.seq < self.last_seq {
                return Step::Send(Vec::new());
            }
            return Step::Send(vec![Outgoing {
                seq: frame.seq,
                kind: frame.kind,
                text: frame.text,
                appended_us: None,
                transient: true,
            }]);
        }
        if frame.seq <= self.last_seq {
            return Step::Send(Vec::new());
        }
        let mut batch = Vec::new();
        if frame.seq > self.last_seq + 1 {
            match self
                .broker
                .events_since(self.smelt_id, self.last_seq, Some(frame.seq - 1))
                .await
            {
                Ok(missing) => batch.extend(missing.iter().map(outgoing)),
                Err(e) => {
                    tracing::warn!(smelt_id = %self.smelt_id, error = %e, "gap read failed");
                    return Step::Finish(Vec::new(), closing(close::SERVER_ERROR, "try again"));
                }
            }
        }
        batch.push(Outgoing {
            seq: frame.seq,
            kind: frame.kind,
            text: frame.text,
            appended_us: frame.appended_us,
            transient: false,
        });
        self.accept(batch)
    }
}

#[cfg(test)]
mod tests {
    //! The hub and feeds against the in-memory broker: no database.
    use super::*;
    use crate::realtime::broker::memory::MemoryBroker;
    use crate::realtime::broker::repair;

    fn setup() -> (Arc<Hub>, Arc<MemoryBroker>, Uuid) {
        let broker = Arc::new(MemoryBroker::new());
        let id = Uuid::new_v4();
        broker.create(id);
        (Arc::new(Hub::new()), broker, id)
    }

    fn request(smelt_id: Uuid, after_seq: Option<i64>) -> FeedRequest {
        FeedRequest {
            smelt_id,
            grant: Grant::Subscription,
            after_seq,
            key_id: None,
        }
    }

    fn seqs(step: &Step) -> Vec<i64> {
        match step {
            Step::Send(b) | Step::Finish(b, _) => b.iter().map(|o| o.seq).collect(),
        }
    }

    #[tokio::test]
    async fn a_fresh_feed_starts_with_a_snapshot_then_live_events_in_order() {
        let (hub, broker, id) = setup();
        broker.append(id, EventKind::Progress);
        let (mut feed, first) = Feed::start(hub.clone(), broker.clone(), 8, request(id, None))
            .await
            .unwrap();
        match &first {
            Step::Send(b) => {
                assert_eq!((b.len(), b[0].kind, b[0].seq), (1, EventKind::Snapshot, 1))
            }
            other => panic!("{other:?}"),
        }
        hub.publish(id, &broker.append(id, EventKind::Progress));
        hub.publish(id, &broker.append(id, EventKind::Completed));
        assert_eq!(seqs(&feed.next().await), vec![2]);
        let last = feed.next().await;
        assert_eq!(seqs(&last), vec![3]);
        assert!(matches!(
            last,
            Step::Finish(
                _,
                Closing {
                    code: close::FINISHED,
                    ..
                }
            )
        ));
    }

    /// A live queue place computed when the smelt's log ended at `at_seq`.
    fn place(at_seq: i64) -> Frame {
        Frame {
            seq: at_seq,
            kind: EventKind::Progress,
            text: Utf8Bytes::from_static(r#"{"event":"progress","seq":null,"payload":{}}"#),
            appended_us: None,
            transient: true,
        }
    }

    #[tokio::test]
    async fn a_queue_place_passes_without_moving_the_seq_unless_a_later_event_was_delivered() {
        let (hub, broker, id) = setup();
        broker.append(id, EventKind::Progress);
        let (mut feed, _) = Feed::start(hub.clone(), broker.clone(), 8, request(id, None))
            .await
            .unwrap();
        hub.publish(id, &place(1));
        match feed.next().await {
            Step::Send(b) => assert!(b.len() == 1 && b[0].transient, "{b:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(feed.last_seq(), 1, "a place is not an event of the log");
        hub.publish(id, &broker.append(id, EventKind::Progress));
        assert_eq!(seqs(&feed.next().await), vec![2]);
        hub.publish(id, &place(1));
        assert_eq!(
            seqs(&feed.next().await),
            Vec::<i64>::new(),
            "a place read before event 2 is stale"
        );
    }

    #[tokio::test]
    async fn a_live_frame_racing_the_replay_is_delivered_once() {
        let (hub, broker, id) = setup();
        let frames: Vec<_> = (0..3)
            .map(|_| broker.append(id, EventKind::Progress))
            .collect();
        let (mut feed, first) = Feed::start(hub.clone(), broker.clone(), 8, request(id, Some(1)))
            .await
            .unwrap();
        assert_eq!(seqs(&first), vec![2, 3], "replay after seq 1, no snapshot");
        hub.publish(id, &frames[2]);
        hub.publish(id, &broker.append(id, EventKind::Progress));
        assert_eq!(
            seqs(&feed.next().await),
            Vec::<i64>::new(),
            "seq 3 was replayed already"
        );
        assert_eq!(seqs(&feed.next().await), vec![4]);
    }

    #[tokio::test]
    async fn a_gap_in_live_frames_is_filled_from_the_log() {
        let (hub, broker, id) = setup();
        let (mut feed, _) = Feed::start(hub.clone(), broker.clone(), 8, request(id, None))
            .await
            .unwrap();
        broker.append(id, EventKind::Progress);
        broker.append(id, EventKind::Progress);
        hub.publish(id, &broker.append(id, EventKind::Progress));
        assert_eq!(seqs(&feed.next().await), vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn resuming_from_pruned_events_falls_back_to_a_snapshot() {
        let (hub, broker, id) = setup();
        for _ in 0..4 {
            broker.append(id, EventKind::Progress);
        }
        broker.prune(id, 2);
        let (_, first) = Feed::start(hub.clone(), broker.clone(), 8, request(id, Some(1)))
            .await
            .unwrap();
        match first {
            Step::Send(b) => {
                assert_eq!((b.len(), b[0].kind, b[0].seq), (1, EventKind::Snapshot, 4))
            }
            other => panic!("{other:?}"),
        }
        let (_, resumed) = Feed::start(hub, broker, 8, request(id, Some(2)))
            .await
            .unwrap();
        assert_eq!(seqs(&resumed), vec![3, 4], "still stored after seq 2");
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_to_resume_while_others_keep_up() {
        let (hub, broker, id) = setup();
        let (mut slow, _) = Feed::start(hub.clone(), broker.clone(), 2, request(id, None))
            .await
            .unwrap();
        let (mut fast, _) = Feed::start(hub.clone(), broker.clone(), 64, request(id, None))
            .await
            .unwrap();
        for _ in 0..10 {
            hub.publish(id, &broker.append(id, EventKind::Progress));
        }
        let mut got = Vec::new();
        while got.len() < 10 {
            got.extend(seqs(&fast.next().await));
        }
        assert_eq!(got, (1..=10).collect::<Vec<_>>());
        // The slow one still has its two queued frames, then the slow-consumer closing.
        assert_eq!(seqs(&slow.next().await), vec![1]);
        assert_eq!(seqs(&slow.next().await), vec![2]);
        assert!(matches!(
            slow.next().await,
            Step::Finish(
                _,
                Closing {
                    code: close::SLOW_CONSUMER,
                    ..
                }
            )
        ));
    }

    #[tokio::test]
    async fn repair_delivers_what_the_hub_never_published() {
        let (hub, broker, id) = setup();
        let (mut feed, _) = Feed::start(hub.clone(), broker.clone(), 8, request(id, None))
            .await
            .unwrap();
        hub.publish(id, &broker.append(id, EventKind::Progress));
        assert_eq!(seqs(&feed.next().await), vec![1]);
        // The listener was down: these were announced to nobody.
        broker.append(id, EventKind::Progress);
        broker.append(id, EventKind::Completed);
        repair(&hub, broker.as_ref()).await;
        assert_eq!(seqs(&feed.next().await), vec![2]);
        assert!(matches!(feed.next().await, Step::Finish(b, _) if b[0].seq == 3));
    }

    #[tokio::test]
    async fn a_feed_unsubscribes_when_dropped() {
        let (hub, broker, id) = setup();
        let (feed, _) = Feed::start(hub.clone(), broker, 8, request(id, None))
            .await
            .unwrap();
        assert!(hub.has_subscribers(id));
        drop(feed);
        assert!(!hub.has_subscribers(id));
    }
}
