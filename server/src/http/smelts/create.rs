//! `POST /api/smelts`: validate, store uploads, then write the smelt, its files and its job in
//! one transaction and answer 201 at once — no processing happens in the request.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::Json;
use std::future::Future;
use std::net::IpAddr;

use smelt_core::credits::{weekly_limit_message, DAILY_LIMIT_MESSAGE};
use smelt_core::crypto::hmac_hex;
use smelt_core::db::credits::{self, Charge, Refusal};
use smelt_core::db::smelts::{self, NewFile, NewSmelt};
use smelt_core::domain::speech::{self, SpeechChoice};
use smelt_core::domain::{channel_name, InputType, Lane, Priority, SmeltMode};
use smelt_core::dto::SmeltCreatedDto;
use smelt_core::lifecycle;
use smelt_core::tokens::Creator;
use uuid::Uuid;

use super::form::{self, CreateForm};
use super::link::Link;
use super::schema::CreateSmeltForm;
use crate::auth::{Caller, MaybeCaller};
use crate::http::error::{ApiError, ApiErrorBody};
use crate::http::upload;
use crate::limits::{Action, ClientIp};
use crate::state::AppState;
use smelt_core::domain::Scope;

/// Handler of `POST /api/smelts`. Errors: those of `docs/api.md#post-apismelts--create`
/// (400/401/403/404), and 400 `invalid_multipart` / 413 `payload_too_large` for bodies that are
/// not a usable form.
#[utoipa::path(
    post,
    path = "/smelts",
    operation_id = "create_smelt",
    summary = "Create a smelt from audio files, a link to a recording, or text",
    tag = "smelts",
    security((), ("bearer" = [])),
    request_body(content = CreateSmeltForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Created and queued; follow it at `subscription_url` with `subscription_token`", body = SmeltCreatedDto),
        (status = 400, description = "`no_input`, `mixed_input`, `too_many_files`, `file_too_large`, `invalid_format`, `duration_exceeded` (measured on upload), `corrupted_file` (not readable audio), `url_not_allowed` (a link that is not `https` to a public address, and not listed), `combine_requires_auth`, `combine_requires_multiple`, `invalid_data` or `invalid_multipart`", body = ApiErrorBody),
        (status = 401, description = "`unauthorized`: an invalid access token, or a feature anonymous users cannot use (several files, a custom prompt)", body = ApiErrorBody),
        (status = 403, description = "`daily_limit` (anonymous) or `weekly_limit` (signed in): no credit left; answered before the body is read", body = ApiErrorBody),
        (status = 404, description = "`prompt_not_found`: `user_prompt_id` is not the user's", body = ApiErrorBody),
        (status = 413, description = "`payload_too_large`: the body exceeds five maximal files", body = ApiErrorBody),
        (status = 408, description = "`upload_timeout`: the upload took longer than `SMELT_UPLOAD_DEADLINE_SECS`; nothing was stored", body = ApiErrorBody),
        (status = 429, description = "`rate_limited` (requests, or more uploads at once from one address than `SMELT_MAX_UPLOADS_PER_ADDRESS`); see `Retry-After`", body = ApiErrorBody)
    )
)]
pub async fn create(
    State(state): State<AppState>,
    MaybeCaller(user): MaybeCaller,
    ClientIp(ip): ClientIp,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<SmeltCreatedDto>), ApiError> {
    if let Some(caller) = &user {
        caller.require(Scope::SmeltsWrite)?;
    }
    // Refuse floods before reading any of the body.
    state
        .rate_limits
        .check(Action::CreateSmelt, ip, user.map(|u| u.user_id))?;
    let multipart = multipart.map_err(|_| {
        ApiError::bad_request("invalid_multipart", "EXPECTED A multipart/form-data BODY")
    })?;
    let (blobs, limits) = (state.blobs.clone(), state.limits);
    let (created, ()) = create_from(&state, user, ip, move |smelt_id| async move {
        let form = form::read(multipart, smelt_id, blobs.as_ref(), &limits).await?;
        Ok::<_, ApiError>((form, ()))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Creates a smelt from an upload, as `POST /api/smelts` does, once the caller has checked the
/// token's scope, the rate limit and that the body is multipart: refuses a client without
/// credit before reading the body (403 `daily_limit` / `weekly_limit`) and one sending more
/// uploads at once than allowed (429), gives `read` the new smelt's id to read the body with
/// (within `SMELT_UPLOAD_DEADLINE_SECS`, else 408 `upload_timeout`), then checks, charges and
/// queues the smelt ([`insert`]). `read` returns the form and whatever else its route reads
/// from the body (`X`), handed back with the 201 body. Whatever fails, nothing it stored
/// stays.
pub(crate) async fn create_from<X, F, Fut>(
    state: &AppState,
    user: Option<Caller>,
    ip: IpAddr,
    read: F,
) -> Result<(SmeltCreatedDto, X), ApiError>
where
    F: FnOnce(Uuid) -> Fut,
    Fut: Future<Output = Result<(CreateForm, X), ApiError>>,
{
    // Refuse for credits before reading the body: a client out of credits learns it at once
    // instead of after uploading. This only looks; the reservation in `insert` decides.
    if let Some(refusal) = precheck(state, user.map(|u| u.user_id), ip).await? {
        return Err(refused(refusal, user.is_some()));
    }
    let http = &state.settings.http;
    let Some(_receiving) = state.uploads.admit(ip, http.max_uploads_per_address) else {
        metrics::counter!(smelt_core::metrics::RATE_LIMITED, "limit" => "uploads").increment(1);
        return Err(ApiError::RateLimited {
            retry_after_secs: 5,
        });
    };
    let smelt_id = Uuid::now_v7();
    crate::http::record_smelt(smelt_id);
    let deadline = std::time::Duration::from_secs(http.upload_deadline_secs.max(1));
    let (form, extra) = match tokio::time::timeout(deadline, read(smelt_id)).await {
        Ok(Ok(read)) => read,
        Ok(Err(e)) => {
            upload::discard(state.blobs.as_ref(), smelt_id).await;
            return Err(e);
        }
        Err(_) => {
            // The read was dropped mid-part: whatever it had stored goes.
            upload::discard(state.blobs.as_ref(), smelt_id).await;
            return Err(ApiError::client(
                StatusCode::REQUEST_TIMEOUT,
                "upload_timeout",
                "UPLOAD TOO SLOW. TRY AGAIN ON A FASTER CONNECTION",
            ));
        }
    };
    let user_id = user.map(|u| u.user_id);
    let creator = user.map(|u| u.creator()).unwrap_or_default();
    match insert(state, smelt_id, (user_id, creator), ip, &form).await {
        Ok(created) => Ok((created, extra)),
        Err(e) => {
            upload::discard(state.blobs.as_ref(), smelt_id).await;
            Err(e)
        }
    }
}

/// The total audio duration of `files` in seconds, when every one was measured on upload.
fn total_duration(files: &[NewFile]) -> Option<f64> {
    files.iter().map(|f| f.duration_seconds).sum()
}

/// The refusal the credit reservation would give now, read without locking anything.
async fn precheck(
    state: &AppState,
    user_id: Option<Uuid>,
    ip: IpAddr,
) -> Result<Option<Refusal>, ApiError> {
    let now = state.clock.now();
    let limits = &state.limits;
    Ok(match user_id {
        Some(user_id) => {
            credits::precheck_user(&state.pool, user_id, now, limits.weekly_credits).await?
        }
        None => {
            let ip_hash = hmac_hex(&state.ip_hash_secret, ip.to_string().as_bytes());
            credits::precheck_anonymous(&state.pool, &ip_hash, now, limits.anonymous_daily).await?
        }
    })
}

/// The 403 of a credit refusal (`docs/api.md#credits-and-limits`), counted by account kind.
fn refused(refusal: Refusal, signed_in: bool) -> ApiError {
    let account = if signed_in { "user" } else { "anonymous" };
    metrics::counter!(smelt_core::metrics::CREDIT_REFUSALS, "account" => account).increment(1);
    match refusal {
        Refusal::DailyLimit => {
            ApiError::client(StatusCode::FORBIDDEN, "daily_limit", DAILY_LIMIT_MESSAGE)
        }
        Refusal::WeeklyLimit { used, max, days } => ApiError::client(
            StatusCode::FORBIDDEN,
            "weekly_limit",
            weekly_limit_message(used, max, days),
        ),
    }
}

/// The cross-field rules of the create request, in the order of `docs/api.md#error-codes`.
fn check_rules(form: &CreateForm, user_id: Option<Uuid>) -> Result<(), ApiError> {
    let has_files = !form.files.is_empty();
    let has_text = form.text.is_some();
    let has_link = form.url.is_some();
    if !has_files && !has_text && !has_link {
        return Err(ApiError::bad_request(
            "no_input",
            "NOTHING TO PROCESS. UPLOAD A FILE OR ENTER TEXT",
        ));
    }
    if has_link && (has_files || has_text) {
        return Err(ApiError::bad_request(
            "mixed_input",
            "CHOOSE ONE: FILES, A LINK OR TEXT",
        ));
    }
    if has_files && has_text {
        return Err(ApiError::bad_request(
            "mixed_input",
            "CHOOSE EITHER FILES OR TEXT, NOT BOTH",
        ));
    }
    if form.mode == SmeltMode::Combine {
        if user_id.is_none() {
            return Err(ApiError::bad_request(
                "combine_requires_auth",
                "COMBINE MODE REQUIRES LOGIN",
            ));
        }
        if form.files.len() < 2 {
            return Err(ApiError::bad_request(
                "combine_requires_multiple",
                "COMBINE MODE NEEDS 2+ FILES",
            ));
        }
    }
    if user_id.is_none() && (form.files.len() > 1 || form.user_prompt_id.is_some()) {
        return Err(ApiError::feature_requires_login());
    }
    Ok(())
}

/// Checks, charges and queues the smelt of `user_id` (created by `creator`).
async fn insert(
    state: &AppState,
    smelt_id: Uuid,
    (user_id, creator): (Option<Uuid>, Creator),
    ip: IpAddr,
    form: &CreateForm,
) -> Result<SmeltCreatedDto, ApiError> {
    check_rules(form, user_id)?;
    // A link is checked before anything is charged or queued; the worker checks it again when
    // it downloads the recording.
    let link = match &form.url {
        Some(url) => Some(Link::check(&state.ingest_guard, url).await?),
        None => None,
    };
    let default_model = speech::model(&state.settings.http.default_model)
        .expect("SMELT_DEFAULT_MODEL is checked at start-up");
    let choice = SpeechChoice::parse(
        form.model.as_deref(),
        form.language.as_deref(),
        form.task.as_deref(),
        default_model,
    )
    .map_err(|e| ApiError::invalid_data(e.to_string().to_uppercase()))?;
    let priority = Priority::parse(form.priority.as_deref(), creator.key_id.is_some())
        .map_err(|e| ApiError::invalid_data(e.to_string().to_uppercase()))?;
    let input_type = if form.text.is_some() {
        InputType::Text
    } else {
        InputType::Audio
    };
    let files: Vec<NewFile> = match (&form.text, &link) {
        (None, Some(link)) => vec![link.file()],
        (Some(text), _) => vec![NewFile::pasted_text(text)],
        (None, None) => form
            .files
            .iter()
            .zip(0..)
            .map(|(f, position)| NewFile {
                smelt_file_id: f.file_id,
                position,
                filename: f.filename.clone(),
                size_bytes: f.size_bytes as i64,
                content_type: f.content_type.clone(),
                input_type,
                storage_key: Some(f.storage_key.clone()),
                duration_seconds: f.duration_seconds,
                source_url: None,
            })
            .collect(),
    };
    let mut new_smelt = NewSmelt {
        smelt_id,
        user_id,
        mode: form.mode,
        input_type,
        default_prompt_names: form.prompt_names.clone(),
        user_prompt_id: form.user_prompt_id,
        input_text: form.text.clone(),
        charge: Charge::Free,
        word_timestamps: form.word_timestamps,
        model: choice.model.name,
        language: choice.language.as_str(),
        task: choice.task,
        lane: Lane::for_smelt(
            input_type,
            total_duration(&files),
            priority,
            state.settings.http.fast_lane_seconds,
        ),
    };

    let mut tx = state.pool.begin().await?;
    // The check and the reservation happen under row locks in this transaction, so
    // concurrent requests queue and none can spend a credit that is not there.
    let now = state.clock.now();
    let limits = &state.limits;
    let reservation = match user_id {
        Some(owner) => credits::reserve_user(&mut tx, owner, now, limits.weekly_credits).await?,
        None => {
            let ip_hash = hmac_hex(&state.ip_hash_secret, ip.to_string().as_bytes());
            credits::reserve_anonymous(&mut tx, &ip_hash, now, limits.anonymous_daily).await?
        }
    };
    new_smelt.charge = reservation.map_err(|refusal| refused(refusal, user_id.is_some()))?;
    if let (Some(prompt_id), Some(owner)) = (form.user_prompt_id, user_id) {
        if !smelts::prompt_belongs_to(&mut *tx, prompt_id, owner).await? {
            return Err(ApiError::client(
                StatusCode::NOT_FOUND,
                "prompt_not_found",
                "PROMPT NOT FOUND",
            ));
        }
    }
    let smelt = lifecycle::create(tx, &state.queue, &new_smelt, &files).await?;

    let token = state.tokens.sign_subscription(
        smelt_id,
        state.settings.realtime.subscription_token_ttl_secs,
        creator,
    );
    tracing::info!(%smelt_id, files = smelt.files.len(), "smelt created");
    Ok(SmeltCreatedDto {
        id: smelt_id,
        status: smelt.row.status,
        mode: form.mode,
        lane: smelt.row.lane,
        files: smelt.files.iter().map(|f| f.to_dto()).collect(),
        default_prompt_names: form.prompt_names.clone(),
        user_prompt_id: form.user_prompt_id,
        created_at: smelt.row.created_at,
        subscription_channel: channel_name(smelt_id),
        subscription_url: format!("/api/smelts/{smelt_id}/ws"),
        subscription_token: token,
    })
}
