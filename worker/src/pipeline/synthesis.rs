//! The transcripts as results, then the synthesizing stage: for each unit — one per file
//! (`separate`) or one over all files in order (`combine`) — the transcript (audio only),
//! then one document per chosen prompt. Results are numbered unit by unit in that order.

use std::collections::HashSet;

use smelt_core::db::smelts::{self, NewResult, Smelt};
use smelt_core::domain::speech;
use smelt_core::domain::{ErrorCode, FileStatus, InputType, ResultKind, SmeltMode, SmeltStatus};

use super::{documents, Context, StageError, Transcript};
use crate::engines::extractive::{self, SynthesisInput};
use crate::engines::{Instruction, SynthesisRequest, TimedSegment};
use smelt_core::lifecycle::ProgressSink;

/// One source of documents: a title, its text and segments, and the file it belongs to.
struct Unit {
    file_id: Option<uuid::Uuid>,
    filename: String,
    transcript: Transcript,
}

/// Keeps each unit's transcript (audio), then runs the chosen instructions over each unit,
/// keeping every document as soon as it is made. Documents a previous delivery kept are not
/// made again.
pub async fn synthesize(
    ctx: &Context<'_>,
    smelt: &Smelt,
    input_type: InputType,
    transcripts: Vec<Transcript>,
    sink: &mut ProgressSink,
) -> Result<(), StageError> {
    let smelt_id = smelt.row.smelt_id;
    let instructions = instructions(ctx, smelt, input_type).await?;
    let units = units(smelt, input_type, transcripts)?;
    let audio = input_type == InputType::Audio;
    let per_unit = instructions.len() + usize::from(audio);
    let position = |unit: usize, offset: usize| (unit * per_unit + offset) as i32;
    let model = speech::model(&smelt.row.model).unwrap_or(&speech::TINY_EN);
    let kept: HashSet<i32> = smelts::result_positions(ctx.pool, smelt_id)
        .await?
        .into_iter()
        .collect();

    // The transcripts are kept first: whatever happens in synthesis, they are not lost.
    if audio {
        let engine = ctx.engines.transcriber.name(model);
        for (u, unit) in units.iter().enumerate() {
            if kept.contains(&position(u, 0)) {
                continue;
            }
            let input = SynthesisInput {
                title: &unit.filename,
                text: &unit.transcript.text,
                segments: unit.transcript.segments.as_deref(),
                language: unit.transcript.language.as_deref(),
            };
            let document = extractive::transcript_markdown(&input);
            let result = new_result(unit, position(u, 0), document, &engine, None);
            documents::keep(ctx, smelt_id, result).await?;
        }
    }

    sink.enter(SmeltStatus::Synthesizing).await?;
    let steps = (units.len() * instructions.len()).max(1) as f64;
    let synthesizer = &ctx.engines.synthesizer;
    let engine = match input_type {
        InputType::Audio => format!(
            "{}+{}",
            ctx.engines.transcriber.name(model),
            synthesizer.name()
        ),
        InputType::Text => synthesizer.name(),
    };
    let mut step = 0usize;
    for (u, unit) in units.iter().enumerate() {
        for (k, instruction) in instructions.iter().enumerate() {
            let at = position(u, k + usize::from(audio));
            if !kept.contains(&at) {
                let request = SynthesisRequest {
                    instruction: instruction.clone(),
                    title: unit.filename.clone(),
                    text: unit.transcript.text.clone(),
                    segments: unit.transcript.segments.clone(),
                    language: unit.transcript.language.clone(),
                };
                let document = synthesizer.synthesize(request).await.map_err(|e| {
                    tracing::warn!(%smelt_id, prompt = instruction.label(), error = %e, "synthesis failed");
                    sink.set_failed_prompt(Some(instruction.label().to_owned()));
                    StageError::from_engine(e, ErrorCode::SynthesisFailed)
                })?;
                let content = document.trim_end().to_owned() + "\n";
                let prompt = Some(instruction.prompt_name().to_owned());
                documents::keep(
                    ctx,
                    smelt_id,
                    new_result(unit, at, content, &engine, prompt),
                )
                .await?;
            }
            step += 1;
            sink.advance(step as f64 / steps).await?;
        }
        if let Some(index) = smelt
            .files
            .iter()
            .position(|f| Some(f.smelt_file_id) == unit.file_id)
        {
            sink.set_file(index, FileStatus::Completed, 100);
        }
    }
    Ok(())
}

/// A result of `unit` at `position`: a transcript when `prompt` is `None`, else notes.
fn new_result(
    unit: &Unit,
    position: i32,
    content: String,
    engine: &str,
    prompt: Option<String>,
) -> NewResult {
    NewResult {
        smelt_result_id: uuid::Uuid::now_v7(),
        smelt_file_id: unit.file_id,
        position,
        filename: unit.filename.clone(),
        content,
        engine: engine.to_owned(),
        kind: if prompt.is_some() {
            ResultKind::Notes
        } else {
            ResultKind::Transcript
        },
        prompt,
        storage_key: None,
    }
}

/// The chosen prompts; with none, nothing more than the transcript for audio and a summary
/// for text.
async fn instructions(
    ctx: &Context<'_>,
    smelt: &Smelt,
    input_type: InputType,
) -> Result<Vec<Instruction>, StageError> {
    let mut list: Vec<Instruction> = smelt
        .row
        .default_prompt_names
        .iter()
        .copied()
        .map(Instruction::Prompt)
        .collect();
    if let Some(prompt_id) = smelt.row.user_prompt_id {
        if let Some(prompt) = smelt_core::db::prompts::find(ctx.pool, prompt_id).await? {
            list.push(Instruction::Custom {
                title: prompt.title,
                body: prompt.body,
            });
        }
    }
    if list.is_empty() && input_type == InputType::Text {
        list.push(Instruction::Prompt(
            smelt_core::domain::PromptName::Summarize,
        ));
    }
    Ok(list)
}

/// Groups transcripts into result units according to the mode.
fn units(
    smelt: &Smelt,
    input_type: InputType,
    transcripts: Vec<Transcript>,
) -> Result<Vec<Unit>, StageError> {
    let combine = smelt.row.mode == SmeltMode::Combine && transcripts.len() > 1;
    if !combine {
        return Ok(smelt
            .files
            .iter()
            .zip(transcripts)
            .map(|(file, transcript)| Unit {
                file_id: Some(file.smelt_file_id),
                filename: match input_type {
                    InputType::Text => "Pasted text".to_owned(),
                    InputType::Audio => file.filename.clone(),
                },
                transcript,
            })
            .collect());
    }
    // Combined: files in position order, each introduced by its name, segment times shifted
    // so that they run on across files.
    let mut text = String::new();
    let mut segments: Vec<TimedSegment> = Vec::new();
    let mut offset = 0.0;
    let languages: Vec<Option<String>> = transcripts.iter().map(|t| t.language.clone()).collect();
    for transcript in transcripts {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&transcript.text);
        for s in transcript.segments.unwrap_or_default() {
            segments.push(TimedSegment {
                start_secs: s.start_secs + offset,
                text: s.text,
            });
        }
        offset += transcript.duration_secs;
    }
    let names: Vec<&str> = smelt.files.iter().map(|f| f.filename.as_str()).collect();
    // The files' language when they share one.
    let language = languages
        .first()
        .cloned()
        .flatten()
        .filter(|first| languages.iter().all(|l| l.as_ref() == Some(first)));
    Ok(vec![Unit {
        file_id: None,
        filename: format!("Combined: {}", names.join(" + ")),
        transcript: Transcript {
            text,
            segments: Some(segments),
            duration_secs: offset,
            language,
        },
    }])
}
