//! The approved goals of a year as other services snapshot them (StreamApprovedGoals): one
//! keyset-ordered scan of `goals ⋈ goal_versions ON version = approved_version` (with each
//! chunk's projects), then the year's projects that have no goal, each read a chunk at a time:
//! no offset, no query per goal.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::projects::WHOLE_YEAR_ABOVE;
use super::rows::{GoalRow, ProjectRow};
use super::schema::{goal_versions as gv, goals as g, projects as p};

/// A goal, the declaration text of its approved version (none when no version is approved) and
/// its project (none for a 部门整体 goal).
pub type SnapshotRow = (GoalRow, Option<String>, Option<ProjectRow>);

/// Which subjects of a year a snapshot covers.
#[derive(Debug, Clone, Default)]
pub struct SubjectFilter {
    pub fiscal_year: i32,
    /// Sorted, without duplicates; empty = every department.
    pub department_codes: Vec<String>,
    /// Sorted, without duplicates; empty = every project (and the 部门整体 goals). When set,
    /// only projects.
    pub pro_codes: Vec<String>,
}

impl SubjectFilter {
    /// Whether a subject of `department` (and PRO_CODE `pro_code`, none for a 部门整体) passes.
    /// Lists longer than [`WHOLE_YEAR_ABOVE`] are applied here instead of in the statement (one
    /// plain range scan rather than thousands of parameters in each chunk's statement).
    fn keeps(&self, department: &str, pro_code: Option<&str>) -> bool {
        let has = |list: &[String], code: &str| list.binary_search_by(|c| c.as_str().cmp(code));
        (self.department_codes.is_empty() || has(&self.department_codes, department).is_ok())
            && (self.pro_codes.is_empty()
                || pro_code.is_some_and(|c| has(&self.pro_codes, c).is_ok()))
    }

    fn departments_in_statement(&self) -> Option<&[String]> {
        let d = &self.department_codes;
        (!d.is_empty() && d.len() <= WHOLE_YEAR_ABOVE).then_some(d)
    }

    fn projects_in_statement(&self) -> Option<&[String]> {
        let c = &self.pro_codes;
        (!c.is_empty() && c.len() <= WHOLE_YEAR_ABOVE).then_some(c)
    }
}

/// One chunk of what a scan read: the rows kept, and where the next chunk starts (none when
/// this chunk was the last).
#[derive(Debug)]
pub struct Chunk<T, K> {
    pub rows: Vec<T>,
    pub next: Option<K>,
}

/// The next `limit` goals of the year after goal id `after` (in id order) with the approved
/// version's declaration and the project; only goals with an approved version unless
/// `unapproved`. Two statements whose plans need no statistics (a table just filled has none,
/// and a plan guessed without them can join every goal with every project): the goals with
/// their versions by primary key, then the chunk's projects by primary key.
pub fn snapshot_goals(
    conn: &mut AnyConnection,
    f: &SubjectFilter,
    unapproved: bool,
    after: i64,
    limit: i64,
) -> Result<Chunk<SnapshotRow, i64>, StoreError> {
    let mut q = g::table
        .left_join(
            gv::table.on(gv::goal_id
                .eq(g::id)
                .and(gv::version.nullable().eq(g::approved_version))),
        )
        .filter(g::fiscal_year.eq(f.fiscal_year))
        .filter(g::id.gt(after))
        .select((GoalRow::as_select(), gv::declaration.nullable()))
        .into_boxed::<pbm_db::MultiBackend>();
    if !unapproved {
        q = q.filter(g::approved_version.is_not_null());
    }
    if let Some(d) = f.departments_in_statement() {
        q = q.filter(g::department_code.eq_any(d.to_vec()));
    }
    if !f.pro_codes.is_empty() {
        q = q.filter(g::target_kind.eq("project"));
    }
    if let Some(c) = f.projects_in_statement() {
        q = q.filter(g::target_code.eq_any(c.to_vec()));
    }
    let rows: Vec<(GoalRow, Option<String>)> = q.order(g::id.asc()).limit(limit).load(conn)?;
    let next = next_after(&rows, limit, |(goal, _)| goal.id);
    let project =
        |goal: &GoalRow| (goal.target_kind == "project").then_some(goal.target_code.clone());
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|(goal, _)| f.keeps(&goal.department_code, project(goal).as_deref()))
        .collect();
    let codes: Vec<String> = rows.iter().filter_map(|(goal, _)| project(goal)).collect();
    let mut projects: HashMap<String, ProjectRow> = projects_of(conn, f.fiscal_year, codes)?
        .into_iter()
        .map(|p| (p.pro_code.clone(), p))
        .collect();
    let rows = rows
        .into_iter()
        .map(|(goal, text)| {
            let p = project(&goal).and_then(|c| projects.remove(&c));
            (goal, text, p)
        })
        .collect();
    Ok(Chunk { rows, next })
}

/// The next `limit` projects of the year after PRO_CODE `after` (in code order) that have no
/// goal at all: the projects by primary key, then which of them have a goal by a range of the
/// goals' unique key (no anti-join, whose plan guessed without statistics compares every project
/// with every goal, nor a list of hundreds of codes).
pub fn projects_without_goal(
    conn: &mut AnyConnection,
    f: &SubjectFilter,
    after: &str,
    limit: i64,
) -> Result<Chunk<ProjectRow, String>, StoreError> {
    let mut q = p::table
        .filter(p::fiscal_year.eq(f.fiscal_year))
        .filter(p::pro_code.gt(after.to_owned()))
        .select(ProjectRow::as_select())
        .into_boxed::<pbm_db::MultiBackend>();
    if let Some(d) = f.departments_in_statement() {
        q = q.filter(p::department_code.eq_any(d.to_vec()));
    }
    if let Some(c) = f.projects_in_statement() {
        q = q.filter(p::pro_code.eq_any(c.to_vec()));
    }
    let rows: Vec<ProjectRow> = q.order(p::pro_code.asc()).limit(limit).load(conn)?;
    let next = next_after(&rows, limit, |r| r.pro_code.clone());
    let rows: Vec<ProjectRow> = rows
        .into_iter()
        .filter(|r| f.keeps(&r.department_code, Some(&r.pro_code)))
        .collect();
    // The chunk is in code order: its goals are one range of the goals' unique key.
    let with_goal: HashSet<String> = match (rows.first(), rows.last()) {
        (Some(first), Some(last)) => g::table
            .filter(g::fiscal_year.eq(f.fiscal_year))
            .filter(g::target_kind.eq("project"))
            .filter(g::target_code.ge(first.pro_code.clone()))
            .filter(g::target_code.le(last.pro_code.clone()))
            .select(g::target_code)
            .load::<String>(conn)?
            .into_iter()
            .collect(),
        _ => HashSet::new(),
    };
    let rows = rows
        .into_iter()
        .filter(|r| !with_goal.contains(&r.pro_code))
        .collect();
    Ok(Chunk { rows, next })
}

/// The key after the last of `rows` when the read was full (more may follow), else none.
fn next_after<T, K>(rows: &[T], limit: i64, key: impl Fn(&T) -> K) -> Option<K> {
    let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= limit;
    rows.last().filter(|_| full).map(key)
}

/// The year's projects of `codes` (at most a chunk's).
fn projects_of(
    conn: &mut AnyConnection,
    year: i32,
    codes: Vec<String>,
) -> Result<Vec<ProjectRow>, StoreError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    Ok(p::table
        .filter(p::fiscal_year.eq(year))
        .filter(p::pro_code.eq_any(codes))
        .select(ProjectRow::as_select())
        .load(conn)?)
}
