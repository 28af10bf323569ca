//! Progress bars on standard error (hidden when it is not a terminal), one per phase of a run.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `len` steps of a phase named `phase`, with rate and ETA; the message slot
/// shows live figures set by the caller.
pub fn bar(phase: &'static str, len: u64) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{prefix:>12} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({per_sec}, eta {eta}) {msg}",
    )
    .expect("static template");
    let bar = ProgressBar::new(len).with_style(style).with_prefix(phase);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A spinner for a phase of unknown length.
pub fn spinner(phase: &'static str) -> ProgressBar {
    let style = ProgressStyle::with_template("{prefix:>12} [{elapsed_precise}] {spinner} {msg}")
        .expect("static template");
    let bar = ProgressBar::new_spinner()
        .with_style(style)
        .with_prefix(phase);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
