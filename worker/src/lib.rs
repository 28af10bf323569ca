//! Smelt's worker: reads jobs from pgmq and runs each smelt through the pipeline
//! (validating → decoding → transcribing → synthesizing → completed, or failed), publishing
//! progress through core's one [`smelt_core::lifecycle::ProgressSink`].
//!
//! - [`consumer`]: the queue loop, [`Worker::try_process_one`] and its [`Outcome`].
//! - [`pipeline`]: the stages and their errors.
//! - [`audio`]: decoding uploads to 16 kHz mono.
//! - [`engines`]: transcription and synthesis engines.
//! - [`settings`]: what the worker reads.

pub mod audio;
pub mod consumer;
pub mod engines;
pub mod lanes;
pub mod pipeline;
pub mod settings;

pub use consumer::{Outcome, Worker};
pub use settings::Settings;
