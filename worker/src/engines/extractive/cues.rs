//! Rule-based detection of action items, their owners and due dates.
//!
//! Hand-written cue rules (lists in `lexicon.rs`). Like Purver et al.,
//! "Detecting and Summarizing Action Items in Multi-Party Dialogue" (SIGdial
//! 2007), an item is a task description plus, when stated, an owner and a
//! timeframe. Commitment modals such as "will" only count with a person as
//! subject or a date, so "the vendor will raise prices" is not a task.

use std::collections::HashSet;

use unicode_segmentation::UnicodeSegmentation;

use crate::engines::extractive::lexicon::{
    ADVERBS, COUNTS, DEADLINE_WORDS, MODALS, MONTHS, NOT_NAMES, OBLIGATIONS, PAST, PERIODS,
    PROCEDURE, RELATIVE_DAYS, STRONG, UNITS, WEEKDAYS,
};
use crate::engines::extractive::text::{stop_words, Doc, Sentence};

/// An action item found in a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Action {
    /// Who is to do it ("John", "Alice and Bob"), when the sentence says.
    pub owner: Option<String>,
    /// When it is due, as written ("Friday", "March 3", "next week").
    pub due: Option<String>,
}

struct Word<'a> {
    text: &'a str,
    lower: String,
    start: usize,
    end: usize,
}

fn words(text: &str) -> Vec<Word<'_>> {
    text.unicode_word_indices()
        .map(|(start, w)| Word {
            text: w,
            lower: w.to_lowercase().replace('’', "'"),
            start,
            end: start + w.len(),
        })
        .collect()
}

fn matches(ws: &[Word], i: usize, phrase: &[&str]) -> bool {
    ws.len() >= i + phrase.len() && phrase.iter().zip(&ws[i..]).all(|(p, w)| w.lower == *p)
}

fn find(ws: &[Word], phrases: &[&[&str]]) -> Option<usize> {
    (0..ws.len()).find(|&i| phrases.iter().any(|p| matches(ws, i, p)))
}

/// Which capitalised words are names: seen capitalised mid-sentence (or as a
/// speaker), or never written in lowercase anywhere in the text.
pub(crate) struct Names {
    proper: HashSet<String>,
    lower_seen: HashSet<String>,
}

impl Names {
    /// Collects capitalisation evidence from the whole document.
    pub fn from_doc(doc: &Doc) -> Names {
        let (mut proper, mut lower_seen) = (HashSet::new(), HashSet::new());
        for s in &doc.sentences {
            proper.extend(
                s.speaker
                    .iter()
                    .flat_map(|sp| sp.split_whitespace())
                    .map(String::from),
            );
            for (k, w) in s.text.unicode_words().enumerate() {
                if w.chars().next().is_some_and(char::is_lowercase) {
                    lower_seen.insert(w.to_lowercase());
                } else if k > 0 {
                    proper.insert(w.to_string());
                }
            }
        }
        Names { proper, lower_seen }
    }

    fn is_name(&self, w: &Word, sentence_initial: bool) -> bool {
        let shaped = w.text.chars().next().is_some_and(char::is_uppercase)
            && w.text.chars().count() >= 2
            && w.text.chars().all(|c| c.is_alphabetic() || c == '-')
            && !w.text.chars().all(char::is_uppercase); // acronyms are systems, not people
        let word_class_ok = !stop_words().contains(w.lower.as_str())
            && !NOT_NAMES.contains(&w.lower.as_str())
            && !WEEKDAYS.contains(&w.lower.as_str())
            && !MONTHS.contains(&w.lower.as_str())
            && !RELATIVE_DAYS.contains(&w.lower.as_str());
        shaped
            && word_class_ok
            && (!sentence_initial
                || self.proper.contains(w.text)
                || !self.lower_seen.contains(&w.lower))
    }
}

/// Text between two words, for checking commas and hyphens.
fn gap<'a>(text: &'a str, ws: &[Word], i: usize) -> &'a str {
    if i == 0 || i >= ws.len() {
        return "";
    }
    text.get(ws[i - 1].end..ws[i].start).unwrap_or("")
}

/// The names ending at word `end` (inclusive): "Alice", "Mary Jane", "Alice and Bob".
fn names_ending_at(text: &str, ws: &[Word], end: usize, names: &Names) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut last = end;
    while names.is_name(&ws[last], last == 0) {
        let mut first = last;
        if first > 0
            && names.is_name(&ws[first - 1], first == 1)
            && gap(text, ws, first).trim().is_empty()
        {
            first -= 1;
        }
        parts.push(text[ws[first].start..ws[last].end].to_string());
        // Keep collecting leftwards through "and" or a comma.
        if first >= 2 && ws[first - 1].lower == "and" {
            last = first - 2;
        } else if first >= 1 && gap(text, ws, first).contains(',') {
            last = first - 1;
        } else {
            break;
        }
    }
    parts.reverse();
    (!parts.is_empty()).then(|| parts.join(" and "))
}

/// The names starting at word `start`.
fn names_starting_at(text: &str, ws: &[Word], start: usize, names: &Names) -> Option<String> {
    let mut end = start;
    while end < ws.len()
        && names.is_name(&ws[end], end == 0)
        && (end == start || gap(text, ws, end).trim().is_empty())
        && end - start < 2
    {
        end += 1;
    }
    (end > start).then(|| text[ws[start].start..ws[end - 1].end].to_string())
}

/// Looks for an action item in `s`. Returns `None` for ordinary sentences.
pub(crate) fn detect(s: &Sentence, names: &Names) -> Option<Action> {
    let text = s.text.as_str();
    let ws = words(text);
    let request = find(
        ws.as_slice(),
        &[&["can", "you"], &["could", "you"], &["please"]],
    )
    .filter(|&i| {
        !ws.get(i + 2)
            .is_some_and(|w| w.lower == "hear" || w.lower == "see")
    });
    if s.is_question() && request.is_none() {
        return None;
    }
    let due = find_due(text, &ws);
    let strong = request.is_some()
        || (0..ws.len()).any(|i| STRONG.iter().any(|p| matches(&ws, i, p)) && !procedural(&ws, i));
    let obligation = find(&ws, OBLIGATIONS).is_some();
    let modal = (0..ws.len())
        .find(|&i| ws[i].lower.ends_with("'ll") || MODALS.iter().any(|p| matches(&ws, i, p)));
    let subject = modal.and_then(|m| subject_of(text, &ws, m, names));
    let minutes = minutes_owner(text, &ws, names);
    // "We spent it by February" reports; "Budget to finance by Friday" plans.
    let deadline = due.as_ref().is_some_and(|d| d.1) && !looks_past(&ws);
    let is_action = strong
        || obligation
        || minutes.is_some()
        || deadline
        || (modal.is_some() && (subject.is_some() || due.is_some()));
    if !is_action {
        return None;
    }
    let owner = assigned_owner(text, &ws, names)
        .or(minutes)
        .or(subject.flatten())
        .or_else(|| vocative(text, &ws, names))
        .or_else(|| {
            first_person(&ws, modal)
                .then(|| s.speaker.clone())
                .flatten()
        });
    Some(Action {
        owner,
        due: due.map(|d| d.0),
    })
}

/// "Let's start" / "let us move on" at word `i`: running the meeting, not a task.
fn procedural(ws: &[Word], i: usize) -> bool {
    let verb = match ws[i].lower.as_str() {
        "let's" => i + 1,
        "let" if matches(ws, i + 1, &["us"]) => i + 2,
        _ => return false,
    };
    ws.get(verb)
        .is_some_and(|w| PROCEDURE.contains(&w.lower.as_str()))
}

/// A past-tense report: an irregular past form, or "we/they …ed".
fn looks_past(ws: &[Word]) -> bool {
    ws.iter().enumerate().any(|(i, w)| {
        PAST.contains(&w.lower.as_str())
            || (i > 0
                && w.lower.len() > 4
                && w.lower.ends_with("ed")
                && ["i", "we", "they", "he", "she", "you"].contains(&ws[i - 1].lower.as_str()))
    })
}

/// Subject of the modal at `m`: `Some(Some(name))` for a named person,
/// `Some(None)` for I/we/you, `None` when not a person.
fn subject_of(text: &str, ws: &[Word], m: usize, names: &Names) -> Option<Option<String>> {
    if let Some(head) = ws[m].lower.strip_suffix("'ll") {
        return ["i", "we", "you"].contains(&head).then_some(None);
    }
    let mut j = m;
    while j > 0 && ADVERBS.contains(&ws[j - 1].lower.as_str()) {
        j -= 1;
    }
    let w = ws.get(j.checked_sub(1)?)?;
    let head = w.lower.split('\'').next().unwrap_or("");
    if ["i", "we", "you"].contains(&head) {
        return Some(None);
    }
    names_ending_at(text, ws, j - 1, names).map(Some)
}

fn first_person(ws: &[Word], modal: Option<usize>) -> bool {
    let Some(m) = modal else { return false };
    ws[m].lower == "i'll"
        || ws[..m]
            .iter()
            .rev()
            .take(3)
            .any(|w| w.lower == "i" || w.lower == "i'm")
}

/// "assigned to Bob", "owner is Bob", "assign Bob", "Bob is responsible for".
fn assigned_owner(text: &str, ws: &[Word], names: &Names) -> Option<String> {
    for i in 0..ws.len() {
        let after = match ws[i].lower.as_str() {
            "assigned" | "assign" | "assigning" | "owned"
                if matches(ws, i + 1, &["to"]) || matches(ws, i + 1, &["by"]) =>
            {
                i + 2
            }
            "assign" | "assigning" => i + 1,
            "owner" if matches(ws, i + 1, &["is"]) => i + 2,
            "owner" if gap(text, ws, i + 1).contains(':') => i + 1,
            _ => continue,
        };
        if let Some(n) = names_starting_at(text, ws, after, names) {
            return Some(n);
        }
    }
    let i = find(
        ws,
        &[
            &["is", "responsible"],
            &["is", "in", "charge"],
            &["owns"],
            &["takes"],
        ],
    )?;
    names_ending_at(text, ws, i.checked_sub(1)?, names)
}

/// Minutes style "Alice to send the deck": a name, "to", then a verb-like word.
fn minutes_owner(text: &str, ws: &[Word], names: &Names) -> Option<String> {
    (0..ws.len()).find_map(|i| {
        let at_clause_start = i == 0 || gap(text, ws, i).contains(',') || ws[i - 1].lower == "and";
        if !at_clause_start {
            return None;
        }
        let name = names_starting_at(text, ws, i, names)?;
        let k = i + name.split_whitespace().count();
        let verb = ws.get(k + 1)?;
        let ok = ws[k].lower == "to"
            && verb.text.chars().next().is_some_and(char::is_lowercase)
            && !stop_words().contains(verb.lower.as_str());
        ok.then_some(name)
    })
}

/// "Alice, can you…": a name addressed at the start of the sentence.
fn vocative(text: &str, ws: &[Word], names: &Names) -> Option<String> {
    let n = names_starting_at(text, ws, 0, names)?;
    let next = n.split_whitespace().count();
    gap(text, ws, next).contains(',').then_some(n)
}

/// The first date-like phrase, preferring one after by/before/until; the flag
/// says whether it was such a deadline.
fn find_due(text: &str, ws: &[Word]) -> Option<(String, bool)> {
    let mut found: Vec<(String, bool)> = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        if let Some((from, to)) = date_at(text, ws, i) {
            let before = |k: usize| from.checked_sub(k).map(|p| ws[p].lower.as_str());
            let deadline = before(1).is_some_and(|w| DEADLINE_WORDS.contains(&w))
                || (before(1) == Some("the")
                    && before(2).is_some_and(|w| DEADLINE_WORDS.contains(&w)));
            found.push((calendar_case(&text[ws[from].start..ws[to].end]), deadline));
            i = to + 1;
        } else {
            i += 1;
        }
    }
    let pick = found.iter().position(|f| f.1).unwrap_or(0);
    found.into_iter().nth(pick)
}

/// Capitalises day and month names (speech-to-text often lowercases them).
fn calendar_case(phrase: &str) -> String {
    phrase
        .split(' ')
        .map(|w| {
            let lower = w.to_lowercase();
            if WEEKDAYS.contains(&lower.as_str()) || MONTHS.contains(&lower.as_str()) {
                crate::engines::extractive::topics::capitalise(w)
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_day_number(w: &str) -> bool {
    let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &w[digits.len()..];
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
        && ["", "st", "nd", "rd", "th"].contains(&suffix.to_lowercase().as_str())
}

fn all_digits(w: &Word, lens: std::ops::RangeInclusive<usize>) -> bool {
    lens.contains(&w.text.len()) && w.text.bytes().all(|b| b.is_ascii_digit())
}

/// A date phrase beginning at word `i`, as an inclusive word range.
fn date_at(text: &str, ws: &[Word], i: usize) -> Option<(usize, usize)> {
    let w = &ws[i];
    let next = |k: usize| ws.get(i + k).map(|w| w.lower.as_str());
    // 2026-01-31, 31/01/2026, 1/31
    if all_digits(w, 1..=4) && i + 2 < ws.len() {
        for sep in ["-", "/"] {
            let seq = (1..=2).all(|k| gap(text, ws, i + k) == sep && all_digits(&ws[i + k], 1..=4));
            if seq {
                return Some((i, i + 2));
            }
        }
    }
    if all_digits(w, 1..=2)
        && ws.get(i + 1).is_some_and(|n| all_digits(n, 1..=2))
        && gap(text, ws, i + 1) == "/"
    {
        return Some((i, i + 1));
    }
    let month =
        MONTHS.contains(&w.lower.as_str()) && w.text.chars().next().is_some_and(char::is_uppercase);
    if month {
        if next(1).is_some_and(is_day_number) {
            let year = ws.get(i + 2).is_some_and(|y| all_digits(y, 4..=4))
                && matches!(gap(text, ws, i + 2).trim(), "" | ",");
            return Some((i, if year { i + 2 } else { i + 1 }));
        }
        let prep = i > 0
            && ["by", "before", "until", "in", "early", "mid", "late"]
                .contains(&ws[i - 1].lower.as_str());
        return (prep && w.lower != "may" && w.text.len() > 3).then_some((i, i));
    }
    if is_day_number(&w.lower) {
        let of = usize::from(next(1) == Some("of"));
        let m = ws.get(i + 1 + of)?;
        let is_month = MONTHS.contains(&m.lower.as_str())
            && m.text.chars().next().is_some_and(char::is_uppercase);
        return is_month.then_some((i, i + 1 + of));
    }
    if WEEKDAYS.contains(&w.lower.as_str()) {
        let part =
            next(1).is_some_and(|n| ["morning", "afternoon", "evening", "night"].contains(&n));
        return Some((i, i + usize::from(part)));
    }
    if RELATIVE_DAYS.contains(&w.lower.as_str()) {
        return Some((i, i));
    }
    match w.lower.as_str() {
        "end" if next(1) == Some("of") => {
            let the = usize::from(next(2) == Some("the"));
            let what = next(2 + the)?;
            let ok = PERIODS.contains(&what) || MONTHS.contains(&what) || WEEKDAYS.contains(&what);
            ok.then_some((i, i + 2 + the))
        }
        "next" | "this" | "coming" => {
            let what = next(1)?;
            let ok = PERIODS.contains(&what)
                || WEEKDAYS.contains(&what)
                || (w.lower == "next" && what == "meeting");
            ok.then_some((i, i + 1))
        }
        "in" | "within" => {
            let ok = next(1)
                .is_some_and(|n| COUNTS.contains(&n) || n.bytes().all(|b| b.is_ascii_digit()))
                && next(2).is_some_and(|u| UNITS.contains(&u));
            ok.then_some((i, i + 2))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
