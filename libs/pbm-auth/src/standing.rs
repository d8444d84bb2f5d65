//! Where a caller stands at the deployment of one region: the part each service's
//! `domain::access` starts from before its own rules (docs/DOMAIN.md "Regions and roles": one
//! deployment serves one region; a user of an enclosing region may read, writes happen only in
//! one's own region).
//!
//! The choices every service makes alike:
//! * **Finance of an enclosing region** (a city's bureau at a county's deployment) reads as an
//!   auditor; only the region's own finance acts as finance.
//! * **Units, departments and experts of an enclosing region** name organisations and people of
//!   their own region, not of this one (a city's unit `D01001` is not the county's): they stand
//!   as the public does. An agency's 统一社会信用代码 is national and keeps its scope.
//! * **Callers of another region** (not this one, not enclosing) are refused with
//!   `REGION_NOT_ALLOWED`; the public is of no region.
//! * A unit, department, expert or agency whose token lacks its code is refused with
//!   `ORG_MISSING`.

use pbm_types::DivisionCode;

use crate::{Caller, Denied, Role};

/// The part a caller plays at a region's deployment (each service names it its own `Role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// 财政部门 of this very region.
    Finance,
    /// 主管部门 of this region.
    Department,
    /// 预算单位 of this region.
    BudgetUnit,
    /// 第三方机构 (of any region that covers this one).
    Agency,
    /// 审计、人大, or finance of an enclosing region: reads.
    Auditor,
    /// 省级平台.
    Province,
    /// 专家 of this region.
    Expert,
    /// 社会公众, and units, departments and experts of an enclosing region.
    Public,
}

/// A caller's part and the code it is tied to: the unit's `AGENCY_CODE`, the department code,
/// the expert id, the agency's credit code; the region's code for finance, auditors and the
/// province; empty for the public.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Standing {
    pub part: Part,
    pub org_code: String,
}

/// Where `caller` stands at the deployment of `region` (see the module doc). `service` names
/// what is refused to a caller of another region (`绩效目标`, `绩效评价`).
pub fn standing(caller: &Caller, region: &DivisionCode, service: &str) -> Result<Standing, Denied> {
    if !caller.authenticated {
        return Err(Denied::Unauthenticated);
    }
    if caller.role != Role::Public && !caller.mof_div_code.covers(region) {
        return Err(Denied::permission(
            "REGION_NOT_ALLOWED",
            format!(
                "您属于区划 {}，不能访问区划 {region} 的{service}",
                caller.mof_div_code
            ),
        ));
    }
    let code = |c: &Option<String>, what: &str| {
        c.clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Denied::permission("ORG_MISSING", format!("令牌中没有{what}")))
    };
    let here = || region.to_string();
    let local = &caller.mof_div_code == region;
    let (part, org_code) = match caller.role {
        Role::Public => (Part::Public, String::new()),
        Role::Department | Role::BudgetUnit | Role::Expert if !local => {
            (Part::Public, String::new())
        }
        Role::FinanceAdmin if local => (Part::Finance, here()),
        Role::FinanceAdmin | Role::Auditor => (Part::Auditor, here()),
        Role::Province => (Part::Province, here()),
        Role::Department => (Part::Department, code(&caller.department, "部门编码")?),
        Role::BudgetUnit => (Part::BudgetUnit, code(&caller.unit, "单位编码")?),
        Role::Expert => (Part::Expert, code(&caller.expert, "专家编号")?),
        Role::Agency => (Part::Agency, code(&caller.agency, "机构代码")?),
    };
    Ok(Standing { part, org_code })
}

/// A write's second check, after the role's: the caller is of this very region. `what` names
/// what may not be changed (`绩效评价数据`).
pub fn ensure_local(caller: &Caller, region: &DivisionCode, what: &str) -> Result<(), Denied> {
    if &caller.mof_div_code == region {
        Ok(())
    } else {
        Err(Denied::permission(
            "REGION_NOT_ALLOWED",
            format!(
                "您属于区划 {}，不能修改区划 {region} 的{what}",
                caller.mof_div_code
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(code: &str) -> DivisionCode {
        DivisionCode::parse(code).unwrap()
    }

    fn caller(role: Role, div: &str) -> Caller {
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

    #[test]
    fn parts_at_the_region_and_above() {
        let here = region("140525");
        let part = |role, div| standing(&caller(role, div), &here, "绩效评价").map(|s| s.part);
        assert_eq!(part(Role::FinanceAdmin, "140525"), Ok(Part::Finance));
        assert_eq!(part(Role::FinanceAdmin, "140500"), Ok(Part::Auditor));
        assert_eq!(part(Role::Auditor, "140000"), Ok(Part::Auditor));
        assert_eq!(part(Role::Province, "140000"), Ok(Part::Province));
        assert_eq!(part(Role::Department, "140525"), Ok(Part::Department));
        assert_eq!(part(Role::BudgetUnit, "140525"), Ok(Part::BudgetUnit));
        assert_eq!(part(Role::Expert, "140525"), Ok(Part::Expert));
        assert_eq!(part(Role::Agency, "140500"), Ok(Part::Agency));
        assert_eq!(part(Role::Public, "000000"), Ok(Part::Public));
        // A city's department names the city's organisations: the public's part here.
        assert_eq!(part(Role::Department, "140500"), Ok(Part::Public));
        let s = standing(&caller(Role::BudgetUnit, "140525"), &here, "x").unwrap();
        assert_eq!(s.org_code, "101001");
        let other = standing(&caller(Role::FinanceAdmin, "140526"), &here, "绩效评价");
        let other = other.unwrap_err();
        assert_eq!(other.reason(), "REGION_NOT_ALLOWED");
        assert!(
            matches!(&other, Denied::Permission { message, .. } if message.contains("140525 的绩效评价"))
        );
        assert_eq!(
            standing(&Caller::anonymous(), &here, "x"),
            Err(Denied::Unauthenticated)
        );
        let mut no_unit = caller(Role::BudgetUnit, "140525");
        no_unit.unit = Some(String::new());
        assert_eq!(
            standing(&no_unit, &here, "x").unwrap_err().reason(),
            "ORG_MISSING"
        );
    }

    #[test]
    fn only_the_region_itself_writes() {
        let here = region("140525");
        assert!(ensure_local(&caller(Role::FinanceAdmin, "140525"), &here, "x").is_ok());
        let city = ensure_local(&caller(Role::FinanceAdmin, "140500"), &here, "绩效评价数据");
        assert_eq!(city.unwrap_err().reason(), "REGION_NOT_ALLOWED");
    }
}
