//! Goals: one per project (or per department as a whole) and fiscal year, with its workflow
//! state; a goal read with its declaration, project and rules in one statement.

use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};
use std::collections::HashMap;

use super::projects::{WHOLE_YEAR_ABOVE, keep_asked};
use super::rows::{GoalInContext, GoalRow, ProjectRow, RulesRow};
use super::schema::{
    goal_reviewers as rv, goal_rules as gr, goal_versions as gv, goals as g, projects as p,
};

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
