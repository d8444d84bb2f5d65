//! Finance's decisions on deviated subjects: the current one per (round, subject) has
//! `superseded_by = 0`; the earlier ones are kept and name the decision that replaced them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, Money, StoreError};

use super::key::commissioned;
use super::schema::{monitoring_decisions as d, round_subjects as rs};
use crate::domain::access::ListFilter;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = d)]
pub struct DecisionRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub round_id: i64,
    pub subject_key: String,
    pub fiscal_year: i32,
    pub pro_code: String,
    /// `continue`, `hold_payments`, `stop_payments`, `adjust_budget`, `recover_funds`.
    pub kind: String,
    pub amount: Option<Money>,
    pub reason: String,
    pub superseded_by: i64,
    pub decided_by: String,
    pub decided_at: NaiveDateTime,
}

/// Records `row` as the subject's current decision: the one current before (if any) is
/// superseded by it. Returns the new id.
pub fn record_decision(conn: &mut AnyConnection, row: &DecisionRow) -> Result<i64, StoreError> {
    let id = pbm_db::insert_returning_id!(conn, d::table, row, d::id);
    diesel::update(
        d::table
            .filter(d::round_id.eq(row.round_id))
            .filter(d::subject_key.eq(&row.subject_key))
            .filter(d::superseded_by.eq(0))
            .filter(d::id.ne(id)),
    )
    .set(d::superseded_by.eq(id))
    .execute(conn)?;
    Ok(id)
}

/// The current decisions of the subjects `keys` of a round, in one read.
pub fn current_decisions(
    conn: &mut AnyConnection,
    round_id: i64,
    keys: &[String],
) -> Result<Vec<DecisionRow>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    Ok(d::table
        .filter(d::round_id.eq(round_id))
        .filter(d::subject_key.eq_any(keys))
        .filter(d::superseded_by.eq(0))
        .select(DecisionRow::as_select())
        .load(conn)?)
}

/// A page of a round's decisions (newest first), of one subject if asked, only current ones if
/// asked, over the subjects `scope` shows; and how many match.
pub fn list_decisions(
    conn: &mut AnyConnection,
    round_id: i64,
    subject_key: Option<&str>,
    current_only: bool,
    scope: &ListFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<DecisionRow>, i64), StoreError> {
    let query = || {
        let mut q = d::table
            .filter(d::round_id.eq(round_id))
            .into_boxed::<pbm_db::MultiBackend>();
        if let Some(k) = subject_key {
            q = q.filter(d::subject_key.eq(k.to_owned()));
        }
        if current_only {
            q = q.filter(d::superseded_by.eq(0));
        }
        let subjects = rs::table
            .filter(rs::round_id.eq(round_id))
            .select(rs::subject_key);
        match scope {
            ListFilter::All => q,
            ListFilter::Unit(a) => {
                q.filter(d::subject_key.eq_any(subjects.filter(rs::agency_code.eq(a.clone()))))
            }
            ListFilter::Department(dep) => q.filter(
                d::subject_key.eq_any(subjects.filter(rs::department_code.eq(dep.clone()))),
            ),
            ListFilter::Agency(id) => {
                q.filter(d::subject_key.eq_any(commissioned(round_id, id.clone())))
            }
            ListFilter::None => q.filter(d::subject_key.eq_any(Vec::<String>::new())),
        }
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order(d::id.desc())
        .offset(offset)
        .limit(limit)
        .select(DecisionRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Above this many codes the holds are read for the whole year and the asked ones kept: one
/// index range scan instead of thousands of parameters (as the goal service's funding gate).
pub const WHOLE_YEAR_ABOVE: usize = 200;

/// The latest decision of each project of `year` over all its rounds (the newest decided, the
/// later id on a tie), of `codes` or of every project when `codes` is `None`: one read.
pub fn latest_per_project(
    conn: &mut AnyConnection,
    year: i32,
    codes: Option<&[String]>,
) -> Result<Vec<DecisionRow>, StoreError> {
    let mut q = d::table
        .filter(d::fiscal_year.eq(year))
        .filter(d::pro_code.ne(""))
        .into_boxed::<pbm_db::MultiBackend>();
    if let Some(codes) = codes.filter(|c| c.len() <= WHOLE_YEAR_ABOVE) {
        q = q.filter(d::pro_code.eq_any(codes.to_vec()));
    }
    let rows: Vec<DecisionRow> = q
        .order((d::pro_code.asc(), d::decided_at.desc(), d::id.desc()))
        .select(DecisionRow::as_select())
        .load(conn)?;
    let asked: Option<std::collections::HashSet<&str>> =
        codes.map(|c| c.iter().map(String::as_str).collect());
    let mut latest: Vec<DecisionRow> = Vec::new();
    for row in rows {
        if latest.last().is_some_and(|l| l.pro_code == row.pro_code) {
            continue;
        }
        if asked
            .as_ref()
            .is_none_or(|a| a.contains(row.pro_code.as_str()))
        {
            latest.push(row);
        }
    }
    Ok(latest)
}
