//! Use cases of goal management: authorise the caller ([`crate::domain::access`]), load, apply
//! the pure rules ([`crate::domain`]), save in one transaction with audit and idempotency
//! ([`pbm_server::run_mutation`]). The domain's refusals become API errors here
//! (`From<WorkflowError>`; `pbm_auth::Denied` converts in pbm-server).

pub mod bulk;
pub mod commission;
pub mod declarations;
pub mod exante;
pub mod export;
pub mod funding;
pub mod goals;
pub mod history;
pub mod projects;
pub mod reviewers;
pub mod rules;
pub mod snapshot;
pub mod statistics;
pub mod steps;
pub mod workflow;

use pbm_auth::Caller;
use pbm_db::AnyConnection;
use pbm_proto::goal::v1 as proto;
use pbm_server::{ApiError, ErrorKind};
use pbm_types::Decimal;
use serde::{Deserialize, Serialize};

use crate::convert;
use crate::domain::FiscalYear;
use crate::domain::access::{GoalScope, Viewer, Visibility, scope_needs_reviewers, visibility};
use crate::domain::goal::GoalDeclaration;
use crate::domain::workflow::{ErrorClass, GoalState, Transition, WorkflowError};
use crate::store::{self, EventRow, GoalRow};

impl From<WorkflowError> for ApiError {
    fn from(e: WorkflowError) -> Self {
        let kind = match e.class() {
            ErrorClass::InvalidArgument => ErrorKind::InvalidArgument,
            ErrorClass::FailedPrecondition => ErrorKind::FailedPrecondition,
            ErrorClass::PermissionDenied => ErrorKind::PermissionDenied,
            ErrorClass::Aborted => ErrorKind::Aborted,
        };
        ApiError::new(kind, e.reason(), e.chinese())
    }
}

pub(crate) fn goal_not_found(id: i64) -> ApiError {
    ApiError::not_found("GOAL_NOT_FOUND", format!("绩效目标 {id} 不存在"))
}

pub(crate) fn project_not_found(code: &str, year: i32) -> ApiError {
    ApiError::not_found(
        "PROJECT_NOT_FOUND",
        format!("{year}年度项目「{code}」不存在，请先从预算系统登记项目"),
    )
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e)
}

/// A declaration as stored (JSON): the domain declaration and, for 部门整体, the department's
/// budget request, as one object (the declaration's fields beside `department_budget`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredForm")]
pub struct Stored {
    #[serde(flatten)]
    pub declaration: GoalDeclaration,
    #[serde(default)]
    pub department_budget: Option<Decimal>,
}

impl Stored {
    /// A declaration from the wire (SaveGoal, AmendGoal, a DeclareGoals item), parsed once.
    pub(crate) fn from_proto(d: Option<proto::GoalDeclaration>) -> Result<Stored, ApiError> {
        let d = d.unwrap_or_default();
        convert::limits::check_under(&d, "declaration.")?;
        let target = convert::target_from(&d)?;
        let department_budget = match d.department_budget.as_ref().map(|b| b.value.trim()) {
            Some(v) if !v.is_empty() => Some(pbm_types::decimal::parse(v).map_err(|e| {
                ApiError::invalid_field(e.reason, "declaration.department_budget", e.message)
            })?),
            _ => None,
        };
        Ok(Stored {
            declaration: convert::declaration_from(&d, target)?,
            department_budget,
        })
    }
}

/// How [`Stored`] is read: the same object, field by field. (Reading through `flatten` would
/// first copy the whole declaration into an intermediate tree; every workflow step reads one.)
#[derive(Deserialize)]
pub(crate) struct StoredForm {
    pub(crate) target: crate::domain::project::DeclarationTarget,
    pub(crate) fiscal_year: FiscalYear,
    pub(crate) year_goal: String,
    pub(crate) mid_term_goal: Option<String>,
    pub(crate) serves_people: bool,
    pub(crate) indicators: Vec<crate::domain::goal::DeclaredIndicator>,
    #[serde(default)]
    pub(crate) department_budget: Option<Decimal>,
}

impl From<StoredForm> for Stored {
    fn from(f: StoredForm) -> Stored {
        Stored {
            declaration: GoalDeclaration {
                target: f.target,
                fiscal_year: f.fiscal_year,
                year_goal: f.year_goal,
                mid_term_goal: f.mid_term_goal,
                serves_people: f.serves_people,
                indicators: f.indicators,
            },
            department_budget: f.department_budget,
        }
    }
}

pub(crate) fn state_of(row: &GoalRow) -> Result<GoalState, ApiError> {
    serde_json::from_str(&row.state).map_err(internal)
}

pub(crate) fn as_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

pub(crate) fn write_state(row: &mut GoalRow, s: &GoalState, by: &str) -> Result<(), ApiError> {
    row.status = s.status.kind().as_db().into();
    row.approved_version = s.approved_version.map(as_i32);
    row.published_version = s.published_version.map(as_i32);
    row.state = serde_json::to_string(s).map_err(internal)?;
    row.revision = i64::try_from(s.revision).unwrap_or(i64::MAX);
    row.working_version = as_i32(s.version);
    row.changed_by = by.into();
    row.changed_at = pbm_db::now();
    Ok(())
}

pub(crate) fn load_version(
    conn: &mut AnyConnection,
    id: i64,
    version: i32,
) -> Result<Stored, ApiError> {
    let (text, _, _) = store::version(conn, id, version)?
        .ok_or_else(|| internal(format!("goal {id} has no version {version}")))?;
    serde_json::from_str(&text).map_err(internal)
}

/// A stored declaration on the wire, with a 部门整体's department budget.
pub(crate) fn declaration_to_proto(stored: &Stored) -> proto::GoalDeclaration {
    let mut d = convert::declaration_to(&stored.declaration);
    d.department_budget = stored.department_budget.and_then(convert::dec);
    d
}

pub(crate) fn goal_to_proto(
    row: &GoalRow,
    s: &GoalState,
    stored: &Stored,
    shown: u32,
    region: &str,
) -> proto::Goal {
    let mut g = proto::Goal {
        id: row.id,
        declaration: Some(declaration_to_proto(stored)),
        version: as_i32(shown),
        agency_code: row.agency_code.clone(),
        department_code: row.department_code.clone(),
        mof_div_code: region.into(),
        changed: Some(convert::stamp(&row.changed_by, row.changed_at)),
        ..Default::default()
    };
    convert::state_into(&mut g, s);
    g
}

pub(crate) fn scope_of<'a>(
    row: &'a GoalRow,
    s: &GoalState,
    region: &'a str,
    reviewers: &'a [String],
) -> GoalScope<'a> {
    GoalScope {
        mof_div_code: region,
        agency_code: (row.target_kind == "project").then_some(row.agency_code.as_str()),
        department_code: &row.department_code,
        assigned_reviewers: reviewers,
        has_published_version: s.published_version.is_some(),
    }
}

/// The caller's bearer token, forwarded to the indicator service.
pub type Authorization = String;

/// A goal the viewer may read in full (its unit, department, finance, readers of the region);
/// NOT_FOUND otherwise, so its existence does not leak.
pub(crate) fn visible_goal(
    conn: &mut AnyConnection,
    v: &Viewer,
    region: &str,
    id: i64,
) -> Result<(GoalRow, GoalState, Vec<String>), ApiError> {
    let row = store::goal(conn, id)?.ok_or_else(|| goal_not_found(id))?;
    in_view(conn, v, region, row)
}

/// As [`visible_goal`], with the declaration being worked on, read in the same statement.
pub(crate) fn visible_goal_with_declaration(
    conn: &mut AnyConnection,
    v: &Viewer,
    region: &str,
    id: i64,
) -> Result<(GoalRow, GoalState, Vec<String>, Stored), ApiError> {
    let (row, text) = store::goal_with_declaration(conn, id)?.ok_or_else(|| goal_not_found(id))?;
    visible_stored(conn, v, region, row, text)
}

/// The goal `row` with its state, reviewers and the declaration version being worked on
/// (`text`, read with it), if `v` may see all of it (NOT_FOUND otherwise).
pub(crate) fn visible_stored(
    conn: &mut AnyConnection,
    v: &Viewer,
    region: &str,
    row: GoalRow,
    text: String,
) -> Result<(GoalRow, GoalState, Vec<String>, Stored), ApiError> {
    let id = row.id;
    let (row, s, reviewers) = in_view(conn, v, region, row)?;
    let stored = if row.working_version == as_i32(s.version) {
        serde_json::from_str(&text).map_err(internal)?
    } else {
        load_version(conn, id, as_i32(s.version))?
    };
    Ok((row, s, reviewers, stored))
}

/// The goal of `row` with its state and reviewers, if `v` may see all of it (NOT_FOUND
/// otherwise).
pub(crate) fn in_view(
    conn: &mut AnyConnection,
    v: &Viewer,
    region: &str,
    row: GoalRow,
) -> Result<(GoalRow, GoalState, Vec<String>), ApiError> {
    let id = row.id;
    let s = state_of(&row)?;
    let reviewers = if scope_needs_reviewers(v.role) {
        store::reviewers_of(conn, id)?
    } else {
        Vec::new()
    };
    if visibility(v, &scope_of(&row, &s, region, &reviewers)) != Visibility::Full {
        return Err(goal_not_found(id));
    }
    Ok((row, s, reviewers))
}

pub(crate) fn event(
    goal_id: i64,
    t: &Transition,
    comments: &str,
    changes: &str,
    adjustment_ref: &str,
    caller: &Caller,
) -> EventRow {
    EventRow {
        id: 0,
        goal_id,
        action: t.action.kind().as_db().into(),
        from_status: t.from.status.kind().as_db().into(),
        to_status: t.to.status.kind().as_db().into(),
        version: as_i32(t.to.version),
        comments: comments.into(),
        changes: changes.into(),
        budget_adjustment_ref: adjustment_ref.into(),
        role: t.actor.role.as_db().into(),
        actor: caller.subject.clone(),
        at: pbm_db::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::goal::tests::declaration;

    /// The stored form is read back as written, with or without a department budget, and a
    /// declaration stored before department budgets existed still reads.
    #[test]
    fn a_stored_declaration_reads_back_as_written() {
        for department_budget in [None, Some(Decimal::new(12_345_678, 2))] {
            let stored = Stored {
                declaration: declaration(),
                department_budget,
            };
            let text = serde_json::to_string(&stored).unwrap();
            let back: Stored = serde_json::from_str(&text).unwrap();
            assert_eq!(back, stored);
        }
        let mut old: serde_json::Value = serde_json::to_value(Stored {
            declaration: declaration(),
            department_budget: None,
        })
        .unwrap();
        old.as_object_mut().unwrap().remove("department_budget");
        let back: Stored = serde_json::from_value(old).unwrap();
        assert_eq!(back.declaration, declaration());
        assert_eq!(back.department_budget, None);
    }
}
