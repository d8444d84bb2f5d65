//! Embedded delivery: every database is in this process, so a [`Consumer`] reads the producers'
//! outbox rows directly, in the order the relay published them (`published_at`, id), from a
//! cursor kept in its own database and moved in the transaction of each effect. The broadcast
//! bus only wakes it up: an event published while it lagged, before it subscribed or before a
//! restart is read from the outbox all the same (at least once, across restarts).
//!
//! Delivery is in order per source: an event to retry holds back the ones after it, up to
//! `max_attempts` tries (counted in memory), then it goes to the dead letters and the cursor
//! passes it.

use std::collections::HashMap;
use std::time::Duration;

use pbm_db::Db;
use pbm_db::platform::events::{self as store, Cursor};

use crate::consumer::{Applied, Mark};
use crate::{Consumer, Event, InProcessBus};

/// A producer's outbox read by embedded consumers.
#[derive(Debug, Clone)]
pub struct Source {
    /// The cursor's key (e.g. the producing service's database name).
    pub name: String,
    pub db: Db,
}

#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Outbox rows read (and applied in one transaction when all succeed) at a time.
    pub batch: i64,
    /// How often the outboxes are read without a wake-up.
    pub poll_every: Duration,
    /// Tries after which an event goes to the dead letters.
    pub max_attempts: u32,
    /// The wait before an event is tried again.
    pub retry_after: Duration,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            batch: 200,
            poll_every: Duration::from_secs(1),
            max_attempts: 5,
            retry_after: Duration::from_millis(500),
        }
    }
}

/// Runs `consumer` over `sources` until the task is aborted.
pub fn spawn(
    consumer: Consumer,
    sources: Vec<Source>,
    bus: &InProcessBus,
    options: EmbeddedOptions,
) -> tokio::task::JoinHandle<()> {
    // Subscribed before the first read: nothing published after it goes unnoticed.
    let wake = bus.subscribe();
    tokio::spawn(run(consumer, sources, wake, options))
}

async fn run(
    consumer: Consumer,
    sources: Vec<Source>,
    mut wake: tokio::sync::broadcast::Receiver<Event>,
    options: EmbeddedOptions,
) {
    let mut attempts: HashMap<String, u32> = HashMap::new();
    loop {
        let mut busy = false;
        for source in &sources {
            match pass(&consumer, source, &options, &mut attempts).await {
                Ok(Pass::Moved) => busy = true,
                Ok(Pass::Idle) => {}
                Ok(Pass::Retry) => tokio::time::sleep(options.retry_after).await,
                Err(e) => {
                    tracing::warn!(consumer = %consumer.name(), source = %source.name,
                        error = %e, "embedded event consumer failed; will retry");
                    tokio::time::sleep(options.retry_after).await;
                }
            }
        }
        if busy {
            continue;
        }
        // Woken by any event (or a lagging receiver) or the poll interval, whichever first.
        let _ = tokio::time::timeout(options.poll_every, wake.recv()).await;
        while wake.try_recv().is_ok() {}
    }
}

enum Pass {
    Moved,
    Idle,
    Retry,
}

async fn pass(
    consumer: &Consumer,
    source: &Source,
    options: &EmbeddedOptions,
    attempts: &mut HashMap<String, u32>,
) -> Result<Pass, pbm_db::StoreError> {
    let (name, src) = (consumer.name().to_owned(), source.name.clone());
    let cursor = consumer
        .db()
        .read(move |c| store::cursor(c, &name, &src))
        .await?;
    let batch = options.batch;
    let rows = source
        .db
        .read(move |c| store::published_outbox_after(c, cursor, batch))
        .await?;
    let Some(last) = rows.last() else {
        return Ok(Pass::Idle);
    };
    let position = |row: &pbm_db::platform::OutboxEvent| Cursor {
        published_at: row.published_at.unwrap_or(row.occurred_at),
        last_id: row.id,
    };
    let end = position(last);
    let events: Vec<(Event, Option<Mark>)> = rows
        .iter()
        .filter(|row| consumer.topics().contains(&row.topic))
        .map(|row| {
            let mark = Mark::Cursor {
                source: source.name.clone(),
                at: position(row),
            };
            (Event::from(row), Some(mark))
        })
        .collect();
    let outcomes = consumer.apply_batch(events.clone(), true).await;
    let moved = outcomes.iter().filter(|o| o.settled()).count();
    if let Some(Applied::Retry(reason)) = outcomes.last() {
        let (event, mark) = &events[outcomes.len() - 1];
        let tries = attempts.entry(event.id.clone()).or_default();
        *tries += 1;
        if *tries >= options.max_attempts {
            let tries = i64::from(*tries);
            attempts.remove(&event.id);
            consumer
                .dead_letter(event, reason, tries, mark.clone())
                .await?;
            return Ok(Pass::Moved);
        }
        return Ok(if moved > 0 { Pass::Moved } else { Pass::Retry });
    }
    attempts.clear();
    // Past the rows of other topics after the last event applied (or all of them).
    let last_applied = events.last().map(|(e, _)| e.id.clone());
    if last_applied != Some(Event::from(last).id) {
        let (name, src) = (consumer.name().to_owned(), source.name.clone());
        consumer
            .db()
            .write(move |c| store::set_cursor(c, &name, &src, end))
            .await?;
    }
    Ok(Pass::Moved)
}
