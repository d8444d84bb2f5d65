//! Projects from the budget system.

use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::rows::ProjectRow;
use super::schema::projects as p;

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
pub(crate) const WHOLE_YEAR_ABOVE: usize = 200;

/// The rows of `all` whose key is one of `codes` (a batch read as the whole year).
pub(crate) fn keep_asked<T>(all: Vec<T>, codes: &[String], key: impl Fn(&T) -> &str) -> Vec<T> {
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

/// The department of unit `agency`'s latest registered project (the latest fiscal year, then the
/// latest change), if the unit has any: what the service knows of the unit's department.
pub fn unit_department(
    conn: &mut AnyConnection,
    agency: &str,
) -> Result<Option<String>, StoreError> {
    Ok(p::table
        .filter(p::agency_code.eq(agency))
        .order((p::fiscal_year.desc(), p::changed_at.desc()))
        .select(p::department_code)
        .first(conn)
        .optional()?)
}
