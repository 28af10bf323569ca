//! The smelts a fan-out run drives: created in the server's database as the create endpoint
//! creates them (a pending text smelt and its file, with its job; run the benchmark against a
//! server without workers, `smelt-server`, so that the jobs stay queued and only the load
//! client writes events), each with the subscription token the create endpoint would have
//! returned and the lifecycle's progress sink for its events.

use std::time::Duration;

use anyhow::Context;
use smelt_core::db::credits::Charge;
use smelt_core::db::smelts::{self, NewFile, NewSmelt};
use smelt_core::domain::speech;
use smelt_core::domain::{InputType, Lane, PromptName, SmeltMode};
use smelt_core::lifecycle::{self, ProgressSink};
use smelt_core::queue::JobQueue;
use smelt_core::tokens::{TokenKeys, SUBSCRIPTION_AUDIENCE};
use sqlx::PgPool;
use uuid::Uuid;

use crate::progress;

/// Smelts inserted per transaction.
const BATCH: usize = 500;

/// Text of every load-test smelt.
const TEXT: &str = "Load test: Alice will send the budget by Friday. Bob reviews the draft.";

/// One smelt followed by subscribers.
pub struct Channel {
    /// The smelt's id.
    pub smelt_id: Uuid,
    /// Subscription token (`aud = smelt-subscription`, `sub` = the smelt).
    pub token: String,
    /// The smelt's `last_seq` when created (0): its events are numbered from `base_seq + 1`.
    pub base_seq: i64,
}

/// Creates `count` pending text smelts owned by `owner`, returning them with one progress
/// sink each (no throttling: every call writes an event). Tokens live `token_ttl_secs`.
pub async fn create(
    pool: &PgPool,
    keys: &TokenKeys,
    count: usize,
    owner: Uuid,
    token_ttl_secs: u64,
) -> anyhow::Result<(Vec<Channel>, Vec<ProgressSink>)> {
    let bar = progress::bar("smelts", count as u64);
    let mut channels = Vec::with_capacity(count);
    let mut sinks = Vec::with_capacity(count);
    let queue = JobQueue::new(pool.clone()).await;
    while channels.len() < count {
        let batch = BATCH.min(count - channels.len());
        let mut tx = pool.begin().await?;
        for _ in 0..batch {
            let smelt_id = Uuid::now_v7();
            let new = NewSmelt {
                smelt_id,
                user_id: Some(owner),
                mode: SmeltMode::Separate,
                input_type: InputType::Text,
                default_prompt_names: vec![PromptName::Summarize],
                user_prompt_id: None,
                input_text: Some(TEXT.to_owned()),
                charge: Charge::Free,
                word_timestamps: false,
                model: speech::TINY_EN.name,
                language: "auto",
                task: speech::Task::Transcribe,
                // Pasted text waits in the fast lane.
                lane: Lane::Fast,
            };
            let file = NewFile::pasted_text(TEXT);
            let smelt = lifecycle::create_in(&mut tx, &queue, &new, &[file])
                .await
                .context("inserting a smelt")?;
            sinks.push(ProgressSink::new(pool.clone(), &smelt, Duration::ZERO));
            channels.push(Channel {
                smelt_id,
                token: keys.sign(smelt_id, SUBSCRIPTION_AUDIENCE, token_ttl_secs, None),
                base_seq: smelt.row.last_seq,
            });
        }
        tx.commit().await?;
        bar.inc(batch as u64);
    }
    bar.finish();
    Ok((channels, sinks))
}

/// Sum of `last_seq` over the smelts: the events actually stored, to check the writers' count.
pub async fn stored_events(pool: &PgPool, channels: &[Channel]) -> anyhow::Result<i64> {
    let ids: Vec<Uuid> = channels.iter().map(|c| c.smelt_id).collect();
    let sum = smelts::events_written(pool, &ids).await?;
    Ok(sum - channels.iter().map(|c| c.base_seq).sum::<i64>())
}
