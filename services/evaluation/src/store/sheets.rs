//! Self-evaluation sheets (one per project or 部门整体 of a campaign) and their indicators: the
//! goal's snapshot, the unit's entries and the engine's score of each.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, Money, StoreError};

use super::schema::{evaluation_sheet_indicators as si, evaluation_sheets as sh};

/// A sheet. `status`: `not_started`, `draft`, `submitted`, `reviewed`, `received`, `returned`;
/// `grade`: `excellent`, `good`, `fair`, `poor`; `score`: the engine's Score as JSON (with its
/// explanation); `subject_key`: the PRO_CODE, or `DEPT:<department>` for a 部门整体 sheet.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sh)]
pub struct SheetRow {
    pub id: i64,
    pub campaign_id: i64,
    pub subject_key: String,
    pub pro_code: String,
    pub department_code: String,
    pub agency_code: String,
    pub name: String,
    pub fund_source: String,
    pub special_field: String,
    pub goal_id: i64,
    pub goal_version: i32,
    pub year_goal: String,
    pub budget: Money,
    pub executed: Money,
    pub execution_month: i32,
    pub red_warnings: i32,
    pub yellow_warnings: i32,
    pub deviated: bool,
    pub execution_reason: String,
    pub summary: String,
    pub status: String,
    pub revision: i64,
    pub total: Money,
    pub grade: String,
    pub execution_rate: Money,
    pub score: String,
    pub return_reason: String,
    pub late: bool,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<NaiveDateTime>,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

/// A sheet to insert (the id comes from the database).
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = sh)]
pub struct NewSheet {
    pub campaign_id: i64,
    pub subject_key: String,
    pub pro_code: String,
    pub department_code: String,
    pub agency_code: String,
    pub name: String,
    pub fund_source: String,
    pub special_field: String,
    pub goal_id: i64,
    pub goal_version: i32,
    pub year_goal: String,
    pub budget: Money,
    pub executed: Money,
    pub execution_month: i32,
    pub red_warnings: i32,
    pub yellow_warnings: i32,
    pub deviated: bool,
    pub execution_reason: String,
    pub summary: String,
    pub status: String,
    pub revision: i64,
    pub total: Money,
    pub grade: String,
    pub execution_rate: Money,
    pub score: String,
    pub return_reason: String,
    pub late: bool,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

/// One indicator of a sheet; `seq` counts from 1 in the goal's order. `direction`: `ge`, `le`,
/// `eq`, `qualitative`; `tier`: empty, `achieved`, `partly`, `not_achieved`; `weight`, `points`,
/// `applicable` and `deviates` are the engine's (rounded to two places for display).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = si)]
pub struct SheetIndicatorRow {
    pub sheet_id: i64,
    pub seq: i32,
    pub level1_name: String,
    pub level2_name: String,
    pub name: String,
    pub direction: String,
    pub unit: String,
    pub target_value: String,
    pub goal_weight: Option<Money>,
    pub achieved_value: String,
    pub tier: String,
    pub qualitative_score: Option<Money>,
    pub not_applicable: bool,
    pub not_applicable_reason: String,
    pub deviation_causes: String,
    pub improvement_measures: String,
    pub weight: Money,
    pub points: Money,
    pub applicable: bool,
    pub deviates: bool,
}

/// The sheet `id`, if any.
pub fn sheet(conn: &mut AnyConnection, id: i64) -> Result<Option<SheetRow>, StoreError> {
    Ok(sh::table
        .find(id)
        .select(SheetRow::as_select())
        .first(conn)
        .optional()?)
}

/// The indicators of sheet `sheet_id`, by seq.
pub fn sheet_indicators(
    conn: &mut AnyConnection,
    sheet_id: i64,
) -> Result<Vec<SheetIndicatorRow>, StoreError> {
    Ok(si::table
        .filter(si::sheet_id.eq(sheet_id))
        .order(si::seq)
        .select(SheetIndicatorRow::as_select())
        .load(conn)?)
}

/// Rows per multi-row INSERT: 500 sheets × 29 columns stays far below both backends' limits on
/// bound parameters.
const BATCH: usize = 500;

/// Multi-row INSERTs of `rows` into `table`, [`BATCH`] at a time.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(BATCH) {
            match &mut *$conn {
                AnyConnection::Postgresql(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
                AnyConnection::Sqlite(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
        }
    };
}

/// Inserts a campaign's sheets; [`sheet_ids`] then gives their ids.
pub fn insert_sheets(conn: &mut AnyConnection, rows: &[NewSheet]) -> Result<(), StoreError> {
    insert_rows!(conn, sh::table, rows);
    Ok(())
}

/// The ids of campaign `campaign_id`'s sheets by subject key.
pub fn sheet_ids(
    conn: &mut AnyConnection,
    campaign_id: i64,
) -> Result<std::collections::HashMap<String, i64>, StoreError> {
    Ok(sh::table
        .filter(sh::campaign_id.eq(campaign_id))
        .select((sh::subject_key, sh::id))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}

/// Inserts sheets' indicators.
pub fn insert_sheet_indicators(
    conn: &mut AnyConnection,
    rows: &[SheetIndicatorRow],
) -> Result<(), StoreError> {
    insert_rows!(conn, si::table, rows);
    Ok(())
}

/// Inserts sheets' history rows.
pub fn insert_sheet_events(
    conn: &mut AnyConnection,
    rows: &[super::SheetEventRow],
) -> Result<(), StoreError> {
    insert_rows!(conn, super::schema::evaluation_sheet_events::table, rows);
    Ok(())
}

/// The sheets of campaign `campaign_id` in one of `statuses` (all of the unit `agency_code`
/// when given), by id, with their indicators by seq.
pub fn sheets_with_indicators(
    conn: &mut AnyConnection,
    campaign_id: i64,
    statuses: &[&str],
    agency_code: Option<&str>,
) -> Result<Vec<(SheetRow, Vec<SheetIndicatorRow>)>, StoreError> {
    let mut q = sh::table
        .filter(sh::campaign_id.eq(campaign_id))
        .filter(sh::status.eq_any(statuses.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
        .into_boxed::<pbm_db::MultiBackend>();
    if let Some(a) = agency_code {
        q = q.filter(sh::agency_code.eq(a.to_owned()));
    }
    let sheets: Vec<SheetRow> = q.order(sh::id).select(SheetRow::as_select()).load(conn)?;
    let mut indicators: std::collections::HashMap<i64, Vec<SheetIndicatorRow>> =
        std::collections::HashMap::new();
    for chunk in sheets.chunks(BATCH) {
        let ids: Vec<i64> = chunk.iter().map(|s| s.id).collect();
        for row in si::table
            .filter(si::sheet_id.eq_any(ids))
            .order((si::sheet_id, si::seq))
            .select(SheetIndicatorRow::as_select())
            .load(conn)?
        {
            indicators.entry(row.sheet_id).or_default().push(row);
        }
    }
    Ok(sheets
        .into_iter()
        .map(|s| {
            let rows = indicators.remove(&s.id).unwrap_or_default();
            (s, rows)
        })
        .collect())
}

/// Writes a sheet's refreshed execution figures and score at the next revision, if it is
/// still at revision `row.revision - 1` and not submitted; `false` otherwise.
pub fn refresh_sheet(conn: &mut AnyConnection, row: &SheetRow) -> Result<bool, StoreError> {
    let n = diesel::update(
        sh::table
            .filter(sh::id.eq(row.id))
            .filter(sh::revision.eq(row.revision - 1)),
    )
    .set((
        sh::budget.eq(row.budget),
        sh::executed.eq(row.executed),
        sh::execution_month.eq(row.execution_month),
        sh::red_warnings.eq(row.red_warnings),
        sh::yellow_warnings.eq(row.yellow_warnings),
        sh::deviated.eq(row.deviated),
        sh::total.eq(row.total),
        sh::grade.eq(&row.grade),
        sh::execution_rate.eq(row.execution_rate),
        sh::score.eq(&row.score),
        sh::revision.eq(row.revision),
        sh::changed_by.eq(&row.changed_by),
        sh::changed_at.eq(row.changed_at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Rewrites a sheet not yet submitted from a newer approved version of its goal (its name,
/// goal, indicators and score: `crate::ops::goal_events`) at the next revision, if it is still
/// at revision `row.revision - 1`; `false` otherwise.
pub fn replace_sheet_goal(
    conn: &mut AnyConnection,
    row: &SheetRow,
    indicators: &[SheetIndicatorRow],
) -> Result<bool, StoreError> {
    let n = diesel::update(
        sh::table
            .filter(sh::id.eq(row.id))
            .filter(sh::revision.eq(row.revision - 1)),
    )
    .set((
        sh::name.eq(&row.name),
        sh::fund_source.eq(&row.fund_source),
        sh::special_field.eq(&row.special_field),
        sh::goal_id.eq(row.goal_id),
        sh::goal_version.eq(row.goal_version),
        sh::year_goal.eq(&row.year_goal),
        sh::total.eq(row.total),
        sh::grade.eq(&row.grade),
        sh::execution_rate.eq(row.execution_rate),
        sh::score.eq(&row.score),
        sh::revision.eq(row.revision),
        sh::changed_by.eq(&row.changed_by),
        sh::changed_at.eq(row.changed_at),
    ))
    .execute(conn)?;
    if n != 1 {
        return Ok(false);
    }
    diesel::delete(si::table.filter(si::sheet_id.eq(row.id))).execute(conn)?;
    insert_sheet_indicators(conn, indicators)?;
    Ok(true)
}

/// What the statistics of a campaign read of each sheet.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = sh)]
pub struct SheetFigures {
    pub subject_key: String,
    pub pro_code: String,
    pub department_code: String,
    pub agency_code: String,
    pub fund_source: String,
    pub special_field: String,
    pub status: String,
    pub grade: String,
    pub budget: Money,
    pub executed: Money,
    pub execution_month: i32,
}

/// The figures of every sheet of campaign `campaign_id`.
pub fn sheet_figures(
    conn: &mut AnyConnection,
    campaign_id: i64,
) -> Result<Vec<SheetFigures>, StoreError> {
    Ok(sh::table
        .filter(sh::campaign_id.eq(campaign_id))
        .select(SheetFigures::as_select())
        .load(conn)?)
}
