//! Who may read and write which goal: the scope half of authorisation ([`crate::domain::workflow`]
//! checks the action half).
//!
//! Rule: issue 4 "Roles: a budget unit reads and edits only its own unit's goals; a department
//! its units'; finance all of its region; experts/agencies only goals assigned to them for
//! review; public only published ones"; ARCHITECTURE.md §Roles (auditor read-only; province
//! statistics and read-only); DOMAIN.md §"Who uses it" (one deployment serves one region, its
//! 6-digit `mof_div_code`; provinces aggregate).
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

use serde::{Deserialize, Serialize};

use crate::domain::workflow::Role;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(role: Role, code: &str) -> Viewer {
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
                visibility(&viewer(role, code), &goal),
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
                visibility(&viewer(role, code), &goal),
                Visibility::None,
                "{role:?}"
            );
        }
    }

    #[test]
    fn the_public_reads_published_versions_only() {
        let goal = scope(&[], true);
        assert_eq!(
            visibility(&viewer(Role::Public, ""), &goal),
            Visibility::PublishedVersion
        );
        assert_eq!(
            visibility(&viewer(Role::BudgetUnit, "999"), &goal),
            Visibility::PublishedVersion
        );
        assert!(!may_write(&viewer(Role::Public, ""), &goal));
    }

    #[test]
    fn readers_never_write_and_writers_only_in_scope() {
        let reviewers = vec!["91140500MA0K".to_owned()];
        let goal = scope(&reviewers, true);
        assert!(may_write(&viewer(Role::BudgetUnit, "101001"), &goal));
        assert!(may_write(&viewer(Role::Department, "101"), &goal));
        assert!(may_write(&viewer(Role::Finance, "140500"), &goal));
        assert!(may_write(&viewer(Role::Agency, "91140500MA0K"), &goal));
        assert!(!may_write(&viewer(Role::BudgetUnit, "101002"), &goal));
        assert!(!may_write(&viewer(Role::Auditor, "140500"), &goal));
        assert!(!may_write(&viewer(Role::Province, "140000"), &goal));
        // A 部门整体 goal has no budget unit.
        let overall = GoalScope {
            agency_code: None,
            ..goal
        };
        assert!(!may_write(&viewer(Role::BudgetUnit, "101001"), &overall));
        assert!(may_write(&viewer(Role::Department, "101"), &overall));
    }
}
