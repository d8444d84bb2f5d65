//! A workflow step's guarded write in one statement (PostgreSQL: a data-modifying `WITH`), alone
//! or for a whole batch of steps ([`crate::ops::steps`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::platform::statement;
use pbm_db::{AnyConnection, StoreError};

use super::goals::update_goal;
use super::history::insert_event;
use super::rows::{EventRow, GoalRow};

/// Moves a goal to its next workflow state — `row`, guarded by the revision the caller read
/// — and records the move: its history event, the request's audit line and its idempotency
/// record. All or nothing; `false` (and nothing written) when the revision moved on.
///
/// On PostgreSQL this is **one statement** (a data-modifying `WITH`, kept prepared per
/// connection): it needs no surrounding transaction, so a workflow step costs its reads and
/// this one round trip ([`pbm_server::run_decided_mutation`]). A second attempt racing the
/// first waits on the goal's row lock and then finds the revision moved. On SQLite (already in
/// the writer's transaction) the same four writes are four statements.
pub fn write_transition(
    conn: &mut AnyConnection,
    row: &GoalRow,
    expected: i64,
    event: &EventRow,
    records: &pbm_server::Records,
) -> Result<bool, StoreError> {
    match conn {
        AnyConnection::Postgresql(c) => {
            let statement = TransitionStatement {
                row,
                expected,
                event,
                records,
            };
            Ok(statement.execute(c)? == 1)
        }
        AnyConnection::Sqlite(_) => {
            if !update_goal(conn, row, expected)? {
                return Ok(false);
            }
            insert_event(conn, event)?;
            records.insert(conn)?;
            Ok(true)
        }
    }
}

/// The PostgreSQL statement of [`write_transition`]. Its text never varies, so it has a
/// static query id and diesel keeps it prepared on each connection.
pub(crate) struct TransitionStatement<'a> {
    row: &'a GoalRow,
    expected: i64,
    event: &'a EventRow,
    records: &'a pbm_server::Records,
}

impl diesel::query_builder::QueryId for TransitionStatement<'_> {
    type QueryId = TransitionStatement<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for TransitionStatement<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
        let (r, e) = (self.row, self.event);
        let (a, i) = (&self.records.audit, &self.records.idempotency);
        out.push_sql("WITH moved AS (UPDATE goals SET status = ");
        out.push_bind_param::<Text, _>(&r.status)?;
        out.push_sql(", approved_version = ");
        out.push_bind_param::<Nullable<Integer>, _>(&r.approved_version)?;
        out.push_sql(", published_version = ");
        out.push_bind_param::<Nullable<Integer>, _>(&r.published_version)?;
        out.push_sql(", state = ");
        out.push_bind_param::<Text, _>(&r.state)?;
        out.push_sql(", revision = ");
        out.push_bind_param::<BigInt, _>(&r.revision)?;
        out.push_sql(", changed_by = ");
        out.push_bind_param::<Text, _>(&r.changed_by)?;
        out.push_sql(", changed_at = ");
        out.push_bind_param::<Timestamp, _>(&r.changed_at)?;
        out.push_sql(", working_version = ");
        out.push_bind_param::<Integer, _>(&r.working_version)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<BigInt, _>(&r.id)?;
        out.push_sql(" AND revision = ");
        out.push_bind_param::<BigInt, _>(&self.expected)?;
        out.push_sql(
            " RETURNING id), history AS (INSERT INTO goal_events (goal_id, action, \
             from_status, to_status, version, comments, changes, budget_adjustment_ref, role, \
             actor, at) SELECT id",
        );
        texts(&mut out, [&e.action, &e.from_status, &e.to_status])?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&e.version)?;
        texts(
            &mut out,
            [
                &e.comments,
                &e.changes,
                &e.budget_adjustment_ref,
                &e.role,
                &e.actor,
            ],
        )?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&e.at)?;
        out.push_sql(" FROM moved), audit AS (");
        statement::push_audit_select(&mut out, a, &self.records.audit_mac, "moved")?;
        out.push_sql(") ");
        statement::push_idempotency_select(&mut out, i, "moved")?;
        Ok(())
    }
}

impl RunQueryDsl<diesel::PgConnection> for TransitionStatement<'_> {}

/// Appends `, $n` for each text.
pub(crate) fn texts<'b, const N: usize>(
    out: &mut diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    values: [&'b String; N],
) -> QueryResult<()> {
    for value in values {
        out.push_sql(", ");
        out.push_bind_param::<diesel::sql_types::Text, _>(value)?;
    }
    Ok(())
}

/// One workflow step to write in a batch: the goal's new row guarded by the revision read,
/// its history event and the mutation's records.
pub struct Transition<'a> {
    pub row: &'a GoalRow,
    pub expected: i64,
    pub event: &'a EventRow,
    pub records: &'a pbm_server::Records,
}

/// [`write_transition`] for several goals (distinct ids) in **one** statement on PostgreSQL:
/// the rows come in as one array per column (`unnest`), each goal is updated only if its
/// revision is still the one read, and the event, audit line and idempotency record of each
/// goal that moved are inserted with it. Returns the ids that moved; the others were changed
/// since they were read. Any failure (e.g. a request id already recorded) fails the whole
/// statement and writes nothing.
pub fn write_transitions(
    conn: &mut diesel::PgConnection,
    steps: &[Transition<'_>],
) -> Result<Vec<i64>, StoreError> {
    let columns = TransitionColumns::of(steps);
    Ok(columns.load::<i64>(conn)?)
}

/// The columns of a batch of transitions, bound as arrays by [`write_transitions`].
pub(crate) struct TransitionColumns<'a> {
    id: Vec<i64>,
    expected: Vec<i64>,
    approved_version: Vec<Option<i32>>,
    published_version: Vec<Option<i32>>,
    revision: Vec<i64>,
    working_version: Vec<i32>,
    event_version: Vec<i32>,
    /// status, state, changed_by.
    goal_texts: [Vec<&'a str>; 3],
    changed_at: Vec<NaiveDateTime>,
    /// action, from_status, to_status, comments, changes, budget_adjustment_ref, role, actor.
    event_texts: [Vec<&'a str>; 8],
    event_at: Vec<NaiveDateTime>,
    audit_at: Vec<NaiveDateTime>,
    /// [`pbm_db::platform::AuditEntry::texts`], column by column.
    audit_texts: [Vec<&'a str>; 10],
    /// [`pbm_server::Records::audit_mac`].
    audit_mac: Vec<&'a str>,
    record_at: Vec<NaiveDateTime>,
    /// [`pbm_db::platform::IdempotencyRecord::texts`], column by column.
    record_texts: [Vec<&'a str>; 5],
    response: Vec<&'a [u8]>,
}

impl<'a> TransitionColumns<'a> {
    fn of(steps: &[Transition<'a>]) -> Self {
        let column = |f: &dyn Fn(&Transition<'a>) -> &'a str| -> Vec<&'a str> {
            steps.iter().map(f).collect()
        };
        Self {
            id: steps.iter().map(|t| t.row.id).collect(),
            expected: steps.iter().map(|t| t.expected).collect(),
            approved_version: steps.iter().map(|t| t.row.approved_version).collect(),
            published_version: steps.iter().map(|t| t.row.published_version).collect(),
            revision: steps.iter().map(|t| t.row.revision).collect(),
            working_version: steps.iter().map(|t| t.row.working_version).collect(),
            event_version: steps.iter().map(|t| t.event.version).collect(),
            goal_texts: [
                column(&|t| &t.row.status),
                column(&|t| &t.row.state),
                column(&|t| &t.row.changed_by),
            ],
            changed_at: steps.iter().map(|t| t.row.changed_at).collect(),
            event_texts: [
                column(&|t| &t.event.action),
                column(&|t| &t.event.from_status),
                column(&|t| &t.event.to_status),
                column(&|t| &t.event.comments),
                column(&|t| &t.event.changes),
                column(&|t| &t.event.budget_adjustment_ref),
                column(&|t| &t.event.role),
                column(&|t| &t.event.actor),
            ],
            event_at: steps.iter().map(|t| t.event.at).collect(),
            audit_at: steps.iter().map(|t| t.records.audit.occurred_at).collect(),
            audit_texts: std::array::from_fn(|k| {
                steps.iter().map(|t| t.records.audit.texts()[k]).collect()
            }),
            audit_mac: steps.iter().map(|t| t.records.audit_mac.as_str()).collect(),
            record_at: steps
                .iter()
                .map(|t| t.records.idempotency.created_at)
                .collect(),
            record_texts: std::array::from_fn(|k| {
                steps
                    .iter()
                    .map(|t| t.records.idempotency.texts()[k])
                    .collect()
            }),
            response: steps
                .iter()
                .map(|t| t.records.idempotency.response.as_slice())
                .collect(),
        }
    }
}

impl diesel::query_builder::QueryId for TransitionColumns<'_> {
    type QueryId = TransitionColumns<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for TransitionColumns<'_> {
    type SqlType = diesel::sql_types::BigInt;
}

impl<'a> diesel::query_builder::QueryFragment<diesel::pg::Pg> for TransitionColumns<'a> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Binary, Integer, Nullable, Text, Timestamp};
        out.push_sql("WITH input AS (SELECT * FROM unnest(");
        out.push_bind_param::<Array<BigInt>, _>(&self.id)?;
        then::<Array<BigInt>, _>(&mut out, &self.expected)?;
        then::<Array<Nullable<Integer>>, _>(&mut out, &self.approved_version)?;
        then::<Array<Nullable<Integer>>, _>(&mut out, &self.published_version)?;
        then::<Array<BigInt>, _>(&mut out, &self.revision)?;
        then::<Array<Integer>, _>(&mut out, &self.working_version)?;
        then::<Array<Integer>, _>(&mut out, &self.event_version)?;
        let texts = |out: &mut diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
                     columns: &'b [Vec<&'a str>]| {
            columns
                .iter()
                .try_for_each(|c| then::<Array<Text>, _>(out, c))
        };
        texts(&mut out, &self.goal_texts)?;
        then::<Array<Timestamp>, _>(&mut out, &self.changed_at)?;
        texts(&mut out, &self.event_texts)?;
        then::<Array<Timestamp>, _>(&mut out, &self.event_at)?;
        then::<Array<Timestamp>, _>(&mut out, &self.audit_at)?;
        texts(&mut out, &self.audit_texts)?;
        then::<Array<Text>, _>(&mut out, &self.audit_mac)?;
        then::<Array<Timestamp>, _>(&mut out, &self.record_at)?;
        texts(&mut out, &self.record_texts)?;
        then::<Array<Binary>, _>(&mut out, &self.response)?;
        out.push_sql(
            ") AS t(id, expected, approved_version, published_version, revision, \
             working_version, e_version, status, state, changed_by, changed_at, \
             e_action, e_from, e_to, e_comments, e_changes, e_ref, e_role, e_actor, e_at, \
             a_at, a_service, a_method, a_request_id, a_subject, a_role, a_div, a_type, a_entity, \
             a_outcome, a_detail, a_mac, \
             r_at, r_service, r_request_id, r_subject, r_method, r_hash, r_response)), \
             moved AS (UPDATE goals g SET status = i.status, \
             approved_version = i.approved_version, published_version = i.published_version, \
             state = i.state, revision = i.revision, changed_by = i.changed_by, \
             changed_at = i.changed_at, working_version = i.working_version \
             FROM input i WHERE g.id = i.id AND g.revision = i.expected RETURNING g.id), \
             done AS (SELECT i.* FROM input i JOIN moved m ON m.id = i.id), \
             history AS (INSERT INTO goal_events (goal_id, action, from_status, to_status, \
             version, comments, changes, budget_adjustment_ref, role, actor, at) \
             SELECT id, e_action, e_from, e_to, e_version, e_comments, e_changes, e_ref, e_role, \
             e_actor, e_at FROM done), \
             audit AS (",
        );
        // The platform tables' column lists are pbm_db's (statement::*_INSERT); the selected
        // columns follow their order.
        out.push_sql(statement::AUDIT_INSERT);
        out.push_sql(
            " SELECT a_at, a_service, a_method, a_request_id, a_subject, a_role, a_div, a_type, \
             a_entity, a_outcome, a_detail, a_mac FROM done), records AS (",
        );
        out.push_sql(statement::IDEMPOTENCY_INSERT);
        out.push_sql(
            " SELECT r_at, r_service, r_request_id, r_subject, r_method, r_hash, r_response \
             FROM done) SELECT id FROM done",
        );
        Ok(())
    }
}

impl RunQueryDsl<diesel::PgConnection> for TransitionColumns<'_> {}

/// Appends `, $n` bound to `value`.
pub(crate) fn then<'b, ST, U>(
    out: &mut diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    value: &'b U,
) -> QueryResult<()>
where
    diesel::pg::Pg: diesel::sql_types::HasSqlType<ST>,
    U: diesel::serialize::ToSql<ST, diesel::pg::Pg> + ?Sized,
{
    out.push_sql(", ");
    out.push_bind_param::<ST, U>(value)
}
