//! Who the caller is to monitoring, and which round subjects (projects and 部门整体 goals) they
//! read and write: the scope half of authorisation (the role table of each step is in
//! [`crate::domain::report_workflow`] and [`crate::domain::actions`]).
//!
//! Rule: docs/DOMAIN.md "Regions and roles": finance of the region runs monitoring and sees all;
//! a department oversees its own units only; a budget unit reports for its own unit; an agency
//! sees only the engagements it is part of; auditors read everything in the region and write
//! nothing; the province reads statistics; experts and the public have no part in monitoring; a
//! user of an enclosing region may read, writes happen only in one's own region; a caller who may
//! not see a record gets "not found", and every count is computed after the caller's scope is
//! applied. The roles per RPC: docs/drafts/MONITORING.md §3.
//!
//! Where the caller stands at this region's deployment is the platform's one rule
//! ([`pbm_auth::standing`]), as for goal and evaluation: finance of an enclosing region reads as
//! an auditor; units, departments and experts of an enclosing region stand as the public (which
//! in monitoring sees nothing); callers of another region are refused with `REGION_NOT_ALLOWED`.
//!
//! The project's choices for monitoring (docs/drafts/MONITORING.md §1, §3):
//! * A subject is a department's when its `department_code` is the department's code (its units'
//!   projects and its own 部门整体 goal); a unit's when its `agency_code` is the unit's.
//! * An agency sees only the key-monitoring subjects commissioned to it (by its id, the credit
//!   code) and writes only its key-monitoring report on them.
//! * The province reads statistics only, never a subject; experts and the public nothing.
//! * The budget system calls as a finance_admin system account (**PROPOSAL**): there is no
//!   budget-system role.
//!
//! Refusals are [`Denied`]: a stable reason code and a Chinese message.

use pbm_auth::Caller;
use pbm_auth::standing::{self, Part};
use pbm_types::DivisionCode;
use serde::{Deserialize, Serialize};

/// Why a caller is refused: the platform's one refusal type.
pub use pbm_auth::Denied;

/// A caller whose role may not do this (`ROLE_NOT_ALLOWED`).
pub fn role_denied(message: impl Into<String>) -> Denied {
    Denied::permission("ROLE_NOT_ALLOWED", message)
}

/// The caller's role as monitoring sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 财政部门 of this region: runs rounds, accepts reports, decides.
    Finance,
    /// 主管部门: its units' subjects and its own 部门整体 goal.
    Department,
    /// 预算单位: its own subjects.
    BudgetUnit,
    /// 第三方机构: key-monitoring subjects commissioned to it.
    Agency,
    /// 审计、人大, or finance of an enclosing region: reads all, writes nothing.
    Auditor,
    /// 省级平台: statistics only.
    Province,
    /// 专家: nothing in monitoring.
    Expert,
    /// 社会公众: nothing in monitoring.
    Public,
}

text_enum!(Role {
    Finance => "finance_admin", "财政部门";
    Department => "department", "主管部门";
    BudgetUnit => "budget_unit", "预算单位";
    Agency => "agency", "第三方机构";
    Auditor => "auditor", "审计监督";
    Province => "province", "省级平台";
    Expert => "expert", "评审专家";
    Public => "public", "社会公众";
});

/// Who is asking: a role and the code it is tied to (the unit's `AGENCY_CODE`, the department
/// code, the agency's credit code; the region's code for finance, auditors and the province).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Viewer {
    /// The caller's role.
    pub role: Role,
    /// The code the role is tied to.
    pub org_code: String,
}

/// A round subject as far as access is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubjectRef<'a> {
    /// The unit of the project (for a 部门整体 goal, the department's own code).
    pub agency_code: &'a str,
    /// The competent department.
    pub department_code: &'a str,
    /// The agency the subject's key monitoring is commissioned to, if any (its credit code).
    pub commissioned_agency: Option<&'a str>,
}

/// The caller as the monitoring rules see them, at the deployment of `region` (see the module
/// doc). Callers of another region are refused.
pub fn viewer(caller: &Caller, region: &DivisionCode) -> Result<Viewer, Denied> {
    let s = standing::standing(caller, region, "绩效运行监控")?;
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

/// A write's second check, after the role's: the caller is of this very region (docs/DOMAIN.md
/// "Regions and roles": writes happen only in one's own region).
pub fn ensure_local(caller: &Caller, region: &DivisionCode) -> Result<(), Denied> {
    standing::ensure_local(caller, region, "绩效运行监控数据")
}

/// Whether `viewer` may read the subject (its reports, warnings, actions and decisions).
/// Others' subjects answer NOT_FOUND.
pub fn can_read(viewer: &Viewer, subject: &SubjectRef<'_>) -> bool {
    let code = viewer.org_code.as_str();
    match viewer.role {
        Role::Finance | Role::Auditor => true,
        Role::Department => subject.department_code == code,
        Role::BudgetUnit => subject.agency_code == code,
        Role::Agency => subject.commissioned_agency == Some(code),
        Role::Province | Role::Expert | Role::Public => false,
    }
}

/// Whether `viewer`'s scope covers writing to the subject's report (the step itself is then
/// checked by [`crate::domain::report_workflow::apply`]): a unit its own, a department its
/// units' and its own 部门整体, finance the region's (to accept or return).
pub fn can_write_report(viewer: &Viewer, subject: &SubjectRef<'_>) -> bool {
    match viewer.role {
        Role::Finance | Role::Department | Role::BudgetUnit => can_read(viewer, subject),
        Role::Agency | Role::Auditor | Role::Province | Role::Expert | Role::Public => false,
    }
}

/// CreateCorrectiveAction on a subject: finance, or the subject's department.
pub fn can_create_action(viewer: &Viewer, subject: &SubjectRef<'_>) -> bool {
    match viewer.role {
        Role::Finance => true,
        Role::Department => subject.department_code == viewer.org_code,
        _ => false,
    }
}

/// A corrective action's step (docs/drafts/MONITORING.md §1 "Corrective action"): the owner
/// unit and its department move it; finance verifies it.
pub fn can_update_action(viewer: &Viewer, owner_agency: &str, department_code: &str) -> bool {
    match viewer.role {
        Role::Finance => true,
        Role::Department => department_code == viewer.org_code,
        Role::BudgetUnit => owner_agency == viewer.org_code,
        _ => false,
    }
}

/// Decisions, key-monitoring marks and commissions, reopening units, opening and closing rounds:
/// finance of this region only.
pub fn ensure_finance(viewer: &Viewer) -> Result<(), Denied> {
    if viewer.role == Role::Finance {
        Ok(())
    } else {
        Err(role_denied(format!(
            "「{}」不能执行此操作：仅限本级财政部门",
            viewer.role.chinese()
        )))
    }
}

/// FileKeyMonitoringReport: the agency the subject is commissioned to.
pub fn can_file_key_report(viewer: &Viewer, subject: &SubjectRef<'_>) -> bool {
    viewer.role == Role::Agency && subject.commissioned_agency == Some(viewer.org_code.as_str())
}

/// GetRoundStatistics, CheckPaymentHolds: finance, auditors and the province.
pub fn can_read_statistics(viewer: &Viewer) -> bool {
    matches!(viewer.role, Role::Finance | Role::Auditor | Role::Province)
}

/// StreamExecutionSummary (every project's figures and warnings of a year, which the
/// evaluation service reads): finance, auditors and the province, as the goal service's
/// StreamApprovedGoals (`services/goal/src/domain/access.rs`).
pub fn can_stream_summary(viewer: &Viewer) -> Result<(), Denied> {
    if can_read_statistics(viewer) {
        Ok(())
    } else {
        Err(role_denied(
            "项目预算执行与预警汇总只对财政部门、审计和省级平台开放",
        ))
    }
}

/// Which subjects a list shows a viewer; the store turns it into a `WHERE` clause.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListFilter {
    /// Finance and auditors: every subject of the region.
    All,
    /// A department: `department_code = code`.
    Department(String),
    /// A unit: `agency_code = code`.
    Unit(String),
    /// An agency: the subjects whose key monitoring is commissioned to this id.
    Agency(String),
    /// Nobody's: the list is empty (the province, experts, the public).
    None,
}

impl ListFilter {
    /// Whether the filter lets `subject` through (what the store's `WHERE` clause must do).
    pub fn matches(&self, subject: &SubjectRef<'_>) -> bool {
        match self {
            ListFilter::All => true,
            ListFilter::Department(code) => subject.department_code == code,
            ListFilter::Unit(code) => subject.agency_code == code,
            ListFilter::Agency(id) => subject.commissioned_agency == Some(id.as_str()),
            ListFilter::None => false,
        }
    }
}

/// What a list of subjects (and of their reports, warnings, actions, decisions) shows `viewer`:
/// exactly the subjects [`can_read`] lets through.
pub fn list_filter(viewer: &Viewer) -> ListFilter {
    let code = viewer.org_code.clone();
    match viewer.role {
        Role::Finance | Role::Auditor => ListFilter::All,
        Role::Department => ListFilter::Department(code),
        Role::BudgetUnit => ListFilter::Unit(code),
        Role::Agency => ListFilter::Agency(code),
        Role::Province | Role::Expert | Role::Public => ListFilter::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pbm_auth::Role as AuthRole;
    use proptest::prelude::*;

    fn region(code: &str) -> DivisionCode {
        DivisionCode::parse(code).unwrap()
    }

    fn caller(role: AuthRole, div: &str) -> Caller {
        Caller {
            subject: "u".into(),
            role,
            mof_div_code: region(div),
            unit: Some("101001".into()),
            department: Some("101".into()),
            agency: Some("91140500MA0000000X".into()),
            expert: Some("E-1".into()),
            authenticated: true,
        }
    }

    fn subject<'a>(
        agency: &'a str,
        dept: &'a str,
        commissioned: Option<&'a str>,
    ) -> SubjectRef<'a> {
        SubjectRef {
            agency_code: agency,
            department_code: dept,
            commissioned_agency: commissioned,
        }
    }

    #[test]
    fn roles_at_the_region_and_above() {
        let here = region("140525");
        let v = |role, div| viewer(&caller(role, div), &here).map(|v| v.role);
        assert_eq!(v(AuthRole::FinanceAdmin, "140525"), Ok(Role::Finance));
        assert_eq!(v(AuthRole::FinanceAdmin, "140500"), Ok(Role::Auditor));
        assert_eq!(v(AuthRole::Auditor, "140000"), Ok(Role::Auditor));
        assert_eq!(v(AuthRole::Province, "140000"), Ok(Role::Province));
        assert_eq!(v(AuthRole::Department, "140525"), Ok(Role::Department));
        assert_eq!(v(AuthRole::BudgetUnit, "140525"), Ok(Role::BudgetUnit));
        assert_eq!(v(AuthRole::Agency, "140500"), Ok(Role::Agency));
        // A city's department names the city's organisations: nothing here.
        assert_eq!(v(AuthRole::Department, "140500"), Ok(Role::Public));
        let other = viewer(&caller(AuthRole::FinanceAdmin, "140526"), &here).unwrap_err();
        assert_eq!(other.reason(), "REGION_NOT_ALLOWED");
        let anonymous = viewer(&Caller::anonymous(), &here).unwrap_err();
        assert_eq!(anonymous, Denied::Unauthenticated);
        let mut no_unit = caller(AuthRole::BudgetUnit, "140525");
        no_unit.unit = None;
        assert_eq!(viewer(&no_unit, &here).unwrap_err().reason(), "ORG_MISSING");
        assert!(ensure_local(&caller(AuthRole::FinanceAdmin, "140525"), &here).is_ok());
        let city = ensure_local(&caller(AuthRole::FinanceAdmin, "140500"), &here).unwrap_err();
        assert_eq!(city.reason(), "REGION_NOT_ALLOWED");
    }

    #[test]
    fn who_reads_and_writes_which_subject() {
        let v = |role, code: &str| Viewer {
            role,
            org_code: code.into(),
        };
        let own = subject("101001", "101", Some("AG-1"));
        let other = subject("202001", "202", None);
        let finance = v(Role::Finance, "140525");
        assert!(can_read(&finance, &other) && can_write_report(&finance, &other));
        let auditor = v(Role::Auditor, "140525");
        assert!(can_read(&auditor, &other) && !can_write_report(&auditor, &other));
        let dept = v(Role::Department, "101");
        assert!(can_read(&dept, &own) && can_write_report(&dept, &own));
        assert!(!can_read(&dept, &other));
        let unit = v(Role::BudgetUnit, "101001");
        assert!(can_write_report(&unit, &own) && !can_read(&unit, &other));
        let agency = v(Role::Agency, "AG-1");
        assert!(can_read(&agency, &own) && !can_write_report(&agency, &own));
        assert!(can_file_key_report(&agency, &own) && !can_file_key_report(&agency, &other));
        assert!(!can_read(&agency, &other));
        for nobody in [Role::Province, Role::Expert, Role::Public] {
            assert!(!can_read(&v(nobody, "140000"), &own));
            assert_eq!(list_filter(&v(nobody, "x")), ListFilter::None);
        }
        assert!(can_read_statistics(&v(Role::Province, "140000")));
        assert!(!can_read_statistics(&dept));
        for reader in [Role::Finance, Role::Auditor, Role::Province] {
            assert!(can_stream_summary(&v(reader, "140525")).is_ok());
        }
        for other in [
            Role::Department,
            Role::BudgetUnit,
            Role::Agency,
            Role::Expert,
            Role::Public,
        ] {
            let denied = can_stream_summary(&v(other, "101")).unwrap_err();
            assert_eq!(denied.reason(), "ROLE_NOT_ALLOWED");
        }
        assert!(can_create_action(&dept, &own) && !can_create_action(&dept, &other));
        assert!(!can_create_action(&unit, &own));
        assert!(can_update_action(&unit, "101001", "101"));
        assert!(!can_update_action(&unit, "101002", "101"));
        assert!(can_update_action(&dept, "101002", "101"));
        assert!(!can_update_action(&auditor, "101001", "101"));
        assert!(ensure_finance(&finance).is_ok());
        assert_eq!(
            ensure_finance(&auditor).unwrap_err().reason(),
            "ROLE_NOT_ALLOWED"
        );
    }

    fn arb_role() -> impl Strategy<Value = Role> {
        prop::sample::select(Role::ALL.to_vec())
    }

    proptest! {
        /// The store's filter and the single-record rule never disagree: no list leaks a subject
        /// that a Get would answer NOT_FOUND, and no list hides one a Get shows.
        #[test]
        fn the_list_filter_is_exactly_can_read(
            role in arb_role(),
            code in prop::sample::select(vec!["101", "101001", "AG-1", ""]),
            agency in prop::sample::select(vec!["101001", "101002", "101"]),
            dept in prop::sample::select(vec!["101", "102"]),
            commissioned in prop::option::of(prop::sample::select(vec!["AG-1", "AG-2"])),
        ) {
            let v = Viewer { role, org_code: code.into() };
            let s = subject(agency, dept, commissioned);
            prop_assert_eq!(list_filter(&v).matches(&s), can_read(&v, &s));
            prop_assert!(!can_write_report(&v, &s) || can_read(&v, &s));
        }
    }
}
