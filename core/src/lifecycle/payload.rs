//! The payload of every event a smelt emits, each built here and only here (and encoded once,
//! as [`NewEvent`]s).

use uuid::Uuid;

use crate::domain::{ErrorCode, SmeltStatus};
use crate::dto::{
    CompletedPayload, FailedPayload, FileProgressDto, ProgressDto, ProgressPayload, ResultDto,
    SegmentDto, SegmentPayload,
};
use crate::events::{EventKind, NewEvent};

/// A `progress` event: the stage (`progress.stage`, also the smelt's `status`), the overall
/// percentage and message, and each file's progress.
pub(crate) fn progress(
    smelt_id: Uuid,
    progress: ProgressDto,
    files: Vec<FileProgressDto>,
) -> NewEvent {
    NewEvent::new(
        EventKind::Progress,
        &ProgressPayload {
            smelt_id,
            status: progress.stage,
            progress,
            files,
        },
    )
}

/// A `segment` event: one finished piece of a file's transcript.
pub(crate) fn segment(smelt_id: Uuid, segment: &SegmentDto) -> NewEvent {
    NewEvent::new(
        EventKind::Segment,
        &SegmentPayload {
            smelt_id,
            segment: segment.clone(),
        },
    )
}

/// The `completed` event, with every result.
pub(crate) fn completed(smelt_id: Uuid, results: Vec<ResultDto>) -> NewEvent {
    NewEvent::new(
        EventKind::Completed,
        &CompletedPayload {
            smelt_id,
            status: SmeltStatus::Completed,
            results,
        },
    )
}

/// The `failed` event: the code and message, the prompt that failed (if any) and the results
/// kept despite the failure.
pub(crate) fn failed(
    smelt_id: Uuid,
    code: ErrorCode,
    message: &str,
    failed_prompt: Option<&str>,
    results: Vec<ResultDto>,
) -> NewEvent {
    NewEvent::new(
        EventKind::Failed,
        &FailedPayload {
            smelt_id,
            status: SmeltStatus::Failed,
            error_code: code,
            error_message: message.to_owned(),
            failed_prompt: failed_prompt.map(str::to_owned),
            results,
            credit_refunded: None,
        },
    )
}

/// The `cancelled` event (the `failed` payload with `error_code` `cancelled`): whether the
/// credit came back, and the results kept (what was made before the cancellation).
pub(crate) fn cancelled(
    smelt_id: Uuid,
    credit_refunded: bool,
    results: Vec<ResultDto>,
) -> NewEvent {
    NewEvent::new(
        EventKind::Cancelled,
        &FailedPayload {
            smelt_id,
            status: SmeltStatus::Cancelled,
            error_code: ErrorCode::Cancelled,
            error_message: ErrorCode::Cancelled.message(None),
            failed_prompt: None,
            results,
            credit_refunded: Some(credit_refunded),
        },
    )
}
