//! Corrective actions (整改纠偏): what a deviation's owner does about it, tracked until finance
//! verifies it.
//!
//! Rule: docs/DOMAIN.md "Deviation causes and completeness" (deviations are gathered into a
//! deviation list with corrective actions, and each action is tracked until it is closed; 埇桥
//! 2021 "督促进行整改纠偏", 晋城 2019 "反馈预算单位进行整改纠偏") and docs/DOMAIN.md "Results and
//! rectification". The design: docs/drafts/MONITORING.md §1 "Corrective action".
//!
//! ```text
//! OPEN ──Start──▶ IN_PROGRESS ──Complete(note)──▶ DONE ──Verify──▶ VERIFIED
//!                      ▲                            │
//!                      └──────SendBack(comments)────┘
//! ```
//!
//! The project's choices:
//! * Finance or the subject's department creates an action
//!   ([`crate::domain::access::can_create_action`]); the owner unit or its department starts
//!   and completes it ([`crate::domain::access::can_update_action`]); finance verifies it or
//!   sends it back with comments.
//! * The steps go one at a time: an OPEN action is started before it is completed.
//! * Completion needs a note (`COMPLETION_NOTE_REQUIRED`); sending back needs comments
//!   (`COMMENTS_REQUIRED`); both at most 2,000 characters.
//! * `overdue` is computed, never stored: `today > due_on` and not DONE or VERIFIED.
//! * `late` is stored: an action completed after `due_on` stays late, even if it is sent back
//!   and completed again in time.
//! * VERIFIED is final. Actions go on after the round is closed.
//! * Refusals are [`WorkflowError`]s, checked in goal's order: revision, role, state, payload.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::access::Role;
use crate::domain::common::FieldViolation;
use crate::domain::report_workflow::{WorkflowError, optional_text, required_text};

/// Where a corrective action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// 待整改
    Open,
    /// 整改中
    InProgress,
    /// 已完成整改, awaiting finance.
    Done,
    /// 已核验
    Verified,
}

text_enum!(ActionStatus {
    Open => "open", "待整改";
    InProgress => "in_progress", "整改中";
    Done => "done", "已完成";
    Verified => "verified", "已核验";
});

/// A corrective action's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActionState {
    /// Where it stands.
    pub status: ActionStatus,
    /// Count of accepted steps (0 when created).
    pub revision: u64,
    /// It was once completed after its due date.
    pub late: bool,
}

impl ActionState {
    /// A new action: OPEN, revision 0, not late.
    pub fn new() -> Self {
        Self {
            status: ActionStatus::Open,
            revision: 0,
            late: false,
        }
    }
}

impl Default for ActionState {
    fn default() -> Self {
        Self::new()
    }
}

/// A step on a corrective action.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum ActionStep {
    /// 开始整改.
    Start,
    /// 完成整改, with what was done.
    Complete {
        /// 整改完成情况.
        note: String,
    },
    /// 核验通过 by finance.
    Verify,
    /// 退回重新整改 by finance.
    SendBack {
        /// Why.
        comments: String,
    },
}

/// [`ActionStep`] without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStepKind {
    /// 开始整改
    Start,
    /// 完成整改
    Complete,
    /// 核验通过
    Verify,
    /// 退回重新整改
    SendBack,
}

text_enum!(ActionStepKind {
    Start => "start", "开始整改";
    Complete => "complete", "完成整改";
    Verify => "verify", "核验通过";
    SendBack => "send_back", "退回重新整改";
});

impl ActionStep {
    /// The step without its data.
    pub fn kind(&self) -> ActionStepKind {
        match self {
            ActionStep::Start => ActionStepKind::Start,
            ActionStep::Complete { .. } => ActionStepKind::Complete,
            ActionStep::Verify => ActionStepKind::Verify,
            ActionStep::SendBack { .. } => ActionStepKind::SendBack,
        }
    }
}

impl ActionStepKind {
    /// Roles that may take this step at all.
    pub fn roles(self) -> &'static [Role] {
        match self {
            ActionStepKind::Start | ActionStepKind::Complete => {
                &[Role::BudgetUnit, Role::Department]
            }
            ActionStepKind::Verify | ActionStepKind::SendBack => &[Role::Finance],
        }
    }
}

/// Every accepted step as (from, step, to).
pub const ALLOWED: &[(ActionStatus, ActionStepKind, ActionStatus)] = {
    use ActionStatus as S;
    use ActionStepKind as K;
    &[
        (S::Open, K::Start, S::InProgress),
        (S::InProgress, K::Complete, S::Done),
        (S::Done, K::Verify, S::Verified),
        (S::Done, K::SendBack, S::InProgress),
    ]
};

/// An accepted step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActionTransition {
    /// The status before.
    pub from: ActionStatus,
    /// The state after.
    pub to: ActionState,
    /// The step.
    pub step: ActionStepKind,
}

/// Applies `step` by `role` to the action in `state`, read at `expected_revision`, on `today`,
/// for an action due on `due_on`. A refused step changes nothing.
pub fn apply(
    state: &ActionState,
    step: &ActionStep,
    role: Role,
    expected_revision: u64,
    today: NaiveDate,
    due_on: NaiveDate,
) -> Result<ActionTransition, WorkflowError> {
    use ActionStatus as S;
    if state.revision != expected_revision {
        return Err(WorkflowError::StaleRevision {
            expected: expected_revision,
            actual: state.revision,
        });
    }
    let kind = step.kind();
    if !kind.roles().contains(&role) {
        return Err(WorkflowError::RoleNotAllowed {
            role,
            action: kind.chinese(),
        });
    }
    let mut to = *state;
    to.status = match (state.status, step) {
        (S::Open, ActionStep::Start) => S::InProgress,
        (S::InProgress, ActionStep::Complete { note }) => {
            required_text(
                note,
                "completion_note",
                WorkflowError::CompletionNoteRequired,
            )?;
            to.late = state.late || today > due_on;
            S::Done
        }
        (S::Done, ActionStep::Verify) => S::Verified,
        (S::Done, ActionStep::SendBack { comments }) => {
            required_text(comments, "comments", WorkflowError::CommentsRequired)?;
            S::InProgress
        }
        _ => {
            return Err(WorkflowError::IllegalTransition {
                what: "整改措施",
                from: state.status.chinese(),
                action: kind.chinese(),
            });
        }
    };
    to.revision = state.revision.saturating_add(1);
    debug_assert!(ALLOWED.contains(&(state.status, kind, to.status)));
    Ok(ActionTransition {
        from: state.status,
        to,
        step: kind,
    })
}

/// Whether an action is overdue on `today`: past its due date and not yet done.
pub fn overdue(today: NaiveDate, due_on: NaiveDate, status: ActionStatus) -> bool {
    today > due_on && !matches!(status, ActionStatus::Done | ActionStatus::Verified)
}

/// No description.
pub const DESCRIPTION_REQUIRED: &str = "DESCRIPTION_REQUIRED";
/// No owner unit.
pub const OWNER_REQUIRED: &str = "OWNER_REQUIRED";
/// Longest description, in characters (the long-text class of docs/drafts/MONITORING.md §3).
pub const MAX_DESCRIPTION_CHARS: usize = 4000;

/// Checks a new action's description and owner unit (`DESCRIPTION_REQUIRED`, `OWNER_REQUIRED`,
/// `TEXT_TOO_LONG`); every violation at once. The due date is checked by the request's
/// conversion (years 2000–2100).
pub fn check_new(description: &str, owner_agency: &str) -> Vec<FieldViolation> {
    let mut v = Vec::new();
    if description.trim().is_empty() {
        v.push(FieldViolation::new(
            "description",
            DESCRIPTION_REQUIRED,
            "请填写整改措施的内容",
        ));
    }
    v.extend(pbm_types::check_len(
        "description",
        "整改措施",
        description,
        MAX_DESCRIPTION_CHARS,
    ));
    if owner_agency.trim().is_empty() {
        v.push(FieldViolation::new(
            "owner_agency_code",
            OWNER_REQUIRED,
            "请指定负责整改的预算单位",
        ));
    }
    v
}

/// Checks an optional comment on a step (at most 2,000 characters).
pub fn check_comment(text: &str) -> Result<(), WorkflowError> {
    optional_text(text, "comments")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 9, n).unwrap()
    }

    fn step(
        s: ActionState,
        st: ActionStep,
        role: Role,
        today: u32,
    ) -> Result<ActionState, WorkflowError> {
        apply(&s, &st, role, s.revision, day(today), day(15)).map(|t| t.to)
    }

    fn complete(note: &str) -> ActionStep {
        ActionStep::Complete { note: note.into() }
    }

    #[test]
    fn the_whole_way_with_a_send_back() {
        let s = ActionState::new();
        let s = step(s, ActionStep::Start, Role::BudgetUnit, 1).unwrap();
        let s = step(s, complete("已调整支付进度"), Role::BudgetUnit, 10).unwrap();
        assert_eq!((s.status, s.late), (ActionStatus::Done, false));
        let back = ActionStep::SendBack {
            comments: "未附支付凭证".into(),
        };
        let s = step(s, back, Role::Finance, 11).unwrap();
        assert_eq!(s.status, ActionStatus::InProgress);
        // Completed again after the due date: late, and stays late.
        let s = step(s, complete("已补充凭证"), Role::Department, 20).unwrap();
        assert!(s.late);
        let s = step(s, ActionStep::Verify, Role::Finance, 21).unwrap();
        assert_eq!(
            (s.status, s.revision, s.late),
            (ActionStatus::Verified, 5, true)
        );
        let e = step(s, ActionStep::Start, Role::BudgetUnit, 21).unwrap_err();
        assert_eq!(e.reason(), "ILLEGAL_TRANSITION");
        assert_eq!(
            e.to_string(),
            "整改措施当前状态为「已核验」，不能执行「开始整改」操作"
        );
    }

    #[test]
    fn refusals() {
        let open = ActionState::new();
        let e = |r: Result<ActionState, WorkflowError>| r.unwrap_err().reason();
        assert_eq!(
            e(step(open, ActionStep::Verify, Role::Department, 1)),
            "ROLE_NOT_ALLOWED"
        );
        assert_eq!(
            e(step(open, ActionStep::Start, Role::Finance, 1)),
            "ROLE_NOT_ALLOWED"
        );
        assert_eq!(
            e(step(open, complete("x"), Role::BudgetUnit, 1)),
            "ILLEGAL_TRANSITION"
        );
        let started = step(open, ActionStep::Start, Role::BudgetUnit, 1).unwrap();
        assert_eq!(
            e(step(started, complete(" "), Role::BudgetUnit, 1)),
            "COMPLETION_NOTE_REQUIRED"
        );
        let stale = apply(
            &started,
            &ActionStep::Start,
            Role::BudgetUnit,
            0,
            day(1),
            day(15),
        );
        assert_eq!(stale.unwrap_err().reason(), "STALE_REVISION");
        let done = step(started, complete("完成"), Role::BudgetUnit, 1).unwrap();
        let back = ActionStep::SendBack {
            comments: String::new(),
        };
        assert_eq!(e(step(done, back, Role::Finance, 1)), "COMMENTS_REQUIRED");
        assert!(check_comment(&"字".repeat(2001)).is_err());
    }

    #[test]
    fn overdue_is_computed() {
        assert!(!overdue(day(15), day(15), ActionStatus::Open));
        assert!(overdue(day(16), day(15), ActionStatus::Open));
        assert!(overdue(day(16), day(15), ActionStatus::InProgress));
        assert!(!overdue(day(16), day(15), ActionStatus::Done));
        assert!(!overdue(day(16), day(15), ActionStatus::Verified));
    }

    #[test]
    fn new_actions_need_a_description_and_an_owner() {
        let v = check_new(" ", "");
        let got: Vec<_> = v.iter().map(|v| (v.field.as_str(), v.reason)).collect();
        assert_eq!(
            got,
            [
                ("description", DESCRIPTION_REQUIRED),
                ("owner_agency_code", OWNER_REQUIRED)
            ]
        );
        assert!(check_new("加快支付进度", "101001").is_empty());
        assert_eq!(
            check_new(&"字".repeat(4001), "101001")[0].reason,
            "TEXT_TOO_LONG"
        );
    }

    proptest! {
        /// Random walks: every accepted step is in the table, VERIFIED is final, `late` never
        /// goes back to false, and an accepted completion after the due date is late.
        #[test]
        fn walks_keep_the_invariants(
            steps in prop::collection::vec((0u8..4, prop::sample::select(Role::ALL.to_vec()), 1u32..30, any::<bool>()), 0..40)
        ) {
            let mut s = ActionState::new();
            for (which, role, today, text) in steps {
                let t = if text { "说明".to_owned() } else { String::new() };
                let st = match which {
                    0 => ActionStep::Start,
                    1 => ActionStep::Complete { note: t },
                    2 => ActionStep::Verify,
                    _ => ActionStep::SendBack { comments: t },
                };
                match apply(&s, &st, role, s.revision, day(today), day(15)) {
                    Ok(tr) => {
                        prop_assert!(ALLOWED.contains(&(tr.from, tr.step, tr.to.status)));
                        prop_assert!(s.status != ActionStatus::Verified);
                        prop_assert!(tr.to.late || !s.late);
                        if tr.step == ActionStepKind::Complete {
                            prop_assert_eq!(tr.to.late, s.late || today > 15);
                        }
                        s = tr.to;
                    }
                    Err(e) => prop_assert!(!e.chinese().is_empty()),
                }
            }
        }
    }
}
