//! Pasted text: no decoding or transcribing, and each prompt's own Markdown structure.

use smelt_core::events::EventKind;

use crate::helpers::{assert_progress_is_monotonic, follow_from_start, spawn_app, spawn_idle_app};

const MEETING: &str = "Alice: Good morning everyone, let's review the launch plan. \
    Bob: The landing page is ready and the press release is drafted. \
    Carol: What is the deadline for the press release? \
    Bob: The deadline is next Friday. \
    Alice: Dave will fix the export bug by Wednesday. \
    Carol: I need to send the budget forecast to finance tomorrow. \
    Bob: Moving on to hiring, we interviewed five candidates this week. \
    Alice: The two strongest candidates get onsite interviews next week. \
    Carol: Should we open a second role for support? \
    Alice: Yes, we should open it after the launch.";

#[tokio::test]
async fn text_goes_from_validating_to_synthesizing_to_completed() {
    let app = spawn_idle_app().await;
    let created = app.create_text(MEETING, &[], None).await;
    let got = follow_from_start(&app, &created).await;

    let stages: Vec<&str> = got
        .of(EventKind::Progress)
        .iter()
        .map(|e| e.payload["progress"]["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages.first(), Some(&"validating"));
    assert_eq!(stages.last(), Some(&"synthesizing"));
    assert!(
        !stages.contains(&"decoding") && !stages.contains(&"transcribing"),
        "text skips audio stages: {stages:?}"
    );
    assert_progress_is_monotonic(&got.events[1..]);
    let done = got.last();
    assert_eq!(done.event, EventKind::Completed);
    let content = done.payload["results"][0]["content"].as_str().unwrap();
    assert!(
        content.starts_with("# Summary"),
        "text without prompts gives a summary: {content}"
    );
}

#[tokio::test]
async fn each_default_prompt_yields_its_own_markdown_structure() {
    let app = spawn_app().await;
    let expectations = [
        ("summarize", &["# Summary", "## Key points"][..]),
        (
            "action_items",
            &["# Action items", "- [ ] ", "**Owner:** Dave"][..],
        ),
        ("detailed_notes", &["# Detailed notes", "\n## "][..]),
        (
            "qa_format",
            &["# Questions and answers", "**Q:**", "**A:**"][..],
        ),
        ("table_of_contents", &["# Table of contents", "\n1. "][..]),
    ];
    for (prompt, markers) in expectations {
        // A fresh user each time: one anonymous address gets one smelt a day.
        let token = app.token_for(uuid::Uuid::new_v4());
        let created = app.create_text(MEETING, &[prompt], Some(&token)).await;
        let got = app.follow(&created).await;
        let done = got.last();
        assert_eq!(done.event, EventKind::Completed, "{prompt} completes");
        let content = done.payload["results"][0]["content"].as_str().unwrap();
        for marker in markers {
            assert!(
                content.contains(marker),
                "{prompt} output lacks {marker:?}:\n{content}"
            );
        }
        for (other, other_markers) in expectations.iter().filter(|(p, _)| *p != prompt) {
            assert!(
                !content.contains(other_markers[0]),
                "{prompt} output also has {other}'s heading"
            );
        }
    }
}
