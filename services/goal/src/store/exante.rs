//! Ex-ante assessment reports and their commissions to agencies.

use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::projects::{WHOLE_YEAR_ABOVE, keep_asked};
use super::rows::{CommissionRow, ExAnteRow, ProjectRow};
use super::schema::{ex_ante_commissions as xc, ex_ante_reports as xr, goals as g, projects as p};

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

/// (project, conclusion, review state) of every report of a year.
pub fn ex_ante_reports_of_year(
    conn: &mut AnyConnection,
    year: i32,
) -> Result<Vec<(String, String, String)>, StoreError> {
    Ok(xr::table
        .filter(xr::fiscal_year.eq(year))
        .select((xr::pro_code, xr::conclusion, xr::review_state))
        .load(conn)?)
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
