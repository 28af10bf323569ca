//! A subscriber's queue of frames: bounded, single producer (the hub), single consumer (the
//! subscriber's transport).
//!
//! Most subscribers sit idle for minutes between events, so the queue holds no buffer while it
//! is empty: its frames live in a `VecDeque` that allocates when a frame arrives and is
//! released again once drained. (A tokio `mpsc` channel allocates a block of 32 slots, ~2 KiB for a
//! [`Frame`], when it is created, whether a frame ever comes or not.)

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::hub::Frame;

/// Creates a queue holding at most `capacity` frames (at least 1).
pub fn queue(capacity: usize) -> (FrameSender, FrameReceiver) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            frames: VecDeque::new(),
            capacity: capacity.max(1),
            sender_alive: true,
            receiver_alive: true,
        }),
        ready: Notify::new(),
    });
    (FrameSender(shared.clone()), FrameReceiver(shared))
}

struct Shared {
    state: Mutex<State>,
    /// Woken when a frame arrives or the sender goes away (a stored permit covers a wake-up
    /// that comes before the receiver waits).
    ready: Notify,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct State {
    frames: VecDeque<Frame>,
    capacity: usize,
    sender_alive: bool,
    receiver_alive: bool,
}

/// Why [`FrameSender::try_send`] refused a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrySendError {
    /// The queue holds `capacity` frames: the subscriber is not keeping up.
    Full,
    /// The receiver is gone.
    Closed,
}

/// Why [`FrameReceiver::try_recv`] returned no frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing queued now.
    Empty,
    /// Nothing queued, and the sender is gone: nothing will come.
    Closed,
}

/// The hub's end of a subscriber's queue. Dropping it ends the queue: the receiver gets what
/// is queued, then `None`.
pub struct FrameSender(Arc<Shared>);

impl FrameSender {
    /// Queues a frame without waiting.
    pub fn try_send(&self, frame: Frame) -> Result<(), TrySendError> {
        {
            let mut state = self.0.state();
            if !state.receiver_alive {
                return Err(TrySendError::Closed);
            }
            if state.frames.len() >= state.capacity {
                return Err(TrySendError::Full);
            }
            state.frames.push_back(frame);
        }
        self.0.ready.notify_one();
        Ok(())
    }
}

impl Drop for FrameSender {
    fn drop(&mut self) {
        self.0.state().sender_alive = false;
        self.0.ready.notify_one();
    }
}

/// The subscriber's end of its queue.
pub struct FrameReceiver(Arc<Shared>);

impl FrameReceiver {
    /// The next frame, waiting for one; `None` once the queue is empty and its sender gone.
    pub async fn recv(&mut self) -> Option<Frame> {
        loop {
            match self.try_recv() {
                Ok(frame) => return Some(frame),
                Err(TryRecvError::Closed) => return None,
                Err(TryRecvError::Empty) => self.0.ready.notified().await,
            }
        }
    }

    /// The next frame if one is queued.
    pub fn try_recv(&mut self) -> Result<Frame, TryRecvError> {
        let mut state = self.0.state();
        match state.frames.pop_front() {
            Some(frame) => {
                if state.frames.is_empty() {
                    state.frames = VecDeque::new();
                }
                Ok(frame)
            }
            None if state.sender_alive => Err(TryRecvError::Empty),
            None => Err(TryRecvError::Closed),
        }
    }
}

impl Drop for FrameReceiver {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.receiver_alive = false;
        state.frames = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::hub::tests::frame;

    #[tokio::test]
    async fn frames_arrive_in_order_then_the_end_when_the_sender_goes() {
        let (tx, mut rx) = queue(4);
        for seq in 1..=3 {
            tx.try_send(frame(seq)).unwrap();
        }
        drop(tx);
        for seq in 1..=3 {
            assert_eq!(rx.recv().await.unwrap().seq, seq);
        }
        assert!(rx.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_for_a_frame_sent_later() {
        let (tx, mut rx) = queue(4);
        let waiting = tokio::spawn(async move { rx.recv().await.map(|f| f.seq) });
        tokio::task::yield_now().await;
        tx.try_send(frame(7)).unwrap();
        assert_eq!(waiting.await.unwrap(), Some(7));
    }

    #[test]
    fn a_full_queue_refuses_and_a_dropped_receiver_closes_it() {
        let (tx, mut rx) = queue(2);
        tx.try_send(frame(1)).unwrap();
        tx.try_send(frame(2)).unwrap();
        assert_eq!(tx.try_send(frame(3)).unwrap_err(), TrySendError::Full);
        assert_eq!(rx.try_recv().unwrap().seq, 1);
        tx.try_send(frame(3)).unwrap();
        drop(rx);
        assert_eq!(tx.try_send(frame(4)).unwrap_err(), TrySendError::Closed);
    }

    #[test]
    fn a_drained_queue_holds_no_buffer() {
        let (tx, mut rx) = queue(64);
        assert_eq!(tx.0.state().frames.capacity(), 0, "nothing before a frame");
        for seq in 0..64 {
            tx.try_send(frame(seq)).unwrap();
        }
        while rx.try_recv().is_ok() {}
        assert_eq!(tx.0.state().frames.capacity(), 0, "released once drained");
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
    }
}
