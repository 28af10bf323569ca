//! JSON shapes of the REST API and the realtime payloads (`spec/smelts-api.md` §3/§5,
//! `spec/realtime-progress.md` §3). Field names are the contract; do not rename them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{ErrorCode, FileStatus, InputType, PromptName, SmeltMode, SmeltStatus};

/// One file of a smelt (`SmeltFileDTO`). `duration_seconds` is known once decoded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct SmeltFileDto {
    pub id: Uuid,
    pub filename: String,
    /// Size of the upload (or of the pasted text), in bytes.
    pub size_bytes: i64,
    /// Audio duration in seconds; `null` for text and before decoding.
    #[schema(required = true)]
    pub duration_seconds: Option<f64>,
    pub input_type: InputType,
    pub status: FileStatus,
    /// 0-based order of the file within its smelt.
    pub position: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

/// Overall progress (`SmeltProgressDTO`), plus an optional estimate of the seconds left.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ProgressDto {
    /// 0–100, never decreasing over a smelt's life.
    #[schema(maximum = 100)]
    pub percentage: u8,
    pub stage: SmeltStatus,
    pub message: String,
    /// Estimated seconds until completion, when the worker can estimate it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<u32>,
}

/// One result document (`SmeltResultDTO`). `file_id` is null for a combined result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ResultDto {
    #[schema(required = true)]
    pub file_id: Option<Uuid>,
    pub filename: String,
    /// Markdown.
    pub content: String,
    /// Where the document can be downloaded as a `.md` file, for a limited time
    /// (`SMELT_DOWNLOAD_URL_TTL_SECS`). Only in `GET /api/smelts/{id}` answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

/// `GET /api/smelts/{id}` and the realtime `snapshot` payload: one struct for the three shapes
/// of §5 — `progress` while processing, `results` when completed, `error_code` and
/// `error_message` when failed; absent fields are omitted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct SmeltDto {
    pub id: Uuid,
    pub status: SmeltStatus,
    pub mode: SmeltMode,
    pub files: Vec<SmeltFileDto>,
    pub default_prompt_names: Vec<PromptName>,
    #[schema(required = true)]
    pub user_prompt_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<ProgressDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<ResultDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub completed_at: Option<DateTime<Utc>>,
}

/// `POST /api/smelts` 201 body (`SmeltCreateResponseDTO`) plus how to subscribe.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SmeltCreatedDto {
    pub id: Uuid,
    pub status: SmeltStatus,
    pub mode: SmeltMode,
    pub files: Vec<SmeltFileDto>,
    pub default_prompt_names: Vec<PromptName>,
    #[schema(required = true)]
    pub user_prompt_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// `smelt:{id}`.
    pub subscription_channel: String,
    /// Path of this smelt's WebSocket: `/api/smelts/{id}/ws` (pass `?token=`).
    pub subscription_url: String,
    /// Signed token that lets its holder subscribe to this one smelt.
    pub subscription_token: String,
}

/// One row of `GET /api/smelts` (`SmeltListItemDTO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct SmeltListItemDto {
    pub id: Uuid,
    pub status: SmeltStatus,
    pub mode: SmeltMode,
    pub file_count: i64,
    pub default_prompt_names: Vec<PromptName>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub completed_at: Option<DateTime<Utc>>,
}

/// Page information of a list (`PaginationDTO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct PaginationDto {
    pub page: u32,
    pub limit: u32,
    pub total: i64,
    pub total_pages: i64,
}

/// `GET /api/smelts` body (`SmeltsListDTO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct SmeltsListDto {
    pub smelts: Vec<SmeltListItemDto>,
    pub pagination: PaginationDto,
}

/// Progress of one file inside a progress event (`SmeltFileProgressDTO`); `progress` is 0–100.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct FileProgressDto {
    pub id: Uuid,
    pub status: FileStatus,
    #[schema(maximum = 100)]
    pub progress: u8,
}

/// `progress` event payload (`SmeltProgressEventPayloadDTO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ProgressPayload {
    pub smelt_id: Uuid,
    pub status: SmeltStatus,
    pub progress: ProgressDto,
    pub files: Vec<FileProgressDto>,
}

/// `completed` event payload (`SmeltCompletedEventPayloadDTO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CompletedPayload {
    pub smelt_id: Uuid,
    pub status: SmeltStatus,
    pub results: Vec<ResultDto>,
}

/// `failed` event payload (`SmeltFailedEventPayloadDTO`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct FailedPayload {
    pub smelt_id: Uuid,
    pub status: SmeltStatus,
    pub error_code: ErrorCode,
    pub error_message: String,
}
