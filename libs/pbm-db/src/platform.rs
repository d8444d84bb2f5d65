//! What do we store? For every service, in its own database:
//! * `pbm_idempotency` – the first response to each client request id;
//! * `pbm_audit_log` – who did what, when, with what outcome, each row keyed and chained
//!   ([`chain`]: tamper evidence);
//! * `pbm_outbox` – events written with the change that caused them, published afterwards;
//! * [`events`] – what event consumers applied, read and gave up on.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::{AnyConnection, StoreError};

pub mod chain;
pub mod events;

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
            row_mac -> Nullable<Text>,
            chain_seq -> Nullable<BigInt>,
            chain_hash -> Nullable<Text>,
        }
    }

    diesel::table! {
        pbm_audit_chain (id) {
            id -> Integer,
            legacy_through -> BigInt,
            head_seq -> BigInt,
            head_hash -> Text,
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
            trace_context -> Text,
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

/// One line of the audit trail. `occurred_at` is kept to the microsecond ([`crate::now`]), the
/// precision both backends store and the row MAC covers.
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
    /// [`AuditEntry::row_mac`]; `None` on a row written before the chain existed and not sealed
    /// yet ([`chain`]).
    pub row_mac: Option<String>,
    /// The row's place in the chain, once sealed.
    pub chain_seq: Option<i64>,
    /// The chain's hash through this row, once sealed; `rejected` on a row the sealer refused.
    pub chain_hash: Option<String>,
}

impl AuditRecord {
    /// The entry this row records (what its row MAC covers).
    pub fn entry(&self) -> AuditEntry {
        AuditEntry {
            occurred_at: self.occurred_at,
            service: self.service.clone(),
            method: self.method.clone(),
            request_id: self.request_id.clone(),
            subject: self.subject.clone(),
            role: self.role.clone(),
            mof_div_code: self.mof_div_code.clone(),
            entity_type: self.entity_type.clone(),
            entity_id: self.entity_id.clone(),
            outcome: self.outcome.clone(),
            detail: self.detail.clone(),
        }
    }
}

/// What an export of the audit trail selects.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Rows with `occurred_at >= from`.
    pub from: Option<NaiveDateTime>,
    /// Rows with `occurred_at < to`.
    pub to: Option<NaiveDateTime>,
    /// Rows of one service (`pbm.goal`); all when `None`.
    pub service: Option<String>,
}

/// Up to `limit` rows matching `filter` with an id above `after_id`, by id.
pub fn audit_page(
    conn: &mut AnyConnection,
    filter: &AuditFilter,
    after_id: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut query = pbm_audit_log::table
        .filter(pbm_audit_log::id.gt(after_id))
        .into_boxed();
    if let Some(from) = filter.from {
        query = query.filter(pbm_audit_log::occurred_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(pbm_audit_log::occurred_at.lt(to));
    }
    if let Some(service) = &filter.service {
        query = query.filter(pbm_audit_log::service.eq(service.clone()));
    }
    query
        .order(pbm_audit_log::id.asc())
        .limit(limit)
        .select(AuditRecord::as_select())
        .load(conn)
        .map_err(StoreError::from)
}

/// Writes `entry` with its row MAC ([`AuditEntry::row_mac`], under the process's audit key).
pub fn insert_audit(conn: &mut AnyConnection, entry: &AuditEntry) -> Result<(), StoreError> {
    insert_audit_with_mac(conn, entry, &entry.row_mac())
}

/// Writes `entry` with the row MAC computed for it beforehand ([`AuditEntry::row_mac`]).
pub fn insert_audit_with_mac(
    conn: &mut AnyConnection,
    entry: &AuditEntry,
    row_mac: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(pbm_audit_log::table)
        .values((entry, pbm_audit_log::row_mac.eq(row_mac)))
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

/// An event to write with the change that caused it. The row also records the current trace
/// context ([`install_trace_context`]).
#[derive(Debug, Clone)]
pub struct NewOutboxEvent {
    pub occurred_at: NaiveDateTime,
    pub service: String,
    pub topic: String,
    pub entity_id: String,
    /// JSON.
    pub payload: String,
}

/// The row written for a [`NewOutboxEvent`].
#[derive(Insertable)]
#[diesel(table_name = pbm_outbox)]
struct OutboxInsert<'a> {
    occurred_at: NaiveDateTime,
    service: &'a str,
    topic: &'a str,
    entity_id: &'a str,
    payload: &'a str,
    trace_context: &'a str,
}

static TRACE_CONTEXT: std::sync::OnceLock<fn() -> String> = std::sync::OnceLock::new();

/// Installs what gives the current W3C trace context (`traceparent`) when an outbox row is
/// written: the server installs `pbm_telemetry::current_traceparent` at start (this crate does
/// not depend on telemetry). Without it rows carry ''. The first installation wins.
pub fn install_trace_context(current: fn() -> String) {
    let _ = TRACE_CONTEXT.set(current);
}

fn trace_context() -> String {
    TRACE_CONTEXT.get().map(|f| f()).unwrap_or_default()
}

fn outbox_row<'a>(e: &'a NewOutboxEvent, trace: &'a str) -> OutboxInsert<'a> {
    OutboxInsert {
        occurred_at: e.occurred_at,
        service: &e.service,
        topic: &e.topic,
        entity_id: &e.entity_id,
        payload: &e.payload,
        trace_context: trace,
    }
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
    /// `traceparent` of the request that wrote it, or ''.
    pub trace_context: String,
}

pub fn insert_outbox(conn: &mut AnyConnection, event: &NewOutboxEvent) -> Result<(), StoreError> {
    let trace = trace_context();
    diesel::insert_into(pbm_outbox::table)
        .values(outbox_row(event, &trace))
        .execute(conn)?;
    Ok(())
}

/// Writes `events` in multi-row inserts (a library follower's batch writes thousands).
pub fn insert_outbox_batch(
    conn: &mut AnyConnection,
    events: &[NewOutboxEvent],
) -> Result<(), StoreError> {
    // 6 columns × 1,000 rows stays under both backends' bind-parameter limits. Multi-row
    // INSERT is not available through MultiConnection, so dispatch to the concrete connection.
    let trace = trace_context();
    for chunk in events.chunks(1_000) {
        let chunk: Vec<_> = chunk.iter().map(|e| outbox_row(e, &trace)).collect();
        match conn {
            AnyConnection::Postgresql(c) => {
                diesel::insert_into(pbm_outbox::table)
                    .values(&chunk)
                    .execute(c)?;
            }
            AnyConnection::Sqlite(c) => {
                diesel::insert_into(pbm_outbox::table)
                    .values(&chunk)
                    .execute(c)?;
            }
        }
    }
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
    // A row already marked keeps its time: embedded consumers read in publication order
    // (`events::published_outbox_after`), and a relay replaced mid-batch may mark rows twice.
    diesel::update(
        pbm_outbox::table
            .filter(pbm_outbox::id.eq_any(ids))
            .filter(pbm_outbox::published_at.is_null()),
    )
    .set(pbm_outbox::published_at.eq(Some(at)))
    .execute(conn)?;
    Ok(())
}

/// The platform inserts as SQL, for one PostgreSQL statement that writes its audit line and
/// idempotency record beside its own change in data-modifying `WITH` clauses (the goal service
/// writes a batch of workflow steps so). The table and column lists are written here only;
/// the text columns come in the order [`AuditEntry::texts`] and [`IdempotencyRecord::texts`]
/// give them, the audit line's row MAC ([`AuditEntry::row_mac`], computed in Rust and bound
/// like any value) last.
pub mod statement {
    use diesel::QueryResult;
    use diesel::pg::Pg;
    use diesel::query_builder::AstPass;
    use diesel::sql_types::{Binary, Text, Timestamp};

    use super::{AuditEntry, IdempotencyRecord};

    /// `INSERT INTO pbm_audit_log (occurred_at, <the texts of [`AuditEntry::texts`]>, row_mac)`.
    pub const AUDIT_INSERT: &str = "INSERT INTO pbm_audit_log (occurred_at, service, method, \
         request_id, subject, role, mof_div_code, entity_type, entity_id, outcome, detail, \
         row_mac)";

    /// `INSERT INTO pbm_idempotency (created_at, <the texts of [`IdempotencyRecord::texts`]>,
    /// response)`.
    pub const IDEMPOTENCY_INSERT: &str = "INSERT INTO pbm_idempotency (created_at, service, \
         request_id, subject, method, request_hash, response)";

    impl AuditEntry {
        /// The text columns, in [`AUDIT_INSERT`]'s order after `occurred_at`.
        pub fn texts(&self) -> [&str; 10] {
            [
                &self.service,
                &self.method,
                &self.request_id,
                &self.subject,
                &self.role,
                &self.mof_div_code,
                &self.entity_type,
                &self.entity_id,
                &self.outcome,
                &self.detail,
            ]
        }
    }

    impl IdempotencyRecord {
        /// The text columns, in [`IDEMPOTENCY_INSERT`]'s order between `created_at` and
        /// `response`.
        pub fn texts(&self) -> [&str; 5] {
            [
                &self.service,
                &self.request_id,
                &self.subject,
                &self.method,
                &self.request_hash,
            ]
        }
    }

    /// Pushes `<AUDIT_INSERT> SELECT <entry's values>, <row_mac> FROM <from>`: the entry is
    /// written for the row of `from` (none when the guarded change moved nothing; `from` has at
    /// most one row, as each row MAC is written once).
    pub fn push_audit_select<'b>(
        out: &mut AstPass<'_, 'b, Pg>,
        entry: &'b AuditEntry,
        row_mac: &'b str,
        from: &str,
    ) -> QueryResult<()> {
        out.push_sql(AUDIT_INSERT);
        out.push_sql(" SELECT ");
        out.push_bind_param::<Timestamp, _>(&entry.occurred_at)?;
        for text in [
            &entry.service,
            &entry.method,
            &entry.request_id,
            &entry.subject,
            &entry.role,
            &entry.mof_div_code,
            &entry.entity_type,
            &entry.entity_id,
            &entry.outcome,
            &entry.detail,
        ] {
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(text)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(row_mac)?;
        out.push_sql(" FROM ");
        out.push_sql(from);
        Ok(())
    }

    /// Pushes `<IDEMPOTENCY_INSERT> SELECT <record's values> FROM <from>`.
    pub fn push_idempotency_select<'b>(
        out: &mut AstPass<'_, 'b, Pg>,
        record: &'b IdempotencyRecord,
        from: &str,
    ) -> QueryResult<()> {
        out.push_sql(IDEMPOTENCY_INSERT);
        out.push_sql(" SELECT ");
        out.push_bind_param::<Timestamp, _>(&record.created_at)?;
        for text in [
            &record.service,
            &record.request_id,
            &record.subject,
            &record.method,
            &record.request_hash,
        ] {
            out.push_sql(", ");
            out.push_bind_param::<Text, _>(text)?;
        }
        out.push_sql(", ");
        out.push_bind_param::<Binary, _>(&record.response)?;
        out.push_sql(" FROM ");
        out.push_sql(from);
        Ok(())
    }
}
