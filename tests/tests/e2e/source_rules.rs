//! Rules of the source tree that the compiler cannot check:
//!
//! - every SQL statement runs in `core/src/db`: no `sqlx::query` (nor `query_as`,
//!   `query_scalar` or their macros) anywhere else;
//! - no SQL outside `core/src/db` and `migrations/` names a smelt status as a literal:
//!   statuses change only through the lifecycle, whose statements live in `core/src/db`.
//!
//! The end-to-end tests themselves (this crate) are exempt from the first rule: they read and
//! arrange database state directly, to check outcomes independently of the code under test.

use std::path::{Path, PathBuf};

use crate::helpers::workspace_root;

const STATUSES: [&str; 8] = [
    "pending",
    "validating",
    "decoding",
    "transcribing",
    "synthesizing",
    "completed",
    "failed",
    "cancelled",
];

/// Every Rust and SQL source file of the workspace, relative to its root.
fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(
                    name.as_str(),
                    "target" | "node_modules" | ".git" | "dist" | "data"
                ) {
                    walk(&path, root, out);
                }
            } else if name.ends_with(".rs") || name.ends_with(".sql") {
                out.push(path.strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    let root = workspace_root();
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(workspace_root().join(path)).unwrap()
}

#[test]
fn queries_run_only_in_the_database_layer() {
    let files = sources();
    assert!(
        files.iter().any(|f| f.starts_with("core/src/db")),
        "the walk finds the database layer"
    );
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
        .filter(|f| !f.starts_with("core/src/db") && !f.starts_with("tests"))
        .filter(|f| {
            let text = read(f);
            text.contains("sqlx::query")
                || text.contains("query_as(")
                || text.contains("query_scalar(")
                || text.contains("query_as!(")
                || text.contains("query_scalar!(")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "queries outside core/src/db: {offenders:?}"
    );
}

#[test]
fn no_sql_outside_the_database_layer_names_a_smelt_status() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|f| !f.starts_with("core/src/db") && !f.starts_with("migrations"))
        .flat_map(|f| {
            let text = read(f);
            STATUSES
                .iter()
                .filter(|s| text.contains(&format!("'{s}'")))
                .map(|s| format!("{} names '{s}'", f.display()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(offenders.is_empty(), "{offenders:?}");
}
