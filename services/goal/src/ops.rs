//! Use cases of goal management: authorise the caller, load, apply the pure rules
//! ([`crate::domain`]), save in one transaction with audit and idempotency
//! ([`pbm_server::run_mutation`]).

use chrono::NaiveDateTime;
use pbm_auth::{Caller, Role as AuthRole};
use pbm_db::{AnyConnection, Money};
use pbm_proto::goal::v1 as proto;
use pbm_server::{ApiError, Effect, ErrorKind, MutationContext, run_mutation};
use pbm_types::Decimal;
use serde::{Deserialize, Serialize};

use crate::convert;
use crate::domain::access::{
    GoalScope, Viewer, Visibility, may_write, scope_needs_reviewers, visibility,
};
use crate::domain::exante::{self, Conclusion, ExAnteFacts, ReportFacts, ReviewState};
use crate::domain::fixed::{Placement, required_fixed};
use crate::domain::funding::{FundingFacts, check_funding_eligibility};
use crate::domain::goal::{GoalDeclaration, IndicatorSource, LibraryFacts, diff_declarations};
use crate::domain::project::{
    DeclarationTarget, DepartmentBudget, Project, ProjectInput, RequestedAmount, SubjectFacts,
};
use crate::domain::quality::{QualityRules, check_declaration};
use crate::domain::workflow::{
    Action, ActionKind, Actor, ErrorClass, GoalState, Role, Transition, WorkflowError,
    apply_expecting,
};
use crate::domain::{FieldViolation, FiscalYear};
use crate::library::Resolution;
use crate::state::AppState;
use crate::steps::{self, Step, VersionText};
use crate::store::{self, EventRow, GoalFilter, GoalRow, ProjectRow, RulesRow};

pub const GRPC_SERVICE: &str = "pbm.goal.v1.GoalService";

// ---------------------------------------------------------------------------------------------
// Who is asking

/// The caller as the goal rules see them (issue 4 "Roles"). Finance of this very region acts as
/// finance; finance of an enclosing region, auditors and the province read; a unit, a
/// department, an expert or an agency by their code; the public reads published goals only.
pub fn viewer(caller: &Caller, region: &pbm_types::DivisionCode) -> Result<Viewer, ApiError> {
    if !caller.authenticated {
        return Err(ApiError::unauthenticated());
    }
    let denied = || {
        ApiError::permission_denied(
            "REGION_NOT_ALLOWED",
            format!(
                "您属于区划 {}，不能访问区划 {region} 的绩效目标",
                caller.mof_div_code
            ),
        )
    };
    let code = |c: &Option<String>, what: &str| {
        c.clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ApiError::permission_denied("ORG_MISSING", format!("令牌中没有{what}")))
    };
    // The public is of no region: it reads what is published, wherever it is.
    if caller.role != AuthRole::Public && !caller.mof_div_code.covers(region) {
        return Err(denied());
    }
    let here = region.to_string();
    Ok(match caller.role {
        AuthRole::Public => Viewer {
            role: Role::Public,
            org_code: String::new(),
        },
        AuthRole::FinanceAdmin if &caller.mof_div_code == region => Viewer {
            role: Role::Finance,
            org_code: here,
        },
        AuthRole::FinanceAdmin | AuthRole::Auditor => Viewer {
            role: Role::Auditor,
            org_code: here,
        },
        AuthRole::Province => Viewer {
            role: Role::Province,
            org_code: here,
        },
        AuthRole::Department => Viewer {
            role: Role::Department,
            org_code: code(&caller.department, "部门编码")?,
        },
        AuthRole::BudgetUnit => Viewer {
            role: Role::BudgetUnit,
            org_code: code(&caller.unit, "单位编码")?,
        },
        AuthRole::Expert => Viewer {
            role: Role::Expert,
            org_code: code(&caller.expert, "专家编号")?,
        },
        AuthRole::Agency => Viewer {
            role: Role::Agency,
            org_code: code(&caller.agency, "机构代码")?,
        },
    })
}

fn workflow_error(e: WorkflowError) -> ApiError {
    let kind = match e.class() {
        ErrorClass::InvalidArgument => ErrorKind::InvalidArgument,
        ErrorClass::FailedPrecondition => ErrorKind::FailedPrecondition,
        ErrorClass::PermissionDenied => ErrorKind::PermissionDenied,
        ErrorClass::Aborted => ErrorKind::Aborted,
    };
    ApiError::new(kind, e.reason(), e.chinese())
}

/// The role half of authorisation, decided before anything of the request is examined: may
/// this role ever take `kind` (issue 4 "Roles"; the workflow's role table)?
fn ensure_can(
    caller: &Caller,
    region: &pbm_types::DivisionCode,
    kind: ActionKind,
) -> Result<Viewer, ApiError> {
    let v = viewer(caller, region)?;
    if kind.roles().contains(&v.role) {
        Ok(v)
    } else {
        Err(ApiError::permission_denied(
            "ROLE_NOT_ALLOWED",
            format!("「{}」不能{}绩效目标", v.role.chinese(), kind.chinese()),
        ))
    }
}

/// Units and departments declare goals (the bulk stream is authorised once, as a whole).
pub fn ensure_declarer(caller: &Caller, region: &pbm_types::DivisionCode) -> Result<(), ApiError> {
    ensure_can(caller, region, ActionKind::Edit).map(|_| ())
}

fn goal_not_found(id: i64) -> ApiError {
    ApiError::not_found("GOAL_NOT_FOUND", format!("绩效目标 {id} 不存在"))
}

pub(crate) fn project_not_found(code: &str, year: i32) -> ApiError {
    ApiError::not_found(
        "PROJECT_NOT_FOUND",
        format!("{year}年度项目「{code}」不存在，请先从预算系统登记项目"),
    )
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(e)
}

// ---------------------------------------------------------------------------------------------
// Projects

fn project_row(p: &Project, version: i64, by: &str, at: NaiveDateTime) -> ProjectRow {
    ProjectRow {
        pro_code: p.pro_code.as_str().into(),
        fiscal_year: p.fiscal_year.get(),
        name: p.name.clone(),
        agency_code: p.agency_code.as_str().into(),
        department_code: p.department_code.as_str().into(),
        fund_source: p.fund_source.as_db().into(),
        special_field: p.special_field.as_db().into(),
        continuity: p.continuity.as_db().into(),
        nature: p.nature.as_db().into(),
        requested_amount: Money(p.requested_amount.yuan()),
        mid_term_from: p.mid_term.map(|m| m.start.get()),
        mid_term_to: p.mid_term.map(|m| m.end.get()),
        version,
        changed_by: by.into(),
        changed_at: at,
    }
}

pub fn project_from_row(r: &ProjectRow) -> Result<Project, ApiError> {
    use crate::domain::project::{Continuity, FundSource, Nature, SpecialField};
    let bad = |what: &str| internal(format!("stored project {} has a bad {what}", r.pro_code));
    Project::parse(ProjectInput {
        pro_code: r.pro_code.clone(),
        name: r.name.clone(),
        agency_code: r.agency_code.clone(),
        department_code: r.department_code.clone(),
        fiscal_year: r.fiscal_year,
        fund_source: FundSource::from_db(&r.fund_source).ok_or_else(|| bad("fund source"))?,
        special_field: SpecialField::from_db(&r.special_field)
            .ok_or_else(|| bad("special field"))?,
        continuity: Continuity::from_db(&r.continuity).ok_or_else(|| bad("continuity"))?,
        nature: Nature::from_db(&r.nature).ok_or_else(|| bad("nature"))?,
        requested_amount: r.requested_amount.0,
        mid_term: r.mid_term_from.zip(r.mid_term_to),
    })
    .map_err(|v| internal(format!("stored project {} invalid: {v:?}", r.pro_code)))
}

fn project_to_proto(r: &ProjectRow, region: &str) -> Result<proto::Project, ApiError> {
    Ok(proto::Project {
        spec: Some(convert::project_to(&project_from_row(r)?)),
        version: r.version,
        mof_div_code: region.into(),
        changed: Some(convert::stamp(&r.changed_by, r.changed_at)),
    })
}

/// Who may declare or read a project (and its ex-ante report): its unit, its department,
/// finance (and readers of the region). Others' projects answer NOT_FOUND.
pub(crate) fn project_scope(v: &Viewer, agency: &str, department: &str) -> bool {
    match v.role {
        Role::BudgetUnit => v.org_code == agency,
        Role::Department => v.org_code == department,
        Role::Finance | Role::Auditor | Role::Province => true,
        Role::Expert | Role::Agency | Role::Public => false,
    }
}

pub async fn declare_project(
    state: &AppState,
    ctx: MutationContext,
    project: Result<Project, ApiError>,
    expected_version: i64,
) -> Result<proto::Project, ApiError> {
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("project", String::new()),
        move |conn, ctx| {
            let v = viewer(&ctx.caller, &st.region)?;
            if !matches!(v.role, Role::BudgetUnit | Role::Department | Role::Finance) {
                return Err(ApiError::permission_denied(
                    "ROLE_NOT_ALLOWED",
                    "只有预算单位、主管部门和财政部门可以登记项目",
                ));
            }
            let project = project?;
            if !project_scope(
                &v,
                project.agency_code.as_str(),
                project.department_code.as_str(),
            ) {
                return Err(ApiError::permission_denied(
                    "NOT_YOUR_UNIT",
                    "只能登记本单位（本部门所属单位）的项目",
                ));
            }
            let now = pbm_db::now();
            let code = project.pro_code.as_str().to_owned();
            let year = project.fiscal_year.get();
            let current = store::project(conn, &code, year)?;
            let row = match (current, expected_version) {
                (None, 0) => {
                    let row = project_row(&project, 1, &ctx.caller.subject, now);
                    store::insert_project(conn, &row)?;
                    row
                }
                (Some(_), 0) => {
                    return Err(ApiError::already_exists(
                        "PROJECT_EXISTS",
                        format!("{year}年度项目「{code}」已登记；修改请带上当前版本号"),
                    ));
                }
                (None, _) => return Err(project_not_found(&code, year)),
                (Some(current), expected) => {
                    if !project_scope(&v, &current.agency_code, &current.department_code) {
                        return Err(project_not_found(&code, year));
                    }
                    let row = project_row(&project, expected + 1, &ctx.caller.subject, now);
                    if current.version != expected || !store::update_project(conn, &row, expected)?
                    {
                        return Err(ApiError::stale_version(
                            &format!("项目「{code}」"),
                            expected,
                            current.version,
                        ));
                    }
                    row
                }
            };
            Ok(Effect {
                response: project_to_proto(&row, &st.region.to_string())?,
                entity_type: "project",
                entity_id: format!("{year}/{code}"),
                detail: format!("version {}", row.version),
            })
        },
    )
    .await
}

pub async fn get_project(
    state: &AppState,
    caller: &Caller,
    code: String,
    year: i32,
) -> Result<proto::Project, ApiError> {
    let v = viewer(caller, &state.region)?;
    let code = code.trim().to_owned();
    let lookup = code.clone();
    let row = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            match store::project(conn, &lookup, year)? {
                Some(row) if sees_project(conn, &v, &row)? => Ok(Some(row)),
                _ => Ok(None),
            }
        })
        .await?
        .ok_or_else(|| project_not_found(&code, year))?;
    project_to_proto(&row, &state.region.to_string())
}

/// Whether `v` may see a project: its unit, its department, finance, auditors and the
/// province ([`project_scope`]) — and the agency its ex-ante assessment was commissioned to.
pub(crate) fn sees_project(
    conn: &mut AnyConnection,
    v: &Viewer,
    row: &store::ProjectRow,
) -> Result<bool, ApiError> {
    if project_scope(v, &row.agency_code, &row.department_code) {
        return Ok(true);
    }
    Ok(v.role == Role::Agency
        && store::commission(conn, &row.pro_code, row.fiscal_year)?
            .is_some_and(|c| c.agency_credit_code == v.org_code))
}

// ---------------------------------------------------------------------------------------------
// Goals: stored form

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

/// How [`Stored`] is read: the same object, field by field. (Reading through `flatten` would
/// first copy the whole declaration into an intermediate tree; every workflow step reads one.)
#[derive(Deserialize)]
struct StoredForm {
    target: crate::domain::project::DeclarationTarget,
    fiscal_year: FiscalYear,
    year_goal: String,
    mid_term_goal: Option<String>,
    serves_people: bool,
    indicators: Vec<crate::domain::goal::DeclaredIndicator>,
    #[serde(default)]
    department_budget: Option<Decimal>,
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

fn state_of(row: &GoalRow) -> Result<GoalState, ApiError> {
    serde_json::from_str(&row.state).map_err(internal)
}

fn as_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn write_state(row: &mut GoalRow, s: &GoalState, by: &str) -> Result<(), ApiError> {
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

fn load_version(conn: &mut AnyConnection, id: i64, version: i32) -> Result<Stored, ApiError> {
    let (text, _, _) = store::version(conn, id, version)?
        .ok_or_else(|| internal(format!("goal {id} has no version {version}")))?;
    serde_json::from_str(&text).map_err(internal)
}

fn goal_to_proto(
    row: &GoalRow,
    s: &GoalState,
    stored: &Stored,
    shown: u32,
    region: &str,
) -> proto::Goal {
    let mut g = proto::Goal {
        id: row.id,
        declaration: Some({
            let mut d = convert::declaration_to(&stored.declaration);
            d.department_budget = stored.department_budget.and_then(convert::dec);
            d
        }),
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

fn scope_of<'a>(
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

// ---------------------------------------------------------------------------------------------
// Library references

/// The caller's bearer token, forwarded to the indicator service.
pub type Authorization = String;

/// The library references of `d`: (indicator position, (code, version; 0 = current)).
fn library_refs(d: &GoalDeclaration) -> (Vec<usize>, Vec<(String, i64)>) {
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
async fn with_library(
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
fn apply_resolution(
    d: &mut GoalDeclaration,
    positions: &[usize],
    resolution: Resolution,
) -> (LibraryFacts, Vec<FieldViolation>) {
    let mut facts = LibraryFacts::default();
    for (r, lib) in resolution.found {
        let Some(k) = positions.get(r) else { continue };
        let i = &mut d.indicators[*k];
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
        .collect();
    (facts, refused)
}

fn refuse_declaration(list: Vec<FieldViolation>) -> ApiError {
    let mut e = ApiError::validation(
        convert::violations(list)
            .into_iter()
            .map(|v| v.under("declaration."))
            .collect(),
    );
    e.reason = "GOAL_QUALITY_FAILED";
    e
}

// ---------------------------------------------------------------------------------------------
// Rules

/// The goal rules in force for a year (the defaults until set).
pub fn rules_in_force(conn: &mut AnyConnection, year: i32) -> Result<RulesRow, ApiError> {
    Ok(rules_or_default(store::current_rules(conn, year)?, year))
}

/// `set`, or the defaults of `year` when its rules were never set.
fn rules_or_default(set: Option<RulesRow>, year: i32) -> RulesRow {
    set.unwrap_or(RulesRow {
        fiscal_year: year,
        version: 0,
        ex_ante_threshold: None,
        weight_total: Money(Decimal::ONE_HUNDRED),
        changed_by: String::new(),
        changed_at: NaiveDateTime::default(),
    })
}

pub fn rules_label(r: &RulesRow) -> String {
    let base = if r.version == 0 {
        format!("{}年度默认目标规则", r.fiscal_year)
    } else {
        format!("{}年度目标规则第{}版", r.fiscal_year, r.version)
    };
    match &r.ex_ante_threshold {
        Some(t) => format!("{base}（事前评估门槛 {} 元）", t.0.normalize()),
        None => format!("{base}（未配置事前评估门槛）"),
    }
}

fn rules_to_proto(r: &RulesRow) -> proto::GoalRules {
    proto::GoalRules {
        fiscal_year: r.fiscal_year,
        ex_ante_threshold: r.ex_ante_threshold.as_ref().and_then(|t| convert::dec(t.0)),
        weight_total: convert::dec(r.weight_total.0),
        version: r.version,
        label: rules_label(r),
        changed: (r.version > 0).then(|| convert::stamp(&r.changed_by, r.changed_at)),
    }
}

pub async fn get_rules(
    state: &AppState,
    caller: &Caller,
    year: i32,
) -> Result<proto::GoalRules, ApiError> {
    viewer(caller, &state.region)?;
    FiscalYear::new(year)
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?;
    let row = state
        .db
        .read(move |conn| rules_in_force(conn, year))
        .await?;
    Ok(rules_to_proto(&row))
}

pub async fn set_rules(
    state: &AppState,
    ctx: MutationContext,
    r: proto::GoalRules,
    expected_version: i64,
) -> Result<proto::GoalRules, ApiError> {
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("goal_rules", r.fiscal_year.to_string()),
        move |conn, ctx| {
            if viewer(&ctx.caller, &st.region)?.role != Role::Finance {
                return Err(ApiError::permission_denied(
                    "ROLE_NOT_ALLOWED",
                    "只有本级财政部门可以设置绩效目标规则",
                ));
            }
            let mut v = Vec::new();
            if FiscalYear::new(r.fiscal_year).is_err() {
                v.push(FieldViolation::generic("rules.fiscal_year", "预算年度无效"));
            }
            let parse = |d: &Option<pbm_proto::common::v1::Decimal>| {
                d.as_ref()
                    .map(|d| d.value.trim())
                    .filter(|t| !t.is_empty())
                    .map(pbm_types::decimal::parse)
                    .transpose()
            };
            let threshold = match parse(&r.ex_ante_threshold) {
                Ok(Some(t)) if t > Decimal::ZERO => Some(t),
                Ok(None) => None,
                Ok(Some(_)) => {
                    v.push(FieldViolation::generic(
                        "rules.ex_ante_threshold",
                        "门槛应大于0元",
                    ));
                    None
                }
                Err(e) => {
                    v.push(FieldViolation::generic(
                        "rules.ex_ante_threshold",
                        e.message,
                    ));
                    None
                }
            };
            let weight_total = match parse(&r.weight_total) {
                Ok(Some(t)) if t > Decimal::ZERO && t <= Decimal::ONE_HUNDRED => t,
                Ok(None) => Decimal::ONE_HUNDRED,
                Ok(Some(_)) | Err(_) => {
                    v.push(FieldViolation::generic(
                        "rules.weight_total",
                        "权重合计应在 0–100 之间",
                    ));
                    Decimal::ONE_HUNDRED
                }
            };
            ApiError::check(v)?;
            let current = rules_in_force(conn, r.fiscal_year)?;
            if current.version != expected_version {
                return Err(ApiError::stale_version(
                    &format!("{}年度目标规则", r.fiscal_year),
                    expected_version,
                    current.version,
                ));
            }
            let row = RulesRow {
                fiscal_year: r.fiscal_year,
                version: current.version + 1,
                ex_ante_threshold: threshold.map(Money),
                weight_total: Money(weight_total),
                changed_by: ctx.caller.subject.clone(),
                changed_at: pbm_db::now(),
            };
            store::insert_rules(conn, &row).map_err(|e| match e {
                pbm_db::StoreError::UniqueViolation(_) => ApiError::stale_version(
                    &format!("{}年度目标规则", r.fiscal_year),
                    expected_version,
                    expected_version + 1,
                ),
                other => other.into(),
            })?;
            Ok(Effect {
                response: rules_to_proto(&row),
                entity_type: "goal_rules",
                entity_id: r.fiscal_year.to_string(),
                detail: rules_label(&row),
            })
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Goals: save and submit

/// The subject a declaration is for, and who owns it.
struct Subject {
    facts: SubjectFacts,
    agency_code: String,
    department_code: String,
    /// Where the subject sits for the library's tags (which 固化 indicators apply).
    placement: Placement,
}

fn subject_of(conn: &mut AnyConnection, stored: &Stored) -> Result<Subject, ApiError> {
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
fn subject_from(project: Option<ProjectRow>, stored: &Stored) -> Result<Subject, ApiError> {
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

fn target_key(d: &GoalDeclaration) -> (&'static str, String) {
    match &d.target {
        DeclarationTarget::Project { pro_code } => ("project", pro_code.as_str().into()),
        DeclarationTarget::DepartmentOverall { department_code } => {
            ("department_overall", department_code.as_str().into())
        }
    }
}

fn event(
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

/// SaveGoal: creates the draft (expected_revision 0) or replaces the declaration being edited.
pub async fn save_goal(
    state: &AppState,
    ctx: MutationContext,
    auth: Authorization,
    declaration: Result<Stored, ApiError>,
    expected_revision: i64,
) -> Result<proto::Goal, ApiError> {
    // Authorise before calling the library on the caller's behalf.
    ensure_can(&ctx.caller, &state.region, ActionKind::Edit)?;
    let mut stored = declaration?;
    let (_, refused) = with_library(state, &auth, &mut stored.declaration).await?;
    if !refused.is_empty() {
        return Err(refuse_declaration(refused));
    }
    let st = state.clone();
    run_mutation(&state.db, ctx, ("goal", String::new()), move |conn, ctx| {
        let v = viewer(&ctx.caller, &st.region)?;
        let region = st.region.to_string();
        let subject = subject_of(conn, &stored)?;
        let (kind, code) = target_key(&stored.declaration);
        let year = stored.declaration.fiscal_year.get();
        let actor = Actor::new(v.role, ctx.caller.subject.clone());
        let text = serde_json::to_string(&stored).map_err(internal)?;
        let now = pbm_db::now();
        let existing = store::goal_of_target(conn, year, kind, &code)?;
        let (mut row, from) = match (existing, expected_revision) {
            (None, 0) => {
                let row = GoalRow {
                    id: 0,
                    fiscal_year: year,
                    target_kind: kind.into(),
                    target_code: code.clone(),
                    agency_code: subject.agency_code.clone(),
                    department_code: subject.department_code.clone(),
                    status: String::new(),
                    approved_version: None,
                    published_version: None,
                    state: String::new(),
                    revision: 0,
                    changed_by: String::new(),
                    changed_at: now,
                    working_version: 1,
                };
                (row, None)
            }
            (Some(_), 0) => {
                return Err(ApiError::already_exists(
                    "GOAL_EXISTS",
                    format!("{year}年度「{code}」已有绩效目标；修改请带上当前修订号"),
                ));
            }
            (None, _) => {
                return Err(ApiError::not_found(
                    "GOAL_NOT_FOUND",
                    format!("{year}年度「{code}」还没有绩效目标"),
                ));
            }
            (Some(row), _) => {
                let s = state_of(&row)?;
                (row, Some(s))
            }
        };
        let scope_state = from.unwrap_or_default();
        if !may_write(&v, &scope_of(&row, &scope_state, &region, &[])) {
            return Err(if from.is_some() {
                goal_not_found(row.id)
            } else {
                ApiError::permission_denied(
                    "NOT_YOUR_UNIT",
                    "只能申报本单位（本部门所属单位）的绩效目标",
                )
            });
        }
        let to = match &from {
            None => {
                if !matches!(v.role, Role::BudgetUnit | Role::Department) {
                    return Err(ApiError::permission_denied(
                        "ROLE_NOT_ALLOWED",
                        "绩效目标由预算单位或主管部门申报",
                    ));
                }
                // Revision 0 means "no goal yet"; the new draft is revision 1.
                GoalState {
                    revision: 1,
                    ..GoalState::new()
                }
            }
            Some(s) => {
                let expected = u64::try_from(expected_revision).unwrap_or(0);
                apply_expecting(s, expected, &Action::Edit, &actor)
                    .map_err(workflow_error)?
                    .to
            }
        };
        write_state(&mut row, &to, &ctx.caller.subject)?;
        if from.is_none() {
            row.id = store::insert_goal(conn, &row).map_err(|e| match e {
                pbm_db::StoreError::UniqueViolation(_) => ApiError::already_exists(
                    "GOAL_EXISTS",
                    format!("{year}年度「{code}」已有绩效目标"),
                ),
                other => other.into(),
            })?;
        } else if !store::update_goal(conn, &row, expected_revision)? {
            return Err(ApiError::stale_version(
                &format!("绩效目标 {}", row.id),
                expected_revision,
                expected_revision + 1,
            ));
        }
        store::replace_version(
            conn,
            row.id,
            as_i32(to.version),
            &text,
            &ctx.caller.subject,
            now,
        )?;
        let t = Transition {
            from: from.unwrap_or_default(),
            to,
            action: Action::Edit,
            actor,
        };
        store::insert_event(conn, &event(row.id, &t, "", "", "", &ctx.caller))?;
        Ok(Effect {
            response: goal_to_proto(&row, &t.to, &stored, t.to.version, &region),
            entity_type: "goal",
            entity_id: row.id.to_string(),
            detail: format!("saved version {}", t.to.version),
        })
    })
    .await
}

/// A goal the viewer may read in full (its unit, department, finance, readers of the region);
/// NOT_FOUND otherwise, so its existence does not leak.
fn visible_goal(
    conn: &mut AnyConnection,
    v: &Viewer,
    region: &str,
    id: i64,
) -> Result<(GoalRow, GoalState, Vec<String>), ApiError> {
    let row = store::goal(conn, id)?.ok_or_else(|| goal_not_found(id))?;
    in_view(conn, v, region, row)
}

/// As [`visible_goal`], with the declaration being worked on, read in the same statement.
fn visible_goal_with_declaration(
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
fn visible_stored(
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
fn in_view(
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

/// Loads a goal for a writer (NOT_FOUND outside the writer's scope).
async fn load_for_action(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<(GoalRow, GoalState, Stored), ApiError> {
    let v = viewer(caller, &state.region)?;
    let region = state.region.to_string();
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let (row, s, _, stored) = visible_goal_with_declaration(conn, &v, &region, id)?;
            Ok((row, s, stored))
        })
        .await
}

/// What a workflow step's checks see beside the goal, read with it in one statement.
struct Surroundings {
    /// The goal's project (none for a department's overall goal, or a vanished project).
    project: Option<ProjectRow>,
    /// The goal rules in force for the goal's year.
    rules: RulesRow,
}

/// Applies a workflow action: decided on one read (scope, revision, the rule, `check` against
/// the project and rules read with the goal), then the new state, the declaration version (if
/// any) and the history row written atomically, guarded by the revision read.
/// `respond` builds the response from the goal before the write, and the idempotency record
/// keeps it, so a retry replays it whole.
#[allow(clippy::too_many_arguments)]
async fn act<R>(
    state: &AppState,
    ctx: MutationContext,
    id: i64,
    expected_revision: i64,
    action: Action,
    check: impl FnOnce(Surroundings, &Stored) -> Result<(), ApiError> + Send + 'static,
    replace: Option<Stored>,
    note: (String, String, String),
    respond: impl FnOnce(proto::Goal) -> R + Send + 'static,
) -> Result<R, ApiError>
where
    R: prost::Message + Default + Send + 'static,
{
    let st = state.clone();
    // Decided on committed reads, written with one statement guarded by the revision read
    // (batched with concurrent steps on PostgreSQL: `crate::steps`).
    steps::run(state, ctx, id, move |conn, ctx, found| {
        let v = ensure_can(&ctx.caller, &st.region, action.kind())?;
        let region = st.region.to_string();
        let (row, text, project, rules) = found.ok_or_else(|| goal_not_found(id))?;
        let year = row.fiscal_year;
        let (mut row, s, reviewers, current) = visible_stored(conn, &v, &region, row, text)?;
        if !may_write(&v, &scope_of(&row, &s, &region, &reviewers)) {
            return Err(ApiError::permission_denied(
                "ROLE_NOT_ALLOWED",
                format!("当前角色不能对绩效目标执行「{}」", action.kind().chinese()),
            ));
        }
        let actor = Actor::new(v.role, ctx.caller.subject.clone());
        let expected = u64::try_from(expected_revision).unwrap_or(u64::MAX);
        let t = apply_expecting(&s, expected, &action, &actor).map_err(workflow_error)?;
        let surroundings = Surroundings {
            project,
            rules: rules_or_default(rules, year),
        };
        check(surroundings, &current)?;
        write_state(&mut row, &t.to, &ctx.caller.subject)?;
        let shown = replace.unwrap_or(current);
        // An adjustment opens a new version (a copy of the one in force); an amendment
        // rewrites the version under review.
        let version = if t.to.version != s.version || t.action.kind() == ActionKind::Amend {
            Some(VersionText {
                number: as_i32(t.to.version),
                text: serde_json::to_string(&shown).map_err(internal)?,
                by: ctx.caller.subject.clone(),
                at: pbm_db::now(),
            })
        } else {
            None
        };
        let (comments, changes, adjustment_ref) = note;
        let history = event(id, &t, &comments, &changes, &adjustment_ref, &ctx.caller);
        let effect = Effect {
            response: respond(goal_to_proto(&row, &t.to, &shown, t.to.version, &region)),
            entity_type: "goal",
            entity_id: id.to_string(),
            detail: format!(
                "{}: {} → {}",
                t.action.kind().as_db(),
                t.from.status.kind().as_db(),
                t.to.status.kind().as_db()
            ),
        };
        let step = Step {
            row,
            expected: expected_revision,
            history,
            version,
        };
        Ok((effect, step))
    })
    .await
}

/// SubmitGoal (二上): every quality check against the library versions pinned in the
/// declaration, as one list of field violations; nothing changes when any fails.
///
/// One read gives the declaration with its project and rules; the pinned versions usually
/// come from the library client's memory ([`crate::library::Library`]); only when it has not
/// seen them lately is the indicator service asked, while deciding (no transaction is open
/// then); one guarded statement writes the step.
pub async fn submit(
    state: &AppState,
    ctx: MutationContext,
    auth: Authorization,
    id: i64,
    expected_revision: i64,
) -> Result<proto::Goal, ApiError> {
    ensure_can(&ctx.caller, &state.region, ActionKind::Submit)?;
    let fixed = state.library.fixed(&auth).await?;
    let library = state.library.clone();
    let runtime = tokio::runtime::Handle::current();
    let check = move |around: Surroundings, current: &Stored| -> Result<(), ApiError> {
        let year = current.declaration.fiscal_year;
        let (positions, refs) = library_refs(&current.declaration);
        let resolution = match library.remembered(year.get(), &refs) {
            Some(known) => known,
            None => runtime.block_on(library.resolve(&auth, year.get(), &refs))?,
        };
        let mut resolved = current.declaration.clone();
        let (mut facts, refused) = apply_resolution(&mut resolved, &positions, resolution);
        let subject = subject_from(around.project, current)?;
        facts.required_fixed = required_fixed(&fixed, &subject.placement, year);
        let rules = around.rules;
        let quality = QualityRules {
            label: rules_label(&rules),
            weight_total: rules.weight_total.0,
        };
        // A reference the library refused is reported once, with the library's reason.
        let refused_fields: Vec<String> = refused.iter().map(|v| v.field.clone()).collect();
        let mut all = refused;
        all.extend(
            check_declaration(&current.declaration, &subject.facts, &facts, &quality)
                .into_iter()
                .filter(|v| {
                    !refused_fields
                        .iter()
                        .any(|f| v.field.starts_with(f.as_str()))
                }),
        );
        if all.is_empty() {
            Ok(())
        } else {
            Err(refuse_declaration(all))
        }
    };
    act(
        state,
        ctx,
        id,
        expected_revision,
        Action::Submit,
        check,
        None,
        Default::default(),
        |g| g,
    )
    .await
}

pub async fn review(
    state: &AppState,
    ctx: MutationContext,
    id: i64,
    expected_revision: i64,
    outcome: Option<crate::domain::workflow::ReviewOutcome>,
    comments: String,
) -> Result<proto::Goal, ApiError> {
    let Some(outcome) = outcome else {
        // Authorisation first: a caller who may not review learns nothing about the goal.
        ensure_can(&ctx.caller, &state.region, ActionKind::Review)?;
        return Err(ApiError::invalid_field(
            "OUTCOME_REQUIRED",
            "outcome",
            "请选择审核结果：优、良、中、差",
        ));
    };
    let comments = comments.trim().to_owned();
    act(
        state,
        ctx,
        id,
        expected_revision,
        Action::Review {
            outcome,
            comments: comments.clone(),
        },
        |_: Surroundings, _: &Stored| Ok(()),
        None,
        (comments, String::new(), String::new()),
        |g| g,
    )
    .await
}

/// AmendGoal: finance rewrites a 良 goal; the history keeps the diff.
pub async fn amend(
    state: &AppState,
    ctx: MutationContext,
    auth: Authorization,
    id: i64,
    expected_revision: i64,
    declaration: Result<Stored, ApiError>,
    comments: String,
) -> Result<proto::AmendGoalResponse, ApiError> {
    ensure_can(&ctx.caller, &state.region, ActionKind::Amend)?;
    let (_, _, before) = load_for_action(state, &ctx.caller, id).await?;
    let mut after = declaration?;
    if after.declaration.target != before.declaration.target
        || after.declaration.fiscal_year != before.declaration.fiscal_year
    {
        return Err(ApiError::invalid_field(
            "TARGET_CHANGED",
            "declaration.pro_code",
            "修改不能改变绩效目标所属的项目（部门）和年度",
        ));
    }
    let (_, refused) = with_library(state, &auth, &mut after.declaration).await?;
    if !refused.is_empty() {
        return Err(refuse_declaration(refused));
    }
    let changes = diff_declarations(&before.declaration, &after.declaration);
    let nothing_changed = changes.is_empty();
    let text = serde_json::to_string(&changes).map_err(internal)?;
    let unchanged_since = before.clone();
    let listed = convert::changes_to(&changes);
    act(
        state,
        ctx,
        id,
        expected_revision,
        Action::Amend {
            changes: changes.clone(),
        },
        move |_, current| {
            // Checked in the transaction, after a retry would have been answered.
            if nothing_changed {
                Err(ApiError::invalid_field(
                    "NOTHING_CHANGED",
                    "declaration",
                    "修改后的申报内容与原内容相同",
                ))
            } else if *current == unchanged_since {
                Ok(())
            } else {
                Err(ApiError::new(
                    ErrorKind::Aborted,
                    "GOAL_CHANGED",
                    "申报内容已被修改，请刷新后重试",
                ))
            }
        },
        Some(after),
        (comments.trim().to_owned(), text, String::new()),
        move |goal| proto::AmendGoalResponse {
            goal: Some(goal),
            changes: listed,
        },
    )
    .await
}

/// ApproveGoal, PublishGoal, RequestAdjustment, CancelAdjustment: the rule decides.
pub async fn simple(
    state: &AppState,
    ctx: MutationContext,
    id: i64,
    expected_revision: i64,
    action: Action,
) -> Result<proto::Goal, ApiError> {
    let note = match &action {
        Action::RequestAdjustment {
            budget_adjustment_ref,
            reason,
        } => (reason.clone(), String::new(), budget_adjustment_ref.clone()),
        Action::CancelAdjustment { reason } => (reason.clone(), String::new(), String::new()),
        _ => Default::default(),
    };
    act(
        state,
        ctx,
        id,
        expected_revision,
        action,
        |_: Surroundings, _: &Stored| Ok(()),
        None,
        note,
        |g| g,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Reads

pub async fn get(
    state: &AppState,
    caller: &Caller,
    id: i64,
    version: i32,
) -> Result<proto::Goal, ApiError> {
    let v = viewer(caller, &state.region)?;
    let region = state.region.to_string();
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let row = store::goal(conn, id)?.ok_or_else(|| goal_not_found(id))?;
            let s = state_of(&row)?;
            let reviewers = store::reviewers_of(conn, id)?;
            let shown = match visibility(&v, &scope_of(&row, &s, &region, &reviewers)) {
                Visibility::None => return Err(goal_not_found(id)),
                // 信息公开: only the published version, whatever was asked.
                Visibility::PublishedVersion => {
                    s.published_version.ok_or_else(|| goal_not_found(id))?
                }
                Visibility::Full if version > 0 => {
                    let asked = u32::try_from(version).unwrap_or(0);
                    if asked > s.version {
                        return Err(ApiError::not_found(
                            "VERSION_NOT_FOUND",
                            format!("绩效目标 {id} 没有第{version}版"),
                        ));
                    }
                    asked
                }
                Visibility::Full => s.version,
            };
            let stored = load_version(conn, id, as_i32(shown))?;
            Ok(goal_to_proto(&row, &s, &stored, shown, &region))
        })
        .await
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    r: proto::ListGoalsRequest,
) -> Result<proto::ListGoalsResponse, ApiError> {
    let v = viewer(caller, &state.region)?;
    let p = r.page.unwrap_or_default();
    let page = pbm_server::paging::Page::parse(p.page_size, &p.page_token)?;
    let status = match convert::status_from(r.status) {
        Some(k) => Some(k.as_db().to_owned()),
        None if r.status != 0 => {
            return Err(ApiError::invalid_field(
                "STATUS_INVALID",
                "status",
                "状态无效",
            ));
        }
        None => None,
    };
    let mut f = GoalFilter {
        fiscal_year: (r.fiscal_year > 0).then_some(r.fiscal_year),
        agency_code: Some(r.agency_code.trim().to_owned()).filter(|c| !c.is_empty()),
        department_code: Some(r.department_code.trim().to_owned()).filter(|c| !c.is_empty()),
        status,
        published_only: false,
        reviewer: None,
    };
    // The caller's scope narrows the filter, so nothing outside it can be listed or counted.
    match v.role {
        Role::BudgetUnit => {
            if f.agency_code.as_ref().is_some_and(|a| *a != v.org_code) {
                return Ok(proto::ListGoalsResponse::default());
            }
            f.agency_code = Some(v.org_code.clone());
        }
        Role::Department => {
            if f.department_code.as_ref().is_some_and(|d| *d != v.org_code) {
                return Ok(proto::ListGoalsResponse::default());
            }
            f.department_code = Some(v.org_code.clone());
        }
        Role::Finance | Role::Auditor | Role::Province => {}
        Role::Expert | Role::Agency => {
            f.published_only = true;
            f.reviewer = Some(v.org_code.clone());
        }
        Role::Public => f.published_only = true,
    }
    let published_only = f.published_only;
    let region = state.region.to_string();
    let goals = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let (rows, total) = store::list_goals(conn, &f, page.offset, page.limit)?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let s = state_of(&row)?;
                let shown = if published_only {
                    s.published_version.unwrap_or(s.version)
                } else {
                    s.version
                };
                let stored = load_version(conn, row.id, as_i32(shown))?;
                out.push(goal_to_proto(&row, &s, &stored, shown, &region));
            }
            Ok((out, total))
        })
        .await?;
    Ok(proto::ListGoalsResponse {
        goals: goals.0,
        page: Some(pbm_proto::common::v1::PageResponse {
            next_page_token: page.next_token(goals.1),
            total_size: goals.1,
        }),
    })
}

pub async fn history(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<Vec<proto::GoalEvent>, ApiError> {
    let v = viewer(caller, &state.region)?;
    let region = state.region.to_string();
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            visible_goal(conn, &v, &region, id)?;
            store::events(conn, id)?
                .into_iter()
                .enumerate()
                .map(|(k, e)| {
                    let changes: Vec<crate::domain::goal::FieldChange> = if e.changes.is_empty() {
                        Vec::new()
                    } else {
                        serde_json::from_str(&e.changes).map_err(internal)?
                    };
                    let status = |t: &str| {
                        crate::domain::workflow::StatusKind::from_db(t)
                            .map_or(0, |k| convert::status_to(k) as i32)
                    };
                    Ok(proto::GoalEvent {
                        seq: i64::try_from(k + 1).unwrap_or(i64::MAX),
                        action_text: ActionKind::from_db(&e.action)
                            .map(|a| a.chinese().to_owned())
                            .unwrap_or_default(),
                        action: e.action,
                        from_status: status(&e.from_status),
                        to_status: status(&e.to_status),
                        version: e.version,
                        comments: e.comments,
                        changes: convert::changes_to(&changes),
                        budget_adjustment_ref: e.budget_adjustment_ref,
                        role: e.role,
                        by: Some(convert::stamp(&e.actor, e.at)),
                    })
                })
                .collect()
        })
        .await
}

// ---------------------------------------------------------------------------------------------
// The funding gate

/// CheckFundingEligibility for a batch of projects (finance, auditors, the province, and the
/// budget system acting as finance): allowed, or every reason why not.
pub async fn funding(
    state: &AppState,
    caller: &Caller,
    year: i32,
    codes: Vec<String>,
) -> Result<Vec<proto::FundingEligibility>, ApiError> {
    let v = viewer(caller, &state.region)?;
    if !matches!(v.role, Role::Finance | Role::Auditor | Role::Province) {
        return Err(ApiError::permission_denied(
            "ROLE_NOT_ALLOWED",
            "预算资金安排资格只对财政部门、审计和省级平台开放",
        ));
    }
    let fy = FiscalYear::new(year)
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?;
    let codes: Vec<String> = codes.iter().map(|c| c.trim().to_owned()).collect();
    if codes.is_empty() || codes.len() > 5000 || codes.iter().any(String::is_empty) {
        return Err(ApiError::invalid_field(
            "PRO_CODES_INVALID",
            "pro_codes",
            "请提供 1–5000 个非空项目编码",
        ));
    }
    let region = state.region.to_string();
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let rules = rules_in_force(conn, year)?;
            let label = rules_label(&rules);
            let ex_ante_rules = crate::exante_ops::ex_ante_rules(&rules, &region, fy);
            let reports: std::collections::HashMap<String, ReportFacts> =
                store::ex_ante_facts(conn, year, &codes)?
                    .into_iter()
                    .filter_map(|(code, conclusion, review)| {
                        Some((
                            code,
                            ReportFacts {
                                conclusion: Conclusion::from_db(&conclusion)?,
                                review: ReviewState::from_db(&review)?,
                            },
                        ))
                    })
                    .collect();
            let projects: std::collections::HashMap<String, ProjectRow> =
                store::projects(conn, year, &codes)?
                    .into_iter()
                    .map(|p| (p.pro_code.clone(), p))
                    .collect();
            let goals: std::collections::HashMap<String, GoalRow> =
                store::goals_of_projects(conn, year, &codes)?
                    .into_iter()
                    .map(|g| (g.target_code.clone(), g))
                    .collect();
            codes
                .iter()
                .map(|code| {
                    let required = match projects.get(code) {
                        Some(p) => {
                            exante::requirement(&project_from_row(p)?, &ex_ante_rules).required
                        }
                        None => false,
                    };
                    let goal = goals.get(code).map(state_of).transpose()?;
                    let answer = check_funding_eligibility(&FundingFacts {
                        goal,
                        ex_ante: ExAnteFacts {
                            required,
                            report: reports.get(code).copied(),
                        },
                    });
                    let mut reasons: Vec<proto::FundingReason> = answer
                        .reasons
                        .iter()
                        .map(|r| proto::FundingReason {
                            code: r.code().into(),
                            message: r.chinese(),
                        })
                        .collect();
                    if !projects.contains_key(code) {
                        reasons.insert(
                            0,
                            proto::FundingReason {
                                code: "PROJECT_NOT_FOUND".into(),
                                message: format!("{year}年度项目「{code}」未在项目库登记"),
                            },
                        );
                    }
                    Ok(proto::FundingEligibility {
                        pro_code: code.clone(),
                        allowed: answer.allowed && projects.contains_key(code),
                        reasons,
                        rules: label.clone(),
                    })
                })
                .collect()
        })
        .await
}

// ---------------------------------------------------------------------------------------------
// Statistics

fn tally(t: &crate::domain::stats::Tally) -> Option<proto::Tally> {
    Some(proto::Tally {
        count: i64::try_from(t.count).unwrap_or(i64::MAX),
        amount: convert::dec(t.amount),
    })
}

/// GetGoalStatistics (issue 4 "Statistics"): for finance, auditors and the province.
pub async fn statistics(
    state: &AppState,
    caller: &Caller,
    r: proto::GetGoalStatisticsRequest,
) -> Result<proto::GetGoalStatisticsResponse, ApiError> {
    use crate::domain::stats::{GroupBy, StatsRecord, aggregate};
    let v = viewer(caller, &state.region)?;
    if !matches!(v.role, Role::Finance | Role::Auditor | Role::Province) {
        return Err(ApiError::permission_denied(
            "ROLE_NOT_ALLOWED",
            "绩效目标统计只对财政部门、审计和省级平台开放",
        ));
    }
    if r.fiscal_year != 0 {
        FiscalYear::new(r.fiscal_year)
            .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?;
    }
    let year = (r.fiscal_year != 0).then_some(r.fiscal_year);
    let rows = state
        .db
        .read(move |conn| store::projects_with_goals(conn, year))
        .await?;
    let mut records = Vec::with_capacity(rows.len());
    for (p, goal) in &rows {
        let goal = goal
            .as_deref()
            .map(serde_json::from_str::<GoalState>)
            .transpose()
            .map_err(internal)?;
        records.push(StatsRecord::new(&project_from_row(p)?, goal));
    }
    let by = GroupBy {
        fiscal_year: r.by_fiscal_year,
        department: r.by_department,
        fund_source: r.by_fund_source,
        special_field: r.by_special_field,
    };
    Ok(proto::GetGoalStatisticsResponse {
        mof_div_code: state.region.to_string(),
        rows: aggregate(&records, by)
            .into_iter()
            .map(|(k, row)| proto::GoalStatisticsRow {
                fiscal_year: k.fiscal_year.map_or(0, FiscalYear::get),
                department_code: k
                    .department_code
                    .map(|d| d.as_str().to_owned())
                    .unwrap_or_default(),
                fund_source: k
                    .fund_source
                    .map_or(0, |f| convert::fund_source_to(f) as i32),
                special_field: k
                    .special_field
                    .map_or(0, |f| convert::special_field_to(f) as i32),
                projects: tally(&row.projects),
                declared: tally(&row.declared),
                passed_first_review: tally(&row.passed_first_review),
                returned: tally(&row.returned),
                blocked: tally(&row.blocked),
                approved: tally(&row.approved),
            })
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Review assignment

/// AssignReviewers: the pool's draw first (its own idempotent mutation in the agency service,
/// request id derived from ours, so a retry replays the same draw), then one transaction that
/// records every reviewer as a workflow step.
pub async fn assign(
    state: &AppState,
    ctx: MutationContext,
    auth: Authorization,
    r: proto::AssignReviewersRequest,
) -> Result<proto::AssignReviewersResponse, ApiError> {
    use crate::domain::workflow::{Reviewer, ReviewerKind};
    use crate::pool::Ask;
    ensure_can(&ctx.caller, &state.region, ActionKind::AssignReviewer)?;
    let ask = match (r.agency, r.experts) {
        (true, 0) => Ask::Agency {
            weighted_by_rating: r.weighted_by_rating,
        },
        (false, n) if (1..=9).contains(&n) && !r.field.trim().is_empty() => Ask::Experts {
            field: r.field.trim().to_owned(),
            count: n,
        },
        _ => {
            return Err(ApiError::invalid_field(
                "REVIEWERS_INVALID",
                "experts",
                "请指定抽取的专家人数（1–9）和专业领域，或选择抽取一家第三方机构，二者选一",
            ));
        }
    };
    let (row, s, _) = load_for_action(state, &ctx.caller, r.goal_id).await?;
    let drawn = state
        .pool
        .draw(
            &auth,
            format!("{}#draw", ctx.request_id),
            format!("goal-review/{}/v{}", row.id, s.version),
            row.agency_code.clone(),
            pbm_proto::agency::v1::EngagementKind::GoalReview,
            &ask,
        )
        .await?;
    let st = state.clone();
    let goal_id = r.goal_id;
    let expected_revision = r.expected_revision;
    run_mutation(
        &state.db,
        ctx,
        ("goal", goal_id.to_string()),
        move |conn, ctx| {
            let v = ensure_can(&ctx.caller, &st.region, ActionKind::AssignReviewer)?;
            let region = st.region.to_string();
            let (mut row, s, reviewers) = visible_goal(conn, &v, &region, goal_id)?;
            if !may_write(&v, &scope_of(&row, &s, &region, &reviewers)) {
                return Err(goal_not_found(goal_id));
            }
            let actor = Actor::new(v.role, ctx.caller.subject.clone());
            let mut expected = u64::try_from(expected_revision).unwrap_or(u64::MAX);
            let mut to = s;
            for (kind, id) in &drawn.reviewers {
                let action = Action::AssignReviewer {
                    reviewer: Reviewer {
                        kind: if *kind == "agency" {
                            ReviewerKind::Agency
                        } else {
                            ReviewerKind::Expert
                        },
                        id: id.clone(),
                    },
                };
                let t = apply_expecting(&to, expected, &action, &actor).map_err(workflow_error)?;
                store::insert_event(
                    conn,
                    &event(
                        goal_id,
                        &t,
                        &format!("抽取记录 {}：{kind} {id}", drawn.draw_id),
                        "",
                        "",
                        &ctx.caller,
                    ),
                )?;
                store::insert_reviewer(
                    conn,
                    goal_id,
                    kind,
                    id,
                    drawn.draw_id,
                    &ctx.caller.subject,
                    pbm_db::now(),
                )?;
                to = t.to;
                expected = to.revision;
            }
            write_state(&mut row, &to, &ctx.caller.subject)?;
            if !store::update_goal(conn, &row, expected_revision)? {
                return Err(ApiError::stale_version(
                    &format!("绩效目标 {goal_id}"),
                    expected_revision,
                    expected_revision + 1,
                ));
            }
            let stored = load_version(conn, goal_id, as_i32(to.version))?;
            Ok(Effect {
                response: proto::AssignReviewersResponse {
                    goal: Some(goal_to_proto(&row, &to, &stored, to.version, &region)),
                    draw_id: drawn.draw_id,
                    reviewers: drawn.reviewers.iter().map(|(_, id)| id.clone()).collect(),
                },
                entity_type: "goal",
                entity_id: goal_id.to_string(),
                detail: format!("reviewers from draw {}", drawn.draw_id),
            })
        },
    )
    .await
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
