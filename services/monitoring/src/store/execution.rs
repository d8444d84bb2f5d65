//! Execution figures per project and month (`execution_months`): the one read of a push (the
//! stored months of the projects it names), its batched upsert, and a project's history with
//! the units and departments that own it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use pbm_db::{AnyConnection, Money, StoreError};

use super::schema::{execution_months as em, round_subjects as rs, rounds};

/// Above this many codes a push reads the whole year (one range scan on the primary key's
/// fiscal year) and keeps the codes asked for, rather than binding thousands of parameters
/// (as the goal service's funding gate does).
const WHOLE_YEAR_ABOVE: usize = 200;

/// Rows per multi-row statement: 14 columns × 500 rows stays under both backends' limits on
/// bound parameters (SQLite 32,766, PostgreSQL 65,535).
const BATCH: usize = 500;

/// One stored month.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = em)]
#[diesel(treat_none_as_default_value = false)]
pub struct ExecutionMonthRow {
    pub fiscal_year: i32,
    pub pro_code: String,
    pub month: i32,
    pub initial_budget: Money,
    pub adjusted_budget: Option<Money>,
    pub allocated: Option<Money>,
    pub executed: Money,
    pub agency_code: String,
    pub department_code: String,
    pub name: String,
    pub version: i64,
    pub request_id: String,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

/// The stored months of `codes` in `year`, ordered by code and month: one statement.
pub fn months_of(
    conn: &mut AnyConnection,
    year: i32,
    codes: &[String],
) -> Result<Vec<ExecutionMonthRow>, StoreError> {
    let q = em::table
        .filter(em::fiscal_year.eq(year))
        .order((em::pro_code, em::month))
        .select(ExecutionMonthRow::as_select())
        .into_boxed::<pbm_db::MultiBackend>();
    if codes.len() > WHOLE_YEAR_ABOVE {
        let asked: std::collections::HashSet<&str> = codes.iter().map(String::as_str).collect();
        let mut all = q.load(conn)?;
        all.retain(|r| asked.contains(r.pro_code.as_str()));
        return Ok(all);
    }
    Ok(q.filter(em::pro_code.eq_any(codes)).load(conn)?)
}

/// Inserts new months and replaces changed ones, [`BATCH`] rows a statement
/// (`INSERT … ON CONFLICT (fiscal_year, pro_code, month) DO UPDATE`, on both backends). The
/// rows' keys are distinct.
pub fn upsert_months(
    conn: &mut AnyConnection,
    rows: &[ExecutionMonthRow],
) -> Result<(), StoreError> {
    // Multi-row INSERT is not available through MultiConnection, so each backend's own
    // connection runs the same statement.
    macro_rules! upsert {
        ($c:expr, $chunk:expr) => {
            diesel::insert_into(em::table)
                .values($chunk)
                .on_conflict((em::fiscal_year, em::pro_code, em::month))
                .do_update()
                .set((
                    em::initial_budget.eq(excluded(em::initial_budget)),
                    em::adjusted_budget.eq(excluded(em::adjusted_budget)),
                    em::allocated.eq(excluded(em::allocated)),
                    em::executed.eq(excluded(em::executed)),
                    em::agency_code.eq(excluded(em::agency_code)),
                    em::department_code.eq(excluded(em::department_code)),
                    em::name.eq(excluded(em::name)),
                    em::version.eq(excluded(em::version)),
                    em::request_id.eq(excluded(em::request_id)),
                    em::changed_by.eq(excluded(em::changed_by)),
                    em::changed_at.eq(excluded(em::changed_at)),
                ))
                .execute($c)?
        };
    }
    for chunk in rows.chunks(BATCH) {
        match conn {
            AnyConnection::Postgresql(c) => upsert!(c, chunk),
            AnyConnection::Sqlite(c) => upsert!(c, chunk),
        };
    }
    Ok(())
}

/// Every stored month of one project in `year`, in month order.
pub fn history(
    conn: &mut AnyConnection,
    year: i32,
    pro_code: &str,
) -> Result<Vec<ExecutionMonthRow>, StoreError> {
    Ok(em::table
        .filter(em::fiscal_year.eq(year))
        .filter(em::pro_code.eq(pro_code))
        .order(em::month)
        .select(ExecutionMonthRow::as_select())
        .load(conn)?)
}

/// The (unit, department) pairs the project has as a subject of the year's rounds.
pub fn subject_owners(
    conn: &mut AnyConnection,
    year: i32,
    pro_code: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(rs::table
        .filter(rs::pro_code.eq(pro_code))
        .filter(
            rs::round_id.eq_any(
                rounds::table
                    .filter(rounds::fiscal_year.eq(year))
                    .select(rounds::id),
            ),
        )
        .select((rs::agency_code, rs::department_code))
        .distinct()
        .load(conn)?)
}
