//! Rules per fiscal year, rounds, and each round's units (their reopened deadlines).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::schema::{monitoring_rules as mr, round_units as ru, rounds as r};

/// One version of a year's monitoring rules (version 0, the defaults, is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = mr)]
pub struct RulesRow {
    pub fiscal_year: i32,
    pub version: i64,
    pub label: String,
    /// `domain::MonitoringRules` as JSON (decimals as text).
    pub bands: String,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

/// The newest stored version of a year's rules.
pub fn current_rules(conn: &mut AnyConnection, year: i32) -> Result<Option<RulesRow>, StoreError> {
    Ok(mr::table
        .filter(mr::fiscal_year.eq(year))
        .order(mr::version.desc())
        .select(RulesRow::as_select())
        .first(conn)
        .optional()?)
}

/// One stored version of a year's rules.
pub fn rules_version(
    conn: &mut AnyConnection,
    year: i32,
    version: i64,
) -> Result<Option<RulesRow>, StoreError> {
    Ok(mr::table
        .filter(mr::fiscal_year.eq(year))
        .filter(mr::version.eq(version))
        .select(RulesRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts a new version (a concurrent writer of the same version gets a unique violation).
pub fn insert_rules(conn: &mut AnyConnection, row: &RulesRow) -> Result<(), StoreError> {
    diesel::insert_into(mr::table).values(row).execute(conn)?;
    Ok(())
}

/// A monitoring round. `status`: `opening`, `open`, `closed`; `scope`: JSON
/// `{"department_codes": [...], "pro_codes": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = r)]
pub struct RoundRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub fiscal_year: i32,
    pub name: String,
    pub months_to: i32,
    pub starts_on: NaiveDate,
    pub deadline: NaiveDate,
    pub lead_days: i32,
    pub scope: String,
    pub status: String,
    pub rules_version: i64,
    pub rules_label: String,
    pub revision: i64,
    pub opened_by: String,
    pub opened_at: NaiveDateTime,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

/// Inserts a round; returns its id.
pub fn insert_round(conn: &mut AnyConnection, row: &RoundRow) -> Result<i64, StoreError> {
    Ok(pbm_db::insert_returning_id!(conn, r::table, row, r::id))
}

pub fn round_row(conn: &mut AnyConnection, id: i64) -> Result<Option<RoundRow>, StoreError> {
    Ok(r::table
        .filter(r::id.eq(id))
        .select(RoundRow::as_select())
        .first(conn)
        .optional()?)
}

/// Writes a round's new state if its revision is still `expected`.
pub fn update_round(
    conn: &mut AnyConnection,
    row: &RoundRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        r::table
            .filter(r::id.eq(row.id))
            .filter(r::revision.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// A page of rounds, newest first, and how many match.
pub fn list_rounds(
    conn: &mut AnyConnection,
    fiscal_year: Option<i32>,
    status: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<RoundRow>, i64), StoreError> {
    let filtered = || {
        let mut q = r::table.into_boxed::<pbm_db::MultiBackend>();
        if let Some(y) = fiscal_year {
            q = q.filter(r::fiscal_year.eq(y));
        }
        if let Some(s) = status {
            q = q.filter(r::status.eq(s.to_owned()));
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order(r::id.desc())
        .offset(offset)
        .limit(limit)
        .select(RoundRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The ids of a year's OPEN rounds (the ones recomputed when figures change).
pub fn open_rounds(conn: &mut AnyConnection, fiscal_year: i32) -> Result<Vec<i64>, StoreError> {
    Ok(r::table
        .filter(r::fiscal_year.eq(fiscal_year))
        .filter(r::status.eq("open"))
        .select(r::id)
        .order(r::id)
        .load(conn)?)
}

/// One unit of a round: its department, the deadline finance reopened it to, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ru)]
pub struct UnitRow {
    pub round_id: i64,
    pub agency_code: String,
    pub department_code: String,
    pub deadline_override: Option<NaiveDate>,
    pub reopened: i32,
    pub revision: i64,
}

/// Inserts units, 500 rows per statement.
pub fn insert_units(conn: &mut AnyConnection, rows: &[UnitRow]) -> Result<(), StoreError> {
    use super::subjects::SNAPSHOT_BATCH as BATCH;
    super::subjects::insert_rows!(conn, ru::table, rows);
    Ok(())
}

pub fn unit(
    conn: &mut AnyConnection,
    round_id: i64,
    agency_code: &str,
) -> Result<Option<UnitRow>, StoreError> {
    Ok(ru::table
        .filter(ru::round_id.eq(round_id))
        .filter(ru::agency_code.eq(agency_code))
        .select(UnitRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every unit of a round, by agency code.
pub fn units(conn: &mut AnyConnection, round_id: i64) -> Result<Vec<UnitRow>, StoreError> {
    Ok(ru::table
        .filter(ru::round_id.eq(round_id))
        .order(ru::agency_code)
        .select(UnitRow::as_select())
        .load(conn)?)
}

/// Reopens a unit of a round until `new_deadline` (docs/drafts/MONITORING.md §1 "Reopen"): sets
/// its deadline override, counts the reopening and bumps its revision. Called by ReopenUnit and
/// by ReturnReport's `resubmit_by`. The caller checks the round (open) and the date (today or
/// later) and writes the audit line. `None` when the unit is not in the round.
pub fn reopen_unit(
    conn: &mut AnyConnection,
    round_id: i64,
    agency_code: &str,
    new_deadline: NaiveDate,
) -> Result<Option<UnitRow>, StoreError> {
    let changed = diesel::update(
        ru::table
            .filter(ru::round_id.eq(round_id))
            .filter(ru::agency_code.eq(agency_code)),
    )
    .set((
        ru::deadline_override.eq(Some(new_deadline)),
        ru::reopened.eq(ru::reopened + 1),
        ru::revision.eq(ru::revision + 1),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Ok(None);
    }
    unit(conn, round_id, agency_code)
}
