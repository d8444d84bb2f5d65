//! Who may do what with the library (docs/DOMAIN.md "Regions and roles": finance keeps the
//! library, departments propose 个性 indicators; docs/INDICATOR.md "Who may do what": every
//! authenticated caller reads, public callers nothing), and from which region.

use pbm_auth::{Caller, Role};
use pbm_types::DivisionCode;

/// Why a caller is refused: the platform's one refusal type.
pub use pbm_auth::Denied;

/// Reading: any authenticated caller except the public, of this region or one above it
/// (a city's or province's finance bureau reads its counties' libraries, 市县联动).
pub fn can_read(caller: &Caller, region: &DivisionCode) -> Result<(), Denied> {
    if !caller.authenticated {
        return Err(Denied::Unauthenticated);
    }
    if caller.role == Role::Public {
        return Err(Denied::permission(
            "ROLE_NOT_ALLOWED",
            "社会公众不能访问绩效指标库",
        ));
    }
    if !caller.mof_div_code.covers(region) {
        return Err(region_denied(caller, region));
    }
    Ok(())
}

/// Writing the library: the finance bureau of this very region.
pub fn can_write(caller: &Caller, region: &DivisionCode) -> Result<(), Denied> {
    can_read(caller, region)?;
    if caller.role != Role::FinanceAdmin {
        return Err(Denied::permission(
            "ROLE_NOT_ALLOWED",
            format!(
                "只有财政部门绩效管理人员可以维护指标库（当前角色：{}）",
                caller.role
            ),
        ));
    }
    same_region(caller, region)
}

/// Proposing a 个性 indicator: a department of this region, for itself.
pub fn can_propose(caller: &Caller, region: &DivisionCode) -> Result<String, Denied> {
    can_read(caller, region)?;
    if caller.role != Role::Department {
        return Err(Denied::permission(
            "ROLE_NOT_ALLOWED",
            format!("只有主管部门可以申请个性指标（当前角色：{}）", caller.role),
        ));
    }
    same_region(caller, region)?;
    caller
        .department
        .clone()
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            Denied::permission("DEPARTMENT_MISSING", "令牌中没有部门编码，无法申请个性指标")
        })
}

/// Reading proposals: finance, auditors and the province see all; a department its own.
/// Returns the department to restrict to, if any.
pub fn proposal_scope(caller: &Caller, region: &DivisionCode) -> Result<Option<String>, Denied> {
    can_read(caller, region)?;
    match caller.role {
        Role::FinanceAdmin | Role::Auditor | Role::Province => Ok(None),
        Role::Department => caller
            .department
            .clone()
            .filter(|d| !d.is_empty())
            .map(Some)
            .ok_or_else(|| Denied::permission("DEPARTMENT_MISSING", "令牌中没有部门编码")),
        _ => Err(Denied::permission(
            "ROLE_NOT_ALLOWED",
            format!("当前角色（{}）不能查看个性指标申请", caller.role),
        )),
    }
}

/// Following this library (WatchLibrary, docs/INDICATOR.md "Following an upstream library"):
/// a province caller or a finance bureau of this region or of a region inside it — a city's
/// deployment follows its province's, a county's its city's.
pub fn can_watch(caller: &Caller, region: &DivisionCode) -> Result<(), Denied> {
    if !caller.authenticated {
        return Err(Denied::Unauthenticated);
    }
    if !matches!(caller.role, Role::Province | Role::FinanceAdmin) {
        return Err(Denied::permission(
            "ROLE_NOT_ALLOWED",
            format!(
                "只有下级财政部门可以同步本级指标库（当前角色：{}）",
                caller.role
            ),
        ));
    }
    if !region.covers(&caller.mof_div_code) {
        return Err(region_denied(caller, region));
    }
    Ok(())
}

/// The follower's status (GetMirrorStatus): finance, auditors and the province who read here.
pub fn can_see_mirror(caller: &Caller, region: &DivisionCode) -> Result<(), Denied> {
    can_read(caller, region)?;
    match caller.role {
        Role::FinanceAdmin | Role::Auditor | Role::Province => Ok(()),
        _ => Err(Denied::permission(
            "ROLE_NOT_ALLOWED",
            format!("当前角色（{}）不能查看指标库同步状态", caller.role),
        )),
    }
}

fn same_region(caller: &Caller, region: &DivisionCode) -> Result<(), Denied> {
    if &caller.mof_div_code == region {
        Ok(())
    } else {
        Err(region_denied(caller, region))
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

    fn caller(role: Role, region: &str) -> Caller {
        Caller {
            subject: "u".into(),
            role,
            mof_div_code: DivisionCode::parse(region).unwrap(),
            unit: None,
            department: Some("101".into()),
            agency: None,
            expert: None,
            authenticated: true,
        }
    }

    fn region() -> DivisionCode {
        DivisionCode::parse("140525").unwrap()
    }

    #[test]
    fn every_authenticated_role_but_public_reads() {
        for role in Role::ALL {
            let result = can_read(&caller(role, "140525"), &region());
            assert_eq!(result.is_ok(), role != Role::Public, "{role}");
        }
        assert_eq!(
            can_read(&Caller::anonymous(), &region())
                .unwrap_err()
                .reason(),
            "UNAUTHENTICATED"
        );
    }

    #[test]
    fn upper_levels_read_but_other_regions_do_not() {
        assert!(can_read(&caller(Role::Province, "140000"), &region()).is_ok());
        assert!(can_read(&caller(Role::FinanceAdmin, "140500"), &region()).is_ok());
        assert_eq!(
            can_read(&caller(Role::FinanceAdmin, "140600"), &region())
                .unwrap_err()
                .reason(),
            "REGION_MISMATCH"
        );
    }

    #[test]
    fn only_local_finance_writes() {
        for role in Role::ALL {
            assert_eq!(
                can_write(&caller(role, "140525"), &region()).is_ok(),
                role == Role::FinanceAdmin,
                "{role}"
            );
        }
        assert_eq!(
            can_write(&caller(Role::FinanceAdmin, "140500"), &region())
                .unwrap_err()
                .reason(),
            "REGION_MISMATCH"
        );
    }

    #[test]
    fn lower_finance_and_the_province_watch() {
        let province = DivisionCode::parse("140000").unwrap();
        assert!(can_watch(&caller(Role::FinanceAdmin, "140500"), &province).is_ok());
        assert!(can_watch(&caller(Role::Province, "140000"), &province).is_ok());
        assert!(can_watch(&caller(Role::FinanceAdmin, "140000"), &province).is_ok());
        assert_eq!(
            can_watch(&caller(Role::Department, "140500"), &province)
                .unwrap_err()
                .reason(),
            "ROLE_NOT_ALLOWED"
        );
        // A city does not follow its county, nor another province.
        assert_eq!(
            can_watch(&caller(Role::FinanceAdmin, "140500"), &region())
                .unwrap_err()
                .reason(),
            "REGION_MISMATCH"
        );
        assert_eq!(
            can_watch(&caller(Role::FinanceAdmin, "130100"), &province)
                .unwrap_err()
                .reason(),
            "REGION_MISMATCH"
        );
    }

    #[test]
    fn only_departments_propose() {
        assert_eq!(
            can_propose(&caller(Role::Department, "140525"), &region()).unwrap(),
            "101"
        );
        assert!(can_propose(&caller(Role::BudgetUnit, "140525"), &region()).is_err());
        assert!(can_propose(&caller(Role::FinanceAdmin, "140525"), &region()).is_err());
    }
}
