//! Dead letters: the events a consumer gave up on, kept in its database
//! (`pbm_dead_letters`) in both modes, for an operator to inspect and replay
//! (docs/OPERATIONS.md "Dead letters"). A replay runs the event through the consumer's handler
//! in one transaction that also records the event id and marks the letter replayed; an event
//! applied meanwhile is skipped (idempotent), one that fails again stays a dead letter with its
//! new reason.

use pbm_db::StoreError;
use pbm_db::platform::events::{self as store, DeadLetter};

use crate::consumer::{Applied, Mark};
use crate::{Consumer, Event};

/// The dead letters of `consumer` not replayed yet (all of them with `include_replayed`).
pub async fn list(
    consumer: &Consumer,
    include_replayed: bool,
) -> Result<Vec<DeadLetter>, StoreError> {
    let name = consumer.name().to_owned();
    consumer
        .db()
        .read(move |c| store::dead_letters(c, Some(&name), include_replayed))
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no dead letter {0} of consumer {1}")]
    NotFound(i64, String),
    #[error("dead letter {0} holds no event: {1}")]
    Unreadable(i64, String),
    #[error("dead letter {id} failed again: {reason}")]
    Failed { id: i64, reason: String },
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// Replays dead letter `id` of `consumer`: `Applied::Done`, or `Applied::Duplicate` when the
/// event had been applied meanwhile (the letter is marked replayed either way).
pub async fn replay(consumer: &Consumer, id: i64) -> Result<Applied, ReplayError> {
    let letter = consumer
        .db()
        .read(move |c| store::dead_letter(c, id))
        .await?
        .filter(|l| l.consumer == consumer.name())
        .ok_or_else(|| ReplayError::NotFound(id, consumer.name().to_owned()))?;
    let event: Event = serde_json::from_str(&letter.event)
        .map_err(|e| ReplayError::Unreadable(id, e.to_string()))?;
    match consumer.apply_one(event, Some(Mark::Replayed(id))).await {
        applied @ (Applied::Done | Applied::Duplicate) => Ok(applied),
        Applied::DeadLettered(reason) | Applied::Retry(reason) => {
            Err(ReplayError::Failed { id, reason })
        }
    }
}

/// Replays every dead letter of `consumer` not replayed yet; returns how many were applied and
/// the failures.
pub async fn replay_all(consumer: &Consumer) -> Result<(usize, Vec<ReplayError>), StoreError> {
    let mut applied = 0;
    let mut failed = Vec::new();
    for letter in list(consumer, false).await? {
        match replay(consumer, letter.id).await {
            Ok(_) => applied += 1,
            Err(e) => failed.push(e),
        }
    }
    Ok((applied, failed))
}
