//! Shared fixtures: a realistic weekly meeting transcript and helpers.

#![allow(dead_code)] // each test crate uses a different subset

use smelt_worker::engines::extractive::{PromptFormat, SynthesisInput, TimedSegment};

/// A weekly product meeting with speaker labels, names, dates and questions.
pub const MEETING: &str = include_str!("../fixtures/meeting.txt");

/// The same meeting as plain prose notes: no speaker labels, no questions.
pub const PROSE: &str = "The Atlas team met to review the quarterly budget. Cloud hosting costs \
doubled after the data migration, and the analytics cluster contract renews in April at a higher \
rate. Moving the cluster to reserved instances would cut hosting costs by about thirty percent.\n\n\
Hiring is behind plan. Two backend engineer positions are open and twelve candidates are in the \
pipeline, but the interview panel is slow because the interviewers are also on call.\n\n\
The public beta is planned for April 15. Marketing needs the landing page and the press release \
two weeks before the beta launch, and the pricing page waits for the budget forecast.";

/// One segment per non-blank line of `text`, `step` seconds apart.
pub fn segments(text: &str, step: f64) -> Vec<TimedSegment> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(k, l)| TimedSegment {
            start_secs: k as f64 * step,
            text: l.to_string(),
        })
        .collect()
}

/// Input with a title and no timings.
pub fn plain(text: &str) -> SynthesisInput<'_> {
    SynthesisInput {
        title: "Atlas weekly sync",
        text,
        segments: None,
        language: None,
    }
}

/// Every format rendered for `input`.
pub fn all(input: &SynthesisInput) -> Vec<(PromptFormat, String)> {
    PromptFormat::ALL
        .into_iter()
        .map(|f| (f, smelt_worker::engines::extractive::render(f, input)))
        .collect()
}

/// The lines of `md` that start with `prefix`.
pub fn lines_with<'a>(md: &'a str, prefix: &str) -> Vec<&'a str> {
    md.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// A deterministic ~`len`-character meeting transcript made by varying the
/// fixture (names, numbers and topics rotate so sentences are not identical).
pub fn long_meeting(len: usize) -> String {
    let names = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace"];
    let topics = [
        "budget", "hiring", "launch", "security", "pricing", "support", "roadmap",
    ];
    let mut out = String::new();
    let mut k = 0usize;
    while out.len() < len {
        let (a, b) = (names[k % 7], names[(k * 3 + 1) % 7]);
        let t = topics[(k / 3) % 7];
        out.push_str(&format!(
            "{a}: The {t} review for week {k} found {n} open issues in the {t} tracker. \
             {b} will update the {t} plan by Friday and share it with the team.\n\
             {b}: What is the main risk for {t} this week? The main {t} risk is item {k}, \
             which blocks {m} customers until the {t} fix ships.\n\n",
            n = k % 13 + 2,
            m = k % 5 + 1,
        ));
        k += 1;
    }
    out
}
