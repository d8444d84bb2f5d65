//! What do we store? For every service, in its own database:
//! * `pbm_idempotency` – the first response to each client request id;
//! * `pbm_audit_log` – who did what, when, with what outcome;
//! * `pbm_outbox` – events written with the change that caused them, published afterwards.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{AnyConnection, StoreError};

pub mod schema {
    diesel::table! {
        pbm_idempotency (service, request_id) {
            service -> Text,
            request_id -> Text,
            subject -> Text,
            method -> Text,
            request_hash -> Text,
            response -> Binary,
            created_at -> Timestamp,
        }
    }

    diesel::table! {
        pbm_audit_log (id) {
            id -> BigInt,
            occurred_at -> Timestamp,
            service -> Text,
            method -> Text,
            request_id -> Text,
            subject -> Text,
            role -> Text,
            mof_div_code -> Text,
            entity_type -> Text,
            entity_id -> Text,
            outcome -> Text,
            detail -> Text,
        }
    }

    diesel::table! {
        pbm_outbox (id) {
            id -> BigInt,
            occurred_at -> Timestamp,
            service -> Text,
            topic -> Text,
            entity_id -> Text,
            payload -> Text,
            published_at -> Nullable<Timestamp>,
        }
    }
}

use schema::{pbm_audit_log, pbm_idempotency, pbm_outbox};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pbm_idempotency)]
pub struct IdempotencyRecord {
    pub service: String,
    pub request_id: String,
    pub subject: String,
    pub method: String,
    pub request_hash: String,
    pub response: Vec<u8>,
    pub created_at: NaiveDateTime,
}

pub fn find_idempotency(
    conn: &mut AnyConnection,
    service: &str,
    request_id: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    pbm_idempotency::table
        .filter(pbm_idempotency::service.eq(service))
        .filter(pbm_idempotency::request_id.eq(request_id))
        .select(IdempotencyRecord::as_select())
        .first(conn)
        .optional()
        .map_err(StoreError::from)
}

pub fn insert_idempotency(
    conn: &mut AnyConnection,
    record: &IdempotencyRecord,
) -> Result<(), StoreError> {
    diesel::insert_into(pbm_idempotency::table)
        .values(record)
        .execute(conn)?;
    Ok(())
}

/// One line of the audit trail.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = pbm_audit_log)]
pub struct AuditEntry {
    pub occurred_at: NaiveDateTime,
    pub service: String,
    pub method: String,
    pub request_id: String,
    pub subject: String,
    pub role: String,
    pub mof_div_code: String,
    pub entity_type: String,
    pub entity_id: String,
    /// `OK`, or the stable reason code of the refusal.
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pbm_audit_log)]
pub struct AuditRecord {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub service: String,
    pub method: String,
    pub request_id: String,
    pub subject: String,
    pub role: String,
    pub mof_div_code: String,
    pub entity_type: String,
    pub entity_id: String,
    pub outcome: String,
    pub detail: String,
}

pub fn insert_audit(conn: &mut AnyConnection, entry: &AuditEntry) -> Result<(), StoreError> {
    diesel::insert_into(pbm_audit_log::table)
        .values(entry)
        .execute(conn)?;
    Ok(())
}

/// The audit trail of one entity, oldest first.
pub fn audit_of(
    conn: &mut AnyConnection,
    entity_type: &str,
    entity_id: &str,
) -> Result<Vec<AuditRecord>, StoreError> {
    pbm_audit_log::table
        .filter(pbm_audit_log::entity_type.eq(entity_type))
        .filter(pbm_audit_log::entity_id.eq(entity_id))
        .order(pbm_audit_log::id.asc())
        .select(AuditRecord::as_select())
        .load(conn)
        .map_err(StoreError::from)
}

/// Every audit line written for one request id, oldest first.
pub fn audit_of_request(
    conn: &mut AnyConnection,
    request_id: &str,
) -> Result<Vec<AuditRecord>, StoreError> {
    pbm_audit_log::table
        .filter(pbm_audit_log::request_id.eq(request_id))
        .order(pbm_audit_log::id.asc())
        .select(AuditRecord::as_select())
        .load(conn)
        .map_err(StoreError::from)
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = pbm_outbox)]
pub struct NewOutboxEvent {
    pub occurred_at: NaiveDateTime,
    pub service: String,
    pub topic: String,
    pub entity_id: String,
    /// JSON.
    pub payload: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pbm_outbox)]
pub struct OutboxEvent {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub service: String,
    pub topic: String,
    pub entity_id: String,
    pub payload: String,
    pub published_at: Option<NaiveDateTime>,
}

pub fn insert_outbox(conn: &mut AnyConnection, event: &NewOutboxEvent) -> Result<(), StoreError> {
    diesel::insert_into(pbm_outbox::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

/// Oldest unpublished events first.
pub fn unpublished_outbox(
    conn: &mut AnyConnection,
    limit: i64,
) -> Result<Vec<OutboxEvent>, StoreError> {
    pbm_outbox::table
        .filter(pbm_outbox::published_at.is_null())
        .order(pbm_outbox::id.asc())
        .limit(limit)
        .select(OutboxEvent::as_select())
        .load(conn)
        .map_err(StoreError::from)
}

pub fn mark_outbox_published(
    conn: &mut AnyConnection,
    ids: &[i64],
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(pbm_outbox::table.filter(pbm_outbox::id.eq_any(ids)))
        .set(pbm_outbox::published_at.eq(Some(at)))
        .execute(conn)?;
    Ok(())
}
