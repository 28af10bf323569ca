//! Queries on `smelt_segment`: a file's transcript, one row per segment, stored while the file
//! is transcribed (see `db::events::publish_progress`) and read back for snapshots, resumed
//! jobs, synthesis and exports.

use sqlx::PgExecutor;
use uuid::Uuid;

use crate::dto::{SegmentDto, WordDto};

type SegmentRow = (Uuid, i32, i32, i32, String, Option<serde_json::Value>);

fn to_dto(
    (file_id, index, start_ms, end_ms, text, words): SegmentRow,
) -> Result<SegmentDto, sqlx::Error> {
    let words = words
        .map(serde_json::from_value::<Vec<WordDto>>)
        .transpose()
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(SegmentDto {
        file_id,
        index: index.max(0) as u32,
        start_ms: start_ms.max(0) as u32,
        end_ms: end_ms.max(0) as u32,
        text,
        words,
    })
}

/// Every stored segment of a smelt, files in position order, segments in index order.
pub async fn segments<'e>(
    db: impl PgExecutor<'e>,
    smelt_id: Uuid,
) -> Result<Vec<SegmentDto>, sqlx::Error> {
    let rows: Vec<SegmentRow> = sqlx::query_as(
        "select s.smelt_file_id, s.segment_index, s.start_ms, s.end_ms, s.text, s.words
         from smelt_segment s join smelt_file f using (smelt_file_id)
         where s.smelt_id = $1
         order by f.position, s.segment_index",
    )
    .bind(smelt_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(to_dto).collect()
}

/// The stored segments of one file, in order.
pub async fn file_segments<'e>(
    db: impl PgExecutor<'e>,
    smelt_file_id: Uuid,
) -> Result<Vec<SegmentDto>, sqlx::Error> {
    let rows: Vec<SegmentRow> = sqlx::query_as(
        "select smelt_file_id, segment_index, start_ms, end_ms, text, words
         from smelt_segment where smelt_file_id = $1 order by segment_index",
    )
    .bind(smelt_file_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(to_dto).collect()
}

/// Records that a file's transcription finished: a redelivered job will not transcribe it
/// again.
pub async fn mark_transcribed<'e>(
    db: impl PgExecutor<'e>,
    smelt_file_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update smelt_file set transcribed_at = coalesce(transcribed_at, now())
         where smelt_file_id = $1",
    )
    .bind(smelt_file_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Records the language of a file's speech (`probability` when it was detected), once: the
/// first transcription of the file decides it and a redelivered job keeps it.
pub async fn set_language<'e>(
    db: impl PgExecutor<'e>,
    smelt_file_id: Uuid,
    code: &str,
    probability: Option<f32>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update smelt_file set language = $2, language_probability = $3
         where smelt_file_id = $1 and language is null",
    )
    .bind(smelt_file_id)
    .bind(code)
    .bind(probability)
    .execute(db)
    .await?;
    Ok(())
}

/// The language recorded for a file's speech, if any.
pub async fn language_of<'e>(
    db: impl PgExecutor<'e>,
    smelt_file_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    let language: Option<Option<String>> =
        sqlx::query_scalar("select language from smelt_file where smelt_file_id = $1")
            .bind(smelt_file_id)
            .fetch_optional(db)
            .await?;
    Ok(language.flatten())
}

/// A smelt's owner and its audio files with their transcripts so far, in position order, for
/// an export (`file_id` narrows it to one file). `None` when the smelt does not exist.
pub async fn export(
    pool: &sqlx::PgPool,
    smelt_id: Uuid,
    file_id: Option<Uuid>,
) -> Result<Option<(Option<Uuid>, Vec<crate::transcript::FileTranscript>)>, sqlx::Error> {
    let Some(owner) = crate::db::smelts::owner(pool, smelt_id).await? else {
        return Ok(None);
    };
    type Row = (Uuid, String, Option<f64>, Option<String>, Option<f32>);
    let files: Vec<Row> = sqlx::query_as(
        "select smelt_file_id, filename, duration_seconds, language, language_probability
         from smelt_file
         where smelt_id = $1 and input_type = 'audio' and ($2::uuid is null or smelt_file_id = $2)
         order by position",
    )
    .bind(smelt_id)
    .bind(file_id)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(files.len());
    for (id, filename, duration, language, probability) in files {
        let segments = file_segments(pool, id).await?;
        let last_end = segments.last().map_or(0, |s| s.end_ms);
        out.push(crate::transcript::FileTranscript {
            file_id: id,
            filename,
            duration_ms: duration.map_or(last_end, |d| (d * 1000.0).round() as u32),
            segments,
            language: language.map(|code| crate::dto::LanguageDto { code, probability }),
        });
    }
    Ok(Some((owner, out)))
}
