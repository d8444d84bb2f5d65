//! Who may read and write which goal: the scope half of authorisation ([`crate::domain::workflow`]
//! checks the action half).
//!
//! Rule: docs/DOMAIN.md "Regions and roles": a budget unit reads and edits only its own unit's
//! goals; a department its units'; finance all of its region; experts/agencies only goals
//! assigned to them for review; the public only published ones; auditors read-only; the
//! province statistics and read-only; one deployment serves one region, its 6-digit
//! `mof_div_code`; provinces aggregate.
//!
//! Choices where the rules are silent:
//! * **What "published" shows.** A reader without scope sees the latest *published* version
//!   only ([`Visibility::PublishedVersion`]), never the version being adjusted.
//! * **Auditors** (审计、人大) read every goal of their region; the **province** reads every
//!   goal of the regions whose code starts with its two-digit province prefix; neither
//!   writes.
//! * **Reviewers** read the goals assigned to them (the current version, which is what they
//!   review) and write only through the review action.
//! * Codes are compared exactly (they are parsed and trimmed at the edge).
//! * **Finance of an enclosing region** (a city's finance bureau at a county's deployment)
//!   reads as an auditor does: only the region's own finance bureau writes.
//!
//! Refusals are [`Denied`]: a stable reason code and a Chinese message (the service turns them
//! into UNAUTHENTICATED / PERMISSION_DENIED).

use pbm_auth::standing::{self, Part};
use pbm_auth::{Caller, Role as AuthRole};
use pbm_types::DivisionCode;
use serde::{Deserialize, Serialize};

use crate::domain::workflow::{ActionKind, Role};

/// Why a caller is refused: the platform's one refusal type.
pub use pbm_auth::Denied;

/// A caller whose role may not do this (`ROLE_NOT_ALLOWED`).
fn role_denied(message: impl Into<String>) -> Denied {
    Denied::permission("ROLE_NOT_ALLOWED", message)
}

/// Who is asking: a role and the organisation (or person) code the role is tied to — the
/// unit's `AGENCY_CODE`, the department code, the region's `MOF_DIV_CODE` for finance,
/// auditors and the province, the expert id or the agency's credit code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Viewer {
    /// The caller's role.
    pub role: Role,
    /// The code the role is tied to.
    pub org_code: String,
}

/// Where a goal sits, as far as access is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GoalScope<'a> {
    /// The deployment region's `MOF_DIV_CODE`.
    pub mof_div_code: &'a str,
    /// The budget unit (absent for a 部门整体 goal).
    pub agency_code: Option<&'a str>,
    /// The competent department.
    pub department_code: &'a str,
    /// Experts and agencies assigned to review the goal.
    pub assigned_reviewers: &'a [String],
    /// Whether some version has been published.
    pub has_published_version: bool,
}

/// What a viewer may read of a goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Nothing: the goal is not found for this viewer (NOT_FOUND, not PERMISSION_DENIED, so
    /// its existence is not disclosed).
    None,
    /// Only the latest published version (信息公开).
    PublishedVersion,
    /// Every version and the full history.
    Full,
}

fn in_scope(viewer: &Viewer, goal: &GoalScope<'_>) -> bool {
    let code = viewer.org_code.as_str();
    match viewer.role {
        Role::BudgetUnit => goal.agency_code == Some(code),
        Role::Department => goal.department_code == code,
        Role::Finance | Role::Auditor => goal.mof_div_code == code,
        Role::Province => {
            code.len() == 6 && goal.mof_div_code.len() == 6 && goal.mof_div_code[..2] == code[..2]
        }
        Role::Expert | Role::Agency => goal.assigned_reviewers.iter().any(|r| r == code),
        Role::Public => false,
    }
}

/// Whether a goal's assigned reviewers decide `role`'s scope (only experts' and agencies' do),
/// so that the others' requests skip reading them.
pub fn scope_needs_reviewers(role: Role) -> bool {
    matches!(role, Role::Expert | Role::Agency)
}

/// What `viewer` may read of the goal.
pub fn visibility(viewer: &Viewer, goal: &GoalScope<'_>) -> Visibility {
    if in_scope(viewer, goal) {
        Visibility::Full
    } else if goal.has_published_version {
        Visibility::PublishedVersion
    } else {
        Visibility::None
    }
}

/// Whether `viewer`'s scope covers writing to the goal (the action itself is then checked by
/// [`crate::domain::workflow::apply`]): units their own goals, departments their units', finance its
/// region, reviewers the goals assigned to them. Auditors, the province and the public never
/// write.
pub fn may_write(viewer: &Viewer, goal: &GoalScope<'_>) -> bool {
    match viewer.role {
        Role::Auditor | Role::Province | Role::Public => false,
        Role::BudgetUnit | Role::Department | Role::Finance | Role::Expert | Role::Agency => {
            in_scope(viewer, goal)
        }
    }
}

/// The caller as the goal rules see them (docs/DOMAIN.md "Regions and roles"), at the deployment of
/// `region`: where they stand ([`pbm_auth::standing`]: finance of this very region acts as
/// finance; finance of an enclosing region, auditors and the province read; a unit, a department,
/// an expert or an agency by their code from the token; units, departments and experts of an
/// enclosing region, and the public, read published goals only). Callers of another region are
/// refused.
pub fn viewer(caller: &Caller, region: &DivisionCode) -> Result<Viewer, Denied> {
    let s = standing::standing(caller, region, "绩效目标")?;
    Ok(Viewer {
        role: s.part.into(),
        org_code: s.org_code,
    })
}

impl From<Part> for Role {
    fn from(part: Part) -> Role {
        match part {
            Part::Finance => Role::Finance,
            Part::Department => Role::Department,
            Part::BudgetUnit => Role::BudgetUnit,
            Part::Agency => Role::Agency,
            Part::Auditor => Role::Auditor,
            Part::Province => Role::Province,
            Part::Expert => Role::Expert,
            Part::Public => Role::Public,
        }
    }
}

/// A write's second check, after the role's: the caller is of this very region. docs/DOMAIN.md
/// "Regions and roles": a user of an enclosing region reads, writes happen only in one's own
/// region — a city's unit or department (whose codes name organisations of the city) never
/// writes a county's goals, projects or reports. (The public is of no region.)
pub fn ensure_local(caller: &Caller, region: &DivisionCode) -> Result<(), Denied> {
    if caller.role == AuthRole::Public {
        Ok(())
    } else {
        standing::ensure_local(caller, region, "绩效目标、项目或报告")
    }
}

/// The role half of authorisation, decided before anything of the request is examined: may
/// this caller's role ever take `kind` (the workflow's role table, [`ActionKind::roles`]), and
/// is the caller of this region ([`ensure_local`])?
pub fn ensure_can(
    caller: &Caller,
    region: &DivisionCode,
    kind: ActionKind,
) -> Result<Viewer, Denied> {
    let v = viewer(caller, region)?;
    if kind.roles().contains(&v.role) {
        ensure_local(caller, region)?;
        Ok(v)
    } else if v.role == Role::Public && caller.role != AuthRole::Public {
        // A unit, department or expert of an enclosing region (read as the public): told why.
        ensure_local(caller, region)?;
        Err(role_denied("只能在本区划操作绩效目标"))
    } else {
        Err(role_denied(format!(
            "「{}」不能{}绩效目标",
            v.role.chinese(),
            kind.chinese()
        )))
    }
}

/// Units and departments declare goals (the bulk stream is authorised once, as a whole).
pub fn ensure_declarer(caller: &Caller, region: &DivisionCode) -> Result<(), Denied> {
    ensure_can(caller, region, ActionKind::Edit).map(|_| ())
}

/// A workflow step on a goal: the viewer's scope must cover writing to it ([`may_write`]).
pub fn can_act(viewer: &Viewer, goal: &GoalScope<'_>, kind: ActionKind) -> Result<(), Denied> {
    if may_write(viewer, goal) {
        Ok(())
    } else {
        Err(role_denied(format!(
            "当前角色不能对绩效目标执行「{}」",
            kind.chinese()
        )))
    }
}

/// A new goal (the first SaveGoal of a project or department): in the viewer's own scope, and
/// declared by a unit or a department.
pub fn can_create_goal(viewer: &Viewer, goal: &GoalScope<'_>) -> Result<(), Denied> {
    if !may_write(viewer, goal) {
        return Err(Denied::permission(
            "NOT_YOUR_UNIT",
            "只能申报本单位（本部门所属单位）的绩效目标",
        ));
    }
    if !matches!(viewer.role, Role::BudgetUnit | Role::Department) {
        return Err(role_denied("绩效目标由预算单位或主管部门申报"));
    }
    Ok(())
}

/// Which goals a list (ListGoals, ExportApprovedGoals) may show a viewer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListScope {
    /// Finance, auditors, the province: every goal of the region.
    Region,
    /// A department: its units' goals (and its own 部门整体 goal).
    Department(String),
    /// A unit: its own goals.
    Unit(String),
    /// An expert or an agency (by id or credit code): published goals and those assigned to
    /// them.
    Reviewer(String),
    /// The public: published goals.
    Published,
}

/// What ListGoals shows `viewer`.
pub fn list_scope(viewer: &Viewer) -> ListScope {
    let code = viewer.org_code.clone();
    match viewer.role {
        Role::Finance | Role::Auditor | Role::Province => ListScope::Region,
        Role::Department => ListScope::Department(code),
        Role::BudgetUnit => ListScope::Unit(code),
        Role::Expert | Role::Agency => ListScope::Reviewer(code),
        Role::Public => ListScope::Published,
    }
}

/// What ExportApprovedGoals (the approved goals' table) covers for `viewer`: finance, auditors,
/// the province, departments and units, each in their scope; not reviewers nor the public.
pub fn export_scope(viewer: &Viewer) -> Result<ListScope, Denied> {
    match list_scope(viewer) {
        ListScope::Reviewer(_) | ListScope::Published => Err(role_denied(
            "批复的绩效目标表只对财政、主管部门和预算单位开放（公众请查阅已公开的目标）",
        )),
        scope => Ok(scope),
    }
}

/// Whether `viewer` may register or read a project (and its ex-ante report) of unit `agency`
/// under department `department`: the unit, the department, finance (and readers of the
/// region). Others' projects answer NOT_FOUND. (An agency also sees the projects whose ex-ante
/// assessment was commissioned to it, which the service looks up.)
pub fn project_scope(viewer: &Viewer, agency: &str, department: &str) -> bool {
    match viewer.role {
        Role::BudgetUnit => viewer.org_code == agency,
        Role::Department => viewer.org_code == department,
        Role::Finance | Role::Auditor | Role::Province => true,
        Role::Expert | Role::Agency | Role::Public => false,
    }
}

/// DeclareProject: units, departments and finance register projects.
pub fn can_register_projects(viewer: &Viewer) -> Result<(), Denied> {
    if matches!(
        viewer.role,
        Role::BudgetUnit | Role::Department | Role::Finance
    ) {
        Ok(())
    } else {
        Err(role_denied("只有预算单位、主管部门和财政部门可以登记项目"))
    }
}

/// A project as a registration (DeclareProject, a DeclareGoals item) names it, with what the
/// service knows of its unit besides: the registration's own word is not enough to put a unit
/// under a department.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectClaim<'a> {
    /// The project's unit (`AGENCY_CODE`), as the request names it.
    pub agency: &'a str,
    /// The project's department, as the request names it.
    pub department: &'a str,
    /// The department the caller's token names (a unit's token names its own department).
    pub token_department: Option<&'a str>,
    /// The department of the unit's latest registered project, if it has one.
    pub recorded_department: Option<&'a str>,
}

/// The refusal of a registration outside the caller's scope, and of a code held by a project
/// the caller may not see: one answer for both, so that a refusal does not tell whether a code
/// is taken.
pub fn not_registrable() -> Denied {
    Denied::permission("NOT_YOUR_UNIT", "只能登记本单位（本部门所属单位）的项目")
}

/// DeclareProject of `claim`: a unit registers only for itself, under the department its token
/// names (a token without one: under the department the unit is recorded under, if any); a
/// department only for the units recorded under it — the unit's latest registered project names
/// the department, so a unit the service has never seen is first registered by itself or by
/// finance; finance for any unit of its region. Everything else is [`not_registrable`].
pub fn can_register_project(viewer: &Viewer, claim: &ProjectClaim<'_>) -> Result<(), Denied> {
    fn own(d: Option<&str>) -> Option<&str> {
        d.filter(|d| !d.is_empty())
    }
    let ok = match viewer.role {
        Role::BudgetUnit => {
            viewer.org_code == claim.agency
                && own(claim.token_department)
                    .or(own(claim.recorded_department))
                    .is_none_or(|d| d == claim.department)
        }
        Role::Department => {
            viewer.org_code == claim.department
                && own(claim.recorded_department) == Some(viewer.org_code.as_str())
        }
        Role::Finance => true,
        Role::Auditor | Role::Province | Role::Expert | Role::Agency | Role::Public => false,
    };
    if ok { Ok(()) } else { Err(not_registrable()) }
}

/// A registration (no version given) of a code some project already holds: whoever may see that
/// project ([`project_scope`], or the agency commissioned for it) is told it exists (`Ok`; the
/// service answers ALREADY_EXISTS); anyone else gets [`not_registrable`], as for any
/// registration outside their scope.
pub fn taken_code(may_see_holder: bool) -> Result<(), Denied> {
    if may_see_holder {
        Ok(())
    } else {
        Err(not_registrable())
    }
}

/// SubmitExAnteReport: the project's unit, its department, finance or the commissioned agency
/// files the report.
pub fn can_file_ex_ante(viewer: &Viewer) -> Result<(), Denied> {
    if matches!(
        viewer.role,
        Role::BudgetUnit | Role::Department | Role::Finance | Role::Agency
    ) {
        Ok(())
    } else {
        Err(role_denied(
            "事前绩效评估报告由预算单位、主管部门、财政部门或受托的第三方机构提交",
        ))
    }
}

/// ReviewExAnteReport: finance of the region.
pub fn can_review_ex_ante(viewer: &Viewer) -> Result<(), Denied> {
    finance_only(viewer, "事前绩效评估报告由本级财政部门审核")
}

/// CommissionExAnteAssessment: finance of the region.
pub fn can_commission_ex_ante(viewer: &Viewer) -> Result<(), Denied> {
    finance_only(viewer, "事前绩效评估由财政部门委托第三方机构")
}

/// SetGoalRules: finance of the region.
pub fn can_set_rules(viewer: &Viewer) -> Result<(), Denied> {
    finance_only(viewer, "只有本级财政部门可以设置绩效目标规则")
}

/// CheckFundingEligibility: finance, auditors, the province (and the budget system acting as
/// finance).
pub fn can_check_funding(viewer: &Viewer) -> Result<(), Denied> {
    region_readers_only(viewer, "预算资金安排资格只对财政部门、审计和省级平台开放")
}

/// GetGoalStatistics: finance, auditors, the province.
pub fn can_read_statistics(viewer: &Viewer) -> Result<(), Denied> {
    region_readers_only(viewer, "绩效目标统计只对财政部门、审计和省级平台开放")
}

/// StreamApprovedGoals (the approved goals other services snapshot): finance, auditors, the
/// province — read only.
pub fn can_stream_approved_goals(viewer: &Viewer) -> Result<(), Denied> {
    region_readers_only(viewer, "批复绩效目标的数据只对财政部门、审计和省级平台开放")
}

fn finance_only(viewer: &Viewer, message: &str) -> Result<(), Denied> {
    if viewer.role == Role::Finance {
        Ok(())
    } else {
        Err(role_denied(message))
    }
}

fn region_readers_only(viewer: &Viewer, message: &str) -> Result<(), Denied> {
    if matches!(viewer.role, Role::Finance | Role::Auditor | Role::Province) {
        Ok(())
    } else {
        Err(role_denied(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, code: &str) -> Viewer {
        Viewer {
            role,
            org_code: code.into(),
        }
    }

    fn scope<'a>(reviewers: &'a [String], published: bool) -> GoalScope<'a> {
        GoalScope {
            mof_div_code: "140500",
            agency_code: Some("101001"),
            department_code: "101",
            assigned_reviewers: reviewers,
            has_published_version: published,
        }
    }

    #[test]
    fn each_role_sees_its_own_scope() {
        let reviewers = vec!["E-007".to_owned()];
        let goal = scope(&reviewers, false);
        for (role, code) in [
            (Role::BudgetUnit, "101001"),
            (Role::Department, "101"),
            (Role::Finance, "140500"),
            (Role::Auditor, "140500"),
            (Role::Province, "140000"),
            (Role::Expert, "E-007"),
        ] {
            assert_eq!(
                visibility(&who(role, code), &goal),
                Visibility::Full,
                "{role:?}"
            );
        }
        for (role, code) in [
            (Role::BudgetUnit, "101002"),
            (Role::Department, "102"),
            (Role::Finance, "140600"),
            (Role::Province, "360000"),
            (Role::Expert, "E-008"),
            (Role::Agency, "91140500MA0K"),
            (Role::Public, ""),
        ] {
            assert_eq!(
                visibility(&who(role, code), &goal),
                Visibility::None,
                "{role:?}"
            );
        }
    }

    #[test]
    fn the_public_reads_published_versions_only() {
        let goal = scope(&[], true);
        assert_eq!(
            visibility(&who(Role::Public, ""), &goal),
            Visibility::PublishedVersion
        );
        assert_eq!(
            visibility(&who(Role::BudgetUnit, "999"), &goal),
            Visibility::PublishedVersion
        );
        assert!(!may_write(&who(Role::Public, ""), &goal));
    }

    #[test]
    fn readers_never_write_and_writers_only_in_scope() {
        let reviewers = vec!["91140500MA0K".to_owned()];
        let goal = scope(&reviewers, true);
        assert!(may_write(&who(Role::BudgetUnit, "101001"), &goal));
        assert!(may_write(&who(Role::Department, "101"), &goal));
        assert!(may_write(&who(Role::Finance, "140500"), &goal));
        assert!(may_write(&who(Role::Agency, "91140500MA0K"), &goal));
        assert!(!may_write(&who(Role::BudgetUnit, "101002"), &goal));
        assert!(!may_write(&who(Role::Auditor, "140500"), &goal));
        assert!(!may_write(&who(Role::Province, "140000"), &goal));
        // A 部门整体 goal has no budget unit.
        let overall = GoalScope {
            agency_code: None,
            ..goal
        };
        assert!(!may_write(&who(Role::BudgetUnit, "101001"), &overall));
        assert!(may_write(&who(Role::Department, "101"), &overall));
    }

    /// A caller of `region` in `role`, with the token's organisation codes.
    fn caller(role: AuthRole, region: &str) -> Caller {
        Caller {
            subject: "u1".into(),
            role,
            mof_div_code: DivisionCode::parse(region).unwrap(),
            unit: Some("101001".into()),
            department: Some("101".into()),
            agency: Some("91140500MA0K".into()),
            expert: Some("E-007".into()),
            authenticated: true,
        }
    }

    fn here() -> DivisionCode {
        DivisionCode::parse("140500").unwrap()
    }

    fn refused<T: std::fmt::Debug>(r: Result<T, Denied>) -> (&'static str, String) {
        match r.expect_err("refused") {
            Denied::Permission { reason, message } => (reason, message),
            Denied::Unauthenticated => ("UNAUTHENTICATED", String::new()),
        }
    }

    #[test]
    fn callers_become_viewers_by_role_and_region() {
        let v = |role, region| viewer(&caller(role, region), &here()).unwrap();
        assert_eq!(
            v(AuthRole::BudgetUnit, "140500"),
            who(Role::BudgetUnit, "101001")
        );
        assert_eq!(
            v(AuthRole::Department, "140500"),
            who(Role::Department, "101")
        );
        assert_eq!(v(AuthRole::Expert, "140500"), who(Role::Expert, "E-007"));
        assert_eq!(
            v(AuthRole::Agency, "140500"),
            who(Role::Agency, "91140500MA0K")
        );
        // Finance of this very region acts as finance; of the enclosing city or province, it reads.
        assert_eq!(
            v(AuthRole::FinanceAdmin, "140500"),
            who(Role::Finance, "140500")
        );
        assert_eq!(
            v(AuthRole::FinanceAdmin, "140000"),
            who(Role::Auditor, "140500")
        );
        assert_eq!(v(AuthRole::Auditor, "140500"), who(Role::Auditor, "140500"));
        assert_eq!(
            v(AuthRole::Province, "140000"),
            who(Role::Province, "140500")
        );
        // The public is of no region.
        assert_eq!(v(AuthRole::Public, "360000"), who(Role::Public, ""));
    }

    #[test]
    fn callers_of_another_region_or_without_their_code_are_refused() {
        assert_eq!(
            refused(viewer(&caller(AuthRole::FinanceAdmin, "140600"), &here())),
            (
                "REGION_NOT_ALLOWED",
                "您属于区划 140600，不能访问区划 140500 的绩效目标".to_owned()
            )
        );
        assert_eq!(
            refused(viewer(&caller(AuthRole::Province, "360000"), &here())).0,
            "REGION_NOT_ALLOWED"
        );
        let mut unit = caller(AuthRole::BudgetUnit, "140500");
        unit.unit = Some(String::new());
        assert_eq!(
            refused(viewer(&unit, &here())),
            ("ORG_MISSING", "令牌中没有单位编码".to_owned())
        );
        assert_eq!(
            viewer(&Caller::anonymous(), &here()),
            Err(Denied::Unauthenticated)
        );
    }

    #[test]
    fn roles_take_only_their_actions() {
        let c = |role| caller(role, "140500");
        assert!(ensure_can(&c(AuthRole::BudgetUnit), &here(), ActionKind::Submit).is_ok());
        assert!(ensure_declarer(&c(AuthRole::Department), &here()).is_ok());
        assert!(ensure_can(&c(AuthRole::FinanceAdmin), &here(), ActionKind::Approve).is_ok());
        // Auditors and the province read only.
        assert_eq!(
            refused(ensure_can(&c(AuthRole::Auditor), &here(), ActionKind::Edit)),
            (
                "ROLE_NOT_ALLOWED",
                "「审计监督」不能修改绩效目标".to_owned()
            )
        );
        let province = caller(AuthRole::Province, "140000");
        for kind in ActionKind::ALL {
            assert_eq!(
                refused(ensure_can(&province, &here(), *kind)).0,
                "ROLE_NOT_ALLOWED",
                "{kind:?}"
            );
        }
        assert_eq!(
            refused(ensure_declarer(&c(AuthRole::FinanceAdmin), &here())).0,
            "ROLE_NOT_ALLOWED"
        );
        assert_eq!(
            refused(ensure_can(
                &c(AuthRole::BudgetUnit),
                &here(),
                ActionKind::Approve
            )),
            (
                "ROLE_NOT_ALLOWED",
                "「预算单位」不能批复（二下）绩效目标".to_owned()
            )
        );
    }

    #[test]
    fn callers_of_an_enclosing_region_never_write() {
        // A county's deployment; the unit and department codes are the city's.
        let county = DivisionCode::parse("140525").unwrap();
        for role in [AuthRole::BudgetUnit, AuthRole::Department] {
            let city = caller(role, "140500");
            // Its codes name the city's organisations: here it reads what the public reads.
            assert_eq!(viewer(&city, &county).unwrap().role, Role::Public, "{role}");
            assert_eq!(
                refused(ensure_can(&city, &county, ActionKind::Edit)).0,
                "REGION_NOT_ALLOWED",
                "{role}"
            );
        }
        assert_eq!(
            refused(ensure_can(
                &caller(AuthRole::Expert, "140500"),
                &county,
                ActionKind::Review
            ))
            .0,
            "REGION_NOT_ALLOWED"
        );
        assert!(ensure_local(&caller(AuthRole::BudgetUnit, "140525"), &county).is_ok());
    }

    #[test]
    fn a_unit_lists_its_own_goals_a_department_its_units_finance_its_region() {
        assert_eq!(
            list_scope(&who(Role::BudgetUnit, "101001")),
            ListScope::Unit("101001".into())
        );
        assert_eq!(
            list_scope(&who(Role::Department, "101")),
            ListScope::Department("101".into())
        );
        for role in [Role::Finance, Role::Auditor, Role::Province] {
            assert_eq!(list_scope(&who(role, "140500")), ListScope::Region);
            assert_eq!(export_scope(&who(role, "140500")), Ok(ListScope::Region));
        }
        assert_eq!(
            list_scope(&who(Role::Expert, "E-007")),
            ListScope::Reviewer("E-007".into())
        );
        assert_eq!(list_scope(&who(Role::Public, "")), ListScope::Published);
        assert_eq!(
            export_scope(&who(Role::Department, "101")),
            Ok(ListScope::Department("101".into()))
        );
        for (role, code) in [
            (Role::Expert, "E-007"),
            (Role::Agency, "91140500MA0K"),
            (Role::Public, ""),
        ] {
            assert_eq!(
                refused(export_scope(&who(role, code))).0,
                "ROLE_NOT_ALLOWED"
            );
        }
    }

    #[test]
    fn a_unit_registers_its_own_projects_a_department_its_units() {
        assert!(project_scope(
            &who(Role::BudgetUnit, "101001"),
            "101001",
            "101"
        ));
        assert!(!project_scope(
            &who(Role::BudgetUnit, "101001"),
            "101002",
            "101"
        ));
        assert!(project_scope(
            &who(Role::Department, "101"),
            "101002",
            "101"
        ));
        assert!(!project_scope(
            &who(Role::Department, "101"),
            "102001",
            "102"
        ));
        assert!(project_scope(
            &who(Role::Finance, "140500"),
            "102001",
            "102"
        ));
        assert!(project_scope(
            &who(Role::Auditor, "140500"),
            "102001",
            "102"
        ));
        assert!(!project_scope(
            &who(Role::Agency, "91140500MA0K"),
            "101001",
            "101"
        ));
        assert_eq!(
            refused(can_register_project(
                &who(Role::BudgetUnit, "101001"),
                &claim("101002", "101", Some("101"), None)
            )),
            (
                "NOT_YOUR_UNIT",
                "只能登记本单位（本部门所属单位）的项目".to_owned()
            )
        );
        assert!(can_register_projects(&who(Role::Finance, "140500")).is_ok());
        for role in [Role::Auditor, Role::Province, Role::Expert, Role::Public] {
            assert_eq!(
                refused(can_register_projects(&who(role, "x"))).0,
                "ROLE_NOT_ALLOWED"
            );
        }
    }

    fn claim<'a>(
        agency: &'a str,
        department: &'a str,
        token_department: Option<&'a str>,
        recorded_department: Option<&'a str>,
    ) -> ProjectClaim<'a> {
        ProjectClaim {
            agency,
            department,
            token_department,
            recorded_department,
        }
    }

    #[test]
    fn a_department_registers_only_for_the_units_recorded_under_it() {
        let dept = who(Role::Department, "101");
        // Its unit, recorded under it.
        assert!(
            can_register_project(&dept, &claim("101001", "101", Some("101"), Some("101"))).is_ok()
        );
        // A unit of another department, whichever department the request names.
        for named in ["101", "102"] {
            assert_eq!(
                can_register_project(&dept, &claim("102001", named, Some("101"), Some("102"))),
                Err(not_registrable())
            );
        }
        // A unit never registered: not provably its own.
        assert_eq!(
            can_register_project(&dept, &claim("109001", "101", Some("101"), None)),
            Err(not_registrable())
        );
        // Its own unit, but filed under another department.
        assert_eq!(
            can_register_project(&dept, &claim("101001", "102", Some("101"), Some("101"))),
            Err(not_registrable())
        );
    }

    #[test]
    fn a_unit_registers_for_itself_under_the_department_its_token_names() {
        let unit = who(Role::BudgetUnit, "101001");
        assert!(can_register_project(&unit, &claim("101001", "101", Some("101"), None)).is_ok());
        // The token decides, even when the records say otherwise (a department's mistake).
        assert!(
            can_register_project(&unit, &claim("101001", "101", Some("101"), Some("102"))).is_ok()
        );
        assert_eq!(
            can_register_project(&unit, &claim("101001", "102", Some("101"), Some("102"))),
            Err(not_registrable())
        );
        // A token without a department: the records decide, and a new unit names its own.
        assert!(can_register_project(&unit, &claim("101001", "101", None, Some("101"))).is_ok());
        assert_eq!(
            can_register_project(&unit, &claim("101001", "102", Some(""), Some("101"))),
            Err(not_registrable())
        );
        assert!(can_register_project(&unit, &claim("101001", "103", None, None)).is_ok());
        // Another unit, never.
        assert_eq!(
            can_register_project(&unit, &claim("101002", "101", Some("101"), Some("101"))),
            Err(not_registrable())
        );
        // Finance registers for any unit; readers and reviewers for none.
        let any = claim("102001", "102", None, Some("101"));
        assert!(can_register_project(&who(Role::Finance, "140500"), &any).is_ok());
        for role in [Role::Auditor, Role::Province, Role::Agency, Role::Public] {
            assert_eq!(
                can_register_project(&who(role, "140500"), &any),
                Err(not_registrable())
            );
        }
    }

    #[test]
    fn a_taken_code_is_disclosed_only_to_who_may_see_its_project() {
        assert_eq!(taken_code(true), Ok(()));
        // The very answer of a registration out of scope: nothing tells the code is taken.
        assert_eq!(taken_code(false), Err(not_registrable()));
        assert_eq!(
            refused(taken_code(false)),
            (
                "NOT_YOUR_UNIT",
                "只能登记本单位（本部门所属单位）的项目".to_owned()
            )
        );
    }

    #[test]
    fn a_new_goal_is_declared_in_scope_by_a_unit_or_a_department() {
        let goal = scope(&[], false);
        assert!(can_create_goal(&who(Role::BudgetUnit, "101001"), &goal).is_ok());
        assert!(can_create_goal(&who(Role::Department, "101"), &goal).is_ok());
        assert_eq!(
            refused(can_create_goal(&who(Role::BudgetUnit, "101002"), &goal)).0,
            "NOT_YOUR_UNIT"
        );
        assert_eq!(
            refused(can_create_goal(&who(Role::Finance, "140500"), &goal)),
            (
                "ROLE_NOT_ALLOWED",
                "绩效目标由预算单位或主管部门申报".to_owned()
            )
        );
        assert_eq!(
            refused(can_create_goal(&who(Role::Auditor, "140500"), &goal)).0,
            "NOT_YOUR_UNIT"
        );
        assert!(can_act(&who(Role::Finance, "140500"), &goal, ActionKind::Approve).is_ok());
        assert_eq!(
            refused(can_act(
                &who(Role::Province, "140000"),
                &goal,
                ActionKind::Publish
            )),
            (
                "ROLE_NOT_ALLOWED",
                "当前角色不能对绩效目标执行「公开」".to_owned()
            )
        );
    }

    #[test]
    fn finance_manages_and_the_region_s_readers_read_figures() {
        let finance = who(Role::Finance, "140500");
        for gate in [can_review_ex_ante, can_commission_ex_ante, can_set_rules] {
            assert!(gate(&finance).is_ok());
            for role in [
                Role::Auditor,
                Role::Province,
                Role::Department,
                Role::BudgetUnit,
            ] {
                assert_eq!(refused(gate(&who(role, "x"))).0, "ROLE_NOT_ALLOWED");
            }
        }
        for gate in [can_check_funding, can_read_statistics] {
            for role in [Role::Finance, Role::Auditor, Role::Province] {
                assert!(gate(&who(role, "140500")).is_ok());
            }
            for role in [
                Role::BudgetUnit,
                Role::Department,
                Role::Expert,
                Role::Public,
            ] {
                assert_eq!(refused(gate(&who(role, "x"))).0, "ROLE_NOT_ALLOWED");
            }
        }
        assert!(can_file_ex_ante(&who(Role::Agency, "91140500MA0K")).is_ok());
        assert_eq!(
            refused(can_file_ex_ante(&who(Role::Auditor, "140500"))).0,
            "ROLE_NOT_ALLOWED"
        );
    }
}
