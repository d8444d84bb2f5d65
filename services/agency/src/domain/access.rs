//! Who may use the registry (docs/DOMAIN.md "Regions and roles", access rules for the agency and
//! expert pool: finance_admin manages; agencies and experts see only their own records; auditors
//! read; everyone else is denied), and from which region.

use pbm_auth::{Caller, Role};
use pbm_types::DivisionCode;

/// Why a caller is refused: the platform's one refusal type.
pub use pbm_auth::Denied;

/// What a reader may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadScope {
    /// Finance, auditors, the province: the whole registry.
    All,
    /// An agency: its own record only.
    OwnAgency(String),
}

pub fn read_scope(caller: &Caller, region: &DivisionCode) -> Result<ReadScope, Denied> {
    if !caller.authenticated {
        return Err(Denied::Unauthenticated);
    }
    if !caller.mof_div_code.covers(region) {
        return Err(region_denied(caller, region));
    }
    match caller.role {
        Role::FinanceAdmin | Role::Auditor | Role::Province => Ok(ReadScope::All),
        Role::Agency => caller
            .agency
            .clone()
            .filter(|a| !a.is_empty())
            .map(ReadScope::OwnAgency)
            .ok_or_else(|| Denied::permission("AGENCY_MISSING", "令牌中没有机构代码")),
        role => Err(Denied::permission(
            "ROLE_NOT_ALLOWED",
            format!("当前角色（{role}）不能访问第三方机构库"),
        )),
    }
}

/// What a reader of the expert registry may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpertScope {
    All,
    /// An expert: their own record only.
    Own(i64),
}

pub fn expert_scope(caller: &Caller, region: &DivisionCode) -> Result<ExpertScope, Denied> {
    if !caller.authenticated {
        return Err(Denied::Unauthenticated);
    }
    if !caller.mof_div_code.covers(region) {
        return Err(region_denied(caller, region));
    }
    match caller.role {
        Role::FinanceAdmin | Role::Auditor | Role::Province => Ok(ExpertScope::All),
        // An expert id numbers a person of the pool of the expert's own region: at a county's
        // deployment a city expert's id names someone else, so only this region's experts read.
        Role::Expert if &caller.mof_div_code != region => Err(region_denied(caller, region)),
        Role::Expert => caller
            .expert
            .as_deref()
            .and_then(|e| e.parse::<i64>().ok())
            .map(ExpertScope::Own)
            .ok_or_else(|| Denied::permission("EXPERT_MISSING", "令牌中没有有效的专家编号")),
        role => Err(Denied::permission(
            "ROLE_NOT_ALLOWED",
            format!("当前角色（{role}）不能访问专家库"),
        )),
    }
}

/// Managing the registry: the finance bureau of this very region.
pub fn can_manage(caller: &Caller, region: &DivisionCode) -> Result<(), Denied> {
    read_scope(caller, region)?;
    if caller.role != Role::FinanceAdmin {
        return Err(Denied::permission(
            "ROLE_NOT_ALLOWED",
            format!(
                "只有财政部门绩效管理人员可以管理第三方机构库（当前角色：{}）",
                caller.role
            ),
        ));
    }
    if &caller.mof_div_code != region {
        return Err(region_denied(caller, region));
    }
    Ok(())
}

/// Whether a reader with `scope` may see the expert `id`. Others' records answer NOT_FOUND.
pub fn may_see_expert(scope: &ExpertScope, id: i64) -> bool {
    match scope {
        ExpertScope::All => true,
        ExpertScope::Own(own) => *own == id,
    }
}

/// Whether a reader with `scope` may see the agency `credit_code`. Others' records answer
/// NOT_FOUND, so their existence does not leak.
pub fn may_see(scope: &ReadScope, credit_code: &str) -> bool {
    match scope {
        ReadScope::All => true,
        ReadScope::OwnAgency(own) => own == credit_code,
    }
}

fn region_denied(caller: &Caller, region: &DivisionCode) -> Denied {
    Denied::permission(
        "REGION_MISMATCH",
        format!(
            "您属于财政区划 {}，不能操作财政区划 {} 的数据",
            caller.mof_div_code, region
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expert_of_an_enclosing_region_names_no_one_here() {
        let county = DivisionCode::parse("140525").unwrap();
        let expert = |region: &str| Caller {
            expert: Some("5".into()),
            ..caller(Role::Expert, region, None)
        };
        assert_eq!(
            expert_scope(&expert("140525"), &county),
            Ok(ExpertScope::Own(5))
        );
        assert_eq!(
            expert_scope(&expert("140500"), &county).map_err(|d| d.reason()),
            Err("REGION_MISMATCH")
        );
    }

    fn caller(role: Role, region: &str, agency: Option<&str>) -> Caller {
        Caller {
            subject: "u".into(),
            role,
            mof_div_code: DivisionCode::parse(region).unwrap(),
            unit: None,
            department: None,
            agency: agency.map(Into::into),
            expert: None,
            authenticated: true,
        }
    }

    #[test]
    fn only_finance_auditors_province_and_the_agency_itself_read() {
        let region = DivisionCode::parse("140500").unwrap();
        for role in Role::ALL {
            let scope = read_scope(&caller(role, "140500", Some("A1")), &region);
            match role {
                Role::FinanceAdmin | Role::Auditor | Role::Province => {
                    assert_eq!(scope.unwrap(), ReadScope::All)
                }
                Role::Agency => assert_eq!(scope.unwrap(), ReadScope::OwnAgency("A1".into())),
                _ => assert_eq!(scope.unwrap_err().reason(), "ROLE_NOT_ALLOWED", "{role}"),
            }
        }
        assert_eq!(
            read_scope(&Caller::anonymous(), &region)
                .unwrap_err()
                .reason(),
            "UNAUTHENTICATED"
        );
        assert_eq!(
            read_scope(&caller(Role::FinanceAdmin, "140600", None), &region)
                .unwrap_err()
                .reason(),
            "REGION_MISMATCH"
        );
    }

    #[test]
    fn only_local_finance_manages() {
        let region = DivisionCode::parse("140500").unwrap();
        assert!(can_manage(&caller(Role::FinanceAdmin, "140500", None), &region).is_ok());
        assert_eq!(
            can_manage(&caller(Role::FinanceAdmin, "140000", None), &region)
                .unwrap_err()
                .reason(),
            "REGION_MISMATCH"
        );
        assert_eq!(
            can_manage(&caller(Role::Auditor, "140500", None), &region)
                .unwrap_err()
                .reason(),
            "ROLE_NOT_ALLOWED"
        );
        assert_eq!(
            can_manage(&caller(Role::Agency, "140500", Some("A1")), &region)
                .unwrap_err()
                .reason(),
            "ROLE_NOT_ALLOWED"
        );
    }
}
