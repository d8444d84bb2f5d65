//! A consumer: a name (its Redis consumer group, its key in the platform tables), the topics it
//! reads and a handler applying an event's effect in the consumer's own database.
//!
//! Every event is applied in one transaction together with recording its id in
//! `pbm_processed_events` (`pbm_db::platform::events`); an id already recorded is skipped. Two
//! deliveries racing (an entry reclaimed from a consumer still working on it) cannot both
//! commit: the second insert of the id violates the table's key and rolls its effect back.

use std::sync::Arc;

use pbm_db::platform::events::{self as store, Cursor, NewDeadLetter};
use pbm_db::{AnyConnection, Db, StoreError};

use crate::Event;

/// Why a handler could not apply an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Worth trying again later (a database conflict or outage, a service not answering).
    #[error("{0}")]
    Retryable(String),
    /// Will fail however often it is tried (a malformed payload): straight to the dead letters.
    #[error("{0}")]
    Permanent(String),
}

impl HandlerError {
    pub fn permanent(e: impl std::fmt::Display) -> Self {
        HandlerError::Permanent(e.to_string())
    }

    pub fn retryable(e: impl std::fmt::Display) -> Self {
        HandlerError::Retryable(e.to_string())
    }
}

impl From<StoreError> for HandlerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) | StoreError::Unavailable(_) => Self::retryable(e),
            // A unique violation is usually the processed-id record of a racing delivery: the
            // event is checked again outside the transaction (`Consumer::apply_one`).
            StoreError::UniqueViolation(_) => Self::retryable(e),
            _ => Self::permanent(e),
        }
    }
}

impl From<pbm_db::diesel::result::Error> for HandlerError {
    fn from(e: pbm_db::diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// Applies an event's effect with the consumer's database connection, inside the transaction
/// that also records the event id.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, conn: &mut AnyConnection, event: &Event) -> Result<(), HandlerError>;
}

impl<F> Handler for F
where
    F: Fn(&mut AnyConnection, &Event) -> Result<(), HandlerError> + Send + Sync + 'static,
{
    fn handle(&self, conn: &mut AnyConnection, event: &Event) -> Result<(), HandlerError> {
        self(conn, event)
    }
}

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The effect committed now.
    Done,
    /// Applied before: skipped.
    Duplicate,
    /// Recorded as a dead letter (permanent failure).
    DeadLettered(String),
    /// Failed for now; to be delivered again.
    Retry(String),
}

impl Applied {
    /// Whether the delivery is settled (acknowledged in Redis, passed by an embedded cursor).
    pub fn settled(&self) -> bool {
        !matches!(self, Applied::Retry(_))
    }
}

/// What else commits with an event's effect.
#[derive(Debug, Clone)]
pub enum Mark {
    /// An embedded consumer's position in a source outbox.
    Cursor { source: String, at: Cursor },
    /// The dead letter being replayed.
    Replayed(i64),
}

fn write_mark(conn: &mut AnyConnection, consumer: &str, mark: &Mark) -> Result<(), StoreError> {
    match mark {
        Mark::Cursor { source, at } => store::set_cursor(conn, consumer, source, *at),
        Mark::Replayed(id) => store::mark_dead_letter_replayed(conn, *id, pbm_db::now()),
    }
}

/// A named consumer of some topics, applying events to its database.
#[derive(Clone)]
pub struct Consumer {
    name: Arc<str>,
    topics: Arc<[String]>,
    db: Db,
    handler: Arc<dyn Handler>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("name", &self.name)
            .field("topics", &self.topics)
            .finish()
    }
}

impl Consumer {
    /// `name` is the consumer group (e.g. `pbm.monitoring.goal-scope`); `db` the consumer's own
    /// database, migrated with the platform migrations.
    pub fn new(name: &str, topics: &[&str], db: Db, handler: impl Handler) -> Self {
        Self {
            name: name.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            db,
            handler: Arc::new(handler),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Applies `events` in order, with the mark of the last one: in one transaction when every
    /// effect succeeds, else one transaction per event. With `stop_at_retry` (ordered delivery,
    /// embedded) nothing after the first event to retry is tried; its outcome is the last.
    pub async fn apply_batch(
        &self,
        events: Vec<(Event, Option<Mark>)>,
        stop_at_retry: bool,
    ) -> Vec<Applied> {
        if events.is_empty() {
            return Vec::new();
        }
        let this = self.clone();
        let batch = events.clone();
        let together = self
            .db
            .write(move |c| {
                let now = pbm_db::now();
                let mut out = Vec::with_capacity(batch.len());
                for (event, _) in &batch {
                    let _entered = this.span(event).entered();
                    out.push(this.apply_in(c, event, now)?);
                }
                if let Some((_, Some(mark))) = batch.last() {
                    write_mark(c, &this.name, mark)?;
                }
                Ok::<_, HandlerError>(out)
            })
            .await;
        if let Ok(out) = together {
            return out;
        }
        let mut out = Vec::with_capacity(events.len());
        for (event, mark) in events {
            let applied = self.apply_one(event, mark).await;
            let stop = stop_at_retry && !applied.settled();
            out.push(applied);
            if stop {
                break;
            }
        }
        out
    }

    /// Applies one event in its own transaction (with `mark`); a permanent failure is recorded
    /// as a dead letter (with `mark`, so an embedded cursor passes it).
    pub async fn apply_one(&self, event: Event, mark: Option<Mark>) -> Applied {
        let this = self.clone();
        let (e, m) = (event.clone(), mark.clone());
        let span = self.span(&event);
        let result = tracing::Instrument::instrument(
            self.db.write(move |c| {
                let applied = this.apply_in(c, &e, pbm_db::now())?;
                if let Some(mark) = &m {
                    write_mark(c, &this.name, mark)?;
                }
                Ok::<_, HandlerError>(applied)
            }),
            span,
        )
        .await;
        match result {
            Ok(applied) => applied,
            Err(err) => {
                // A racing delivery may have committed it meanwhile.
                if self.is_processed(&event.id).await.unwrap_or(false) {
                    if let Some(mark) = mark {
                        let name = self.name.clone();
                        let _ = self.db.write(move |c| write_mark(c, &name, &mark)).await;
                    }
                    return Applied::Duplicate;
                }
                match err {
                    HandlerError::Retryable(reason) => Applied::Retry(reason),
                    HandlerError::Permanent(reason) => {
                        // A replayed letter failing again stays a dead letter, not replayed.
                        let mark = mark.filter(|m| matches!(m, Mark::Cursor { .. }));
                        match self.dead_letter(&event, &reason, 1, mark).await {
                            Ok(()) => Applied::DeadLettered(reason),
                            Err(e) => Applied::Retry(format!("{reason}; dead letter: {e}")),
                        }
                    }
                }
            }
        }
    }

    /// The effect of `event` unless applied before, and its id recorded.
    /// The span of applying `event`: part of the trace of the request that wrote it.
    fn span(&self, event: &Event) -> tracing::Span {
        let span = tracing::info_span!(
            "event",
            otel.name = %format!("consume {}", event.topic),
            consumer = %self.name,
            topic = %event.topic,
            event_id = %event.id
        );
        pbm_telemetry::continue_trace(&span, &event.trace_context);
        span
    }

    fn apply_in(
        &self,
        c: &mut AnyConnection,
        event: &Event,
        now: chrono::NaiveDateTime,
    ) -> Result<Applied, HandlerError> {
        if store::is_processed(c, &self.name, &event.id)? {
            return Ok(Applied::Duplicate);
        }
        self.handler.handle(c, event)?;
        store::record_processed(c, &self.name, &event.id, now)?;
        Ok(Applied::Done)
    }

    pub async fn is_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        let (name, id) = (self.name.clone(), event_id.to_owned());
        self.db
            .read(move |c| store::is_processed(c, &name, &id))
            .await
    }

    /// Records `event` as a dead letter of this consumer (with `mark`, in one transaction).
    pub async fn dead_letter(
        &self,
        event: &Event,
        reason: &str,
        attempts: i64,
        mark: Option<Mark>,
    ) -> Result<(), StoreError> {
        tracing::warn!(consumer = %self.name, event_id = %event.id, topic = %event.topic,
            attempts, reason, "event dead-lettered");
        let name = self.name.clone();
        let json = serde_json::to_string(event).map_err(|e| StoreError::Other(e.to_string()))?;
        let (event_id, topic, reason) = (event.id.clone(), event.topic.clone(), reason.to_owned());
        self.db
            .write(move |c| {
                store::upsert_dead_letter(
                    c,
                    &NewDeadLetter {
                        consumer: &name,
                        event_id: &event_id,
                        topic: &topic,
                        event: &json,
                        reason: &reason,
                        attempts,
                    },
                    pbm_db::now(),
                )?;
                if let Some(mark) = &mark {
                    write_mark(c, &name, mark)?;
                }
                Ok(())
            })
            .await
    }
}
