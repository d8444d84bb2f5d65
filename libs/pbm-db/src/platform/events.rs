//! The tables of event consumers (docs/ARCHITECTURE.md "Events"), in the consumer's database:
//! * `pbm_processed_events` – the ids of the events each consumer applied, written in the
//!   transaction of the effect (an id already there: the effect is skipped);
//! * `pbm_event_cursors` – how far an embedded consumer has read each source outbox;
//! * `pbm_dead_letters` – events a consumer gave up on, for an operator to inspect and replay.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::OutboxEvent;
use super::schema::pbm_outbox;
use crate::{AnyConnection, StoreError};

pub mod schema {
    diesel::table! {
        pbm_processed_events (consumer, event_id) {
            consumer -> Text,
            event_id -> Text,
            processed_at -> Timestamp,
        }
    }

    diesel::table! {
        pbm_event_cursors (consumer, source) {
            consumer -> Text,
            source -> Text,
            published_at -> Timestamp,
            last_id -> BigInt,
        }
    }

    diesel::table! {
        pbm_dead_letters (id) {
            id -> BigInt,
            consumer -> Text,
            event_id -> Text,
            topic -> Text,
            event -> Text,
            reason -> Text,
            attempts -> BigInt,
            first_failed_at -> Timestamp,
            last_failed_at -> Timestamp,
            replayed_at -> Nullable<Timestamp>,
        }
    }
}

use schema::{pbm_dead_letters, pbm_event_cursors, pbm_processed_events};

/// Whether `consumer` already applied `event_id`.
pub fn is_processed(
    conn: &mut AnyConnection,
    consumer: &str,
    event_id: &str,
) -> Result<bool, StoreError> {
    let found: i64 = pbm_processed_events::table
        .filter(pbm_processed_events::consumer.eq(consumer))
        .filter(pbm_processed_events::event_id.eq(event_id))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Records that `consumer` applied `event_id` (in the transaction of the effect). A second
/// record of the same id fails with [`StoreError::UniqueViolation`], rolling the effect back.
pub fn record_processed(
    conn: &mut AnyConnection,
    consumer: &str,
    event_id: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(pbm_processed_events::table)
        .values((
            pbm_processed_events::consumer.eq(consumer),
            pbm_processed_events::event_id.eq(event_id),
            pbm_processed_events::processed_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// How many events `consumer` applied.
pub fn processed_count(conn: &mut AnyConnection, consumer: &str) -> Result<i64, StoreError> {
    pbm_processed_events::table
        .filter(pbm_processed_events::consumer.eq(consumer))
        .count()
        .get_result(conn)
        .map_err(StoreError::from)
}

/// A position in an outbox, in the order the relay published it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub published_at: NaiveDateTime,
    pub last_id: i64,
}

pub fn cursor(
    conn: &mut AnyConnection,
    consumer: &str,
    source: &str,
) -> Result<Option<Cursor>, StoreError> {
    pbm_event_cursors::table
        .filter(pbm_event_cursors::consumer.eq(consumer))
        .filter(pbm_event_cursors::source.eq(source))
        .select((pbm_event_cursors::published_at, pbm_event_cursors::last_id))
        .first::<(NaiveDateTime, i64)>(conn)
        .optional()
        .map(|o| {
            o.map(|(published_at, last_id)| Cursor {
                published_at,
                last_id,
            })
        })
        .map_err(StoreError::from)
}

pub fn set_cursor(
    conn: &mut AnyConnection,
    consumer: &str,
    source: &str,
    at: Cursor,
) -> Result<(), StoreError> {
    let updated = diesel::update(
        pbm_event_cursors::table
            .filter(pbm_event_cursors::consumer.eq(consumer))
            .filter(pbm_event_cursors::source.eq(source)),
    )
    .set((
        pbm_event_cursors::published_at.eq(at.published_at),
        pbm_event_cursors::last_id.eq(at.last_id),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(pbm_event_cursors::table)
            .values((
                pbm_event_cursors::consumer.eq(consumer),
                pbm_event_cursors::source.eq(source),
                pbm_event_cursors::published_at.eq(at.published_at),
                pbm_event_cursors::last_id.eq(at.last_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Up to `limit` published outbox rows after `after`, in publication order (`published_at`,
/// then id): the relay marks each batch with one time, batches one after another, so a row
/// committed late is published, and read, after the rows before it. Every topic: a reader moves
/// its cursor past the rows it does not consume too, so it never scans them again.
pub fn published_outbox_after(
    conn: &mut AnyConnection,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<OutboxEvent>, StoreError> {
    let mut query = pbm_outbox::table
        .filter(pbm_outbox::published_at.is_not_null())
        .into_boxed();
    if let Some(c) = after {
        // (published_at, id) > cursor. The leading `published_at >=` is a range on the index
        // (published_at, id) that both backends seek to; the OR alone made SQLite walk the
        // whole index on every poll (an idle consumer re-reading a 100,000-row outbox).
        query = query
            .filter(pbm_outbox::published_at.ge(c.published_at))
            .filter(
                pbm_outbox::published_at
                    .gt(c.published_at)
                    .or(pbm_outbox::id.gt(c.last_id)),
            );
    }
    query
        .order((pbm_outbox::published_at.asc(), pbm_outbox::id.asc()))
        .limit(limit)
        .select(OutboxEvent::as_select())
        .load(conn)
        .map_err(StoreError::from)
}

/// One dead letter.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pbm_dead_letters)]
pub struct DeadLetter {
    pub id: i64,
    pub consumer: String,
    pub event_id: String,
    pub topic: String,
    /// The event as JSON.
    pub event: String,
    pub reason: String,
    pub attempts: i64,
    pub first_failed_at: NaiveDateTime,
    pub last_failed_at: NaiveDateTime,
    pub replayed_at: Option<NaiveDateTime>,
}

/// What a consumer gives up on.
#[derive(Debug, Clone)]
pub struct NewDeadLetter<'a> {
    pub consumer: &'a str,
    pub event_id: &'a str,
    pub topic: &'a str,
    pub event: &'a str,
    pub reason: &'a str,
    pub attempts: i64,
}

/// Records a dead letter; an event already there (failed again after a replay) gets the new
/// reason, its attempts added and `replayed_at` cleared.
pub fn upsert_dead_letter(
    conn: &mut AnyConnection,
    letter: &NewDeadLetter<'_>,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let updated = diesel::update(
        pbm_dead_letters::table
            .filter(pbm_dead_letters::consumer.eq(letter.consumer))
            .filter(pbm_dead_letters::event_id.eq(letter.event_id)),
    )
    .set((
        pbm_dead_letters::reason.eq(letter.reason),
        pbm_dead_letters::attempts.eq(pbm_dead_letters::attempts + letter.attempts),
        pbm_dead_letters::last_failed_at.eq(at),
        pbm_dead_letters::replayed_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(pbm_dead_letters::table)
            .values((
                pbm_dead_letters::consumer.eq(letter.consumer),
                pbm_dead_letters::event_id.eq(letter.event_id),
                pbm_dead_letters::topic.eq(letter.topic),
                pbm_dead_letters::event.eq(letter.event),
                pbm_dead_letters::reason.eq(letter.reason),
                pbm_dead_letters::attempts.eq(letter.attempts),
                pbm_dead_letters::first_failed_at.eq(at),
                pbm_dead_letters::last_failed_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Dead letters of `consumer` (every consumer when `None`), oldest first; replayed ones only
/// with `include_replayed`.
pub fn dead_letters(
    conn: &mut AnyConnection,
    consumer: Option<&str>,
    include_replayed: bool,
) -> Result<Vec<DeadLetter>, StoreError> {
    let mut query = pbm_dead_letters::table.into_boxed();
    if let Some(c) = consumer {
        query = query.filter(pbm_dead_letters::consumer.eq(c.to_owned()));
    }
    if !include_replayed {
        query = query.filter(pbm_dead_letters::replayed_at.is_null());
    }
    query
        .order(pbm_dead_letters::id.asc())
        .select(DeadLetter::as_select())
        .load(conn)
        .map_err(StoreError::from)
}

pub fn dead_letter(conn: &mut AnyConnection, id: i64) -> Result<Option<DeadLetter>, StoreError> {
    pbm_dead_letters::table
        .find(id)
        .select(DeadLetter::as_select())
        .first(conn)
        .optional()
        .map_err(StoreError::from)
}

pub fn mark_dead_letter_replayed(
    conn: &mut AnyConnection,
    id: i64,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(pbm_dead_letters::table.find(id))
        .set(pbm_dead_letters::replayed_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}
