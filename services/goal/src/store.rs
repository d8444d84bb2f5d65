//! What do we store? Projects from the budget system, one goal per project (or per department
//! as a whole) and fiscal year with its workflow state, every declaration version, every
//! transition of its history, and the rules per fiscal year. The only module with SQL.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, Money, StoreError};

pub mod schema {
    diesel::table! {
        use diesel::sql_types::*;
        use pbm_db::sql_types::Amount;

        projects (pro_code, fiscal_year) {
            pro_code -> Text,
            fiscal_year -> Integer,
            name -> Text,
            agency_code -> Text,
            department_code -> Text,
            fund_source -> Text,
            special_field -> Text,
            continuity -> Text,
            nature -> Text,
            requested_amount -> Amount,
            mid_term_from -> Nullable<Integer>,
            mid_term_to -> Nullable<Integer>,
            version -> BigInt,
            changed_by -> Text,
            changed_at -> Timestamp,
        }
    }

    diesel::table! {
        goals (id) {
            id -> BigInt,
            fiscal_year -> Integer,
            target_kind -> Text,
            target_code -> Text,
            agency_code -> Text,
            department_code -> Text,
            status -> Text,
            approved_version -> Nullable<Integer>,
            published_version -> Nullable<Integer>,
            state -> Text,
            revision -> BigInt,
            changed_by -> Text,
            changed_at -> Timestamp,
            working_version -> Integer,
        }
    }

    diesel::table! {
        goal_versions (goal_id, version) {
            goal_id -> BigInt,
            version -> Integer,
            declaration -> Text,
            saved_by -> Text,
            saved_at -> Timestamp,
        }
    }

    diesel::table! {
        goal_events (id) {
            id -> BigInt,
            goal_id -> BigInt,
            action -> Text,
            from_status -> Text,
            to_status -> Text,
            version -> Integer,
            comments -> Text,
            changes -> Text,
            budget_adjustment_ref -> Text,
            role -> Text,
            actor -> Text,
            at -> Timestamp,
        }
    }

    diesel::table! {
        use diesel::sql_types::*;
        use pbm_db::sql_types::Amount;

        goal_rules (fiscal_year, version) {
            fiscal_year -> Integer,
            version -> BigInt,
            ex_ante_threshold -> Nullable<Amount>,
            weight_total -> Amount,
            changed_by -> Text,
            changed_at -> Timestamp,
        }
    }

    diesel::table! {
        ex_ante_reports (pro_code, fiscal_year) {
            pro_code -> Text,
            fiscal_year -> Integer,
            report -> Text,
            conclusion -> Text,
            review_state -> Text,
            review_opinion -> Text,
            rules -> Text,
            version -> BigInt,
            submitted_by -> Text,
            submitted_at -> Timestamp,
            reviewed_by -> Nullable<Text>,
            reviewed_at -> Nullable<Timestamp>,
        }
    }

    diesel::table! {
        goal_reviewers (goal_id, kind, reviewer_id) {
            goal_id -> BigInt,
            kind -> Text,
            reviewer_id -> Text,
            draw_id -> BigInt,
            assigned_by -> Text,
            assigned_at -> Timestamp,
        }
    }

    diesel::table! {
        ex_ante_commissions (pro_code, fiscal_year) {
            pro_code -> Text,
            fiscal_year -> Integer,
            agency_credit_code -> Text,
            draw_id -> BigInt,
            engagement_id -> BigInt,
            due_on -> Date,
            request_id -> Text,
            commissioned_by -> Text,
            commissioned_at -> Timestamp,
        }
    }

    diesel::allow_tables_to_appear_in_same_query!(
        goals,
        goal_versions,
        goal_events,
        goal_reviewers,
        goal_rules,
        projects
    );
}

use schema::{
    ex_ante_commissions as xc, ex_ante_reports as xr, goal_events as ev, goal_reviewers as rv,
    goal_rules as gr, goal_versions as gv, goals as g, projects as p,
};

pub const MIGRATIONS: pbm_db::Migrations = pbm_db::Migrations {
    postgres: diesel_migrations::embed_migrations!("migrations/postgres"),
    sqlite: diesel_migrations::embed_migrations!("migrations/sqlite"),
};

pub static ALL_MIGRATIONS: [&pbm_db::Migrations; 2] = [&pbm_db::PLATFORM_MIGRATIONS, &MIGRATIONS];

// ---------------------------------------------------------------------------------------------
// Projects

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = p, treat_none_as_null = true)]
pub struct ProjectRow {
    pub pro_code: String,
    pub fiscal_year: i32,
    pub name: String,
    pub agency_code: String,
    pub department_code: String,
    pub fund_source: String,
    pub special_field: String,
    pub continuity: String,
    pub nature: String,
    pub requested_amount: Money,
    pub mid_term_from: Option<i32>,
    pub mid_term_to: Option<i32>,
    pub version: i64,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

pub fn insert_project(conn: &mut AnyConnection, row: &ProjectRow) -> Result<(), StoreError> {
    diesel::insert_into(p::table).values(row).execute(conn)?;
    Ok(())
}

/// Replaces a project if its version is still `expected`.
pub fn update_project(
    conn: &mut AnyConnection,
    row: &ProjectRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        p::table
            .filter(p::pro_code.eq(&row.pro_code))
            .filter(p::fiscal_year.eq(row.fiscal_year))
            .filter(p::version.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

pub fn project(
    conn: &mut AnyConnection,
    pro_code: &str,
    year: i32,
) -> Result<Option<ProjectRow>, StoreError> {
    Ok(p::table
        .filter(p::pro_code.eq(pro_code))
        .filter(p::fiscal_year.eq(year))
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()?)
}

/// Above this many codes a batch reads the whole year and keeps the asked ones: one plain
/// index range scan instead of a list of thousands of parameters, which costs far more on
/// the client side than the rows do.
const WHOLE_YEAR_ABOVE: usize = 200;

/// The rows of `all` whose key is one of `codes` (a batch read as the whole year).
fn keep_asked<T>(all: Vec<T>, codes: &[String], key: impl Fn(&T) -> &str) -> Vec<T> {
    let asked: std::collections::HashSet<&str> = codes.iter().map(String::as_str).collect();
    all.into_iter().filter(|r| asked.contains(key(r))).collect()
}

/// Projects of a year by code (the funding gate's batch; at most 5,000 codes).
pub fn projects(
    conn: &mut AnyConnection,
    year: i32,
    codes: &[String],
) -> Result<Vec<ProjectRow>, StoreError> {
    if codes.len() > WHOLE_YEAR_ABOVE {
        let all: Vec<ProjectRow> = p::table
            .filter(p::fiscal_year.eq(year))
            .select(ProjectRow::as_select())
            .load(conn)?;
        return Ok(keep_asked(all, codes, |r| &r.pro_code));
    }
    Ok(p::table
        .filter(p::fiscal_year.eq(year))
        .filter(p::pro_code.eq_any(codes))
        .select(ProjectRow::as_select())
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------------
// Goals

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = g, treat_none_as_null = true)]
pub struct GoalRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub fiscal_year: i32,
    pub target_kind: String,
    pub target_code: String,
    pub agency_code: String,
    pub department_code: String,
    /// The workflow status kind (`draft`, `submitted`, …).
    pub status: String,
    /// Copies of the state's approved and published versions, for lists.
    pub approved_version: Option<i32>,
    pub published_version: Option<i32>,
    /// The workflow state as JSON.
    pub state: String,
    pub revision: i64,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
    /// Copy of the state's working version (the declaration version being worked on).
    pub working_version: i32,
}

pub fn insert_goal(conn: &mut AnyConnection, row: &GoalRow) -> Result<i64, StoreError> {
    Ok(pbm_db::insert_returning_id!(conn, g::table, row, g::id))
}

/// Writes a goal's new state if its revision is still `expected`.
pub fn update_goal(
    conn: &mut AnyConnection,
    row: &GoalRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        g::table
            .filter(g::id.eq(row.id))
            .filter(g::revision.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

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
struct TransitionStatement<'a> {
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
        use diesel::sql_types::{BigInt, Binary, Integer, Nullable, Text, Timestamp};
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
        out.push_sql(
            " FROM moved), audit AS (INSERT INTO pbm_audit_log (occurred_at, service, method, \
             request_id, subject, role, mof_div_code, entity_type, entity_id, outcome, detail) \
             SELECT ",
        );
        out.push_bind_param::<Timestamp, _>(&a.occurred_at)?;
        texts(
            &mut out,
            [
                &a.service,
                &a.method,
                &a.request_id,
                &a.subject,
                &a.role,
                &a.mof_div_code,
                &a.entity_type,
                &a.entity_id,
                &a.outcome,
                &a.detail,
            ],
        )?;
        out.push_sql(
            " FROM moved) INSERT INTO pbm_idempotency (created_at, service, request_id, subject, \
             method, request_hash, response) SELECT ",
        );
        out.push_bind_param::<Timestamp, _>(&i.created_at)?;
        texts(
            &mut out,
            [
                &i.service,
                &i.request_id,
                &i.subject,
                &i.method,
                &i.request_hash,
            ],
        )?;
        out.push_sql(", ");
        out.push_bind_param::<Binary, _>(&i.response)?;
        out.push_sql(" FROM moved");
        Ok(())
    }
}

/// Appends `, $n` for each text.
fn texts<'b, const N: usize>(
    out: &mut diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    values: [&'b String; N],
) -> QueryResult<()> {
    for value in values {
        out.push_sql(", ");
        out.push_bind_param::<diesel::sql_types::Text, _>(value)?;
    }
    Ok(())
}

impl RunQueryDsl<diesel::PgConnection> for TransitionStatement<'_> {}

pub fn goal(conn: &mut AnyConnection, id: i64) -> Result<Option<GoalRow>, StoreError> {
    Ok(g::table
        .filter(g::id.eq(id))
        .select(GoalRow::as_select())
        .first(conn)
        .optional()?)
}

/// A goal and the text of the declaration version being worked on, in one statement.
pub fn goal_with_declaration(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<(GoalRow, String)>, StoreError> {
    Ok(g::table
        .inner_join(
            gv::table.on(gv::goal_id
                .eq(g::id)
                .and(gv::version.eq(g::working_version))),
        )
        .filter(g::id.eq(id))
        .select((GoalRow::as_select(), gv::declaration))
        .first(conn)
        .optional()?)
}

/// A goal, its working declaration text, its project and the newest rules of its year.
pub type GoalInContext = (GoalRow, String, Option<ProjectRow>, Option<RulesRow>);

/// The joined select behind [`goal_in_context`] and [`goals_in_context`]: each goal with its
/// working declaration, its project and every rules version of its year (the caller orders
/// the newest first and keeps it; a year has a handful of versions — plain DSL, so the
/// statement stays prepared).
macro_rules! in_context {
    () => {
        g::table
            .inner_join(
                gv::table.on(gv::goal_id
                    .eq(g::id)
                    .and(gv::version.eq(g::working_version))),
            )
            .left_join(
                p::table.on(p::pro_code
                    .eq(g::target_code)
                    .and(p::fiscal_year.eq(g::fiscal_year))
                    .and(g::target_kind.eq("project"))),
            )
            .left_join(gr::table.on(gr::fiscal_year.eq(g::fiscal_year)))
            .select((
                GoalRow::as_select(),
                gv::declaration,
                Option::<ProjectRow>::as_select(),
                Option::<RulesRow>::as_select(),
            ))
    };
}

/// What a workflow step decides on, in one statement: the goal, the text of the declaration
/// version being worked on, its project (for a project's goal) and the goal rules in force for
/// its year (none when never set).
pub fn goal_in_context(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<GoalInContext>, StoreError> {
    Ok(in_context!()
        .filter(g::id.eq(id))
        .order(gr::version.desc())
        .first(conn)
        .optional()?)
}

/// [`goal_in_context`] for several goals in one statement (PostgreSQL; a batch of workflow
/// steps, `crate::ops::steps`). The id list is one array parameter, so the statement stays prepared
/// whatever the batch's size.
pub fn goals_in_context(
    conn: &mut diesel::PgConnection,
    ids: &[i64],
) -> Result<HashMap<i64, GoalInContext>, StoreError> {
    let rows: Vec<GoalInContext> = in_context!()
        .filter(g::id.eq_any(ids))
        .order((g::id, gr::version.desc()))
        .load(conn)?;
    let mut found = HashMap::with_capacity(ids.len());
    for row in rows {
        // The newest rules version of each goal's year comes first; it is the one kept.
        found.entry(row.0.id).or_insert(row);
    }
    Ok(found)
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
struct TransitionColumns<'a> {
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
    /// service, method, request_id, subject, role, mof_div_code, entity_type, entity_id,
    /// outcome, detail.
    audit_texts: [Vec<&'a str>; 10],
    record_at: Vec<NaiveDateTime>,
    /// service, request_id, subject, method, request_hash.
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
            audit_texts: [
                column(&|t| &t.records.audit.service),
                column(&|t| &t.records.audit.method),
                column(&|t| &t.records.audit.request_id),
                column(&|t| &t.records.audit.subject),
                column(&|t| &t.records.audit.role),
                column(&|t| &t.records.audit.mof_div_code),
                column(&|t| &t.records.audit.entity_type),
                column(&|t| &t.records.audit.entity_id),
                column(&|t| &t.records.audit.outcome),
                column(&|t| &t.records.audit.detail),
            ],
            record_at: steps
                .iter()
                .map(|t| t.records.idempotency.created_at)
                .collect(),
            record_texts: [
                column(&|t| &t.records.idempotency.service),
                column(&|t| &t.records.idempotency.request_id),
                column(&|t| &t.records.idempotency.subject),
                column(&|t| &t.records.idempotency.method),
                column(&|t| &t.records.idempotency.request_hash),
            ],
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
        then::<Array<Timestamp>, _>(&mut out, &self.record_at)?;
        texts(&mut out, &self.record_texts)?;
        then::<Array<Binary>, _>(&mut out, &self.response)?;
        out.push_sql(
            ") AS t(id, expected, approved_version, published_version, revision, \
             working_version, e_version, status, state, changed_by, changed_at, \
             e_action, e_from, e_to, e_comments, e_changes, e_ref, e_role, e_actor, e_at, \
             a_at, a_service, a_method, a_request_id, a_subject, a_role, a_div, a_type, a_entity, \
             a_outcome, a_detail, \
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
             audit AS (INSERT INTO pbm_audit_log (occurred_at, service, method, request_id, \
             subject, role, mof_div_code, entity_type, entity_id, outcome, detail) \
             SELECT a_at, a_service, a_method, a_request_id, a_subject, a_role, a_div, a_type, \
             a_entity, a_outcome, a_detail FROM done), \
             records AS (INSERT INTO pbm_idempotency (created_at, service, request_id, subject, \
             method, request_hash, response) \
             SELECT r_at, r_service, r_request_id, r_subject, r_method, r_hash, r_response \
             FROM done) \
             SELECT id FROM done",
        );
        Ok(())
    }
}

/// Appends `, $n` bound to `value`.
fn then<'b, ST, U>(
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

impl RunQueryDsl<diesel::PgConnection> for TransitionColumns<'_> {}

pub fn goal_of_target(
    conn: &mut AnyConnection,
    year: i32,
    kind: &str,
    code: &str,
) -> Result<Option<GoalRow>, StoreError> {
    Ok(g::table
        .filter(g::fiscal_year.eq(year))
        .filter(g::target_kind.eq(kind))
        .filter(g::target_code.eq(code))
        .select(GoalRow::as_select())
        .first(conn)
        .optional()?)
}

/// The project goals of a year for the given codes (the funding gate's batch).
pub fn goals_of_projects(
    conn: &mut AnyConnection,
    year: i32,
    codes: &[String],
) -> Result<Vec<GoalRow>, StoreError> {
    let q = g::table
        .filter(g::fiscal_year.eq(year))
        .filter(g::target_kind.eq("project"))
        .into_boxed::<pbm_db::MultiBackend>();
    if codes.len() > WHOLE_YEAR_ABOVE {
        let all: Vec<GoalRow> = q.select(GoalRow::as_select()).load(conn)?;
        return Ok(keep_asked(all, codes, |r| &r.target_code));
    }
    Ok(q.filter(g::target_code.eq_any(codes))
        .select(GoalRow::as_select())
        .load(conn)?)
}

/// Which goals a list may show (decided by the caller's role).
#[derive(Debug, Clone, Default)]
pub struct GoalFilter {
    pub fiscal_year: Option<i32>,
    pub agency_code: Option<String>,
    pub department_code: Option<String>,
    pub status: Option<String>,
    /// Only goals with a published version (or assigned to `reviewer`).
    pub published_only: bool,
    /// With `published_only`: also the goals this reviewer (expert id or credit code) reviews.
    pub reviewer: Option<String>,
}

pub fn list_goals(
    conn: &mut AnyConnection,
    f: &GoalFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<GoalRow>, i64), StoreError> {
    let query = || {
        let mut q = g::table.into_boxed::<pbm_db::MultiBackend>();
        if let Some(y) = f.fiscal_year {
            q = q.filter(g::fiscal_year.eq(y));
        }
        if let Some(a) = &f.agency_code {
            q = q.filter(g::agency_code.eq(a.clone()));
        }
        if let Some(d) = &f.department_code {
            q = q.filter(g::department_code.eq(d.clone()));
        }
        if let Some(s) = &f.status {
            q = q.filter(g::status.eq(s.clone()));
        }
        if f.published_only {
            q = match &f.reviewer {
                Some(r) => q.filter(
                    g::published_version.is_not_null().or(g::id.eq_any(
                        rv::table
                            .filter(rv::reviewer_id.eq(r.clone()))
                            .select(rv::goal_id),
                    )),
                ),
                None => q.filter(g::published_version.is_not_null()),
            };
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order(g::id.asc())
        .offset(offset)
        .limit(limit)
        .select(GoalRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

// ---------------------------------------------------------------------------------------------
// Declaration versions and history

pub fn insert_version(
    conn: &mut AnyConnection,
    goal_id: i64,
    version: i32,
    declaration: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(gv::table)
        .values((
            gv::goal_id.eq(goal_id),
            gv::version.eq(version),
            gv::declaration.eq(declaration),
            gv::saved_by.eq(by),
            gv::saved_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces the text of a declaration version that is still being edited.
pub fn replace_version(
    conn: &mut AnyConnection,
    goal_id: i64,
    version: i32,
    declaration: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let n = diesel::update(
        gv::table
            .filter(gv::goal_id.eq(goal_id))
            .filter(gv::version.eq(version)),
    )
    .set((
        gv::declaration.eq(declaration),
        gv::saved_by.eq(by),
        gv::saved_at.eq(at),
    ))
    .execute(conn)?;
    if n == 0 {
        insert_version(conn, goal_id, version, declaration, by, at)?;
    }
    Ok(())
}

/// (declaration JSON, saved by, saved at) of one version.
pub fn version(
    conn: &mut AnyConnection,
    goal_id: i64,
    version: i32,
) -> Result<Option<(String, String, NaiveDateTime)>, StoreError> {
    Ok(gv::table
        .filter(gv::goal_id.eq(goal_id))
        .filter(gv::version.eq(version))
        .select((gv::declaration, gv::saved_by, gv::saved_at))
        .first(conn)
        .optional()?)
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ev)]
pub struct EventRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub goal_id: i64,
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    pub version: i32,
    pub comments: String,
    /// JSON list of field changes (amendments).
    pub changes: String,
    pub budget_adjustment_ref: String,
    pub role: String,
    pub actor: String,
    pub at: NaiveDateTime,
}

pub fn insert_event(conn: &mut AnyConnection, row: &EventRow) -> Result<(), StoreError> {
    // Column by column (not the struct, whose skipped id makes diesel re-send the SQL text each
    // time) so that PostgreSQL keeps the statement prepared.
    diesel::insert_into(ev::table)
        .values((
            ev::goal_id.eq(row.goal_id),
            ev::action.eq(&row.action),
            ev::from_status.eq(&row.from_status),
            ev::to_status.eq(&row.to_status),
            ev::version.eq(row.version),
            ev::comments.eq(&row.comments),
            ev::changes.eq(&row.changes),
            ev::budget_adjustment_ref.eq(&row.budget_adjustment_ref),
            ev::role.eq(&row.role),
            ev::actor.eq(&row.actor),
            ev::at.eq(row.at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn events(conn: &mut AnyConnection, goal_id: i64) -> Result<Vec<EventRow>, StoreError> {
    Ok(ev::table
        .filter(ev::goal_id.eq(goal_id))
        .order(ev::id.asc())
        .select(EventRow::as_select())
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------------
// Rules

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = gr)]
pub struct RulesRow {
    pub fiscal_year: i32,
    pub version: i64,
    pub ex_ante_threshold: Option<Money>,
    pub weight_total: Money,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

pub fn current_rules(conn: &mut AnyConnection, year: i32) -> Result<Option<RulesRow>, StoreError> {
    Ok(gr::table
        .filter(gr::fiscal_year.eq(year))
        .order(gr::version.desc())
        .select(RulesRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_rules(conn: &mut AnyConnection, row: &RulesRow) -> Result<(), StoreError> {
    diesel::insert_into(gr::table).values(row).execute(conn)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Ex-ante assessment reports

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = xr, treat_none_as_null = true)]
pub struct ExAnteRow {
    pub pro_code: String,
    pub fiscal_year: i32,
    /// The checked report as JSON.
    pub report: String,
    pub conclusion: String,
    pub review_state: String,
    pub review_opinion: String,
    pub rules: String,
    pub version: i64,
    pub submitted_by: String,
    pub submitted_at: NaiveDateTime,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
}

pub fn ex_ante(
    conn: &mut AnyConnection,
    pro_code: &str,
    year: i32,
) -> Result<Option<ExAnteRow>, StoreError> {
    Ok(xr::table
        .filter(xr::pro_code.eq(pro_code))
        .filter(xr::fiscal_year.eq(year))
        .select(ExAnteRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_ex_ante(conn: &mut AnyConnection, row: &ExAnteRow) -> Result<(), StoreError> {
    diesel::insert_into(xr::table).values(row).execute(conn)?;
    Ok(())
}

/// Replaces a report if its version is still `expected`.
pub fn update_ex_ante(
    conn: &mut AnyConnection,
    row: &ExAnteRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        xr::table
            .filter(xr::pro_code.eq(&row.pro_code))
            .filter(xr::fiscal_year.eq(row.fiscal_year))
            .filter(xr::version.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// (project, conclusion, review state) of the reports of a year for the given projects.
pub fn ex_ante_facts(
    conn: &mut AnyConnection,
    year: i32,
    codes: &[String],
) -> Result<Vec<(String, String, String)>, StoreError> {
    let q = xr::table
        .filter(xr::fiscal_year.eq(year))
        .select((xr::pro_code, xr::conclusion, xr::review_state))
        .into_boxed::<pbm_db::MultiBackend>();
    if codes.len() > WHOLE_YEAR_ABOVE {
        let all: Vec<(String, String, String)> = q.load(conn)?;
        return Ok(keep_asked(all, codes, |r| &r.0));
    }
    Ok(q.filter(xr::pro_code.eq_any(codes)).load(conn)?)
}

/// Every project (of a year, or all) with its goal's state JSON, for statistics.
pub fn projects_with_goals(
    conn: &mut AnyConnection,
    year: Option<i32>,
) -> Result<Vec<(ProjectRow, Option<String>)>, StoreError> {
    let mut pq = p::table.into_boxed::<pbm_db::MultiBackend>();
    let mut gq = g::table
        .filter(g::target_kind.eq("project"))
        .into_boxed::<pbm_db::MultiBackend>();
    if let Some(y) = year {
        pq = pq.filter(p::fiscal_year.eq(y));
        gq = gq.filter(g::fiscal_year.eq(y));
    }
    let projects: Vec<ProjectRow> = pq.select(ProjectRow::as_select()).load(conn)?;
    let goals: std::collections::HashMap<(i32, String), String> = gq
        .select((g::fiscal_year, g::target_code, g::state))
        .load::<(i32, String, String)>(conn)?
        .into_iter()
        .map(|(y, c, s)| ((y, c), s))
        .collect();
    Ok(projects
        .into_iter()
        .map(|p| {
            let state = goals.get(&(p.fiscal_year, p.pro_code.clone())).cloned();
            (p, state)
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Reviewers

pub fn insert_reviewer(
    conn: &mut AnyConnection,
    goal_id: i64,
    kind: &str,
    reviewer_id: &str,
    draw_id: i64,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(rv::table)
        .values((
            rv::goal_id.eq(goal_id),
            rv::kind.eq(kind),
            rv::reviewer_id.eq(reviewer_id),
            rv::draw_id.eq(draw_id),
            rv::assigned_by.eq(by),
            rv::assigned_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ids (expert ids, agency credit codes) of a goal's reviewers.
pub fn reviewers_of(conn: &mut AnyConnection, goal_id: i64) -> Result<Vec<String>, StoreError> {
    Ok(rv::table
        .filter(rv::goal_id.eq(goal_id))
        .order(rv::reviewer_id)
        .select(rv::reviewer_id)
        .load(conn)?)
}

// ---------------------------------------------------------------------------------------------
// Ex-ante commissions

/// An ex-ante assessment commissioned to an agency of the pool.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = xc)]
pub struct CommissionRow {
    pub pro_code: String,
    pub fiscal_year: i32,
    pub agency_credit_code: String,
    pub draw_id: i64,
    pub engagement_id: i64,
    pub due_on: chrono::NaiveDate,
    /// The request that commissioned it (a retry replays; another request is refused).
    pub request_id: String,
    pub commissioned_by: String,
    pub commissioned_at: NaiveDateTime,
}

pub fn commission(
    conn: &mut AnyConnection,
    code: &str,
    year: i32,
) -> Result<Option<CommissionRow>, StoreError> {
    Ok(xc::table
        .filter(xc::pro_code.eq(code))
        .filter(xc::fiscal_year.eq(year))
        .select(CommissionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_commission(conn: &mut AnyConnection, row: &CommissionRow) -> Result<(), StoreError> {
    diesel::insert_into(xc::table).values(row).execute(conn)?;
    Ok(())
}

/// Replaces the agency of a commission whose agency declined, if it still names `from`.
pub fn replace_commission(
    conn: &mut AnyConnection,
    row: &CommissionRow,
    from: &str,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        xc::table
            .filter(xc::pro_code.eq(&row.pro_code))
            .filter(xc::fiscal_year.eq(row.fiscal_year))
            .filter(xc::agency_credit_code.eq(from)),
    )
    .set((
        xc::agency_credit_code.eq(&row.agency_credit_code),
        xc::engagement_id.eq(row.engagement_id),
        xc::request_id.eq(&row.request_id),
        xc::commissioned_by.eq(&row.commissioned_by),
        xc::commissioned_at.eq(row.commissioned_at),
    ))
    .execute(conn)?
        == 1)
}
