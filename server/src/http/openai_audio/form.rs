//! Reading the multipart body of `POST /v1/audio/transcriptions` and `/translations`
//! (`docs/api.md#openai-compatible-transcription`) into the create form of an ordinary smelt
//! of one file without notes, plus what shapes the answer ([`Answer`]). The file goes through
//! the same reader as `POST /api/smelts` ([`upload::receive`]): same formats, size and
//! duration limits, same refusals.
//!
//! Fields OpenAI defines that Smelt has no use for (`prompt`, `temperature`, `include[]`,
//! `chunking_strategy`, …) and fields it does not know are read and ignored, so that clients
//! sending them still work; `language` on a translation is ignored too (the model hears the
//! language itself).

use axum::extract::Multipart;
use smelt_core::blob::BlobStore;
use smelt_core::domain::speech::{self, LanguageChoice, Task};
use smelt_core::domain::SmeltMode;
use smelt_core::limits::Limits;
use uuid::Uuid;

use super::render::{Answer, ResponseFormat};
use crate::http::error::ApiError;
use crate::http::smelts::form::CreateForm;
use crate::http::upload::{self, drain, multipart_error, read_small, MAX_SMALL_FIELD_BYTES};

/// The model name OpenAI's clients send: it stands for the server's default model
/// (`SMELT_DEFAULT_MODEL`).
pub const OPENAI_MODEL: &str = "whisper-1";

/// Reads the whole body of a `task` request, storing its file under `uploads/{smelt_id}/…`.
/// Errors: 400 `no_input` (no `file`), `too_many_files` (a second `file`), the file's own
/// refusals ([`upload::receive`]), `invalid_data` (a value outside its field's domain),
/// `invalid_multipart`, 413 `payload_too_large`. On an error, what was stored stays until the
/// caller discards it.
pub async fn read(
    mut multipart: Multipart,
    smelt_id: Uuid,
    blobs: &dyn BlobStore,
    limits: &Limits,
    task: Task,
) -> Result<(CreateForm, Answer), ApiError> {
    let mut stored = Vec::new();
    let mut files = 0usize;
    let mut file_error: Option<ApiError> = None;
    let mut field_error: Option<ApiError> = None;
    let (mut model, mut language) = (None, None);
    let mut format = ResponseFormat::Json;
    let (mut segments, mut words) = (false, false);
    let mut stream = false;

    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            files += 1;
            if files > 1 || file_error.is_some() {
                drain(&mut field).await?;
                continue;
            }
            if let Some(refusal) =
                upload::receive(&mut field, smelt_id, blobs, limits, &mut stored).await?
            {
                file_error = Some(refusal);
            }
            continue;
        }
        let value = match name.as_str() {
            "model"
            | "language"
            | "response_format"
            | "timestamp_granularities[]"
            | "timestamp_granularities"
            | "stream" => read_small(&mut field, MAX_SMALL_FIELD_BYTES).await?,
            _ => {
                drain(&mut field).await?;
                continue;
            }
        };
        let Some(value) = value.map(|v| v.trim().to_owned()) else {
            field_error.get_or_insert(ApiError::invalid_data(format!(
                "{} IS TOO LONG",
                name.to_uppercase()
            )));
            continue;
        };
        let refusal = match name.as_str() {
            "model" => {
                let known =
                    value.is_empty() || value == OPENAI_MODEL || speech::model(&value).is_some();
                model = Some(value);
                (!known).then(|| {
                    let names: Vec<&str> = speech::MODELS.iter().map(|m| m.name).collect();
                    ApiError::invalid_data(format!(
                        "MODEL MUST BE {} OR ONE OF: {}",
                        OPENAI_MODEL.to_uppercase(),
                        names.join(", ").to_uppercase()
                    ))
                })
            }
            "language" => {
                if task == Task::Transcribe {
                    language = Some(value);
                }
                None
            }
            "response_format" => match ResponseFormat::parse(&value) {
                Some(f) => {
                    format = f;
                    None
                }
                None => Some(ApiError::invalid_data(
                    "RESPONSE_FORMAT MUST BE JSON, TEXT, SRT, VERBOSE_JSON OR VTT",
                )),
            },
            "stream" => match value.to_ascii_lowercase().as_str() {
                "true" | "1" => {
                    stream = true;
                    None
                }
                "false" | "0" | "" => {
                    stream = false;
                    None
                }
                _ => Some(ApiError::invalid_data("STREAM MUST BE TRUE OR FALSE")),
            },
            // The two spellings of `timestamp_granularities[]`.
            _ => match value.to_ascii_lowercase().as_str() {
                "segment" => {
                    segments = true;
                    None
                }
                "word" => {
                    words = true;
                    None
                }
                _ => Some(ApiError::invalid_data(
                    "TIMESTAMP_GRANULARITIES[] MUST BE SEGMENT OR WORD",
                )),
            },
        };
        if let Some(refusal) = refusal {
            field_error.get_or_insert(refusal);
        }
    }

    // Precedence, as for `POST /api/smelts`: the file count, then the file, then the fields.
    if files > 1 {
        return Err(ApiError::bad_request(
            "too_many_files",
            "ONE FILE PER REQUEST",
        ));
    }
    if let Some(e) = file_error.or(field_error) {
        return Err(e);
    }
    if stored.is_empty() {
        return Err(ApiError::bad_request(
            "no_input",
            "NOTHING TO TRANSCRIBE. SEND THE AUDIO AS THE FILE PART",
        ));
    }
    let verbose = format == ResponseFormat::VerboseJson;
    let answer = Answer {
        task,
        format,
        // OpenAI lists the segments unless only words were asked for.
        segments: segments || !words,
        words: verbose && words,
        stream,
        language: match language.as_deref().and_then(LanguageChoice::parse) {
            Some(LanguageChoice::Code(code)) => Some(code),
            _ => None,
        },
    };
    let form = CreateForm {
        files: stored,
        text: None,
        url: None,
        mode: SmeltMode::Separate,
        // Only the transcript: no notes.
        prompt_names: Vec::new(),
        user_prompt_id: None,
        // Word timings cost time: only when the answer lists words.
        word_timestamps: answer.words,
        // `whisper-1` (or none) takes the server's default model.
        model: model.filter(|m| !m.is_empty() && m != OPENAI_MODEL),
        language,
        task: Some(task.as_str().to_owned()),
        // The lane follows from the audio's length, as for any upload.
        priority: None,
    };
    Ok((form, answer))
}
