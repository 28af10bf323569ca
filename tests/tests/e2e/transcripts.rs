//! Live transcripts: segments of real speech arrive as events while the file is transcribed,
//! survive reconnects and late joins, are kept as a result before synthesis, and export as
//! text, SubRip, WebVTT and JSON that independent parsers read back.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use reqwest::multipart::Form;
use serde_json::{json, Value};
use smelt_core::domain::ErrorCode;
use smelt_core::events::{EventKind, WireEvent};
use smelt_worker::{Outcome, Worker};
use uuid::Uuid;

use crate::helpers::{
    assert_progress_is_monotonic, file_part, spawn_idle_app, speak, word_recall, TestApp,
};
use crate::provider_stub::{self, STUB_TRANSCRIPT};

/// About 70 s of speech at espeak-ng's 150 words per minute, with the pauses of sentence ends.
const LONG_SPEECH: &str = "Good morning everyone and welcome to the planning meeting. \
    First we will look at the budget for the spring campaign. \
    The marketing team asked for twenty thousand dollars more than last year. \
    Finance agreed to review the numbers before the end of the month. \
    Next we talked about hiring for the platform team. \
    We plan to hire two engineers and one designer before the summer. \
    Alice will write the job descriptions by Friday. \
    Bob will talk to the recruiting agency on Monday. \
    Then we looked at the launch date of the new product. \
    The launch moves from June to the first week of September. \
    The reason is the delay in the payment integration. \
    Carol will tell the sales team about the new date. \
    The support team reported fewer tickets after the last release. \
    Most questions were about exporting reports to spreadsheets. \
    Dave will write a short guide for the help center. \
    We also need a new laptop for the intern who starts in October. \
    Finally we agreed to meet again in two weeks to check progress. \
    Thank you all for coming and have a good day.";

/// A WAV of [`LONG_SPEECH`] and its length in seconds.
fn long_speech(dir: &std::path::Path) -> (Vec<u8>, f64) {
    let wav = std::fs::read(speak(dir, LONG_SPEECH)).unwrap();
    // 16-bit mono espeak-ng output at 22,050 Hz: 44,100 bytes per second after the header.
    let seconds = (wav.len() - 44) as f64 / 44_100.0;
    (wav, seconds)
}

/// Creates an audio smelt from `wav` with `prompts`, as `token`'s user (anonymous if `None`).
async fn create_audio(
    app: &TestApp,
    wav: Vec<u8>,
    prompts: &[&str],
    extra: &[(&str, &str)],
    token: Option<&str>,
) -> Value {
    let mut form = Form::new().part("files[]", file_part(wav, "meeting.wav", "audio/wav"));
    for p in prompts {
        form = form.text("default_prompt_names[]", (*p).to_owned());
    }
    for (k, v) in extra {
        form = form.text((*k).to_owned(), (*v).to_owned());
    }
    let response = app.create(form, token).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

fn segment_events(events: &[WireEvent]) -> Vec<&WireEvent> {
    events
        .iter()
        .filter(|e| e.event == EventKind::Segment)
        .collect()
}

/// `(index, start_ms, end_ms, text)` of segment events and snapshot segments.
type Seg = (u64, u64, u64, String);

fn seg_of(v: &Value) -> Seg {
    (
        v["index"].as_u64().unwrap(),
        v["start_ms"].as_u64().unwrap(),
        v["end_ms"].as_u64().unwrap(),
        v["text"].as_str().unwrap().to_owned(),
    )
}

/// Every segment a client knows from its events: the snapshot's, then the live ones, by index.
fn known_segments(events: &[WireEvent]) -> BTreeMap<u64, Seg> {
    let mut known = BTreeMap::new();
    for e in events {
        match e.event {
            EventKind::Snapshot => {
                for s in e.payload["segments"].as_array().into_iter().flatten() {
                    let s = seg_of(s);
                    known.insert(s.0, s);
                }
            }
            EventKind::Segment => {
                let s = seg_of(&e.payload);
                assert!(
                    known.insert(s.0, s).is_none(),
                    "segment {} twice",
                    e.payload["index"]
                );
            }
            _ => {}
        }
    }
    known
}

#[tokio::test]
async fn segments_of_real_speech_arrive_in_order_before_synthesis_and_progress_follows_them() {
    let app = spawn_idle_app().await;
    let dir = tempfile::tempdir().unwrap();
    let (wav, seconds) = long_speech(dir.path());
    assert!(seconds >= 60.0, "the speech lasts {seconds:.0} s");
    let created = create_audio(&app, wav, &[], &[], None).await;
    let got = crate::helpers::follow_from_start(&app, &created).await;

    assert_progress_is_monotonic(&got.events[1..]);
    let synthesizing = got
        .events
        .iter()
        .position(|e| {
            e.event == EventKind::Progress && e.payload["progress"]["stage"] == "synthesizing"
        })
        .expect("synthesizing is announced");
    let before: Vec<&WireEvent> = segment_events(&got.events[..synthesizing]);
    assert!(
        before.len() >= 3,
        "{} segments before synthesizing",
        before.len()
    );
    assert_eq!(
        segment_events(&got.events).len(),
        before.len(),
        "every segment comes before synthesis"
    );
    let starts: Vec<u64> = before
        .iter()
        .map(|e| e.payload["start_ms"].as_u64().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] <= w[1]),
        "start_ms in order: {starts:?}"
    );
    let indexes: Vec<u64> = before
        .iter()
        .map(|e| e.payload["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, (0..before.len() as u64).collect::<Vec<_>>());
    let text: Vec<&str> = before
        .iter()
        .map(|e| e.payload["text"].as_str().unwrap())
        .collect();
    let recall = word_recall(LONG_SPEECH, &text.join(" "));
    assert!(
        recall >= 0.7,
        "only {:.0}% of the words: {text:?}",
        recall * 100.0
    );

    // Each progress event after a segment is at least as far as that segment reaches.
    let duration_ms = seconds * 1000.0;
    let mut reached = 0u64;
    for e in &got.events[..synthesizing] {
        match e.event {
            EventKind::Segment => reached = e.payload["end_ms"].as_u64().unwrap(),
            EventKind::Progress if e.payload["progress"]["stage"] == "transcribing" => {
                let pct = e.payload["progress"]["percentage"].as_f64().unwrap();
                let expected = 20.0 + 50.0 * (reached as f64 / duration_ms).min(1.0);
                assert!(
                    pct + 1.0 >= expected,
                    "{pct}% after a segment ending at {reached} ms"
                );
            }
            _ => {}
        }
    }
    let done = got.last();
    assert_eq!(done.event, EventKind::Completed);
    assert_eq!(done.payload["results"][0]["kind"], "transcript");
}

#[tokio::test]
async fn a_client_resuming_after_its_second_segment_and_a_late_joiner_end_with_every_segment_once()
{
    let app = spawn_idle_app().await;
    let dir = tempfile::tempdir().unwrap();
    let (wav, _) = long_speech(dir.path());
    let created = create_audio(&app, wav, &[], &[], None).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let token = created["subscription_token"].as_str().unwrap().to_owned();

    let mut steady = app.subscribe(&created).await;
    let mut resumer = app.subscribe(&created).await;
    let steady_start = steady.read_until(|e| e.event == EventKind::Snapshot).await;
    let mut resumer_events = resumer.read_until(|e| e.event == EventKind::Snapshot).await;
    let worker = crate::helpers::worker(&app).await;
    let job = tokio::spawn(async move { worker.try_process_one().await.unwrap() });

    // The resumer drops after its second segment and comes back with after_seq.
    for _ in 0..2 {
        resumer_events.extend(resumer.read_until(|e| e.event == EventKind::Segment).await);
    }
    drop(resumer);
    let last_seq = resumer_events.last().unwrap().seq;
    // A late joiner arrives while transcription goes on and starts from a snapshot.
    let steady_more = steady.read_until(|e| e.event == EventKind::Segment).await;
    let late = app
        .connect(&id, &format!("token={token}"))
        .await
        .collect()
        .await;
    let resumed = app
        .connect(&id, &format!("token={token}&after_seq={last_seq}"))
        .await
        .collect()
        .await;
    let steady_rest = steady.collect().await;
    assert_eq!(job.await.unwrap(), Outcome::Completed(id.parse().unwrap()));

    let steady_all: Vec<WireEvent> = steady_start
        .into_iter()
        .chain(steady_more)
        .chain(steady_rest.events)
        .collect();
    let expected = known_segments(&steady_all);
    assert!(expected.len() >= 3, "{} segments", expected.len());
    resumer_events.extend(resumed.events);
    assert_eq!(
        known_segments(&resumer_events),
        expected,
        "the resumer has the same segments"
    );
    let seqs: Vec<i64> = resumer_events.iter().skip(1).map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap, no duplicate: {seqs:?}"
    );
    assert!(
        late.events[0].payload["segments"]
            .as_array()
            .is_some_and(|s| !s.is_empty()),
        "the late joiner's snapshot holds the segments so far"
    );
    assert_eq!(
        known_segments(&late.events),
        expected,
        "the late joiner has them all"
    );
}

#[tokio::test]
async fn an_audio_smelt_with_two_prompts_ends_with_the_transcript_and_both_notes() {
    let app = spawn_idle_app().await;
    let dir = tempfile::tempdir().unwrap();
    let sentence =
        "Please send the report on Friday and book the room for the budget review next week";
    let wav = std::fs::read(speak(dir.path(), sentence)).unwrap();
    let token = app.token_for(Uuid::new_v4());
    let created = create_audio(&app, wav, &["summarize", "action_items"], &[], Some(&token)).await;
    let got = crate::helpers::follow_from_start(&app, &created).await;
    let done = got.last();
    assert_eq!(done.event, EventKind::Completed);
    let results = done.payload["results"].as_array().unwrap();
    let shape: Vec<(&str, Value)> = results
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["prompt"].clone()))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("transcript", Value::Null),
            ("notes", json!("summarize")),
            ("notes", json!("action_items")),
        ]
    );
    let transcript = results[0]["content"].as_str().unwrap();
    assert!(word_recall(sentence, transcript) >= 0.7, "{transcript}");
    assert!(results[1]["content"]
        .as_str()
        .unwrap()
        .starts_with("# Summary"));
    assert!(results[2]["content"]
        .as_str()
        .unwrap()
        .starts_with("# Action items"));
    let (_, smelt) = app
        .get(
            &format!("/api/smelts/{}", created["id"].as_str().unwrap()),
            Some(&token),
        )
        .await;
    let names: Vec<&str> = smelt["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["download_url"].as_str().unwrap())
        .collect();
    assert!(names[0].contains("transcript.md"), "{names:?}");
    assert!(names[1].contains("summarize.md"), "{names:?}");
}

#[tokio::test]
async fn a_synthesis_that_fails_every_attempt_keeps_the_transcript_and_never_transcribes_twice() {
    let (stub, app) = provider_stub::app_with_stub().await;
    let key = "sk-test-chatdown-000000000";
    let token = app.token_for(Uuid::new_v4());
    let (status, body) = app
        .send_json(
            app.client.put(app.url("/api/profile/api-key")),
            json!({"api_key": key}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let dir = tempfile::tempdir().unwrap();
    let wav = std::fs::read(speak(dir.path(), "A short recording for the hosted engine")).unwrap();
    let created = create_audio(&app, wav, &["summarize"], &[], Some(&token)).await;
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let mut socket = app.subscribe(&created).await;
    socket.read_until(|e| e.event == EventKind::Snapshot).await;

    let mut settings = app.settings.worker_settings();
    settings.hosted.provider_max_attempts = 2;
    settings.hosted.provider_retry_base_ms = 10;
    settings.worker.max_deliveries = 3;
    settings.worker.retry_base_ms = 0;
    let worker = Worker::new(app.pool.clone(), Arc::new(settings), app.blobs.clone())
        .await
        .unwrap();
    let mut outcomes = Vec::new();
    loop {
        let outcome = worker.try_process_one().await.unwrap();
        let retry = matches!(outcome, Outcome::Retry(_));
        outcomes.push(outcome);
        if !retry {
            break;
        }
    }
    assert_eq!(
        outcomes,
        vec![
            Outcome::Retry(id),
            Outcome::Retry(id),
            Outcome::Failed(id, ErrorCode::SynthesisFailed)
        ]
    );
    assert_eq!(stub.calls_to(key, "transcriptions"), 1, "transcribed once");
    assert_eq!(
        stub.calls_to(key, "chat"),
        6,
        "two calls in each of three deliveries"
    );

    let failed = socket.collect().await;
    let last = failed.last();
    assert_eq!(last.event, EventKind::Failed);
    assert_eq!(last.payload["failed_prompt"], "summarize");
    assert_eq!(last.payload["results"][0]["kind"], "transcript");
    assert!(last.payload["results"][0]["content"]
        .as_str()
        .unwrap()
        .contains(STUB_TRANSCRIPT));

    let (_, smelt) = app.get(&format!("/api/smelts/{id}"), Some(&token)).await;
    assert_eq!(smelt["status"], "failed");
    assert_eq!(smelt["error_code"], "synthesis_failed");
    assert_eq!(smelt["failed_prompt"], "summarize");
    assert_eq!(smelt["results"].as_array().unwrap().len(), 1);
    assert!(smelt["results"][0]["content"]
        .as_str()
        .unwrap()
        .contains(STUB_TRANSCRIPT));
    let snapshot = app.subscribe(&created).await.collect().await;
    assert_eq!(
        snapshot.events[0].payload["results"][0]["kind"],
        "transcript"
    );
}

/// `GET` of an export with a query; returns status, content type and body.
async fn export(
    app: &TestApp,
    path: &str,
    query: &str,
    bearer: Option<&str>,
) -> (u16, String, String) {
    let mut request = app.client.get(app.url(&format!("{path}?{query}")));
    if let Some(t) = bearer {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn exports_parse_with_independent_parsers_and_their_cues_match_the_segments() {
    let app = spawn_idle_app().await;
    let dir = tempfile::tempdir().unwrap();
    let (wav, _) = long_speech(dir.path());
    let created = create_audio(&app, wav, &[], &[("word_timestamps", "true")], None).await;
    let id = created["id"].as_str().unwrap();
    let sub_token = created["subscription_token"].as_str().unwrap();
    let got = crate::helpers::follow_from_start(&app, &created).await;
    assert_eq!(got.last().event, EventKind::Completed);
    assert_eq!(
        app.stored_uploads().await,
        0,
        "the audio is gone; the transcript stays"
    );
    let segments: Vec<Value> = segment_events(&got.events)
        .iter()
        .map(|e| e.payload.clone())
        .collect();
    for s in &segments {
        let words = s["words"].as_array().expect("word timings were asked for");
        assert!(!words.is_empty());
        for w in words {
            let (start, end) = (
                w["start_ms"].as_u64().unwrap(),
                w["end_ms"].as_u64().unwrap(),
            );
            assert!(start <= end, "{w}");
            assert!(
                start + 1 >= s["start_ms"].as_u64().unwrap()
                    && end <= s["end_ms"].as_u64().unwrap() + 1,
                "{w} in {s}"
            );
        }
    }
    let path = format!("/api/smelts/{id}/transcript");
    let bounds = |start: u64, end: u64| {
        segments.iter().any(|s| {
            s["start_ms"].as_u64().unwrap() <= start + 1 && end <= s["end_ms"].as_u64().unwrap() + 1
        })
    };

    let (status, content_type, srt) =
        export(&app, &path, &format!("format=srt&token={sub_token}"), None).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/x-subrip; charset=utf-8")
    );
    let parsed = srtlib::Subtitles::parse_from_str(srt.clone())
        .expect("SubRip parses")
        .to_vec();
    assert!(parsed.len() >= segments.len());
    for (n, cue) in parsed.iter().enumerate() {
        assert_eq!(cue.num, n + 1, "numbered from 1");
        let (s, e) = (cue.start_time.get(), cue.end_time.get());
        let ms = |(h, m, s, ms): (u8, u8, u8, u16)| {
            ((u64::from(h) * 60 + u64::from(m)) * 60 + u64::from(s)) * 1000 + u64::from(ms)
        };
        assert!(ms(s) < ms(e));
        assert!(bounds(ms(s), ms(e)), "cue {n} inside a segment");
        assert!(cue.text.lines().count() <= 2 && cue.text.lines().all(|l| l.chars().count() <= 42));
    }
    let cue_words: Vec<String> = parsed
        .iter()
        .flat_map(|c| {
            c.text
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let segment_words: Vec<String> = segments
        .iter()
        .flat_map(|s| {
            s["text"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        cue_words, segment_words,
        "the cues say exactly what the segments say"
    );

    let (status, content_type, vtt) = export(&app, &path, "format=vtt", Some(sub_token)).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/vtt; charset=utf-8")
    );
    let parsed = vtt::WebVtt::from_str(&vtt).expect("WebVTT parses");
    assert_eq!(
        parsed.cues.len(),
        srtlib::Subtitles::parse_from_str(srt).unwrap().len(),
        "the same cues"
    );
    for cue in &parsed.cues {
        let (s, e) = (
            cue.start.as_duration().as_millis() as u64,
            cue.end.as_duration().as_millis() as u64,
        );
        assert!(s < e && bounds(s, e), "{cue:?}");
    }
    assert!(
        vtt.lines()
            .find(|l| l.contains(" --> "))
            .is_some_and(|l| l.contains('.')),
        "HH:MM:SS.mmm"
    );

    let (status, _, body) = export(
        &app,
        &path,
        &format!("format=json&words=true&token={sub_token}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["segments"].as_array().unwrap().len(), segments.len());
    assert!(json["segments"][0]["words"].is_array());
    let (_, _, plain) = export(&app, &path, &format!("format=json&token={sub_token}"), None).await;
    assert!(
        serde_json::from_str::<Value>(&plain).unwrap()["segments"][0]["words"].is_null(),
        "words only when asked"
    );

    let (_, _, txt) = export(&app, &path, &format!("format=txt&token={sub_token}"), None).await;
    assert!(word_recall(LONG_SPEECH, &txt) >= 0.7);
    let file_id = created["files"][0]["id"].as_str().unwrap();
    let (status, _, one) = export(
        &app,
        &format!("/api/smelts/{id}/files/{file_id}/transcript"),
        &format!("token={sub_token}"),
        None,
    )
    .await;
    assert_eq!((status, one), (200, txt), "one file: the same text");

    assert_eq!(
        export(&app, &path, "format=srt", None).await.0,
        401,
        "no token"
    );
    assert_eq!(
        export(&app, &path, &format!("format=doc&token={sub_token}"), None)
            .await
            .0,
        400
    );
    let stranger = app.token_for(Uuid::new_v4());
    assert_eq!(
        export(&app, &path, "format=srt", Some(&stranger)).await.0,
        404,
        "not the owner"
    );
}
