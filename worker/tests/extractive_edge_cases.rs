//! Inputs that must never panic, and the 50,000-character timing.

mod common;

use std::time::Instant;

use common::{all, lines_with, long_meeting, plain, segments};
use smelt_worker::engines::extractive::{
    render, transcript_markdown, PromptFormat, SynthesisInput, TimedSegment,
};

fn render_everything(input: &SynthesisInput) -> Vec<String> {
    let mut out: Vec<String> = all(input).into_iter().map(|(_, md)| md).collect();
    out.push(transcript_markdown(input));
    out
}

#[test]
fn empty_and_blank_text_render_placeholders() {
    for text in ["", "   \n\n\t  ", "...?!", "— — —"] {
        let input = SynthesisInput {
            title: "",
            text,
            segments: None,
            language: None,
        };
        for (format, md) in all(&input) {
            assert!(md.starts_with("# "), "{format:?}: {md}");
            assert!(md.contains("_Extractive notes"), "{format:?}: {md}");
        }
        assert!(render(PromptFormat::ActionItems, &input).contains("No action items found."));
        assert!(render(PromptFormat::Summarize, &input).contains("_No text to summarise._"));
        assert!(transcript_markdown(&input).contains("_No transcript text._"));
        assert!(
            !transcript_markdown(&input).contains("_Source:"),
            "blank title is not shown"
        );
    }
}

#[test]
fn one_word() {
    let input = plain("Hello");
    let summary = render(PromptFormat::Summarize, &input);
    assert!(
        summary.contains("\n\nHello\n\n## Key points\n\n- Hello\n"),
        "{summary}"
    );
    let toc = render(PromptFormat::TableOfContents, &input);
    assert!(toc.contains("\n1. "), "{toc}");
    let notes = render(PromptFormat::DetailedNotes, &input);
    assert!(
        notes.contains("## ") && notes.contains("- Hello"),
        "{notes}"
    );
    assert!(render(PromptFormat::ActionItems, &input).contains("No action items found."));
    let outputs = render_everything(&plain("budget"));
    for (k, md) in outputs.iter().enumerate() {
        // Action items (index 1) rightly finds none in a single noun.
        assert!(k == 1 || md.to_lowercase().contains("budget"), "{md}");
    }
}

#[test]
fn unpunctuated_speech_is_chunked() {
    let text =
        "so um we looked at the budget and the hosting costs went up a lot after the migration \
        and then bob said he will send the revised forecast to finance by friday and alice asked \
        whether we can move the analytics cluster to reserved instances and carol thinks we need \
        to hire two more backend engineers before the launch in april and dave will fix the export \
        bug next week because two enterprise customers are blocked by it";
    let input = plain(text);
    let notes = render(PromptFormat::DetailedNotes, &input);
    assert!(lines_with(&notes, "- ").len() >= 2, "{notes}");
    let actions = render(PromptFormat::ActionItems, &input);
    assert!(actions.contains("**Due:** Friday"), "{actions}");
    assert!(lines_with(&render(PromptFormat::QaFormat, &input), "**Q:**").len() >= 2);
    assert!(render_everything(&input)
        .iter()
        .all(|md| md.starts_with("# ")));
}

#[test]
fn markdown_in_the_source_is_escaped() {
    let text = "# Not a heading. Use *stars* and [links](http://x) and <b>tags</b> please. \
                Alice will fix `code` by Friday.";
    for md in render_everything(&plain(text)) {
        assert!(!md.contains("\n# Not"), "{md}");
        assert!(!md.contains("[links](") && !md.contains("<b>"), "{md}");
    }
}

#[test]
fn odd_segments_are_tolerated() {
    let text = "First part here. Second part there. Third part now.";
    let segs = vec![
        TimedSegment {
            start_secs: f64::NAN,
            text: "First part here.".into(),
        },
        TimedSegment {
            start_secs: -3.0,
            text: String::new(),
        },
        TimedSegment {
            start_secs: f64::INFINITY,
            text: "Second part there.".into(),
        },
        TimedSegment {
            start_secs: 1e300,
            text: "Third part now.".into(),
        },
    ];
    let input = SynthesisInput {
        title: "t",
        text,
        segments: Some(&segs),
        language: None,
    };
    let md = transcript_markdown(&input);
    assert!(md.contains("**[00:00]** First part here."), "{md}");
    render_everything(&input);

    // Segments that do not match the text, or no text at all.
    let other = segments("Completely different words.\nMore of them.", 5.0);
    render_everything(&SynthesisInput {
        title: "",
        text,
        segments: Some(&other),
        language: None,
    });
    let from_segments = SynthesisInput {
        title: "",
        text: "",
        segments: Some(&other),
        language: None,
    };
    assert!(render(PromptFormat::Summarize, &from_segments).contains("Completely different words."));
    assert!(render(PromptFormat::TableOfContents, &from_segments).contains("1. [00:00] "));
    render_everything(&SynthesisInput {
        title: "",
        text,
        segments: Some(&[]),
        language: None,
    });

    // Blank segments fall back to the text.
    let blank = vec![TimedSegment {
        start_secs: 0.0,
        text: " ".into(),
    }];
    let input = SynthesisInput {
        title: "",
        text,
        segments: Some(&blank),
        language: None,
    };
    assert!(transcript_markdown(&input).contains("First part here."));
}

/// Deterministic pseudo-random text over a nasty alphabet (Knuth's MMIX LCG).
fn noise(seed: u64, len: usize) -> String {
    const ALPHABET: &[&str] = &[
        "a",
        "Z",
        " ",
        " ",
        "\n",
        "\n\n",
        ".",
        "?",
        "!",
        ":",
        "'",
        "’",
        "-",
        "*",
        "#",
        "[",
        "]",
        "é",
        "ß",
        "日本",
        "😀",
        "\u{200B}",
        "\t",
        "1",
        "2026-01-31",
        "Bob:",
        "will",
        "by Friday",
        "Dr.",
        "let's",
        "e.g.",
        "\r\n",
        "…",
        "\"",
        "https://x.y/z?q=1",
        "ﬁ",
        "İ",
        "- ",
        "3.",
    ];
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ALPHABET[(state >> 33) as usize % ALPHABET.len()]
        })
        .collect()
}

#[test]
fn arbitrary_text_never_panics() {
    for seed in 0..100 {
        let text = noise(seed, (seed as usize * 7) % 400);
        let segs = segments(&text, 7.5);
        for input in [
            plain(&text),
            SynthesisInput {
                title: &text,
                text: &text,
                segments: Some(&segs),
                language: None,
            },
        ] {
            for md in render_everything(&input) {
                assert!(md.starts_with("# "));
            }
        }
    }
}

#[test]
fn fifty_thousand_characters_render_quickly() {
    let text = long_meeting(50_000);
    assert!(text.len() >= 50_000);
    let segs = segments(&text, 12.0);
    let input = SynthesisInput {
        title: "Long meeting",
        text: &text,
        segments: Some(&segs),
        language: None,
    };
    let mut total = 0.0;
    for format in PromptFormat::ALL {
        let start = Instant::now();
        let md = render(format, &input);
        let secs = start.elapsed().as_secs_f64();
        total += secs;
        println!(
            "{:>18}: {:7.1} ms, {} bytes of Markdown",
            format.api_name(),
            secs * 1e3,
            md.len()
        );
        assert!(md.contains("_Extractive notes"));
    }
    let start = Instant::now();
    let md = transcript_markdown(&input);
    println!(
        "{:>18}: {:7.1} ms",
        "transcript",
        start.elapsed().as_secs_f64() * 1e3
    );
    assert!(
        md.contains("**[1:"),
        "50k characters of talk pass the hour mark"
    );
    println!(
        "{:>18}: {:7.1} ms for {} characters",
        "five formats",
        total * 1e3,
        text.len()
    );

    // The same length with no punctuation at all (raw speech-to-text).
    let flat: String = text
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ')
        .collect();
    let start = Instant::now();
    for format in PromptFormat::ALL {
        render(format, &plain(&flat));
    }
    println!(
        "{:>18}: {:7.1} ms, unpunctuated",
        "five formats",
        start.elapsed().as_secs_f64() * 1e3
    );
}
