//! A smelt's life: every change of its status, with the event that announces it.
//!
//! - [`progress`]: the [`ProgressSink`] through which a running smelt reports its stages,
//!   percentages and transcript segments, and ends `completed` or `failed`.

pub mod progress;

pub use progress::ProgressSink;
