//! The rows of this service's tables, as diesel reads and writes them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::Money;

use super::schema::{
    ex_ante_commissions as xc, ex_ante_reports as xr, goal_events as ev, goal_rules as gr,
    goals as g, projects as p,
};

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

/// A goal, its working declaration text, its project and the newest rules of its year.
pub type GoalInContext = (GoalRow, String, Option<ProjectRow>, Option<RulesRow>);

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
