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
