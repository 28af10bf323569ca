//! English word lists used by the rules: stop words beyond NLTK's, cue
//! phrases for actions and topic shifts, calendar words. Kept in one place so
//! they can be reviewed and extended without touching the logic. Lists are
//! lowercase with ASCII apostrophes; phrases are sequences of UAX #29 words.
//! (Skipped by rustfmt via the `mod` declaration, which would otherwise put
//! every word on its own line.)

// Tokenising and sentence splitting (text.rs).

/// Words that NLTK's list misses but that carry no topic in spoken meetings.
pub(crate) const EXTRA_STOP_WORDS: &[&str] = &[
    "um", "uh", "erm", "hmm", "mm", "yeah", "yep", "yes", "okay", "ok", "alright", "right", "like",
    "just", "really", "actually", "basically", "also", "well", "gonna", "wanna", "gotta", "think",
    "know", "mean", "going", "go", "get", "got", "thing", "things", "stuff", "lot", "kind", "sort",
    "maybe", "would", "could", "might", "must", "shall", "us", "let", "say", "said", "one", "sure",
    "thanks", "thank", "guys", "everyone", "someone", "anyone", "everybody", "somebody", "anybody",
    "nobody", "something", "anything", "everything", "nothing", "want", "see", "bit", "much",
    "many", "still", "even", "way", "good", "great", "cool", "oh", "ah", "hi", "hello", "today",
    "need", "needs", "make", "please", "let's", "i'm", "i'll", "we'll", "we're", "you'll",
    "they're", "i've", "we've", "i'd", "we'd", "morning", "afternoon", "evening", "welcome",
    "start", "started", "moving", "move", "next",
    // Adverbs, prepositions and light verbs that NLTK's list lacks.
    "behind", "across", "along", "among", "around", "away", "back", "beside", "besides", "beyond",
    "despite", "either", "else", "enough", "ever", "every", "however", "instead", "later", "less",
    "least", "rather", "since", "soon", "though", "together", "toward", "towards", "upon", "via",
    "whether", "within", "without", "yet", "already", "always", "often", "never", "sometimes",
    "usually", "almost", "quite", "perhaps", "another", "use", "used", "take", "come", "put",
    "give", "keep", "try", "look", "seem", "seems", "per", "main", "first", "second", "third",
    "last", "different", "same", "able",
];

/// Labels that look like `Name:` but introduce a section, not a speaker.
pub(crate) const NOT_SPEAKERS: &[&str] = &[
    "note", "notes", "agenda", "action", "actions", "todo", "summary", "update", "decision",
    "decisions", "q", "a", "question", "answer", "re", "subject", "date", "time", "attendees",
    "deadline", "owner", "due", "next steps", "status", "topic", "fyi", "ps",
];

/// Abbreviations after which UAX #29 wrongly ends a sentence ("Dr. Smith").
pub(crate) const ABBREVIATIONS: &[&str] = &[
    "mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "e.g.", "i.e.", "approx.", "no.", "jr.",
    "sr.", "inc.", "ltd.", "co.", "fig.", "cf.",
];

/// Words that often open a new clause in speech; preferred cut points.
pub(crate) const DISCOURSE_MARKERS: &[&str] = &[
    "so", "and", "but", "then", "okay", "ok", "now", "because", "also", "anyway", "alright",
];

// Action items (cues.rs).

/// Phrases that make a sentence an action item on their own.
pub(crate) const STRONG: &[&[&str]] = &[
    &["let's"], &["let", "us"], &["please"], &["todo"], &["todos"], &["action", "item"],
    &["action", "items"], &["follow", "up"], &["followup"], &["deadline"], &["assign"],
    &["assigned"], &["assigning"], &["make", "sure"], &["remember", "to"], &["don't", "forget"],
    &["take", "care", "of"], &["responsible", "for"], &["in", "charge", "of"], &["next", "steps"],
];

/// Obligations: tasks whatever the subject ("the server needs to be patched").
pub(crate) const OBLIGATIONS: &[&[&str]] = &[
    &["need", "to"], &["needs", "to"], &["have", "to"], &["has", "to"], &["must"],
];

/// Commitments that need a person as subject (or a date) to count.
pub(crate) const MODALS: &[&[&str]] = &[
    &["will"], &["should"], &["shall"], &["going", "to"], &["gonna"], &["plan", "to"],
    &["plans", "to"], &["is", "to"], &["are", "to"], &["agreed", "to"], &["promised", "to"],
    &["offered", "to"], &["volunteered", "to"],
];

/// Meeting procedure, not tasks: "Let's start", "let's move on".
pub(crate) const PROCEDURE: &[&str] = &[
    "start", "begin", "get", "move", "wrap", "go", "talk", "discuss", "recap", "continue", "kick",
    "turn", "switch", "see",
];

/// Common irregular past forms, for telling reports from plans.
pub(crate) const PAST: &[&str] = &[
    "spent", "went", "did", "had", "was", "were", "made", "sent", "got", "said", "took", "came",
    "saw", "found", "gave", "told", "knew", "thought", "paid", "built", "bought", "ran", "wrote",
    "met", "left", "shipped", "finished", "released",
];

/// Adverbs allowed between subject and modal ("Alice will also send…").
pub(crate) const ADVERBS: &[&str] = &[
    "also", "then", "just", "definitely", "really", "still", "both", "all", "probably", "actually",
    "certainly", "now", "quickly", "first", "am", "is", "are",
];

pub(crate) const DEADLINE_WORDS: &[&str] = &[
    "by", "before", "until", "till", "due", "deadline",
];

pub(crate) const WEEKDAYS: &[&str] = &[
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
];

pub(crate) const MONTHS: &[&str] = &[
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec",
];

pub(crate) const RELATIVE_DAYS: &[&str] = &[
    "tomorrow", "tonight", "today", "eod", "eow", "asap",
];

pub(crate) const PERIODS: &[&str] = &[
    "day", "week", "month", "quarter", "year", "sprint",
];

pub(crate) const COUNTS: &[&str] = &[
    "a", "one", "two", "three", "four", "five", "six", "ten",
];

pub(crate) const UNITS: &[&str] = &[
    "day", "days", "week", "weeks", "month", "months", "hours",
];

/// Capitalised words that are never owners.
pub(crate) const NOT_NAMES: &[&str] = &[
    "everyone", "everybody", "someone", "somebody", "team", "tomorrow",
];

// Topic segmentation (topics.rs).

/// Openers that announce a new agenda item in meetings (cue phrases, as used
/// for meeting segmentation by Galley et al., ACL 2003).
pub(crate) const TOPIC_CUES: &[&[&str]] = &[
    &["moving", "on"], &["move", "on"], &["let's", "move"], &["let's", "talk", "about"],
    &["let's", "turn"], &["turning", "to"], &["switching", "to"], &["one", "more", "thing"],
    &["another", "thing"], &["next", "topic"], &["next", "item"], &["next", "up"], &["on", "to"],
    &["finally"], &["lastly"], &["last", "item"], &["regarding"], &["as", "for"],
];

/// Fillers skipped before a cue ("Okay, so, moving on…").
pub(crate) const LEAD_FILLERS: &[&str] = &[
    "so", "ok", "okay", "alright", "right", "well", "and", "now", "good",
];
