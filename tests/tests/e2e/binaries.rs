//! The binaries as an operator meets them: each `--help` lists exactly the settings the
//! README's configuration table says it reads, and a setting with a closed set of values
//! refuses anything else at start-up, naming the values it accepts.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::workspace_root;
use crate::processes::{
    admin_binary, all_in_one_binary, cleanup_binary, server_binary, worker_binary,
};

/// Every binary, with the README's name for the settings it reads.
fn binaries() -> [(&'static str, &'static Path); 5] {
    [
        ("smelt", all_in_one_binary()),
        ("smelt-server", server_binary()),
        ("smelt-worker", worker_binary()),
        ("smelt-admin", admin_binary()),
        ("smelt-cleanup", cleanup_binary()),
    ]
}

/// The variables the README's configuration table marks as read by `binary`.
fn documented_for(binary: &str) -> BTreeSet<String> {
    let readers: &[&str] = match binary {
        "smelt" => &["server", "worker", "smelt"],
        "smelt-server" => &["server"],
        "smelt-worker" => &["worker"],
        _ => &["admin"],
    };
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let table = readme
        .split("| variable | read by | default | meaning |")
        .nth(1)
        .expect("the README has the configuration table");
    let mut variables = BTreeSet::new();
    for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let read_by: Vec<&str> = cells[1].split(", ").map(str::trim).collect();
        if readers.iter().any(|r| read_by.contains(r)) {
            variables.extend(cells[0].split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    variables
}

/// The environment variables a `--help` text names (`[env: NAME=…]`, or `[env: NAME]` for
/// the secrets, whose values are hidden).
fn listed_in(help: &str) -> BTreeSet<String> {
    help.split("[env: ")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect()
        })
        .collect()
}

fn run(binary: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(binary)
        .args(args)
        .envs(env.iter().copied())
        // Nothing may reach a database: these runs must stop before it.
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .expect("the binary runs")
}

#[test]
fn every_binarys_help_lists_exactly_the_settings_it_reads() {
    for (name, binary) in binaries() {
        let output = run(binary, &["--help"], &[]);
        assert!(output.status.success(), "{name} --help");
        let help = String::from_utf8(output.stdout).unwrap();
        let listed = listed_in(&help);
        assert_eq!(
            listed,
            documented_for(name),
            "{name} --help lists the settings the README says it reads"
        );
        let has = |prefix: &str| listed.iter().any(|v| v.starts_with(prefix));
        match name {
            "smelt-server" => {
                assert!(!has("SMELT_WHISPER_"), "the server has no Whisper settings");
                assert!(!has("SMELT_WORKER_"), "nor worker settings");
                assert!(!has("SMELT_HOSTED_"), "nor the hosted engines'");
            }
            "smelt-worker" => {
                assert!(!listed.contains("SMELT_BIND"), "the worker serves no HTTP");
                assert!(!listed.contains("SMELT_JWT_SECRET"), "nor signs tokens");
            }
            "smelt-admin" | "smelt-cleanup" => {
                assert!(!has("SMELT_WHISPER_"), "{name} has no Whisper settings");
                assert!(!listed.contains("SMELT_BIND"), "nor HTTP settings");
                assert!(!listed.contains("SMELT_CORS_ORIGINS"));
            }
            _ => assert!(listed.contains("SMELT_EMBEDDED_WORKERS")),
        }
    }
}

#[test]
fn an_unknown_smelt_env_stops_every_binary_naming_the_accepted_values() {
    for (name, binary) in binaries() {
        let args: &[&str] = match name {
            "smelt-admin" => &["secrets"],
            _ => &[],
        };
        let output = run(binary, args, &[("SMELT_ENV", "prod")]);
        assert!(!output.status.success(), "{name} refuses SMELT_ENV=prod");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("prod")
                && stderr.contains("development")
                && stderr.contains("production"),
            "{name} names the accepted values: {stderr}"
        );
    }
}

#[test]
fn unknown_store_and_log_format_values_stop_start_up_naming_the_accepted_ones() {
    let server = server_binary();
    let output = run(server, &[], &[("SMELT_BLOB_STORE", "gcs")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fs") && stderr.contains("s3"), "{stderr}");

    let output = run(server, &[], &[("SMELT_LOG_FORMAT", "xml")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("text") && stderr.contains("json"),
        "{stderr}"
    );
}

#[test]
fn the_production_environment_is_accepted_in_any_case() {
    // `SMELT_ENV=Production` passes parsing and reaches the secrets check, which refuses
    // the generated ones: the message names the missing secrets, not the value.
    let output = run(server_binary(), &[], &[("SMELT_ENV", "Production")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SMELT_JWT_SECRET"), "{stderr}");
}

#[test]
fn a_jwt_secret_shorter_than_32_bytes_stops_the_server() {
    for binary in [server_binary(), all_in_one_binary()] {
        let output = run(binary, &[], &[("SMELT_JWT_SECRET", "too-short-secret")]);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("SMELT_JWT_SECRET") && stderr.contains("32"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("too-short-secret"),
            "the secret is not shown"
        );
    }
}
