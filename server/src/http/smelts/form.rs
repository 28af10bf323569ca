//! Reading the create request's multipart body (`docs/api.md#post-apismelts--create`, with the
//! limits of `docs/api.md#credits-and-limits`): its fields here, its audio files through
//! [`crate::http::upload`], which stores and measures them as they stream in. A recording's
//! link (`url`) is only read here; [`super::link`] checks it.

use axum::extract::Multipart;
use smelt_core::blob::BlobStore;
use smelt_core::domain::{PromptName, SmeltMode, MAX_TEXT_CHARS};
use smelt_core::limits::Limits;
use uuid::Uuid;

use super::link::{self, MAX_URL_BYTES};
use crate::http::error::ApiError;
use crate::http::upload::{
    self, drain, multipart_error, read_small, StoredUpload, MAX_SMALL_FIELD_BYTES,
};

/// Longest text field accepted, in bytes: 50,000 characters of up to 4 bytes each.
const MAX_TEXT_BYTES: usize = MAX_TEXT_CHARS * 4;

/// The parsed form. Cross-field rules (no input, mixed input, mode, anonymous limits) are
/// checked by the caller, which knows who is asking.
#[derive(Debug)]
pub struct CreateForm {
    pub files: Vec<StoredUpload>,
    /// Pasted text, `None` when absent or only whitespace.
    pub text: Option<String>,
    /// The link of a recording to download instead of an upload, as sent (trimmed); `None`
    /// when absent or empty.
    pub url: Option<String>,
    pub mode: SmeltMode,
    pub prompt_names: Vec<PromptName>,
    pub user_prompt_id: Option<Uuid>,
    /// Word-level timestamps asked for.
    pub word_timestamps: bool,
    /// `model`, `language` and `task` as sent (checked together by
    /// [`smelt_core::domain::speech::SpeechChoice::parse`]).
    pub model: Option<String>,
    pub language: Option<String>,
    pub task: Option<String>,
    /// `priority` as sent (checked with the caller by
    /// [`smelt_core::domain::Priority::parse`]).
    pub priority: Option<String>,
}

/// Reads the whole form, storing audio parts under `uploads/{smelt_id}/...` within `limits`.
/// On an error, what was stored stays until the caller discards it ([`upload::discard`]).
pub async fn read(
    mut multipart: Multipart,
    smelt_id: Uuid,
    blobs: &dyn BlobStore,
    limits: &Limits,
) -> Result<CreateForm, ApiError> {
    let mut stored = Vec::new();
    let mut form = read_parts(&mut multipart, smelt_id, blobs, limits, &mut stored).await?;
    form.files = stored;
    Ok(form)
}

async fn read_parts(
    multipart: &mut Multipart,
    smelt_id: Uuid,
    blobs: &dyn BlobStore,
    limits: &Limits,
    stored: &mut Vec<StoredUpload>,
) -> Result<CreateForm, ApiError> {
    let mut file_count = 0usize;
    let mut file_error: Option<ApiError> = None;
    let mut field_error: Option<ApiError> = None;
    let mut text = None;
    let mut url: Option<String> = None;
    let mut mode = None;
    let mut prompt_names = Vec::new();
    let mut user_prompt_id = None;
    let mut word_timestamps = false;
    let (mut model, mut language, mut task, mut priority) = (None, None, None, None);

    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "files[]" | "files" => {
                let nameless = field.file_name().unwrap_or_default().is_empty();
                if nameless {
                    // Browsers send an empty, nameless part for a file input left blank.
                    if drain(&mut field).await? == 0 {
                        continue;
                    }
                }
                file_count += 1;
                if file_count > limits.max_files || file_error.is_some() {
                    drain(&mut field).await?;
                    continue;
                }
                if let Some(refusal) =
                    upload::receive(&mut field, smelt_id, blobs, limits, stored).await?
                {
                    file_error = Some(refusal);
                }
            }
            "text" => match read_small(&mut field, MAX_TEXT_BYTES).await? {
                Some(value) if value.chars().count() > MAX_TEXT_CHARS => {
                    field_error.get_or_insert(text_too_long());
                }
                None => {
                    field_error.get_or_insert(text_too_long());
                }
                Some(value) => text = Some(value),
            },
            "url" => match read_small(&mut field, MAX_URL_BYTES).await? {
                // A form's link field left blank.
                Some(value) if value.trim().is_empty() => {}
                Some(_) if url.is_some() => {
                    field_error.get_or_insert(link::one_link_only());
                }
                Some(value) => url = Some(value.trim().to_owned()),
                // Longer than any link we fetch, or not text.
                None => {
                    field_error.get_or_insert(link::not_allowed());
                }
            },
            "mode" => match read_small(&mut field, MAX_SMALL_FIELD_BYTES).await? {
                Some(value) => match value.trim().parse::<SmeltMode>() {
                    Ok(m) => mode = Some(m),
                    Err(_) => {
                        field_error.get_or_insert(ApiError::invalid_data(
                            "INVALID MODE. USE SEPARATE OR COMBINE",
                        ));
                    }
                },
                None => {
                    field_error.get_or_insert(ApiError::invalid_data(
                        "INVALID MODE. USE SEPARATE OR COMBINE",
                    ));
                }
            },
            "default_prompt_names[]" | "default_prompt_names" => {
                let value = read_small(&mut field, MAX_SMALL_FIELD_BYTES)
                    .await?
                    .unwrap_or_default();
                match value.trim().parse::<PromptName>() {
                    Ok(p) if !prompt_names.contains(&p) => prompt_names.push(p),
                    Ok(_) => {}
                    Err(_) => {
                        field_error.get_or_insert(ApiError::invalid_data(format!(
                            "UNKNOWN PROMPT: {}",
                            value.trim().chars().take(40).collect::<String>()
                        )));
                    }
                }
            }
            "word_timestamps" => {
                let value = read_small(&mut field, MAX_SMALL_FIELD_BYTES)
                    .await?
                    .unwrap_or_default();
                match value.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "on" => word_timestamps = true,
                    "false" | "0" | "off" | "" => word_timestamps = false,
                    _ => {
                        field_error.get_or_insert(ApiError::invalid_data(
                            "INVALID WORD_TIMESTAMPS. USE TRUE OR FALSE",
                        ));
                    }
                }
            }
            "model" | "language" | "task" | "priority" => {
                let value = read_small(&mut field, MAX_SMALL_FIELD_BYTES)
                    .await?
                    .unwrap_or_default();
                let slot = match name.as_str() {
                    "model" => &mut model,
                    "language" => &mut language,
                    "task" => &mut task,
                    _ => &mut priority,
                };
                *slot = Some(value.trim().to_owned());
            }
            "user_prompt_id" => {
                let value = read_small(&mut field, MAX_SMALL_FIELD_BYTES)
                    .await?
                    .unwrap_or_default();
                let value = value.trim();
                if !value.is_empty() {
                    match value.parse::<Uuid>() {
                        Ok(id) => user_prompt_id = Some(id),
                        Err(_) => {
                            field_error.get_or_insert(ApiError::invalid_data("INVALID PROMPT ID"));
                        }
                    }
                }
            }
            _ => {
                drain(&mut field).await?;
                field_error.get_or_insert(ApiError::invalid_data(format!(
                    "UNKNOWN FIELD: {}",
                    name.chars().take(40).collect::<String>()
                )));
            }
        }
    }

    // Precedence: file count, then each file, then the fields.
    if file_count > limits.max_files {
        return Err(ApiError::bad_request(
            "too_many_files",
            limits.too_many_files_message(),
        ));
    }
    if let Some(e) = file_error.or(field_error) {
        return Err(e);
    }
    Ok(CreateForm {
        files: Vec::new(),
        text: text.filter(|t: &String| !t.trim().is_empty()),
        url,
        mode: mode.unwrap_or(SmeltMode::Separate),
        prompt_names,
        user_prompt_id,
        word_timestamps,
        model,
        language,
        task,
        priority,
    })
}

fn text_too_long() -> ApiError {
    ApiError::invalid_data("TOO MUCH TEXT. MAX 50,000 CHARACTERS")
}
