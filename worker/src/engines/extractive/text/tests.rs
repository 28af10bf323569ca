use super::*;
use crate::engines::extractive::split::CHUNK_WORDS;

#[test]
fn splits_sentences_and_keeps_abbreviations() {
    let d = Doc::parse("Dr. Smith joined late. We reviewed the budget! Done?");
    let texts: Vec<&str> = d.sentences.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        ["Dr. Smith joined late.", "We reviewed the budget!", "Done?"]
    );
    assert!(d.sentences[2].is_question());
}

#[test]
fn joins_wrapped_lines_and_reads_speakers() {
    let d = Doc::parse("Alice: we looked at the\nbudget today. It is fine.\nBob: Agreed.");
    assert_eq!(d.sentences[0].text, "we looked at the budget today.");
    assert_eq!(d.sentences[1].speaker.as_deref(), Some("Alice"));
    assert_eq!(d.sentences[2].speaker.as_deref(), Some("Bob"));
    assert_eq!(d.sentences[2].text, "Agreed.");
}

#[test]
fn chunks_unpunctuated_text() {
    let text = "word ".repeat(100) + "and more words here";
    let d = Doc::parse(&text);
    assert!(d.sentences.len() >= 3);
    assert!(d.sentences.iter().all(|s| s.word_count <= CHUNK_WORDS + 1));
}

#[test]
fn positions_count_non_whitespace() {
    let d = Doc::parse("Ab cd.   Ef gh.\n\n- Ij kl.");
    let pos: Vec<usize> = d.sentences.iter().map(|s| s.pos).collect();
    assert_eq!(pos, [0, 5, 11]);
    assert_eq!(d.sentences[2].paragraph, 1);
}

#[test]
fn stems_and_displays_surface_forms() {
    let d = Doc::parse("Budgets matter. The budget's size. Our budget grows.");
    let id = d.sentences[1].tokens[0];
    assert_eq!(d.vocab.display(id), "budget");
    assert_eq!(d.vocab.freq[id as usize], 3);
}

#[test]
fn cuts_unpunctuated_speech_at_segment_breaks() {
    let a = "okay so we talked about the migration plan for the billing service ";
    let b = "and sarah will move it on thursday after the freeze ends ";
    let text = format!("{a}{b}{a}{b}");
    let breaks: Vec<usize> = [a, b, a]
        .iter()
        .scan(0, |acc, s| {
            *acc += nonws(s);
            Some(*acc)
        })
        .collect();
    let d = Doc::parse_with_breaks(&text, &breaks, Lexicon::english());
    let texts: Vec<&str> = d.sentences.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts, [a.trim(), b.trim(), a.trim(), b.trim()]);
    assert_eq!(d.sentences[1].pos, breaks[0]);
}

#[test]
fn strips_bracketed_timestamps_before_speakers() {
    let d = Doc::parse("[00:01] Alice: We ship Monday.\n(1:02:03) Bob: Fine.\n[Note] kept.");
    assert_eq!(d.sentences[0].speaker.as_deref(), Some("Alice"));
    assert_eq!(d.sentences[0].text, "We ship Monday.");
    assert_eq!(d.sentences[1].speaker.as_deref(), Some("Bob"));
    assert_eq!(d.sentences[2].text, "[Note] kept.");
}
