//! `action_items`: a Markdown checklist of sentences with action cues.

use std::collections::HashSet;

use super::Source;
use crate::engines::extractive::cues::{detect, Names};
use crate::engines::extractive::markdown::{escape, open};

/// Renders `# Action items` and one `- [ ]` line per task, with owner and due
/// date when the sentence names them, or "No action items found."
pub(crate) fn render(src: &Source) -> String {
    let mut out = open("Action items", src.title);
    let names = Names::from_doc(&src.doc);
    let mut seen = HashSet::new();
    let mut count = 0;
    for s in &src.doc.sentences {
        let Some(action) = detect(s, &names) else {
            continue;
        };
        // Repeated sentences ("Let's do that.") would only clutter the list.
        if !seen.insert(s.text.to_lowercase()) {
            continue;
        }
        count += 1;
        out.push_str(&format!("- [ ] {}", escape(&s.text)));
        let mut meta = Vec::new();
        if let Some(owner) = action.owner {
            meta.push(format!("**Owner:** {}", escape(&owner)));
        }
        if let Some(due) = action.due {
            meta.push(format!("**Due:** {}", escape(&due)));
        }
        if !meta.is_empty() {
            out.push_str(" — ");
            out.push_str(&meta.join(", "));
        }
        out.push('\n');
    }
    out.push_str(if count == 0 {
        "No action items found.\n\n"
    } else {
        "\n"
    });
    src.close(out)
}
