//! Round subjects: one per project or 部门整体 goal in a round's scope, with or without an
//! approved goal.
//!
//! Rule: docs/DOMAIN.md "Key monitoring (重点监控)" (晋城's first round found 680 projects
//! matching their goals, 270 with no goal and 92 deviating: projects without a goal are
//! monitored too) and docs/DOMAIN.md "Budgets, fields and projects". The design:
//! docs/drafts/MONITORING.md §1 "Round subject".
//!
//! The project's choices:
//! * The key of a project is its PRO_CODE; the key of a department's 部门整体 goal is
//!   `D:<department code>` (a PRO_CODE never starts with `D:`).
//! * A subject's goal state is APPROVED (an approved version was in force at opening),
//!   NO_GOAL (no goal, or a code only the budget system's figures name) or NOT_APPROVED (a goal
//!   not yet approved).

use serde::{Deserialize, Serialize};

/// The goal state of a subject at opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalState {
    /// 已批复绩效目标.
    Approved,
    /// 无绩效目标.
    NoGoal,
    /// 绩效目标未批复.
    NotApproved,
}

text_enum!(GoalState {
    Approved => "approved", "已批复绩效目标";
    NoGoal => "no_goal", "无绩效目标";
    NotApproved => "not_approved", "绩效目标未批复";
});

/// A subject key, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKey<'a> {
    /// A project, by PRO_CODE.
    Project(&'a str),
    /// A department's 部门整体 goal, by department code.
    Department(&'a str),
}

/// Prefix of a 部门整体 subject's key.
pub const DEPARTMENT_PREFIX: &str = "D:";

impl<'a> SubjectKey<'a> {
    /// Reads a stored key.
    pub fn parse(key: &'a str) -> Self {
        match key.strip_prefix(DEPARTMENT_PREFIX) {
            Some(dept) => SubjectKey::Department(dept),
            None => SubjectKey::Project(key),
        }
    }

    /// The stored key.
    pub fn key(self) -> String {
        match self {
            SubjectKey::Project(code) => code.to_owned(),
            SubjectKey::Department(dept) => format!("{DEPARTMENT_PREFIX}{dept}"),
        }
    }

    /// A department's 部门整体 goal.
    pub fn is_department_whole(self) -> bool {
        matches!(self, SubjectKey::Department(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for key in [
            SubjectKey::Project("140525-2026-0001"),
            SubjectKey::Department("101"),
        ] {
            assert_eq!(SubjectKey::parse(&key.key()), key);
        }
        assert_eq!(SubjectKey::Department("101").key(), "D:101");
        assert!(SubjectKey::parse("D:101").is_department_whole());
        assert!(!SubjectKey::parse("140525-2026-0001").is_department_whole());
        for &g in GoalState::ALL {
            assert_eq!(GoalState::from_db(g.as_db()), Some(g));
        }
    }
}
