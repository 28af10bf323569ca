//! Structure of each format on a realistic meeting transcript.

mod common;

use common::{all, lines_with, plain, segments, MEETING, PROSE};
use smelt_worker::engines::extractive::{
    render, transcript_markdown, PromptFormat, SynthesisInput,
};

const NOTE: &str = "_Extractive notes: sentences selected from the source, not rewritten._";

/// The text between `start` (a heading line) and the next heading.
fn section<'a>(md: &'a str, start: &str) -> &'a str {
    let from = md
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in\n{md}"))
        + start.len();
    let rest = &md[from..];
    let end = rest.find("\n#").unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn summarize_has_paragraph_then_distinct_key_points() {
    let md = render(PromptFormat::Summarize, &plain(MEETING));
    assert!(
        md.starts_with("# Summary\n\n_Source: Atlas weekly sync_\n\n"),
        "{md}"
    );
    let summary = section(&md, "_Source: Atlas weekly sync_");
    let paragraph = summary.trim();
    assert!(!paragraph.is_empty() && !paragraph.starts_with('-'), "{md}");
    let points = lines_with(section(&md, "## Key points"), "- ");
    assert!(points.len() >= 3, "{md}");
    for p in &points {
        let body = p.trim_start_matches("- ");
        let body = body.split(":** ").last().unwrap();
        assert!(MEETING.contains(body), "key point not verbatim: {body}");
        assert!(
            !paragraph.contains(body),
            "key point repeats the paragraph: {body}"
        );
    }
    // Paragraph sentences appear in source order.
    let mut last = 0;
    for sentence in paragraph.split_inclusive(['.', '?', '!']).map(str::trim) {
        let at = MEETING
            .find(sentence)
            .unwrap_or_else(|| panic!("not verbatim: {sentence}"));
        assert!(at >= last, "out of order: {sentence}");
        last = at;
    }
    assert!(md.trim_end().ends_with(NOTE));
}

#[test]
fn action_items_have_owners_and_due_dates() {
    let md = render(PromptFormat::ActionItems, &plain(MEETING));
    assert!(md.starts_with("# Action items\n"));
    let items = lines_with(&md, "- [ ] ");
    let find = |needle: &str| {
        *items
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no item with {needle:?} in\n{md}"))
    };
    let forecast = find("revised budget forecast");
    assert!(
        forecast.ends_with("**Owner:** Bob, **Due:** Friday"),
        "{forecast}"
    );
    let export = find("fix the export bug");
    assert!(
        export.ends_with("**Owner:** Dave, **Due:** next Wednesday"),
        "{export}"
    );
    assert!(find("press release on March 3").ends_with("**Owner:** Erin, **Due:** March 3"));
    assert!(find("agreed to join").contains("**Owner:** Priya and Tom"));
    assert!(find("send offers").contains("**Due:** end of March"));
    assert!(find("vendor contract before").contains("**Owner:** Carol"));
    // Reports and meeting procedure are not tasks.
    assert!(!md.contains("We spent 68 percent"), "{md}");
    assert!(!md.contains("Let's start"), "{md}");
    assert!(!md.contains("No action items found."));
    assert!(md.trim_end().ends_with(NOTE));
}

#[test]
fn action_items_say_when_there_are_none() {
    let md = render(PromptFormat::ActionItems, &plain(PROSE));
    assert!(lines_with(&md, "- [ ]").is_empty(), "{md}");
    assert!(md.contains("\nNo action items found.\n"), "{md}");
}

#[test]
fn detailed_notes_have_titled_topic_sections() {
    let md = render(PromptFormat::DetailedNotes, &plain(MEETING));
    assert!(md.starts_with("# Detailed notes\n"));
    let titles = lines_with(&md, "## ");
    assert!((3..=6).contains(&titles.len()), "{md}");
    let lower = titles.join("|").to_lowercase();
    for topic in ["budget", "interview", "landing page", "export"] {
        assert!(lower.contains(topic), "no {topic} section in {titles:?}");
    }
    let bullets = lines_with(&md, "- ");
    let sentences = MEETING.matches(['.', '?']).count();
    assert!(
        bullets.len() >= titles.len() && bullets.len() < sentences,
        "not condensed"
    );
    for t in &titles {
        assert!(
            !lines_with(section(&md, t), "- ").is_empty(),
            "empty section {t}"
        );
    }
    assert!(
        md.contains("- **Dave:** Dave to fix the export bug"),
        "{md}"
    );
}

#[test]
fn qa_pairs_asked_questions_with_following_answers() {
    let md = render(PromptFormat::QaFormat, &plain(MEETING));
    assert!(md.starts_with("# Questions and answers\n"));
    assert!(md.contains(
        "**Q:** How much can we save if we move the analytics cluster to reserved instances? — _Alice_\n\n\
         **A:** Reserved instances would cut the hosting costs by about thirty percent. — _Bob_"
    ), "{md}");
    assert!(md.contains("**Q:** Who owns the landing page copy?"));
    assert_eq!(
        lines_with(&md, "**Q:**").len(),
        lines_with(&md, "**A:**").len()
    );
    assert!(!md.contains("(generated)"), "enough real questions: {md}");
}

#[test]
fn qa_generates_marked_questions_when_text_has_few() {
    let md = render(PromptFormat::QaFormat, &plain(PROSE));
    let qs = lines_with(&md, "**Q:** What was said about ");
    assert!(qs.len() >= 3, "{md}");
    assert!(qs.iter().all(|q| q.ends_with("? _(generated)_")));
    assert_eq!(
        lines_with(&md, "**Q:**").len(),
        lines_with(&md, "**A:**").len()
    );
    for a in lines_with(&md, "**A:** ") {
        assert!(
            PROSE.contains(a.trim_start_matches("**A:** ")),
            "answer not verbatim: {a}"
        );
    }
}

#[test]
fn table_of_contents_numbers_topics_with_optional_timestamps() {
    let md = render(PromptFormat::TableOfContents, &plain(MEETING));
    assert!(md.starts_with("# Table of contents\n"));
    let entries = lines_with(&md, "");
    let entries: Vec<&str> = entries
        .into_iter()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(entries.len() >= 3, "{md}");
    for (k, e) in entries.iter().enumerate() {
        assert!(e.starts_with(&format!("{}. ", k + 1)), "{e}");
        assert!(!e.contains('['), "plain text has no timestamps: {e}");
    }

    let segs = segments(MEETING, 40.0);
    let timed = SynthesisInput {
        segments: Some(&segs),
        language: None,
        ..plain(MEETING)
    };
    let md = render(PromptFormat::TableOfContents, &timed);
    assert!(md.contains("\n1. [00:00] Budget"), "{md}");
    let stamps: Vec<&str> = md.lines().filter(|l| l.contains(". [")).collect();
    assert_eq!(stamps.len(), entries.len(), "{md}");
    assert!(
        stamps
            .iter()
            .all(|l| l.as_bytes()[6] == b':' && l.as_bytes()[9] == b']'),
        "{md}"
    );

    // Past an hour, stamps switch to h:mm:ss.
    let segs = segments(MEETING, 400.0);
    let long = SynthesisInput {
        segments: Some(&segs),
        language: None,
        ..plain(MEETING)
    };
    let md = render(PromptFormat::TableOfContents, &long);
    assert!(
        md.lines()
            .any(|l| l.contains(". [1:") || l.contains(". [2:")),
        "{md}"
    );
}

#[test]
fn the_five_formats_differ_and_all_say_they_are_extractive() {
    let out = all(&plain(MEETING));
    for (i, (fa, a)) in out.iter().enumerate() {
        assert!(a.trim_end().ends_with(NOTE), "{fa:?} lacks the note");
        for (fb, b) in &out[i + 1..] {
            assert_ne!(a, b, "{fa:?} and {fb:?} are identical");
        }
    }
    let headings: Vec<&str> = out
        .iter()
        .map(|(_, md)| md.lines().next().unwrap())
        .collect();
    assert_eq!(
        headings,
        [
            "# Summary",
            "# Action items",
            "# Detailed notes",
            "# Questions and answers",
            "# Table of contents"
        ]
    );
}

#[test]
fn transcript_document_plain_and_timed() {
    let md = transcript_markdown(&plain(MEETING));
    assert!(md.starts_with("# Transcript\n"));
    assert!(
        md.contains("\n\n**Alice:** Good morning, everyone."),
        "{md}"
    );
    assert!(!md.contains(NOTE), "a transcript is not a synthesis");

    let segs = segments(MEETING, 40.0);
    let timed = SynthesisInput {
        segments: Some(&segs),
        language: None,
        ..plain(MEETING)
    };
    let md = transcript_markdown(&timed);
    let paragraphs = lines_with(&md, "**[");
    assert!(paragraphs.len() >= 3, "{md}");
    assert!(
        paragraphs[0].starts_with("**[00:00]** Alice: Good morning"),
        "{md}"
    );
    assert!(md.contains("Please follow up on your action items"));
}

#[test]
fn api_names_round_trip() {
    let names: Vec<&str> = PromptFormat::ALL.iter().map(|f| f.api_name()).collect();
    assert_eq!(
        names,
        [
            "summarize",
            "action_items",
            "detailed_notes",
            "qa_format",
            "table_of_contents"
        ]
    );
    for f in PromptFormat::ALL {
        assert_eq!(PromptFormat::from_api_name(f.api_name()), Some(f));
    }
    assert_eq!(PromptFormat::from_api_name("Summarize"), None);
}

#[test]
fn unpunctuated_speech_to_text_splits_at_segment_starts() {
    use smelt_worker::engines::extractive::TimedSegment;
    let parts = [
        (0.0, " okay so um let's get going"),
        (3.2, " the main thing today is the migration plan"),
        (
            7.9,
            " we moved the first two services last week and the error rate stayed flat",
        ),
        (14.0, " sarah will move the billing service on thursday"),
        (19.5, " what about the search cluster?"),
        (
            22.0,
            " the search cluster needs a bigger disk first so that waits until next month",
        ),
        (3700.0, " okay that's it thanks everyone"),
    ];
    let segs: Vec<TimedSegment> = parts
        .iter()
        .map(|&(s, t)| TimedSegment {
            start_secs: s,
            text: t.into(),
        })
        .collect();
    let text: String = parts.iter().map(|p| p.1).collect();
    let input = SynthesisInput {
        title: "call.m4a",
        text: &text,
        segments: Some(&segs),
        language: None,
    };

    let actions = render(PromptFormat::ActionItems, &input);
    assert!(
        actions.contains(
            "- [ ] sarah will move the billing service on thursday — **Due:** Thursday\n"
        ),
        "{actions}"
    );
    let qa = render(PromptFormat::QaFormat, &input);
    assert!(
        qa.contains(
            "**Q:** what about the search cluster?\n\n\
         **A:** the search cluster needs a bigger disk first so that waits until next month\n"
        ),
        "{qa}"
    );
    let notes = render(PromptFormat::DetailedNotes, &input);
    assert!(
        notes.contains("\n- the main thing today is the migration plan\n"),
        "{notes}"
    );
    let toc = render(PromptFormat::TableOfContents, &input);
    assert!(toc.contains("\n1. [00:00] "), "{toc}");
    let transcript = transcript_markdown(&input);
    assert!(
        transcript.contains("**[1:01:40]** okay that's it thanks everyone"),
        "{transcript}"
    );
}

/// A German meeting: content sentences, and filler made only of German function words.
const GERMAN_MEETING: &str = "Wir haben heute das Budget für das neue Projekt besprochen. \
Das ist es, was wir auch so haben, und das ist auch so. \
Das Budget für das Projekt ist im Sommer zu hoch gewesen. \
Die Termine für das Projekt stehen jetzt fest. \
Anna schreibt den Bericht über das Budget bis Freitag. \
Und dann war da noch etwas, aber das ist nicht so wichtig. \
Die Kosten für die Server sind im Frühling gestiegen. \
Der Bericht über die Kosten geht an die Leitung.";

#[test]
fn german_text_is_weighed_with_german_stop_words() {
    let input = SynthesisInput {
        title: "Sitzung",
        text: GERMAN_MEETING,
        segments: None,
        language: Some("de"),
    };
    let md = render(PromptFormat::Summarize, &input);
    assert!(md.starts_with("# Summary\n\n"), "labels stay English: {md}");
    assert!(
        md.contains("Das Budget für das Projekt ist im Sommer zu hoch gewesen."),
        "{md}"
    );
    for filler in [
        "Das ist es, was wir auch so haben",
        "Und dann war da noch etwas",
    ] {
        assert!(
            !md.contains(filler),
            "function words alone carry nothing: {filler:?} in\n{md}"
        );
    }
    assert!(!md.contains("chosen by their position"), "{md}");
    assert!(md.trim_end().ends_with(NOTE), "{md}");
}

#[test]
fn a_language_without_stop_words_is_summarised_by_position_and_says_so() {
    let text = "Ẹ kú àárọ̀. A ó sọ̀rọ̀ nípa ìnáwó iṣẹ́ náà lónìí. Àwọn ọjọ́ iṣẹ́ ti dé. \
        Anna yóò kọ ìròyìn náà ní ọjọ́ Ẹtì. Ìnáwó náà ti pọ̀ jù.";
    let input = SynthesisInput {
        title: "Ìpàdé",
        text,
        segments: None,
        language: Some("yo"),
    };
    for (format, md) in all(&input) {
        assert!(
            md.contains(
                "_Sentences chosen by their position: this engine cannot weigh words in the \
                 language `yo`._"
            ),
            "{format:?}: {md}"
        );
        assert!(md.trim_end().ends_with(NOTE), "{format:?}: {md}");
    }
    let summary = render(PromptFormat::Summarize, &input);
    assert!(
        summary.contains("A ó sọ̀rọ̀ nípa ìnáwó iṣẹ́ náà lónìí."),
        "the lead comes first: {summary}"
    );
}
