//! The synthesizing stage: one result per file (`separate`) or one over all files in order
//! (`combine`), each holding the document of every chosen prompt.

use smelt_core::db::smelts::{NewResult, Smelt};
use smelt_core::domain::{ErrorCode, FileStatus, InputType, SmeltMode, SmeltStatus};

use super::{Context, StageError, Transcript};
use crate::engines::{Instruction, SynthesisRequest, TimedSegment};
use crate::progress::ProgressSink;

/// One document to produce: a title, its text and segments, and the file it belongs to.
struct Unit {
    file_id: Option<uuid::Uuid>,
    filename: String,
    transcript: Transcript,
}

/// Runs the chosen instructions over each unit and returns the results in order.
pub async fn synthesize(
    ctx: &Context<'_>,
    smelt: &Smelt,
    input_type: InputType,
    transcripts: Vec<Transcript>,
    sink: &mut ProgressSink,
) -> Result<Vec<NewResult>, StageError> {
    sink.enter(SmeltStatus::Synthesizing).await?;
    let instructions = instructions(ctx, smelt, input_type).await?;
    let units = units(smelt, input_type, transcripts)?;
    let steps = (units.len() * instructions.len()).max(1) as f64;
    let synthesizer = &ctx.engines.synthesizer;
    let engine = match input_type {
        InputType::Audio => format!("{}+{}", ctx.engines.transcriber.name(), synthesizer.name()),
        InputType::Text => synthesizer.name(),
    };

    let mut results = Vec::with_capacity(units.len());
    let mut step = 0usize;
    for (position, unit) in units.into_iter().enumerate() {
        let mut documents = Vec::with_capacity(instructions.len());
        for instruction in &instructions {
            let request = SynthesisRequest {
                instruction: instruction.clone(),
                title: unit.filename.clone(),
                text: unit.transcript.text.clone(),
                segments: unit.transcript.segments.clone(),
            };
            let document = synthesizer.synthesize(request).await.map_err(|e| {
                tracing::warn!(smelt_id = %smelt.row.smelt_id, error = %e, "synthesis failed");
                StageError::from_engine(e, ErrorCode::SynthesisFailed)
            })?;
            documents.push(document.trim_end().to_owned());
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
        results.push(NewResult {
            smelt_result_id: uuid::Uuid::now_v7(),
            smelt_file_id: unit.file_id,
            position: position as i32,
            filename: unit.filename,
            content: documents.join("\n\n") + "\n",
            engine: engine.clone(),
            storage_key: None,
        });
    }
    Ok(results)
}

/// The chosen prompts; with none, the transcript for audio and a summary for text.
async fn instructions(
    ctx: &Context<'_>,
    smelt: &Smelt,
    input_type: InputType,
) -> Result<Vec<Instruction>, StageError> {
    let mut list: Vec<Instruction> = smelt
        .row
        .prompt_names()?
        .into_iter()
        .map(Instruction::Prompt)
        .collect();
    if let Some(prompt_id) = smelt.row.user_prompt_id {
        let prompt: Option<(String, String)> =
            sqlx::query_as("select title, body from user_prompt where user_prompt_id = $1")
                .bind(prompt_id)
                .fetch_optional(ctx.pool)
                .await?;
        if let Some((title, body)) = prompt {
            list.push(Instruction::Custom { title, body });
        }
    }
    if list.is_empty() {
        list.push(match input_type {
            InputType::Audio => Instruction::Transcript,
            InputType::Text => Instruction::Prompt(smelt_core::domain::PromptName::Summarize),
        });
    }
    Ok(list)
}

/// Groups transcripts into result units according to the mode.
fn units(
    smelt: &Smelt,
    input_type: InputType,
    transcripts: Vec<Transcript>,
) -> Result<Vec<Unit>, StageError> {
    let combine = smelt.row.mode()? == SmeltMode::Combine && transcripts.len() > 1;
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
    Ok(vec![Unit {
        file_id: None,
        filename: format!("Combined: {}", names.join(" + ")),
        transcript: Transcript {
            text,
            segments: Some(segments),
            duration_secs: offset,
        },
    }])
}
