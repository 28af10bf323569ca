//! Validating, decoding and transcribing audio files.
//!
//! Transcription publishes each finished segment as it comes (batched to the progress
//! interval, never dropped) and stores it with how far the file got, so a redelivered job
//! resumes after the last stored segment and skips files that are done.

use std::sync::Arc;
use std::time::Instant;

use smelt_core::db::smelts::{self, FileRow, Smelt};
use smelt_core::db::transcripts;
use smelt_core::domain::speech::{LanguageChoice, SpeechChoice, Task};
use smelt_core::domain::{ErrorCode, FileStatus, SmeltStatus};
use smelt_core::dto::{LanguageDto, SegmentDto};
use tokio::sync::{mpsc, watch};

use super::{Context, StageError, Transcript};
use crate::audio::{self, DecodeError, TARGET_SAMPLE_RATE};
use crate::engines::{Chunk, TimedSegment, TranscriptionRequest};
use smelt_core::lifecycle::ProgressSink;

/// Share of a file's own progress bar taken by decoding (the rest is transcription).
const DECODE_SHARE: f64 = 0.2;
/// Chunks a transcriber may finish ahead of their publication.
const CHUNK_QUEUE: usize = 4;

fn needs_transcription(file: &FileRow) -> bool {
    file.transcribed_at.is_none()
}

/// Every file still to transcribe has its upload in the store.
pub async fn validate(ctx: &Context<'_>, smelt: &Smelt) -> Result<(), StageError> {
    for file in smelt.files.iter().filter(|f| needs_transcription(f)) {
        let key = file.storage_key.as_deref().ok_or_else(|| {
            StageError::permanent(
                ErrorCode::InternalError,
                format!("file {} has no upload", file.smelt_file_id),
            )
        })?;
        let present = ctx.blobs.exists(key).await.map_err(StageError::transient)?;
        if !present {
            return Err(StageError::permanent(
                ErrorCode::InternalError,
                format!("upload {key} is missing"),
            ));
        }
    }
    Ok(())
}

/// Marks one file failed with `code` (the smelt's failure follows).
pub(super) async fn fail_file(
    ctx: &Context<'_>,
    id: uuid::Uuid,
    code: ErrorCode,
) -> Result<(), StageError> {
    smelts::set_file_state(ctx.pool, id, FileStatus::Failed, Some(code), None).await?;
    Ok(())
}

/// Decodes and transcribes the files whose transcript is not complete yet, then returns the
/// transcript of every file, in position order, from the stored segments.
pub async fn transcribe_all(
    ctx: &Context<'_>,
    smelt: &Smelt,
    sink: &mut ProgressSink,
) -> Result<Vec<Transcript>, StageError> {
    let pending: Vec<usize> = (0..smelt.files.len())
        .filter(|&i| needs_transcription(&smelt.files[i]))
        .collect();
    for (index, file) in smelt.files.iter().enumerate() {
        if !needs_transcription(file) {
            sink.set_file(index, FileStatus::Processing, 100);
        }
    }
    if !pending.is_empty() {
        let decoded = decode(ctx, smelt, &pending, sink).await?;
        transcribe(ctx, smelt, pending.into_iter().zip(decoded).collect(), sink).await?;
    }
    let mut transcripts = Vec::with_capacity(smelt.files.len());
    for file in &smelt.files {
        let segments = transcripts::file_segments(ctx.pool, file.smelt_file_id).await?;
        let duration_secs = match file.duration_seconds {
            Some(d) => d,
            None => smelts::duration_of(ctx.pool, file.smelt_file_id)
                .await?
                .unwrap_or(0.0),
        };
        // A translation is in English whatever was spoken.
        let language = match smelt.row.task {
            Task::Translate => Some("en".to_owned()),
            Task::Transcribe => transcripts::language_of(ctx.pool, file.smelt_file_id).await?,
        };
        transcripts.push(Transcript {
            language,
            text: segments
                .iter()
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            segments: Some(
                segments
                    .iter()
                    .map(|s| TimedSegment {
                        start_secs: f64::from(s.start_ms) / 1000.0,
                        text: s.text.clone(),
                    })
                    .collect(),
            ),
            duration_secs,
        });
    }
    Ok(transcripts)
}

/// Decodes the given files to 16 kHz mono, in position order, recording each duration.
async fn decode(
    ctx: &Context<'_>,
    smelt: &Smelt,
    files: &[usize],
    sink: &mut ProgressSink,
) -> Result<Vec<Arc<Vec<f32>>>, StageError> {
    sink.enter(SmeltStatus::Decoding).await?;
    let count = files.len().max(1) as f64;
    let mut decoded = Vec::with_capacity(files.len());
    for (done, &index) in files.iter().enumerate() {
        let file = &smelt.files[index];
        let key = file.storage_key.clone().unwrap_or_default();
        let extension = key
            .rsplit_once('.')
            .map(|(_, e)| e.to_owned())
            .unwrap_or_default();
        let local = ctx
            .scratch
            .join(format!("{}.{extension}", file.smelt_file_id));
        ctx.blobs
            .fetch_to_file(&key, &local)
            .await
            .map_err(StageError::transient)?;
        smelts::set_file_state(
            ctx.pool,
            file.smelt_file_id,
            FileStatus::Processing,
            None,
            None,
        )
        .await?;
        sink.set_file(index, FileStatus::Processing, 0);

        let (tx, mut rx) = watch::channel(0f32);
        let path = local.clone();
        let max_secs = ctx.limits.max_duration_secs;
        let job = tokio::task::spawn_blocking(move || {
            audio::decode_file_isolated(&path, max_secs, &mut |f| {
                let _ = tx.send(f);
            })
        });
        tokio::pin!(job);
        let result = loop {
            tokio::select! {
                result = &mut job => break result.map_err(StageError::transient)?,
                Ok(()) = rx.changed() => {
                    let f = f64::from(*rx.borrow_and_update());
                    sink.set_file(index, FileStatus::Processing, (f * DECODE_SHARE * 100.0) as u8);
                    sink.advance((done as f64 + f) / count).await?;
                }
            }
        };
        let _ = tokio::fs::remove_file(&local).await;
        match result {
            Ok(audio) => {
                smelts::set_file_state(
                    ctx.pool,
                    file.smelt_file_id,
                    FileStatus::Processing,
                    None,
                    Some(audio.duration_secs),
                )
                .await?;
                sink.set_file(index, FileStatus::Processing, (DECODE_SHARE * 100.0) as u8);
                decoded.push(Arc::new(audio.samples));
            }
            Err(DecodeError::DurationExceeded { seconds }) => {
                fail_file(ctx, file.smelt_file_id, ErrorCode::DurationExceeded).await?;
                return Err(StageError::permanent(
                    ErrorCode::DurationExceeded,
                    format!("{} is {seconds:.0} s long", file.filename),
                ));
            }
            Err(DecodeError::Panicked(panic)) => {
                // Logged once here, with what identifies the file; the bytes are the user's.
                tracing::error!(
                    smelt_id = %smelt.row.smelt_id,
                    format = %extension,
                    panic = %panic,
                    "the decoder panicked on a file; it fails as corrupted"
                );
                fail_file(ctx, file.smelt_file_id, ErrorCode::CorruptedFile).await?;
                return Err(StageError::permanent(
                    ErrorCode::CorruptedFile,
                    format!("{}: the decoder gave up", file.filename),
                ));
            }
            Err(DecodeError::Corrupted(detail)) => {
                fail_file(ctx, file.smelt_file_id, ErrorCode::CorruptedFile).await?;
                return Err(StageError::permanent(
                    ErrorCode::CorruptedFile,
                    format!("{}: {detail}", file.filename),
                ));
            }
            Err(DecodeError::Io(e)) => return Err(StageError::transient(e)),
        }
        sink.advance((done + 1) as f64 / count).await?;
    }
    Ok(decoded)
}

/// Milliseconds of 16 kHz audio.
fn ms_of(samples: usize) -> u64 {
    samples as u64 * 1000 / u64::from(TARGET_SAMPLE_RATE)
}

/// How far transcription has got over the whole smelt, for the overall percentage (the share
/// of all audio transcribed) and the estimate of the time left (from the speed measured in
/// this delivery).
struct Reach {
    total_ms: u64,
    /// Audio transcribed in earlier deliveries or files, in ms.
    done_ms: u64,
    started: Instant,
    /// Audio transcribed by this delivery so far, in ms.
    this_run_ms: u64,
}

impl Reach {
    fn fraction(&self, file_ms: u64) -> f64 {
        (self.done_ms + file_ms) as f64 / self.total_ms.max(1) as f64
    }

    fn eta_seconds(&self, file_ms: u64) -> Option<u32> {
        if self.this_run_ms == 0 {
            return None;
        }
        let speed = self.this_run_ms as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        let left = self.total_ms.saturating_sub(self.done_ms + file_ms) as f64;
        Some((left / speed).ceil() as u32)
    }
}

/// Transcribes the decoded files in order, publishing their segments as they are finished.
async fn transcribe(
    ctx: &Context<'_>,
    smelt: &Smelt,
    decoded: Vec<(usize, Arc<Vec<f32>>)>,
    sink: &mut ProgressSink,
) -> Result<(), StageError> {
    sink.enter(SmeltStatus::Transcribing).await?;
    let speech = speech_choice(smelt)?;
    let pending_ms: u64 = decoded.iter().map(|(_, d)| ms_of(d.len())).sum();
    let finished_ms: u64 = smelt
        .files
        .iter()
        .filter(|f| !needs_transcription(f))
        .map(|f| (f.duration_seconds.unwrap_or(0.0) * 1000.0) as u64)
        .sum();
    let mut reach = Reach {
        total_ms: pending_ms + finished_ms,
        done_ms: finished_ms,
        started: Instant::now(),
        this_run_ms: 0,
    };
    for (index, samples) in decoded {
        let file = &smelt.files[index];
        let file_ms = ms_of(samples.len());
        let resume_ms = u64::try_from(file.transcribed_ms.max(0))
            .unwrap_or(0)
            .min(file_ms);
        let stored = transcripts::file_segments(ctx.pool, file.smelt_file_id).await?;
        let next_index = stored.len() as u32;
        let previous_text = stored
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let mut batch = Batch {
            file_id: file.smelt_file_id,
            file_index: index,
            file_ms,
            next_index,
            reached_ms: resume_ms,
            segments: Vec::new(),
            language_known: false,
        };
        let request = TranscriptionRequest {
            samples,
            start_ms: resume_ms as u32,
            previous_text,
            word_timestamps: smelt.row.word_timestamps,
            model: speech.model,
            // A file whose language a first delivery detected keeps it when redelivered.
            language: file
                .language
                .as_deref()
                .and_then(LanguageChoice::parse)
                .unwrap_or_else(|| speech.language.clone()),
            task: speech.task,
        };
        let (tx, mut rx) = mpsc::channel::<Chunk>(CHUNK_QUEUE);
        let job = ctx.engines.transcriber.transcribe(request, tx);
        tokio::pin!(job);
        let mut finished = None;
        loop {
            tokio::select! {
                result = &mut job, if finished.is_none() => finished = Some(result),
                chunk = rx.recv() => match chunk {
                    Some(chunk) => {
                        if let (Some(heard), false) = (chunk.language, batch.language_known) {
                            transcripts::set_language(
                                ctx.pool,
                                file.smelt_file_id,
                                heard.code,
                                heard.probability,
                            )
                            .await?;
                            sink.set_file_language(
                                index,
                                LanguageDto {
                                    code: heard.code.to_owned(),
                                    probability: heard.probability.or(file.language_probability),
                                },
                            );
                            batch.language_known = true;
                        }
                        let before = batch.reached_ms;
                        batch.take(chunk);
                        reach.this_run_ms += batch.reached_ms.saturating_sub(before);
                        if sink.due() {
                            batch.publish(sink, &reach).await?;
                        }
                    }
                    // The transcriber is done and every chunk it sent is in.
                    None => break,
                },
            }
        }
        finished
            .expect("the channel closes only once the transcriber returned")
            .map_err(|e| {
                tracing::warn!(smelt_id = %smelt.row.smelt_id, error = %e, "transcription failed");
                StageError::from_engine(e, ErrorCode::TranscriptionFailed)
            })?;
        batch.reached_ms = file_ms;
        batch.publish(sink, &reach).await?;
        transcripts::mark_transcribed(ctx.pool, file.smelt_file_id).await?;
        reach.done_ms += file_ms;
    }
    sink.set_eta(None);
    Ok(())
}

/// The smelt's model, language and task, as they were checked when it was created.
fn speech_choice(smelt: &Smelt) -> Result<SpeechChoice, StageError> {
    let row = &smelt.row;
    let default = smelt_core::domain::speech::model(&row.model).ok_or_else(|| {
        StageError::permanent(
            ErrorCode::InternalError,
            format!("unknown model {}", row.model),
        )
    })?;
    SpeechChoice::parse(
        Some(&row.model),
        Some(&row.language),
        Some(row.task.as_str()),
        default,
    )
    .map_err(|e| StageError::permanent(ErrorCode::InternalError, e.to_string()))
}

/// Segments of one file finished but not yet published.
struct Batch {
    file_id: uuid::Uuid,
    file_index: usize,
    file_ms: u64,
    /// Index the next segment gets.
    next_index: u32,
    /// How far the file's transcription has got, in ms.
    reached_ms: u64,
    segments: Vec<SegmentDto>,
    /// The file's language was recorded (from its first chunk).
    language_known: bool,
}

impl Batch {
    fn take(&mut self, chunk: Chunk) {
        for segment in chunk.segments {
            self.segments.push(SegmentDto {
                file_id: self.file_id,
                index: self.next_index,
                start_ms: segment.start_ms,
                end_ms: segment.end_ms.max(segment.start_ms),
                text: segment.text,
                words: segment.words,
            });
            self.next_index += 1;
        }
        self.reached_ms = self
            .reached_ms
            .max(u64::from(chunk.end_ms))
            .min(self.file_ms);
    }

    /// Publishes the segments held with the progress they bring, then forgets them.
    async fn publish(&mut self, sink: &mut ProgressSink, reach: &Reach) -> Result<(), StageError> {
        let file_fraction = self.reached_ms as f64 / self.file_ms.max(1) as f64;
        sink.set_file(
            self.file_index,
            FileStatus::Processing,
            ((DECODE_SHARE + (1.0 - DECODE_SHARE) * file_fraction) * 100.0) as u8,
        );
        sink.set_eta(reach.eta_seconds(self.reached_ms));
        let segments = std::mem::take(&mut self.segments);
        sink.publish_segments(
            self.file_id,
            &segments,
            self.reached_ms as u32,
            reach.fraction(self.reached_ms),
        )
        .await?;
        Ok(())
    }
}
