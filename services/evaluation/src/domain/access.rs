//! Who the caller is to evaluation, and which sheets (自评表) they read and write: the scope half
//! of authorisation (the roles of each RPC are checked first, by `ops::authorise`).
//!
//! Rule: docs/DOMAIN.md "Regions and roles": finance of the region runs evaluation and sees all;
//! a department oversees its own units only; a budget unit evaluates its own projects; an agency
//! sees only the engagements it is part of; auditors read everything in the region and write
//! nothing; the province reads statistics; a user of an enclosing region may read, writes happen
//! only in one's own region; a caller who may not see a record gets "not found", and every
//! count is computed after the caller's scope is applied. The project's choices:
//! docs/EVALUATION.md "Roles".
//!
//! Where the caller stands at this region's deployment is the platform's one rule
//! ([`pbm_auth::standing`]), as for goal and monitoring: finance of an enclosing region reads as
//! an auditor; units, departments and experts of an enclosing region stand as the public (which
//! in part 1 of evaluation sees nothing); callers of another region are refused with
//! `REGION_NOT_ALLOWED`.
//!
//! For evaluation:
//! * A sheet is a department's when its `department_code` is the department's code (its units'
//!   projects and its own 部门整体 sheet); a unit's when its `agency_code` is the unit's.
//! * An agency sees only the sheets sampled into spot checks commissioned to it (by its
//!   统一社会信用代码, `evaluation_spot_checks.agency_credit_code`).
//! * The province reads campaigns and statistics only, never a sheet; experts and the public
//!   nothing (nothing is published in part 1).
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

/// The caller's role as evaluation sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 财政部门 of this region: rules, campaigns, receiving, spot checks.
    Finance,
    /// 主管部门: its units' sheets and its own 部门整体 sheet.
    Department,
    /// 预算单位: its own sheets.
    BudgetUnit,
    /// 第三方机构: sheets of spot checks commissioned to it.
    Agency,
    /// 审计、人大, or finance of an enclosing region: reads all, writes nothing (joint spot
    /// checks aside).
    Auditor,
    /// 省级平台: campaigns and statistics only.
    Province,
    /// 专家: nothing in part 1.
    Expert,
    /// 社会公众: nothing in part 1 (nothing is published).
    Public,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 8] = [
        Role::Finance,
        Role::Department,
        Role::BudgetUnit,
        Role::Agency,
        Role::Auditor,
        Role::Province,
        Role::Expert,
        Role::Public,
    ];

    /// The role's name a finance clerk reads.
    pub fn chinese(self) -> &'static str {
        match self {
            Role::Finance => "财政部门",
            Role::Department => "主管部门",
            Role::BudgetUnit => "预算单位",
            Role::Agency => "第三方机构",
            Role::Auditor => "审计监督",
            Role::Province => "省级平台",
            Role::Expert => "评审专家",
            Role::Public => "社会公众",
        }
    }
}

/// Who is asking: a role and the code it is tied to (the unit's `AGENCY_CODE`, the department
/// code, the agency's credit code; the region's code for finance, auditors and the province).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Viewer {
    pub role: Role,
    pub org_code: String,
}

/// A sheet as far as access is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SheetRef<'a> {
    /// The unit of the project (for a 部门整体 sheet, the department's own code).
    pub agency_code: &'a str,
    /// The competent department.
    pub department_code: &'a str,
    /// The agency a spot check of this sheet is commissioned to, when the caller is that agency
    /// (its credit code); `None` otherwise.
    pub commissioned_agency: Option<&'a str>,
}

/// The caller as the evaluation rules see them, at the deployment of `region` (see the module
/// doc). Callers of another region are refused.
pub fn viewer(caller: &Caller, region: &DivisionCode) -> Result<Viewer, Denied> {
    let s = standing::standing(caller, region, "绩效评价")?;
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
    standing::ensure_local(caller, region, "绩效评价数据")
}

/// Whether `viewer` may read the sheet (its indicators, score, history, findings). Others'
/// sheets answer NOT_FOUND.
pub fn can_read(viewer: &Viewer, sheet: &SheetRef<'_>) -> bool {
    list_filter(viewer).matches(sheet)
}

/// Whether `viewer`'s scope covers filling the sheet (save, submit, import; the step itself is
/// the workflow's): a unit its own sheets, a department the sheets of its department (its
/// 部门整体 sheet; which sheets a department fills is the workflow's rule).
pub fn can_fill(viewer: &Viewer, sheet: &SheetRef<'_>) -> bool {
    match viewer.role {
        Role::BudgetUnit => sheet.agency_code == viewer.org_code,
        Role::Department => sheet.department_code == viewer.org_code,
        _ => false,
    }
}

/// ReviewSelfEvaluation: the sheet's department.
pub fn can_review(viewer: &Viewer, sheet: &SheetRef<'_>) -> bool {
    viewer.role == Role::Department && sheet.department_code == viewer.org_code
}

/// Rules, campaigns, reopening units, receiving sheets, spot checks: finance of this region.
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

/// GetCampaign, ListCampaigns: everyone with a part in the self-evaluation, and the province.
pub fn can_read_campaigns(viewer: &Viewer) -> bool {
    matches!(
        viewer.role,
        Role::Finance | Role::Department | Role::BudgetUnit | Role::Auditor | Role::Province
    )
}

/// The statistics of a campaign or of spot checks: finance, auditors and the province.
pub fn can_read_statistics(viewer: &Viewer) -> bool {
    matches!(viewer.role, Role::Finance | Role::Auditor | Role::Province)
}

/// Which sheets a list shows a viewer; the store turns it into a `WHERE` clause.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListFilter {
    /// Finance and auditors: every sheet of the region.
    All,
    /// A department: `department_code = code`.
    Department(String),
    /// A unit: `agency_code = code`.
    Unit(String),
    /// An agency: the sheets sampled into spot checks commissioned to this credit code.
    Agency(String),
    /// Nobody's: the list is empty (the province, experts, the public).
    None,
}

impl ListFilter {
    /// Whether the filter lets `sheet` through (what the store's `WHERE` clause must do).
    pub fn matches(&self, sheet: &SheetRef<'_>) -> bool {
        match self {
            ListFilter::All => true,
            ListFilter::Department(code) => sheet.department_code == code,
            ListFilter::Unit(code) => sheet.agency_code == code,
            ListFilter::Agency(id) => sheet.commissioned_agency == Some(id.as_str()),
            ListFilter::None => false,
        }
    }
}

/// What a list of sheets (and of their reviews and findings) shows `viewer`: exactly the sheets
/// [`can_read`] lets through.
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

    fn sheet<'a>(agency: &'a str, dept: &'a str, commissioned: Option<&'a str>) -> SheetRef<'a> {
        SheetRef {
            agency_code: agency,
            department_code: dept,
            commissioned_agency: commissioned,
        }
    }

    fn v(role: Role, code: &str) -> Viewer {
        Viewer {
            role,
            org_code: code.into(),
        }
    }

    #[test]
    fn roles_at_the_region_and_above() {
        let here = region("140525");
        let role = |r, div| viewer(&caller(r, div), &here).map(|v| v.role);
        assert_eq!(role(AuthRole::FinanceAdmin, "140525"), Ok(Role::Finance));
        assert_eq!(role(AuthRole::FinanceAdmin, "140500"), Ok(Role::Auditor));
        assert_eq!(role(AuthRole::Auditor, "140000"), Ok(Role::Auditor));
        assert_eq!(role(AuthRole::Province, "140000"), Ok(Role::Province));
        assert_eq!(role(AuthRole::Department, "140525"), Ok(Role::Department));
        assert_eq!(role(AuthRole::BudgetUnit, "140525"), Ok(Role::BudgetUnit));
        assert_eq!(role(AuthRole::Agency, "140500"), Ok(Role::Agency));
        assert_eq!(role(AuthRole::Department, "140500"), Ok(Role::Public));
        let other = viewer(&caller(AuthRole::FinanceAdmin, "140526"), &here).unwrap_err();
        assert_eq!(other.reason(), "REGION_NOT_ALLOWED");
        assert_eq!(
            viewer(&Caller::anonymous(), &here).unwrap_err(),
            Denied::Unauthenticated
        );
        let mut no_unit = caller(AuthRole::BudgetUnit, "140525");
        no_unit.unit = None;
        assert_eq!(viewer(&no_unit, &here).unwrap_err().reason(), "ORG_MISSING");
        assert!(ensure_local(&caller(AuthRole::FinanceAdmin, "140525"), &here).is_ok());
        let city = ensure_local(&caller(AuthRole::FinanceAdmin, "140500"), &here).unwrap_err();
        assert_eq!(city.reason(), "REGION_NOT_ALLOWED");
    }

    #[test]
    fn who_reads_fills_and_reviews_which_sheet() {
        let own = sheet("101001", "101", Some("AG-1"));
        let other = sheet("202001", "202", None);
        let finance = v(Role::Finance, "140525");
        assert!(can_read(&finance, &other) && !can_fill(&finance, &other));
        let auditor = v(Role::Auditor, "140525");
        assert!(can_read(&auditor, &other) && !can_fill(&auditor, &other));
        let dept = v(Role::Department, "101");
        assert!(can_read(&dept, &own) && can_review(&dept, &own) && can_fill(&dept, &own));
        assert!(!can_read(&dept, &other) && !can_review(&dept, &other));
        let unit = v(Role::BudgetUnit, "101001");
        assert!(can_fill(&unit, &own) && !can_review(&unit, &own));
        assert!(!can_read(&unit, &other) && !can_fill(&unit, &other));
        let agency = v(Role::Agency, "AG-1");
        assert!(can_read(&agency, &own) && !can_fill(&agency, &own));
        assert!(!can_read(&agency, &other));
        for nobody in [Role::Province, Role::Expert, Role::Public] {
            assert!(!can_read(&v(nobody, "140000"), &own));
            assert_eq!(list_filter(&v(nobody, "x")), ListFilter::None);
        }
        assert!(can_read_statistics(&v(Role::Province, "140000")));
        assert!(!can_read_statistics(&dept) && !can_read_statistics(&unit));
        assert!(can_read_campaigns(&unit) && can_read_campaigns(&v(Role::Province, "1")));
        assert!(!can_read_campaigns(&agency) && !can_read_campaigns(&v(Role::Public, "")));
        assert!(ensure_finance(&finance).is_ok());
        assert_eq!(
            ensure_finance(&auditor).unwrap_err().reason(),
            "ROLE_NOT_ALLOWED"
        );
    }

    proptest! {
        /// The store's filter and the single-record rule never disagree; nobody fills a sheet
        /// they cannot read.
        #[test]
        fn the_list_filter_is_exactly_can_read(
            role in prop::sample::select(Role::ALL.to_vec()),
            code in prop::sample::select(vec!["101", "101001", "AG-1", ""]),
            agency in prop::sample::select(vec!["101001", "101002", "101"]),
            dept in prop::sample::select(vec!["101", "102"]),
            commissioned in prop::option::of(prop::sample::select(vec!["AG-1", "AG-2"])),
        ) {
            let viewer = v(role, code);
            let s = sheet(agency, dept, commissioned);
            prop_assert_eq!(list_filter(&viewer).matches(&s), can_read(&viewer, &s));
            prop_assert!(!can_fill(&viewer, &s) || can_read(&viewer, &s));
            prop_assert!(!can_review(&viewer, &s) || can_read(&viewer, &s));
        }
    }
}
