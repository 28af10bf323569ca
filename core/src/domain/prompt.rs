use serde::{Deserialize, Serialize};

use super::status::{wire_enum, UnknownValue};

wire_enum! {
    /// The five built-in prompts (`default_prompt_names[]` of
    /// `docs/api.md#post-apismelts--create`).
    PromptName, "prompt name" {
        /// A summary paragraph plus key points.
        Summarize = "summarize",
        /// A checklist of action items with owners and dates.
        ActionItems = "action_items",
        /// Notes organised by topic.
        DetailedNotes = "detailed_notes",
        /// Question and answer pairs.
        QaFormat = "qa_format",
        /// Topics in order, with timestamps for audio.
        TableOfContents = "table_of_contents",
    }
}

/// Alias kept for readability at call sites that parse untrusted input.
pub type UnknownPromptName = UnknownValue;
