//! The OpenAI-compatible transcription API (`docs/api.md#openai-compatible-transcription`),
//! driven by OpenAI's own Python client against a real server and worker: real speech in,
//! every answer shape the client parses out — `json`, `verbose_json`, `srt`, the streamed
//! events — and its error shape, each call an ordinary smelt of the key's owner.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{run, spawn_app_with, speak, word_recall, AppOptions};

/// The release of OpenAI's Python client the script runs on.
const OPENAI_VERSION: &str = "3.63.0";

/// Longest the script may run: four transcriptions of 20 s of speech, one after the other, on
/// two cores.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(600);

/// About 20 s of speech at espeak-ng's 150 words per minute, in several sentences (so several
/// segments).
const SPEECH: &str = "Good morning and welcome to the weekly planning call. \
    The budget review moves to Thursday afternoon. \
    Alice will send the updated numbers before noon. \
    The new office opens in the spring. \
    Please bring your questions about the hiring plan. \
    The release notes go out on Friday. \
    Thank you all for joining today.";

/// The client's side: `python client.py BASE_URL KEY AUDIO` transcribes AUDIO four ways with
/// OpenAI's SDK, tries a wrong key, and prints what it got as one JSON line.
const SCRIPT: &str = r#"
import json
import sys

import openai
from openai import OpenAI

base_url, key, audio = sys.argv[1], sys.argv[2], sys.argv[3]
# No retries: each attempt would be another smelt, and a failure must show.
client = OpenAI(base_url=base_url, api_key=key, max_retries=0)


def transcribe(**options):
    with open(audio, "rb") as f:
        return client.audio.transcriptions.create(model="whisper-1", file=f, **options)


summary = {"json": transcribe().text}

verbose = transcribe(response_format="verbose_json", timestamp_granularities=["segment"])
summary["verbose"] = {
    "task": getattr(verbose, "task", None),
    "language": verbose.language,
    "duration": verbose.duration,
    "text": verbose.text,
    "segments": [
        {"id": s.id, "start": s.start, "end": s.end, "text": s.text}
        for s in (verbose.segments or [])
    ],
}

summary["srt"] = transcribe(response_format="srt")

deltas, done = [], None
for event in transcribe(stream=True):
    if event.type == "transcript.text.delta":
        deltas.append(event.delta)
    elif event.type == "transcript.text.done":
        done = event.text
summary["stream"] = {"deltas": deltas, "done": done}

# A small body: the refusal comes before the body is read.
stranger = OpenAI(base_url=base_url, api_key="ck_not-a-key-of-anyone", max_retries=0)
try:
    stranger.audio.transcriptions.create(model="whisper-1", file=("speech.wav", b"RIFF"))
    summary["refused"] = None
except openai.AuthenticationError as e:
    summary["refused"] = {"status": e.status_code, "type": e.type, "code": e.code}

print(json.dumps(summary))
"#;

/// `${XDG_CACHE_HOME:-~/.cache}/smelt/openai-venv`: where the client is installed, once per
/// machine.
fn venv_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache")
        });
    cache.join("smelt").join("openai-venv")
}

/// A Python with OpenAI's client at [`OPENAI_VERSION`]: the virtual environment of
/// [`venv_dir`], made (or brought to that version) with `python3 -m venv` and pip when it is
/// not ready.
fn openai_python() -> PathBuf {
    let venv = venv_dir();
    let python = venv.join("bin").join("python");
    let check = format!("import sys, openai; sys.exit(openai.__version__ != '{OPENAI_VERSION}')");
    let ready = Command::new(&python)
        .args(["-c", &check])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("openai=={OPENAI_VERSION}"),
        ]));
    }
    python
}

/// Runs the client script; returns the summary it printed.
async fn run_client(python: &Path, dir: &Path, base_url: &str, key: &str, audio: &Path) -> Value {
    let script = dir.join("client.py");
    std::fs::write(&script, SCRIPT).unwrap();
    // Not std's Command: the server answering the script runs on this test's runtime.
    let mut command = tokio::process::Command::new(python);
    command
        .arg(&script)
        .args([base_url, key])
        .arg(audio)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(SCRIPT_DEADLINE, command.output())
        .await
        .expect("the client finishes before the deadline")
        .expect("the client runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not a JSON summary ({e}): {stdout}"))
}

#[tokio::test]
async fn openais_python_client_transcribes_through_the_compatible_api() {
    // Before the server starts: installing blocks this test's thread.
    let python = openai_python();
    let app = spawn_app_with(AppOptions {
        configure: Some(Box::new(|s| s.server.limits.weekly_credits = 100)),
        ..AppOptions::default()
    })
    .await;
    let session = app.sign_up("openai-client@example.com").await;
    let token = session["access_token"].as_str().unwrap().to_owned();
    let (status, key) = app
        .post_json(
            "/api/keys",
            json!({"name": "openai client", "scopes": ["smelts:write", "smelts:read"]}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let key = key["secret"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let wav = speak(dir.path(), SPEECH);
    // 16-bit mono espeak-ng output at 22,050 Hz: 44,100 bytes per second after the header.
    let seconds = (std::fs::metadata(&wav).unwrap().len() - 44) as f64 / 44_100.0;

    let got = run_client(&python, dir.path(), &app.url("/v1"), &key, &wav).await;

    let text = got["json"].as_str().expect("json has text");
    let recall = word_recall(SPEECH, text);
    assert!(recall >= 0.7, "recall {recall:.2}: {text}");

    let verbose = &got["verbose"];
    assert_eq!(verbose["task"], "transcribe", "{verbose}");
    assert_eq!(verbose["language"], "english", "{verbose}");
    assert_eq!(verbose["text"], text, "the same audio reads the same");
    let duration = verbose["duration"].as_f64().unwrap();
    assert!(
        (duration - seconds).abs() < 0.5,
        "{duration} s of {seconds} s"
    );
    let segments = verbose["segments"].as_array().unwrap();
    assert!(segments.len() >= 2, "several sentences: {verbose}");
    let starts: Vec<f64> = segments
        .iter()
        .map(|s| s["start"].as_f64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
    for (id, segment) in segments.iter().enumerate() {
        assert_eq!(segment["id"], id);
        let end = segment["end"].as_f64().unwrap();
        assert!(segment["start"].as_f64().unwrap() <= end && end <= seconds + 0.5);
    }

    let srt = got["srt"].as_str().unwrap();
    assert!(srt.starts_with("1\n") && srt.contains(" --> "), "{srt}");

    let deltas: Vec<&str> = got["stream"]["deltas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(deltas.len() >= 2, "a delta per segment: {deltas:?}");
    let done = got["stream"]["done"].as_str().expect("a done event");
    assert_eq!(deltas.concat(), done, "the deltas join into the text");
    assert_eq!(done, text, "streamed, the same audio reads the same");

    assert_eq!(
        got["refused"],
        json!({"status": 401, "type": "invalid_request_error", "code": "unauthorized"})
    );

    // Each call was an ordinary smelt of the key's owner, charged like any other.
    let (status, listed) = app.get("/api/smelts?status=completed", Some(&token)).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["pagination"]["total"], 4, "{listed}");
    let (_, profile) = app.get("/api/profile", Some(&token)).await;
    assert_eq!(profile["credits_remaining"], 96, "{profile}");
}
