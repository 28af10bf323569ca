//! The pace of the realtime's background looks (the backstop, the queue places): a tick every
//! interval until the server stops. A look that overruns delays the next tick rather than
//! firing a burst of late ones.

use std::time::Duration;

use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Ticks every interval until `stop` is cancelled.
pub struct Every {
    tick: Interval,
    stop: CancellationToken,
}

impl Every {
    /// The first tick comes at once, then one per `interval`.
    pub fn new(interval: Duration, stop: CancellationToken) -> Self {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Every { tick, stop }
    }

    /// Waits for the next tick: `true`, or `false` once the server is stopping.
    pub async fn tick(&mut self) -> bool {
        tokio::select! {
            _ = self.stop.cancelled() => false,
            _ = self.tick.tick() => true,
        }
    }
}
