//! The unit report of a round (监控报告): its states and the guarded steps between them.
//!
//! Rule: docs/DOMAIN.md "Rounds and reports" (each unit reports per indicator; after the
//! deadline, submissions lock unless finance reopens) and docs/DOMAIN.md "Regions and roles"
//! (a unit reports its own; a department oversees its units; finance of the region accepts).
//! The table (docs/drafts/MONITORING.md §1 "Unit report"):
//!
//! | from | step | by | to |
//! |---|---|---|---|
//! | — / DRAFT / RETURNED | Save | unit, department | DRAFT |
//! | DRAFT / RETURNED | Submit | unit, department | SUBMITTED (a department's own 部门整体: CHECKED) |
//! | SUBMITTED | Check(pass) | department | CHECKED |
//! | SUBMITTED | Check(return, comments) | department | RETURNED |
//! | CHECKED | Accept | finance | ACCEPTED |
//! | CHECKED / ACCEPTED | Return(comments) | finance | RETURNED |
//!
//! The project's choices:
//! * **A department's own 部门整体 report** goes straight from submission to CHECKED
//!   (**PROPOSAL**): there is no one above the department to check it but finance.
//! * **A return after the deadline** by finance must carry `resubmit_by` (≥ today), which
//!   reopens the unit until that day ([`Transition::reopen_until`]) (**PROPOSAL**): without it,
//!   a return after the deadline could never be answered. Before the deadline, `resubmit_by`
//!   is not needed and is ignored. A department's return after the deadline has no such date
//!   (only finance reopens): finance reopens the unit with ReopenUnit.
//! * **Order of the checks** (as goal's workflow): the revision first (`STALE_REVISION`,
//!   ABORTED), then the role (`ROLE_NOT_ALLOWED`), then a closed round (`ROUND_CLOSED`) and the
//!   lock of saves and submissions after the deadline (`ROUND_LOCKED`), then the state
//!   (`ILLEGAL_TRANSITION`), then the payload (`COMMENTS_REQUIRED`, `TEXT_TOO_LONG`,
//!   `RESUBMIT_BY_REQUIRED`, `RESUBMIT_BY_INVALID`). Completeness (`REPORT_INCOMPLETE`) is
//!   checked by [`crate::domain::completeness`] before a submission.
//! * Comments are at most 2,000 characters (docs/drafts/MONITORING.md §3 "Limits", the stricter
//!   domain rule), and required for every return.
//! * Which reports a caller may touch (a unit its own, a department its units' and its own
//!   部门整体, finance the region's) is [`crate::domain::access::can_write_report`], checked by
//!   the use case before [`apply`].
//!
//! [`WorkflowError`] is also the error of corrective actions ([`crate::domain::actions`]) and
//! of the deviation gate of decisions ([`crate::domain::decisions`]).

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::access::Role;
use crate::domain::deadline::is_locked;

/// Where a unit report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// 草稿: being written.
    Draft,
    /// 已提交: awaiting the department's check.
    Submitted,
    /// 已审核: checked by the department, awaiting finance.
    Checked,
    /// 已接收: accepted by finance.
    Accepted,
    /// 已退回: returned to the unit.
    Returned,
}

text_enum!(ReportStatus {
    Draft => "draft", "草稿";
    Submitted => "submitted", "已提交";
    Checked => "checked", "主管部门已审核";
    Accepted => "accepted", "财政已接收";
    Returned => "returned", "已退回";
});

impl ReportStatus {
    /// SUBMITTED, CHECKED or ACCEPTED: the report counts as submitted for the deadline
    /// ([`crate::domain::deadline::status`]) and for the statistics.
    pub fn is_submitted(self) -> bool {
        matches!(
            self,
            ReportStatus::Submitted | ReportStatus::Checked | ReportStatus::Accepted
        )
    }
}

/// A report's state: its status and its revision (the optimistic-concurrency token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReportState {
    /// Where it stands.
    pub status: ReportStatus,
    /// Count of accepted steps; a report not yet saved has revision 0.
    pub revision: u64,
}

/// The department's verdict in a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// 审核通过.
    Pass,
    /// 退回修改.
    Return,
}

/// A step on a report.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ReportAction {
    /// SaveReport.
    Save,
    /// SubmitReport.
    Submit,
    /// CheckReport by the department.
    Check {
        /// Pass or return.
        outcome: CheckOutcome,
        /// 审核意见 (required to return).
        comments: String,
    },
    /// AcceptReport by finance.
    Accept,
    /// ReturnReport by finance.
    Return {
        /// 退回意见 (required).
        comments: String,
        /// The day the unit may resubmit until (required after the deadline).
        resubmit_by: Option<NaiveDate>,
    },
}

/// [`ReportAction`] without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportActionKind {
    /// 保存
    Save,
    /// 提交
    Submit,
    /// 审核
    Check,
    /// 接收
    Accept,
    /// 退回
    Return,
}

text_enum!(ReportActionKind {
    Save => "save", "保存";
    Submit => "submit", "提交";
    Check => "check", "审核";
    Accept => "accept", "接收";
    Return => "return", "退回";
});

impl ReportAction {
    /// The step without its data.
    pub fn kind(&self) -> ReportActionKind {
        match self {
            ReportAction::Save => ReportActionKind::Save,
            ReportAction::Submit => ReportActionKind::Submit,
            ReportAction::Check { .. } => ReportActionKind::Check,
            ReportAction::Accept => ReportActionKind::Accept,
            ReportAction::Return { .. } => ReportActionKind::Return,
        }
    }
}

impl ReportActionKind {
    /// Roles that may take this step at all.
    pub fn roles(self) -> &'static [Role] {
        match self {
            ReportActionKind::Save | ReportActionKind::Submit => {
                &[Role::BudgetUnit, Role::Department]
            }
            ReportActionKind::Check => &[Role::Department],
            ReportActionKind::Accept | ReportActionKind::Return => &[Role::Finance],
        }
    }
}

/// Every accepted step as (from, step, to); `None` is a report not yet saved. [`apply`] is
/// written as guarded code; this table is its specification, checked by the property test.
pub const ALLOWED: &[(Option<ReportStatus>, ReportActionKind, ReportStatus)] = {
    use ReportActionKind as A;
    use ReportStatus as S;
    &[
        (None, A::Save, S::Draft),
        (Some(S::Draft), A::Save, S::Draft),
        (Some(S::Returned), A::Save, S::Draft),
        (Some(S::Draft), A::Submit, S::Submitted),
        (Some(S::Returned), A::Submit, S::Submitted),
        (Some(S::Draft), A::Submit, S::Checked),
        (Some(S::Returned), A::Submit, S::Checked),
        (Some(S::Submitted), A::Check, S::Checked),
        (Some(S::Submitted), A::Check, S::Returned),
        (Some(S::Checked), A::Accept, S::Accepted),
        (Some(S::Checked), A::Return, S::Returned),
        (Some(S::Accepted), A::Return, S::Returned),
    ]
};

/// What the step depends on besides the report: the day, the unit's effective deadline
/// ([`crate::domain::deadline::effective_deadline`]), whether the round is closed, and whether
/// the report is a 部门整体 goal's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepContext {
    /// Today in Asia/Shanghai.
    pub today: NaiveDate,
    /// The unit's effective deadline.
    pub eff_deadline: NaiveDate,
    /// The round is CLOSED: reports are frozen.
    pub round_closed: bool,
    /// The report is for a department's own 部门整体 goal.
    pub department_whole: bool,
}

/// An accepted step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transition {
    /// The status before (`None`: not yet saved).
    pub from: Option<ReportStatus>,
    /// The state after (revision + 1).
    pub to: ReportState,
    /// The step.
    pub action: ReportActionKind,
    /// A return after the deadline reopens the unit until this day.
    pub reopen_until: Option<NaiveDate>,
}

/// How the transport layer reports a [`WorkflowError`] (docs/ARCHITECTURE.md "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// `InvalidArgument`: the step's data is incomplete.
    InvalidArgument,
    /// `FailedPrecondition`: an illegal step for the state, a locked or closed round.
    FailedPrecondition,
    /// `PermissionDenied`: the role may not take the step.
    PermissionDenied,
    /// `Aborted`: the record changed since the caller read it.
    Aborted,
}

/// Longest comments, reason or completion note, in characters (the stricter domain rule).
pub const MAX_COMMENT_CHARS: usize = 2000;

/// Why a step on a report, a corrective action or a decision was refused.
/// [`WorkflowError::reason`] is the stable code, [`WorkflowError::class`] the gRPC class, and
/// `Display` the Chinese message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// The role may not take this step (ROLE_NOT_ALLOWED).
    #[error("{}", self.chinese())]
    RoleNotAllowed {
        /// The actor's role.
        role: Role,
        /// The step, in Chinese.
        action: &'static str,
    },
    /// The step is not possible in the current state (ILLEGAL_TRANSITION).
    #[error("{}", self.chinese())]
    IllegalTransition {
        /// What the record is (监控报告, 整改措施).
        what: &'static str,
        /// The current status, in Chinese.
        from: &'static str,
        /// The step, in Chinese.
        action: &'static str,
    },
    /// The record changed since the caller read it (STALE_REVISION).
    #[error("{}", self.chinese())]
    StaleRevision {
        /// Revision the caller read.
        expected: u64,
        /// Current revision.
        actual: u64,
    },
    /// Saves and submissions after the unit's deadline (ROUND_LOCKED).
    #[error("{}", self.chinese())]
    RoundLocked {
        /// The unit's effective deadline.
        deadline: NaiveDate,
    },
    /// The round is closed (ROUND_CLOSED).
    #[error("{}", self.chinese())]
    RoundClosed,
    /// A return without comments (COMMENTS_REQUIRED).
    #[error("{}", self.chinese())]
    CommentsRequired,
    /// DONE without a completion note (COMPLETION_NOTE_REQUIRED).
    #[error("{}", self.chinese())]
    CompletionNoteRequired,
    /// A text over its limit (TEXT_TOO_LONG).
    #[error("{}", self.chinese())]
    TextTooLong {
        /// Field name.
        field: &'static str,
        /// Limit in characters.
        max: usize,
    },
    /// A return after the deadline without `resubmit_by` (RESUBMIT_BY_REQUIRED).
    #[error("{}", self.chinese())]
    ResubmitByRequired {
        /// The unit's effective deadline.
        deadline: NaiveDate,
    },
    /// A `resubmit_by` before today (RESUBMIT_BY_INVALID).
    #[error("{}", self.chinese())]
    ResubmitByInvalid {
        /// The date given.
        date: NaiveDate,
        /// Today.
        today: NaiveDate,
    },
    /// A decision on a subject that is not deviated (NOT_DEVIATED).
    #[error("{}", self.chinese())]
    NotDeviated,
}

impl WorkflowError {
    /// Stable reason code (`google.rpc.ErrorInfo.reason`, domain `pbm.monitoring`).
    pub fn reason(&self) -> &'static str {
        match self {
            WorkflowError::RoleNotAllowed { .. } => "ROLE_NOT_ALLOWED",
            WorkflowError::IllegalTransition { .. } => "ILLEGAL_TRANSITION",
            WorkflowError::StaleRevision { .. } => "STALE_REVISION",
            WorkflowError::RoundLocked { .. } => "ROUND_LOCKED",
            WorkflowError::RoundClosed => "ROUND_CLOSED",
            WorkflowError::CommentsRequired => "COMMENTS_REQUIRED",
            WorkflowError::CompletionNoteRequired => "COMPLETION_NOTE_REQUIRED",
            WorkflowError::TextTooLong { .. } => "TEXT_TOO_LONG",
            WorkflowError::ResubmitByRequired { .. } => "RESUBMIT_BY_REQUIRED",
            WorkflowError::ResubmitByInvalid { .. } => "RESUBMIT_BY_INVALID",
            WorkflowError::NotDeviated => "NOT_DEVIATED",
        }
    }

    /// How the transport layer reports it.
    pub fn class(&self) -> ErrorClass {
        match self {
            WorkflowError::RoleNotAllowed { .. } => ErrorClass::PermissionDenied,
            WorkflowError::IllegalTransition { .. }
            | WorkflowError::RoundLocked { .. }
            | WorkflowError::RoundClosed
            | WorkflowError::NotDeviated => ErrorClass::FailedPrecondition,
            WorkflowError::StaleRevision { .. } => ErrorClass::Aborted,
            WorkflowError::CommentsRequired
            | WorkflowError::CompletionNoteRequired
            | WorkflowError::TextTooLong { .. }
            | WorkflowError::ResubmitByRequired { .. }
            | WorkflowError::ResubmitByInvalid { .. } => ErrorClass::InvalidArgument,
        }
    }

    /// The message for a finance clerk.
    pub fn chinese(&self) -> String {
        match self {
            WorkflowError::RoleNotAllowed { role, action } => {
                format!("{}无权执行「{action}」操作", role.chinese())
            }
            WorkflowError::IllegalTransition { what, from, action } => {
                format!("{what}当前状态为「{from}」，不能执行「{action}」操作")
            }
            WorkflowError::StaleRevision { expected, actual } => format!(
                "记录已被他人修改（您读取的是第{expected}次变更后的版本，当前为第{actual}次），\
                 请刷新后重试"
            ),
            WorkflowError::RoundLocked { deadline } => format!(
                "本轮监控的填报截止日期（{deadline}）已过，不能再保存或提交；\
                 如需补报，请联系财政部门重新开放"
            ),
            WorkflowError::RoundClosed => "本轮监控已结束，监控报告已冻结".into(),
            WorkflowError::CommentsRequired => "退回时必须填写退回意见".into(),
            WorkflowError::CompletionNoteRequired => "标记整改完成时必须填写整改完成情况".into(),
            WorkflowError::TextTooLong { field, max } => format!("{field} 不能超过{max}个字"),
            WorkflowError::ResubmitByRequired { deadline } => {
                format!("填报截止日期（{deadline}）已过，退回时须指定重新提交的截止日期")
            }
            WorkflowError::ResubmitByInvalid { date, today } => {
                format!("重新提交的截止日期 {date} 早于今天（{today}）")
            }
            WorkflowError::NotDeviated => {
                "该项目未出现偏离（预算执行、目标完成和全年预测均非黄色或红色），不能作出处理决定"
                    .into()
            }
        }
    }
}

/// A required text: blank → `missing`, over [`MAX_COMMENT_CHARS`] → TEXT_TOO_LONG.
pub(crate) fn required_text(
    text: &str,
    field: &'static str,
    missing: WorkflowError,
) -> Result<(), WorkflowError> {
    if text.trim().is_empty() {
        return Err(missing);
    }
    optional_text(text, field)
}

/// An optional text within [`MAX_COMMENT_CHARS`].
pub(crate) fn optional_text(text: &str, field: &'static str) -> Result<(), WorkflowError> {
    if text.chars().count() > MAX_COMMENT_CHARS {
        return Err(WorkflowError::TextTooLong {
            field,
            max: MAX_COMMENT_CHARS,
        });
    }
    Ok(())
}

fn status_name(status: Option<ReportStatus>) -> &'static str {
    status.map_or("未填报", ReportStatus::chinese)
}

/// Applies `action` by `role` to the report in `state` (`None`: not yet saved), read by the
/// caller at `expected_revision` (0 for a report not yet saved). Returns the transition, or why
/// it is refused; a refused step changes nothing. See the module doc for the rules.
pub fn apply(
    state: Option<&ReportState>,
    action: &ReportAction,
    role: Role,
    expected_revision: u64,
    ctx: &StepContext,
) -> Result<Transition, WorkflowError> {
    use ReportStatus as S;
    let actual = state.map_or(0, |s| s.revision);
    if actual != expected_revision {
        return Err(WorkflowError::StaleRevision {
            expected: expected_revision,
            actual,
        });
    }
    let kind = action.kind();
    if !kind.roles().contains(&role) {
        return Err(WorkflowError::RoleNotAllowed {
            role,
            action: kind.chinese(),
        });
    }
    if ctx.round_closed {
        return Err(WorkflowError::RoundClosed);
    }
    let locked = is_locked(ctx.today, ctx.eff_deadline);
    if locked && matches!(kind, ReportActionKind::Save | ReportActionKind::Submit) {
        return Err(WorkflowError::RoundLocked {
            deadline: ctx.eff_deadline,
        });
    }
    let from = state.map(|s| s.status);
    let illegal = WorkflowError::IllegalTransition {
        what: "监控报告",
        from: status_name(from),
        action: kind.chinese(),
    };
    let mut reopen_until = None;
    let to = match (from, action) {
        (None | Some(S::Draft | S::Returned), ReportAction::Save) => S::Draft,
        (Some(S::Draft | S::Returned), ReportAction::Submit) => {
            if role == Role::Department && ctx.department_whole {
                S::Checked
            } else {
                S::Submitted
            }
        }
        (Some(S::Submitted), ReportAction::Check { outcome, comments }) => match outcome {
            CheckOutcome::Pass => {
                optional_text(comments, "comments")?;
                S::Checked
            }
            CheckOutcome::Return => {
                required_text(comments, "comments", WorkflowError::CommentsRequired)?;
                S::Returned
            }
        },
        (Some(S::Checked), ReportAction::Accept) => S::Accepted,
        (
            Some(S::Checked | S::Accepted),
            ReportAction::Return {
                comments,
                resubmit_by,
            },
        ) => {
            required_text(comments, "comments", WorkflowError::CommentsRequired)?;
            match resubmit_by {
                Some(date) if *date < ctx.today => {
                    return Err(WorkflowError::ResubmitByInvalid {
                        date: *date,
                        today: ctx.today,
                    });
                }
                Some(date) if locked => reopen_until = Some(*date),
                Some(_) => {}
                None if locked => {
                    return Err(WorkflowError::ResubmitByRequired {
                        deadline: ctx.eff_deadline,
                    });
                }
                None => {}
            }
            S::Returned
        }
        _ => return Err(illegal),
    };
    debug_assert!(
        ALLOWED.contains(&(from, kind, to)),
        "transition missing from ALLOWED"
    );
    Ok(Transition {
        from,
        to: ReportState {
            status: to,
            revision: actual.saturating_add(1),
        },
        action: kind,
        reopen_until,
    })
}

impl fmt::Display for ReportStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.chinese())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, VecDeque};

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 8, n).unwrap()
    }

    fn ctx(today: u32) -> StepContext {
        StepContext {
            today: day(today),
            eff_deadline: day(15),
            round_closed: false,
            department_whole: false,
        }
    }

    fn check(outcome: CheckOutcome, comments: &str) -> ReportAction {
        ReportAction::Check {
            outcome,
            comments: comments.into(),
        }
    }

    fn ret(comments: &str, resubmit_by: Option<NaiveDate>) -> ReportAction {
        ReportAction::Return {
            comments: comments.into(),
            resubmit_by,
        }
    }

    /// Runs steps that must all be accepted; returns the final state.
    fn run(steps: &[(ReportAction, Role)], c: &StepContext) -> ReportState {
        let mut s: Option<ReportState> = None;
        for (a, role) in steps {
            let rev = s.map_or(0, |s| s.revision);
            s = Some(
                apply(s.as_ref(), a, *role, rev, c)
                    .unwrap_or_else(|e| panic!("{a:?} by {role:?}: {e}"))
                    .to,
            );
        }
        s.unwrap()
    }

    #[test]
    fn the_whole_way_and_back() {
        let c = ctx(10);
        let s = run(
            &[
                (ReportAction::Save, Role::BudgetUnit),
                (ReportAction::Submit, Role::BudgetUnit),
                (check(CheckOutcome::Pass, ""), Role::Department),
                (ReportAction::Accept, Role::Finance),
                (ret("预测值依据不足", None), Role::Finance),
                (ReportAction::Save, Role::Department),
                (ReportAction::Submit, Role::Department),
            ],
            &c,
        );
        assert_eq!((s.status, s.revision), (ReportStatus::Submitted, 7));
    }

    #[test]
    fn a_departments_own_report_needs_no_check() {
        let c = StepContext {
            department_whole: true,
            ..ctx(10)
        };
        let s = run(
            &[
                (ReportAction::Save, Role::Department),
                (ReportAction::Submit, Role::Department),
            ],
            &c,
        );
        assert_eq!(s.status, ReportStatus::Checked);
    }

    #[test]
    fn refusals_carry_their_codes() {
        let c = ctx(10);
        let draft = ReportState {
            status: ReportStatus::Draft,
            revision: 3,
        };
        let e = |r: Result<Transition, WorkflowError>| {
            let e = r.unwrap_err();
            (e.reason(), e.class())
        };
        assert_eq!(
            e(apply(
                Some(&draft),
                &ReportAction::Save,
                Role::BudgetUnit,
                2,
                &c
            )),
            ("STALE_REVISION", ErrorClass::Aborted)
        );
        assert_eq!(
            e(apply(
                Some(&draft),
                &ReportAction::Accept,
                Role::Department,
                3,
                &c
            )),
            ("ROLE_NOT_ALLOWED", ErrorClass::PermissionDenied)
        );
        let err = apply(Some(&draft), &ReportAction::Accept, Role::Finance, 3, &c).unwrap_err();
        assert_eq!(err.reason(), "ILLEGAL_TRANSITION");
        assert_eq!(
            err.to_string(),
            "监控报告当前状态为「草稿」，不能执行「接收」操作"
        );
        assert_eq!(
            e(apply(None, &ReportAction::Submit, Role::BudgetUnit, 0, &c)),
            ("ILLEGAL_TRANSITION", ErrorClass::FailedPrecondition)
        );
        let submitted = ReportState {
            status: ReportStatus::Submitted,
            revision: 4,
        };
        assert_eq!(
            e(apply(
                Some(&submitted),
                &check(CheckOutcome::Return, " "),
                Role::Department,
                4,
                &c
            )),
            ("COMMENTS_REQUIRED", ErrorClass::InvalidArgument)
        );
        let long = "意".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            e(apply(
                Some(&submitted),
                &check(CheckOutcome::Pass, &long),
                Role::Department,
                4,
                &c
            )),
            ("TEXT_TOO_LONG", ErrorClass::InvalidArgument)
        );
        let closed = StepContext {
            round_closed: true,
            ..c
        };
        assert_eq!(
            e(apply(
                Some(&draft),
                &ReportAction::Save,
                Role::BudgetUnit,
                3,
                &closed
            )),
            ("ROUND_CLOSED", ErrorClass::FailedPrecondition)
        );
    }

    #[test]
    fn after_the_deadline_saves_lock_and_returns_reopen() {
        let late = ctx(16);
        let draft = ReportState {
            status: ReportStatus::Draft,
            revision: 1,
        };
        let locked = apply(
            Some(&draft),
            &ReportAction::Save,
            Role::BudgetUnit,
            1,
            &late,
        )
        .unwrap_err();
        assert_eq!(locked.reason(), "ROUND_LOCKED");
        assert!(locked.to_string().contains("2026-08-15"));
        // The department still checks, finance still accepts and returns, with a date.
        let submitted = ReportState {
            status: ReportStatus::Submitted,
            revision: 2,
        };
        let t = apply(
            Some(&submitted),
            &check(CheckOutcome::Pass, ""),
            Role::Department,
            2,
            &late,
        )
        .unwrap();
        let e = apply(Some(&t.to), &ret("补充原因", None), Role::Finance, 3, &late).unwrap_err();
        assert_eq!(e.reason(), "RESUBMIT_BY_REQUIRED");
        let e = apply(
            Some(&t.to),
            &ret("补充原因", Some(day(15))),
            Role::Finance,
            3,
            &late,
        )
        .unwrap_err();
        assert_eq!(e.reason(), "RESUBMIT_BY_INVALID");
        let r = apply(
            Some(&t.to),
            &ret("补充原因", Some(day(20))),
            Role::Finance,
            3,
            &late,
        )
        .unwrap();
        assert_eq!(
            (r.to.status, r.reopen_until),
            (ReportStatus::Returned, Some(day(20)))
        );
        // Before the deadline the date is not needed, and not applied.
        let early = apply(
            Some(&t.to),
            &ret("补充原因", Some(day(20))),
            Role::Finance,
            3,
            &ctx(10),
        )
        .unwrap();
        assert_eq!(early.reopen_until, None);
    }

    /// The generated steps: payloads valid or deliberately broken.
    #[derive(Debug, Clone, Copy)]
    enum Step {
        Save,
        Submit,
        Check {
            pass: bool,
            comments: bool,
        },
        Accept,
        Return {
            comments: bool,
            resubmit: Option<i8>,
        },
    }

    impl Step {
        fn action(self, today: NaiveDate) -> ReportAction {
            let text = |ok: bool| {
                if ok {
                    "意见".to_owned()
                } else {
                    String::new()
                }
            };
            match self {
                Step::Save => ReportAction::Save,
                Step::Submit => ReportAction::Submit,
                Step::Check { pass, comments } => ReportAction::Check {
                    outcome: if pass {
                        CheckOutcome::Pass
                    } else {
                        CheckOutcome::Return
                    },
                    comments: text(comments),
                },
                Step::Accept => ReportAction::Accept,
                Step::Return { comments, resubmit } => ReportAction::Return {
                    comments: text(comments),
                    resubmit_by: resubmit.map(|d| {
                        today
                            .checked_add_signed(chrono::TimeDelta::days(i64::from(d)))
                            .unwrap()
                    }),
                },
            }
        }
    }

    /// An independent statement of the table and of the order of the checks.
    #[allow(clippy::too_many_arguments)]
    fn model(
        from: Option<ReportStatus>,
        step: Step,
        role: Role,
        stale: bool,
        locked: bool,
        closed: bool,
        whole: bool,
    ) -> Result<ReportStatus, &'static str> {
        use ReportStatus as S;
        use Role as R;
        if stale {
            return Err("STALE_REVISION");
        }
        let allowed = match step {
            Step::Save | Step::Submit => role == R::BudgetUnit || role == R::Department,
            Step::Check { .. } => role == R::Department,
            Step::Accept | Step::Return { .. } => role == R::Finance,
        };
        if !allowed {
            return Err("ROLE_NOT_ALLOWED");
        }
        if closed {
            return Err("ROUND_CLOSED");
        }
        if locked && matches!(step, Step::Save | Step::Submit) {
            return Err("ROUND_LOCKED");
        }
        match (from, step) {
            (None | Some(S::Draft) | Some(S::Returned), Step::Save) => Ok(S::Draft),
            (Some(S::Draft) | Some(S::Returned), Step::Submit) => {
                Ok(if whole && role == R::Department {
                    S::Checked
                } else {
                    S::Submitted
                })
            }
            (Some(S::Submitted), Step::Check { pass: true, .. }) => Ok(S::Checked),
            (
                Some(S::Submitted),
                Step::Check {
                    pass: false,
                    comments,
                },
            ) => {
                if comments {
                    Ok(S::Returned)
                } else {
                    Err("COMMENTS_REQUIRED")
                }
            }
            (Some(S::Checked), Step::Accept) => Ok(S::Accepted),
            (Some(S::Checked) | Some(S::Accepted), Step::Return { comments, resubmit }) => {
                if !comments {
                    Err("COMMENTS_REQUIRED")
                } else if resubmit.is_some_and(|d| d < 0) {
                    Err("RESUBMIT_BY_INVALID")
                } else if locked && resubmit.is_none() {
                    Err("RESUBMIT_BY_REQUIRED")
                } else {
                    Ok(S::Returned)
                }
            }
            _ => Err("ILLEGAL_TRANSITION"),
        }
    }

    fn arb_step() -> impl Strategy<Value = Step> {
        let ok = prop::bool::weighted(0.85);
        prop_oneof![
            3 => Just(Step::Save),
            3 => Just(Step::Submit),
            3 => (any::<bool>(), ok).prop_map(|(pass, comments)| Step::Check { pass, comments }),
            2 => Just(Step::Accept),
            2 => (ok, prop::option::of(-3i8..10)).prop_map(|(comments, resubmit)| Step::Return { comments, resubmit }),
        ]
    }

    fn arb_role() -> impl Strategy<Value = Role> {
        prop_oneof![
            6 => prop::sample::select(vec![Role::BudgetUnit, Role::Department, Role::Finance]),
            1 => prop::sample::select(Role::ALL.to_vec()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn the_workflow_agrees_with_the_model(
            whole in any::<bool>(),
            steps in prop::collection::vec(
                (arb_step(), arb_role(), prop::bool::weighted(0.05), prop::bool::weighted(0.15), prop::bool::weighted(0.03)),
                0..60,
            )
        ) {
            let mut state: Option<ReportState> = None;
            for (step, role, stale, locked, closed) in steps {
                let today = if locked { day(20) } else { day(10) };
                let c = StepContext { today, eff_deadline: day(15), round_closed: closed, department_whole: whole };
                let revision = state.map_or(0, |s| s.revision);
                let expected_revision = if stale { revision + 1 } else { revision };
                let action = step.action(today);
                let from = state.map(|s| s.status);
                let got = apply(state.as_ref(), &action, role, expected_revision, &c);
                let want = model(from, step, role, stale, locked, closed, whole);
                match (&got, want) {
                    (Ok(t), Ok(to)) => {
                        prop_assert_eq!(t.to.status, to);
                        prop_assert_eq!(t.to.revision, revision + 1);
                        prop_assert!(ALLOWED.contains(&(from, action.kind(), to)));
                        let reopen = matches!(step, Step::Return { resubmit: Some(_), .. }) && locked;
                        prop_assert_eq!(t.reopen_until.is_some(), reopen);
                        state = Some(t.to);
                    }
                    (Err(e), Err(reason)) => {
                        prop_assert_eq!(e.reason(), reason);
                        prop_assert!(!e.chinese().is_empty());
                    }
                    _ => {
                        let message = format!("{step:?} by {role:?} from {from:?}: apply {got:?}, model {want:?}");
                        return Err(TestCaseError::fail(message));
                    }
                }
            }
        }
    }

    /// Breadth-first over every reachable state: each row of [`ALLOWED`] is used.
    #[test]
    fn every_allowed_row_is_reachable() {
        let steps = [
            (ReportAction::Save, Role::BudgetUnit),
            (ReportAction::Submit, Role::BudgetUnit),
            (ReportAction::Submit, Role::Department),
            (check(CheckOutcome::Pass, ""), Role::Department),
            (check(CheckOutcome::Return, "退回"), Role::Department),
            (ReportAction::Accept, Role::Finance),
            (ret("退回", None), Role::Finance),
        ];
        let mut rows = BTreeSet::new();
        for whole in [false, true] {
            let c = StepContext {
                department_whole: whole,
                ..ctx(10)
            };
            let mut seen = BTreeSet::new();
            let mut queue = VecDeque::from([None::<ReportStatus>]);
            while let Some(from) = queue.pop_front() {
                if !seen.insert(from) {
                    continue;
                }
                let state = from.map(|status| ReportState {
                    status,
                    revision: 1,
                });
                for (action, role) in &steps {
                    let rev = state.map_or(0, |s| s.revision);
                    if let Ok(t) = apply(state.as_ref(), action, *role, rev, &c) {
                        rows.insert((from, action.kind(), t.to.status));
                        queue.push_back(Some(t.to.status));
                    }
                }
            }
        }
        assert_eq!(rows, ALLOWED.iter().copied().collect::<BTreeSet<_>>());
    }
}
