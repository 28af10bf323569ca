//! Queries on `smelt`, `smelt_file` and `smelt_result`.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use crate::db::credits::Charge;
use crate::domain::speech::Task;
use crate::domain::{
    CreditSource, ErrorCode, FileStatus, InputType, Lane, PromptName, ResultKind, SmeltMode,
    SmeltStatus,
};
use crate::dto::{
    LanguageDto, PaginationDto, ProgressDto, ResultDto, SegmentDto, SmeltDto, SmeltFileDto,
    SmeltListItemDto, SmeltsListDto,
};

/// A smelt to insert (the create path).
#[derive(Debug, Clone)]
pub struct NewSmelt {
    pub smelt_id: Uuid,
    pub user_id: Option<Uuid>,
    pub mode: SmeltMode,
    pub input_type: InputType,
    pub default_prompt_names: Vec<PromptName>,
    pub user_prompt_id: Option<Uuid>,
    /// Pasted text, for text smelts.
    pub input_text: Option<String>,
    /// What the smelt was charged (refunded if it fails).
    pub charge: Charge,
    /// Word-level timings asked for.
    pub word_timestamps: bool,
    /// The Whisper model's name (see [`crate::domain::speech::MODELS`]).
    pub model: &'static str,
    /// `auto` or a language code.
    pub language: &'static str,
    pub task: Task,
    /// The queue lane it waits in.
    pub lane: Lane,
}

/// A file row to insert with its smelt.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub smelt_file_id: Uuid,
    pub position: i32,
    pub filename: String,
    pub size_bytes: i64,
    pub content_type: Option<String>,
    pub input_type: InputType,
    /// Blob store key of the upload; `None` for text.
    pub storage_key: Option<String>,
    /// Audio duration measured on upload, in seconds.
    pub duration_seconds: Option<f64>,
    /// The link of a recording the worker downloads (`storage_key` is then `None`).
    pub source_url: Option<String>,
}

/// Filename shown for pasted text.
pub const PASTED_TEXT_FILENAME: &str = "pasted-text.txt";

impl NewFile {
    /// The one file of a smelt made from pasted `text` (a new id, position 0, `text/plain`,
    /// its size in bytes, nothing stored).
    pub fn pasted_text(text: &str) -> Self {
        NewFile {
            smelt_file_id: Uuid::now_v7(),
            position: 0,
            filename: PASTED_TEXT_FILENAME.to_owned(),
            size_bytes: text.len() as i64,
            content_type: Some("text/plain".to_owned()),
            input_type: InputType::Text,
            storage_key: None,
            duration_seconds: None,
            source_url: None,
        }
    }
}

/// A `smelt` row.
#[derive(Debug, Clone, FromRow)]
pub struct SmeltRow {
    pub smelt_id: Uuid,
    pub user_id: Option<Uuid>,
    pub status: SmeltStatus,
    pub mode: SmeltMode,
    pub input_type: InputType,
    pub default_prompt_names: Vec<PromptName>,
    pub user_prompt_id: Option<Uuid>,
    pub input_text: Option<String>,
    pub progress_percentage: i16,
    pub progress_message: String,
    pub error_code: Option<ErrorCode>,
    pub error_message: Option<String>,
    pub last_seq: i64,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Word-level timings were asked for.
    pub word_timestamps: bool,
    /// The prompt whose notes failed, when the failure came from synthesis.
    pub failed_prompt: Option<String>,
    /// Who pays for it (`None`: nobody recorded, the operator's own smelts).
    pub credit_source: Option<CreditSource>,
    /// The Whisper model asked for.
    pub model: String,
    /// The language asked for: `auto` or a code.
    pub language: String,
    pub task: Task,
    /// The queue lane it waits (or waited) in.
    pub lane: Lane,
}

/// A `smelt_file` row (also read as JSON, by [`snapshot`]).
#[derive(Debug, Clone, FromRow, serde::Deserialize)]
pub struct FileRow {
    pub smelt_file_id: Uuid,
    pub position: i32,
    pub filename: String,
    pub size_bytes: i64,
    pub content_type: Option<String>,
    pub input_type: InputType,
    pub storage_key: Option<String>,
    pub duration_seconds: Option<f64>,
    pub status: FileStatus,
    pub error_code: Option<ErrorCode>,
    /// How far transcription has got, in ms of the file's audio.
    pub transcribed_ms: i32,
    /// When transcription of the file finished (its segments are all stored).
    pub transcribed_at: Option<DateTime<Utc>>,
    /// The language of its speech, once transcription began.
    pub language: Option<String>,
    /// The model's probability for `language`, when it was detected.
    pub language_probability: Option<f32>,
    /// The link the recording was given by; it is downloaded while `storage_key` is `None`.
    pub source_url: Option<String>,
}

impl FileRow {
    /// The file as the API shows it.
    pub fn to_dto(&self) -> SmeltFileDto {
        SmeltFileDto {
            id: self.smelt_file_id,
            filename: self.filename.clone(),
            size_bytes: self.size_bytes,
            duration_seconds: self.duration_seconds,
            input_type: self.input_type,
            status: self.status,
            position: self.position,
            error_code: self.error_code,
            language: self.language_dto(),
        }
    }

    /// Its language as the API shows it, once known.
    pub fn language_dto(&self) -> Option<LanguageDto> {
        self.language.as_ref().map(|code| LanguageDto {
            code: code.clone(),
            probability: self.language_probability,
        })
    }
}

/// A smelt with its files in position order.
#[derive(Debug, Clone)]
pub struct Smelt {
    pub row: SmeltRow,
    pub files: Vec<FileRow>,
}

const SMELT_COLUMNS: &str = "smelt_id, user_id, status, mode, input_type, default_prompt_names, \
    user_prompt_id, input_text, progress_percentage, progress_message, error_code, error_message, \
    last_seq, created_at, completed_at, word_timestamps, failed_prompt, credit_source, model, \
    language, task, lane";

const FILE_COLUMNS: &str = "smelt_file_id, position, filename, size_bytes, content_type, \
    input_type, storage_key, duration_seconds, status, error_code, transcribed_ms, transcribed_at, \
    language, language_probability, source_url";

/// Inserts a smelt, `pending`, and its files (inside the caller's transaction; the lifecycle
/// queues its job in the same one). Returns the row as stored.
pub(crate) async fn insert(
    conn: &mut PgConnection,
    smelt: &NewSmelt,
    files: &[NewFile],
) -> Result<Smelt, sqlx::Error> {
    let row: SmeltRow = sqlx::query_as(&format!(
        "insert into smelt (smelt_id, user_id, status, mode, input_type, default_prompt_names,
                            user_prompt_id, input_text, credit_source, anon_ip_hash, anon_usage_date,
                            word_timestamps, model, language, task, lane)
         values ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         returning {SMELT_COLUMNS}"
    ))
    .bind(smelt.smelt_id)
    .bind(smelt.user_id)
    .bind(smelt.mode)
    .bind(smelt.input_type)
    .bind(&smelt.default_prompt_names)
    .bind(smelt.user_prompt_id)
    .bind(&smelt.input_text)
    .bind(smelt.charge.source())
    .bind(match &smelt.charge {
        Charge::Anonymous { ip_hash, .. } => Some(ip_hash.as_str()),
        _ => None,
    })
    .bind(match &smelt.charge {
        Charge::Anonymous { date, .. } => Some(*date),
        _ => None,
    })
    .bind(smelt.word_timestamps)
    .bind(smelt.model)
    .bind(smelt.language)
    .bind(smelt.task)
    .bind(smelt.lane)
    .fetch_one(&mut *conn)
    .await?;

    // One statement for all files (UNNEST of parallel arrays) instead of a round trip each.
    let ids: Vec<Uuid> = files.iter().map(|f| f.smelt_file_id).collect();
    let positions: Vec<i32> = files.iter().map(|f| f.position).collect();
    let filenames: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
    let sizes: Vec<i64> = files.iter().map(|f| f.size_bytes).collect();
    let types: Vec<Option<&str>> = files.iter().map(|f| f.content_type.as_deref()).collect();
    let inputs: Vec<InputType> = files.iter().map(|f| f.input_type).collect();
    let keys: Vec<Option<&str>> = files.iter().map(|f| f.storage_key.as_deref()).collect();
    let durations: Vec<Option<f64>> = files.iter().map(|f| f.duration_seconds).collect();
    let links: Vec<Option<&str>> = files.iter().map(|f| f.source_url.as_deref()).collect();
    let file_rows: Vec<FileRow> = sqlx::query_as(&format!(
        "insert into smelt_file (smelt_file_id, smelt_id, position, filename, size_bytes,
                                 content_type, input_type, storage_key, duration_seconds,
                                 source_url)
         select f.id, $1, f.position, f.filename, f.size, f.ctype, f.input, f.skey, f.duration,
                f.link
         from unnest($2::uuid[], $3::int[], $4::text[], $5::bigint[], $6::text[], $7::text[],
                     $8::text[], $9::float8[], $10::text[])
              as f(id, position, filename, size, ctype, input, skey, duration, link)
         returning {FILE_COLUMNS}"
    ))
    .bind(smelt.smelt_id)
    .bind(&ids)
    .bind(&positions)
    .bind(&filenames)
    .bind(&sizes)
    .bind(&types)
    .bind(&inputs)
    .bind(&keys)
    .bind(&durations)
    .bind(&links)
    .fetch_all(&mut *conn)
    .await?;
    let mut files = file_rows;
    files.sort_by_key(|f| f.position);
    Ok(Smelt { row, files })
}

/// True when `user_prompt_id` exists and belongs to `user_id`.
pub async fn prompt_belongs_to<'e>(
    db: impl PgExecutor<'e>,
    user_prompt_id: Uuid,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select exists (select 1 from user_prompt where user_prompt_id = $1 and user_id = $2)",
    )
    .bind(user_prompt_id)
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// A smelt and its files, or `None` when it does not exist.
pub async fn fetch(conn: &mut PgConnection, smelt_id: Uuid) -> Result<Option<Smelt>, sqlx::Error> {
    let row: Option<SmeltRow> = sqlx::query_as(&format!(
        "select {SMELT_COLUMNS} from smelt where smelt_id = $1"
    ))
    .bind(smelt_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let files = sqlx::query_as(&format!(
        "select {FILE_COLUMNS} from smelt_file where smelt_id = $1 order by position"
    ))
    .bind(smelt_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(Smelt { row, files }))
}

/// The results of a smelt in position order.
pub async fn results<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
) -> Result<Vec<ResultDto>, sqlx::Error> {
    type Row = (
        Option<Uuid>,
        String,
        String,
        ResultKind,
        Option<String>,
        Option<String>,
        Option<f32>,
    );
    // A file's transcript carries the language of its speech.
    let rows: Vec<Row> = sqlx::query_as(
        "select r.smelt_file_id, r.filename, r.content, r.kind, r.prompt,
                case when r.kind = 'transcript' then f.language end,
                case when r.kind = 'transcript' then f.language_probability end
         from smelt_result r left join smelt_file f on f.smelt_file_id = r.smelt_file_id
         where r.smelt_id = $1 order by r.position",
    )
    .bind(smelt_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(file_id, filename, content, kind, prompt, language, probability)| ResultDto {
                file_id,
                filename,
                content,
                kind,
                prompt,
                download_url: None,
                language: language.map(|code| LanguageDto { code, probability }),
            },
        )
        .collect())
}

/// Keys of the stored result documents in position order (`None` where none was stored),
/// matching [`results`] one for one.
pub async fn result_keys<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
) -> Result<Vec<Option<String>>, sqlx::Error> {
    sqlx::query_scalar("select storage_key from smelt_result where smelt_id = $1 order by position")
        .bind(smelt_id)
        .fetch_all(db)
        .await
}

/// Deletes a smelt owned by `user_id` (files, results and events cascade); true when it
/// existed. The lifecycle cancels a running smelt first.
pub(crate) async fn delete_owned(
    pool: &PgPool,
    smelt_id: Uuid,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from smelt where smelt_id = $1 and user_id = $2")
        .bind(smelt_id)
        .bind(user_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

impl Smelt {
    /// The `GET /api/smelts/{id}` shape. `results` are shown for a completed smelt (and for a
    /// failed one that kept some); `segments` while an audio smelt is still running.
    pub fn to_dto(&self, results: Option<Vec<ResultDto>>, segments: Vec<SegmentDto>) -> SmeltDto {
        let status = self.row.status;
        let progress = (!status.is_terminal()).then(|| ProgressDto {
            percentage: self.row.progress_percentage.clamp(0, 100) as u8,
            stage: status,
            message: self.row.progress_message.clone(),
            eta_seconds: None,
            queue_position: None,
            estimated_wait_seconds: None,
        });
        let results = match status {
            SmeltStatus::Completed => Some(results.unwrap_or_default()),
            // What was made before a failure or a cancellation is kept.
            SmeltStatus::Failed | SmeltStatus::Cancelled => results.filter(|r| !r.is_empty()),
            _ => None,
        };
        SmeltDto {
            id: self.row.smelt_id,
            status,
            mode: self.row.mode,
            model: self.row.model.clone(),
            language: self.row.language.clone(),
            task: self.row.task,
            lane: self.row.lane,
            files: self.files.iter().map(FileRow::to_dto).collect(),
            default_prompt_names: self.row.default_prompt_names.clone(),
            user_prompt_id: self.row.user_prompt_id,
            progress,
            segments: if status.is_terminal() {
                Vec::new()
            } else {
                segments
            },
            results,
            error_code: self.row.error_code,
            error_message: self.row.error_message.clone(),
            failed_prompt: self.row.failed_prompt.clone(),
            created_at: self.row.created_at,
            completed_at: self.row.completed_at,
            credit_refunded: None,
        }
    }
}

/// A consistent view of a smelt for subscribers: its API shape, its owner and the seq of the
/// last event it reflects.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub dto: SmeltDto,
    pub user_id: Option<Uuid>,
    pub last_seq: i64,
}

/// The snapshot's row: the smelt's columns and, as JSON arrays beside them, its files, its
/// results (`None` unless it ended) and its segments (`None` unless it is a recording still
/// running).
#[derive(FromRow)]
struct SnapshotRow {
    #[sqlx(flatten)]
    row: SmeltRow,
    files: sqlx::types::Json<Vec<FileRow>>,
    results: Option<sqlx::types::Json<Vec<ResultDto>>>,
    segments: Option<sqlx::types::Json<Vec<SegmentDto>>>,
}

/// Reads a snapshot in one statement: the row, files, results, segments and `last_seq` all
/// describe the same moment (a statement sees one view of the database), and a subscriber's
/// snapshot costs one round trip. Results are read for a smelt that ended, segments for a
/// recording still running.
pub async fn snapshot(pool: &PgPool, smelt_id: Uuid) -> Result<Option<Snapshot>, sqlx::Error> {
    let terminal: Vec<&str> = SmeltStatus::ALL
        .iter()
        .filter(|s| s.is_terminal())
        .map(|s| s.as_str())
        .collect();
    let row: Option<SnapshotRow> = sqlx::query_as(&format!(
        "select {SMELT_COLUMNS},
            (select coalesce(jsonb_agg(to_jsonb(f) order by f.position), '[]'::jsonb)
             from (select {FILE_COLUMNS} from smelt_file where smelt_id = s.smelt_id) f) as files,
            case when s.status = any($2::text[]) then
                (select coalesce(jsonb_agg(jsonb_build_object(
                     'file_id', r.smelt_file_id, 'filename', r.filename, 'content', r.content,
                     'kind', r.kind, 'prompt', r.prompt,
                     -- A file's transcript carries the language of its speech.
                     'language', case when r.kind = 'transcript' and f.language is not null
                                 then jsonb_build_object('code', f.language,
                                                         'probability', f.language_probability)
                                 end)
                   order by r.position), '[]'::jsonb)
                 from smelt_result r left join smelt_file f on f.smelt_file_id = r.smelt_file_id
                 where r.smelt_id = s.smelt_id)
            end as results,
            case when not s.status = any($2::text[]) and s.input_type = $3 then
                (select coalesce(jsonb_agg(jsonb_build_object(
                     'file_id', g.smelt_file_id, 'index', g.segment_index,
                     'start_ms', g.start_ms, 'end_ms', g.end_ms, 'text', g.text,
                     'words', g.words)
                   order by f.position, g.segment_index), '[]'::jsonb)
                 from smelt_segment g join smelt_file f using (smelt_file_id)
                 where g.smelt_id = s.smelt_id)
            end as segments
         from smelt s where s.smelt_id = $1"
    ))
    .bind(smelt_id)
    .bind(&terminal)
    .bind(InputType::Audio)
    .fetch_optional(pool)
    .await?;
    let Some(SnapshotRow {
        row,
        files,
        results,
        segments,
    }) = row
    else {
        return Ok(None);
    };
    let smelt = Smelt {
        row,
        files: files.0,
    };
    let dto = smelt.to_dto(
        results.map(|r| r.0),
        segments.map(|s| s.0).unwrap_or_default(),
    );
    Ok(Some(Snapshot {
        dto,
        user_id: smelt.row.user_id,
        last_seq: smelt.row.last_seq,
    }))
}

/// What a subscriber needs to be authorised and to resume: one light row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The owner (`None`: anonymous).
    pub user_id: Option<Uuid>,
    pub status: SmeltStatus,
    /// Seq of the last event appended (0 before the first).
    pub last_seq: i64,
    /// Seq of the oldest event still stored (older ones may have been pruned).
    pub first_stored_seq: Option<i64>,
}

/// A smelt's [`Head`] in one indexed read; `None` when it does not exist.
pub async fn head<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
) -> Result<Option<Head>, sqlx::Error> {
    let row: Option<(Option<Uuid>, SmeltStatus, i64, Option<i64>)> = sqlx::query_as(
        "select s.user_id, s.status, s.last_seq,
                (select min(e.seq) from smelt_event e where e.smelt_id = s.smelt_id)
         from smelt s where s.smelt_id = $1",
    )
    .bind(smelt_id)
    .fetch_optional(db)
    .await?;
    Ok(
        row.map(|(user_id, status, last_seq, first_stored_seq)| Head {
            user_id,
            status,
            last_seq,
            first_stored_seq,
        }),
    )
}

/// A pending smelt's place in its lane (1 = the lane's next) and the estimated seconds until a
/// worker starts it (none while no worker is alive), from the `smelt_queue` database function.
pub async fn queue_place<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
) -> Result<Option<(u32, Option<u32>)>, sqlx::Error> {
    let row: Option<(i32, Option<i32>)> = sqlx::query_as(
        "select queue_position, estimated_wait_seconds from smelt_queue($1, $2)
         where smelt_id = $3",
    )
    .bind(default_pace())
    .bind(JOB_SECS)
    .bind(smelt_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(position, wait)| (position.max(1) as u32, wait.map(|w| w.max(0) as u32))))
}

/// Seconds a job takes besides its audio's transcription (claiming, decoding, notes), in the
/// queue's estimates: about a second on a 2-core machine for the local engines.
pub const JOB_SECS: f64 = 1.0;

/// The pace of each model before any was measured, as `smelt_queue` takes it:
/// `{"model": seconds per audio minute}`.
fn default_pace() -> serde_json::Value {
    crate::domain::speech::MODELS
        .iter()
        .map(|m| {
            let secs = f64::from(m.default_ms_per_audio_minute) / 1000.0;
            (m.name.to_owned(), secs.into())
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Which smelts a list shows: `Pending` means every smelt not yet finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Pending,
    Completed,
    Failed,
    Cancelled,
}

/// Sort column of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    CreatedAt,
    CompletedAt,
}

/// A validated list query (`docs/api.md#get-apismelts--list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<StatusFilter>,
    pub sort: SortField,
    pub ascending: bool,
    /// 1-based page number.
    pub page: u32,
    /// Items per page, 1–50.
    pub limit: u32,
}

/// One page of a user's smelts with the total count.
pub async fn list(
    pool: &PgPool,
    user_id: Uuid,
    q: ListQuery,
) -> Result<SmeltsListDto, sqlx::Error> {
    let status_sql = match q.status {
        None => "",
        Some(StatusFilter::Pending) => "and s.status not in ('completed', 'failed', 'cancelled')",
        Some(StatusFilter::Completed) => "and s.status = 'completed'",
        Some(StatusFilter::Failed) => "and s.status = 'failed'",
        Some(StatusFilter::Cancelled) => "and s.status = 'cancelled'",
    };
    let column = match q.sort {
        SortField::CreatedAt => "s.created_at",
        SortField::CompletedAt => "s.completed_at",
    };
    let direction = if q.ascending {
        "asc nulls first"
    } else {
        "desc nulls last"
    };
    let offset = i64::from(q.page - 1) * i64::from(q.limit);
    // Both fragments come from the closed sets above, never from user input.
    let sql = format!(
        "select s.smelt_id, s.status, s.mode, s.default_prompt_names, s.created_at,
                s.completed_at,
                (select count(*) from smelt_file f where f.smelt_id = s.smelt_id) as file_count,
                count(*) over () as total
         from smelt s
         where s.user_id = $1 {status_sql}
         order by {column} {direction}, s.smelt_id
         limit $2 offset $3"
    );
    type Row = (
        Uuid,
        SmeltStatus,
        SmeltMode,
        Vec<PromptName>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        i64,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(user_id)
        .bind(i64::from(q.limit))
        .bind(offset)
        .fetch_all(pool)
        .await?;
    let total = match rows.first() {
        Some(r) => r.7,
        // An empty page past the end still reports the real total.
        None => {
            sqlx::query_scalar(&format!(
                "select count(*) from smelt s where s.user_id = $1 {status_sql}"
            ))
            .bind(user_id)
            .fetch_one(pool)
            .await?
        }
    };
    let smelts = rows
        .into_iter()
        .map(
            |(id, status, mode, default_prompt_names, created_at, completed_at, file_count, _)| {
                SmeltListItemDto {
                    id,
                    status,
                    mode,
                    file_count,
                    default_prompt_names,
                    created_at,
                    completed_at,
                }
            },
        )
        .collect();
    let limit = i64::from(q.limit);
    Ok(SmeltsListDto {
        smelts,
        pagination: PaginationDto {
            page: q.page,
            limit: q.limit,
            total,
            total_pages: (total + limit - 1) / limit,
        },
    })
}

/// Records a file's state (and its duration once decoded).
pub async fn set_file_state<'e>(
    db: impl PgExecutor<'e>,
    smelt_file_id: Uuid,
    status: FileStatus,
    error_code: Option<ErrorCode>,
    duration_seconds: Option<f64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update smelt_file set status = $2, error_code = coalesce($3, error_code),
                               duration_seconds = coalesce($4, duration_seconds)
         where smelt_file_id = $1",
    )
    .bind(smelt_file_id)
    .bind(status)
    .bind(error_code)
    .bind(duration_seconds)
    .execute(db)
    .await?;
    Ok(())
}

/// A result to store.
#[derive(Debug, Clone)]
pub struct NewResult {
    /// Chosen by the worker before the document is stored under [`crate::blob::result_key`].
    pub smelt_result_id: Uuid,
    pub smelt_file_id: Option<Uuid>,
    pub position: i32,
    pub filename: String,
    pub content: String,
    pub engine: String,
    /// A transcript, or notes.
    pub kind: ResultKind,
    /// For notes: the built-in prompt's name or `custom`.
    pub prompt: Option<String>,
    /// Key of the stored Markdown document, when stored.
    pub storage_key: Option<String>,
}

/// Stores results idempotently: a redelivered job writing the same positions again changes
/// nothing. `false` when the smelt no longer exists (it was deleted while it ran).
pub async fn insert_results(
    conn: &mut PgConnection,
    smelt_id: Uuid,
    results: &[NewResult],
) -> Result<bool, sqlx::Error> {
    for r in results {
        let stored = sqlx::query(
            "insert into smelt_result (smelt_result_id, smelt_id, smelt_file_id, position,
                                       filename, content, engine, storage_key, kind, prompt)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             on conflict on constraint smelt_result_position_key do nothing",
        )
        .bind(r.smelt_result_id)
        .bind(smelt_id)
        .bind(r.smelt_file_id)
        .bind(r.position)
        .bind(&r.filename)
        .bind(&r.content)
        .bind(&r.engine)
        .bind(&r.storage_key)
        .bind(r.kind)
        .bind(&r.prompt)
        .execute(&mut *conn)
        .await;
        match stored {
            Ok(_) => {}
            // 23503 foreign_key_violation: the smelt is gone.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => {
                return Ok(false)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// The lane a smelt waits in (`normal` when it is gone).
pub async fn lane_of<'e>(db: impl PgExecutor<'e>, smelt_id: Uuid) -> Result<Lane, sqlx::Error> {
    let lane: Option<Lane> = sqlx::query_scalar("select lane from smelt where smelt_id = $1")
        .bind(smelt_id)
        .fetch_optional(db)
        .await?;
    Ok(lane.unwrap_or(Lane::Normal))
}

/// A file's audio duration as recorded, in seconds.
pub async fn duration_of<'e>(
    db: impl PgExecutor<'e>,
    smelt_file_id: Uuid,
) -> Result<Option<f64>, sqlx::Error> {
    sqlx::query_scalar("select duration_seconds from smelt_file where smelt_file_id = $1")
        .bind(smelt_file_id)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

/// Positions of the results already stored (a redelivery skips the documents it finds).
pub async fn result_positions<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
) -> Result<Vec<i32>, sqlx::Error> {
    sqlx::query_scalar("select position from smelt_result where smelt_id = $1 order by position")
        .bind(smelt_id)
        .fetch_all(db)
        .await
}

/// The owner of a smelt (`Some(None)` for an anonymous one), or `None` when it does not exist.
pub async fn owner<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
) -> Result<Option<Option<Uuid>>, sqlx::Error> {
    sqlx::query_scalar("select user_id from smelt where smelt_id = $1")
        .bind(smelt_id)
        .fetch_optional(db)
        .await
}

/// Each file of a smelt with its status, in position order.
pub async fn file_statuses<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
) -> Result<Vec<(Uuid, FileStatus)>, sqlx::Error> {
    sqlx::query_as(
        "select smelt_file_id, status from smelt_file where smelt_id = $1 order by position",
    )
    .bind(smelt_id)
    .fetch_all(db)
    .await
}

/// A pending smelt's place in the queue, as its watchers are told it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuePlace {
    pub smelt_id: Uuid,
    /// The lane it waits in.
    pub lane: Lane,
    /// Its place in its lane: 1 = the lane's next to start.
    pub position: u32,
    /// Estimated seconds until a worker starts it; `None` while no worker is alive.
    pub estimated_wait_seconds: Option<u32>,
    /// Its stored percentage (0 unless a requeued smelt had made progress).
    pub percentage: u8,
    /// Its files and their statuses, in position order.
    pub files: Vec<(Uuid, FileStatus)>,
    /// Its `last_seq` when the place was read: the place holds until an event after it.
    pub last_seq: i64,
}

/// The places of those of `smelt_ids` that are pending (the others are left out), from the
/// `smelt_queue` database function: one read, whatever the number of ids. Places are not
/// history: they are computed for the smelts someone watches and never stored.
pub async fn queue_places<'e>(
    db: impl PgExecutor<'e>,
    smelt_ids: &[Uuid],
) -> Result<Vec<QueuePlace>, sqlx::Error> {
    type Row = (
        Uuid,
        Lane,
        i32,
        Option<i32>,
        i16,
        Vec<Uuid>,
        Vec<FileStatus>,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select q.smelt_id, s.lane, q.queue_position, q.estimated_wait_seconds,
                s.progress_percentage,
                array(select f.smelt_file_id from smelt_file f
                      where f.smelt_id = q.smelt_id order by f.position),
                array(select f.status from smelt_file f
                      where f.smelt_id = q.smelt_id order by f.position),
                s.last_seq
         from smelt_queue($2, $3) q join smelt s on s.smelt_id = q.smelt_id
         where q.smelt_id = any($1)
         order by q.queue_position",
    )
    .bind(smelt_ids)
    .bind(default_pace())
    .bind(JOB_SECS)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(smelt_id, lane, position, wait, percentage, ids, statuses, last_seq)| QueuePlace {
                smelt_id,
                lane,
                position: position.max(1) as u32,
                estimated_wait_seconds: wait.map(|w| w.max(0) as u32),
                percentage: percentage.clamp(0, 100) as u8,
                files: ids.into_iter().zip(statuses).collect(),
                last_seq,
            },
        )
        .collect())
}

/// The events stored for the given smelts, counted from their `last_seq` (the load client
/// checks its writers' count with it).
pub async fn events_written<'e>(
    db: impl PgExecutor<'e>,
    smelt_ids: &[Uuid],
) -> Result<i64, sqlx::Error> {
    let sum: Option<i64> =
        sqlx::query_scalar("select sum(last_seq)::bigint from smelt where smelt_id = any($1)")
            .bind(smelt_ids)
            .fetch_one(db)
            .await?;
    Ok(sum.unwrap_or(0))
}
