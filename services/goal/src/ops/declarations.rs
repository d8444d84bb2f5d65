//! A declaration's library references (resolved and pinned by the indicator service) and its
//! subject (the project or department it is for).

use pbm_db::AnyConnection;
use pbm_server::ApiError;

use super::projects::project_from_row;
use super::{Stored, project_not_found};
use crate::clients::library::Resolution;
use crate::convert;
use crate::domain::FieldViolation;
use crate::domain::fixed::Placement;
use crate::domain::goal::{GoalDeclaration, IndicatorSource, LibraryFacts};
use crate::domain::project::{DeclarationTarget, DepartmentBudget, RequestedAmount, SubjectFacts};
use crate::domain::quality::check_library_pick;
use crate::state::AppState;
use crate::store::{self, ProjectRow};

/// The library references of `d`: (indicator position, (code, version; 0 = current)).
pub(crate) fn library_refs(d: &GoalDeclaration) -> (Vec<usize>, Vec<(String, i64)>) {
    d.indicators
        .iter()
        .enumerate()
        .filter_map(|(k, i)| match &i.source {
            IndicatorSource::Library { code, version } => Some((k, (code.clone(), *version))),
            IndicatorSource::Specific => None,
        })
        .unzip()
}

/// Resolves the library indicators of `d` (pinning the current version where none is given)
/// and fills in the library's levels, name, direction, unit and 固化. Returns the pinned
/// library facts and a violation per reference the library refused.
pub(crate) async fn with_library(
    state: &AppState,
    auth: &str,
    d: &mut GoalDeclaration,
) -> Result<(LibraryFacts, Vec<FieldViolation>), ApiError> {
    let (positions, refs) = library_refs(d);
    let resolution = state
        .library
        .resolve(auth, d.fiscal_year.get(), &refs)
        .await?;
    Ok(apply_resolution(d, &positions, resolution))
}

/// Fills `d`'s library indicators at `positions` from `resolution` (see [`with_library`]).
pub(crate) fn apply_resolution(
    d: &mut GoalDeclaration,
    positions: &[usize],
    resolution: Resolution,
) -> (LibraryFacts, Vec<FieldViolation>) {
    let mut facts = LibraryFacts::default();
    let mut edited = Vec::new();
    for (r, lib) in resolution.found {
        let Some(k) = positions.get(r) else { continue };
        let i = &mut d.indicators[*k];
        // A name or unit of its own is refused, never silently replaced by the library's.
        edited.extend(check_library_pick(*k, &i.name, &i.unit, &lib));
        i.source = IndicatorSource::Library {
            code: lib.code.clone(),
            version: lib.version,
        };
        i.level1 = lib.level1;
        i.level2 = lib.level2;
        i.name.clone_from(&lib.name);
        i.direction = lib.direction;
        i.unit.clone_from(&lib.unit);
        i.fixed = lib.fixed;
        if i.target_value.is_empty() {
            i.target_value.clone_from(&lib.reference_target);
        }
        facts.pinned.push(lib);
    }
    let refused = resolution
        .refused
        .into_iter()
        .filter_map(|(r, reason, message)| {
            let k = positions.get(r)?;
            Some(FieldViolation::new(
                format!("indicators[{k}]"),
                reason,
                format!("第{}条指标：{message}", k + 1),
            ))
        })
        .chain(edited)
        .collect();
    (facts, refused)
}

/// The refusal of a declaration's defects: `GOAL_QUALITY_FAILED` with every defect as a field
/// violation, or — when there is only one — that defect's own reason.
pub(crate) fn refuse_declaration(list: Vec<FieldViolation>) -> ApiError {
    let only = list.len() == 1;
    let mut e = ApiError::validation(
        convert::violations(list)
            .into_iter()
            .map(|v| v.under("declaration."))
            .collect(),
    );
    if !only {
        e.reason = "GOAL_QUALITY_FAILED";
    }
    e
}

/// The subject a declaration is for, and who owns it.
pub(crate) struct Subject {
    pub(crate) facts: SubjectFacts,
    pub(crate) agency_code: String,
    pub(crate) department_code: String,
    /// Where the subject sits for the library's tags (which 固化 indicators apply).
    pub(crate) placement: Placement,
}

pub(crate) fn subject_of(conn: &mut AnyConnection, stored: &Stored) -> Result<Subject, ApiError> {
    let project = match &stored.declaration.target {
        DeclarationTarget::Project { pro_code } => store::project(
            conn,
            pro_code.as_str(),
            stored.declaration.fiscal_year.get(),
        )?,
        DeclarationTarget::DepartmentOverall { .. } => None,
    };
    subject_from(project, stored)
}

/// The subject of a declaration: its project (`project`, as read) or its department's budget.
pub(crate) fn subject_from(
    project: Option<ProjectRow>,
    stored: &Stored,
) -> Result<Subject, ApiError> {
    let d = &stored.declaration;
    match &d.target {
        DeclarationTarget::Project { pro_code } => {
            let row =
                project.ok_or_else(|| project_not_found(pro_code.as_str(), d.fiscal_year.get()))?;
            let project = project_from_row(&row)?;
            Ok(Subject {
                facts: SubjectFacts::from(&project),
                agency_code: row.agency_code,
                department_code: row.department_code,
                placement: Placement {
                    department_code: project.department_code.clone(),
                    project: Some((project.fund_source, project.special_field, project.nature)),
                },
            })
        }
        DeclarationTarget::DepartmentOverall { department_code } => {
            let amount = stored.department_budget.ok_or_else(|| {
                ApiError::invalid_field(
                    "DEPARTMENT_BUDGET_REQUIRED",
                    "declaration.department_budget",
                    "部门整体绩效目标请填写部门预算申请总额（元）",
                )
            })?;
            let requested_amount = RequestedAmount::new(amount).map_err(|e| {
                ApiError::invalid_field(e.reason, "declaration.department_budget", e.message)
            })?;
            let budget = DepartmentBudget {
                department_code: department_code.clone(),
                name: String::new(),
                fiscal_year: d.fiscal_year,
                requested_amount,
            };
            Ok(Subject {
                facts: SubjectFacts::from(&budget),
                agency_code: department_code.as_str().into(),
                department_code: department_code.as_str().into(),
                placement: Placement {
                    department_code: department_code.clone(),
                    project: None,
                },
            })
        }
    }
}

pub(crate) fn target_key(d: &GoalDeclaration) -> (&'static str, String) {
    match &d.target {
        DeclarationTarget::Project { pro_code } => ("project", pro_code.as_str().into()),
        DeclarationTarget::DepartmentOverall { department_code } => {
            ("department_overall", department_code.as_str().into())
        }
    }
}
