//! A self-evaluation sheet's (自评表) states and the guarded steps between them.
//!
//! Rule: docs/DOMAIN.md "Self-evaluation, spot checks, key evaluations" (the unit fills its
//! sheet, the department reviews its units, finance receives; the sheets lock after the
//! deadline, a reopening is audited) and docs/EVALUATION.md "Workflow". The table:
//!
//! | from | step | by | to |
//! |---|---|---|---|
//! | NOT_STARTED / DRAFT / RETURNED | Save | unit (部门整体: its department) | DRAFT |
//! | DRAFT / RETURNED | Submit | unit | SUBMITTED |
//! | DRAFT / RETURNED | Submit | department, its 部门整体 sheet | REVIEWED |
//! | SUBMITTED | Review(pass) | department | REVIEWED |
//! | SUBMITTED | Review(return, reason) | department | RETURNED |
//! | REVIEWED | Receive(accept) | finance | RECEIVED |
//! | REVIEWED | Receive(return, reason) | finance | RETURNED |
//!
//! The project's choices:
//! * **Order of the checks** (as monitoring's reports): the revision first (`STALE_REVISION`,
//!   ABORTED), then the role (`ROLE_NOT_ALLOWED`), then a closed campaign (`CAMPAIGN_CLOSED`)
//!   and the lock of saves and submissions after the effective deadline (`CAMPAIGN_LOCKED`),
//!   then the state (`ILLEGAL_TRANSITION`), then the payload (`REASON_REQUIRED`).
//! * **Who fills**: a project's sheet by its unit, a 部门整体 sheet by its department
//!   (`ROLE_NOT_ALLOWED` for the other); a 部门整体 sheet goes straight to REVIEWED on
//!   submission: nobody but finance stands above the department.
//! * **A return after the deadline** changes nothing of the lock: the unit resubmits only once
//!   finance has reopened it (CampaignService/ReopenUnit sets its own deadline).
//! * **Late**: a submission after the campaign's own deadline (possible only when reopened).
//! * Which sheets a caller may take a step on (a unit its own, a department its units' and its
//!   部门整体, finance the region's) is decided by the use case before [`apply`].

use crate::domain::access::Role;
use chrono::NaiveDate;

/// Where a sheet stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SheetStatus {
    /// 未填报: opened, nothing saved yet.
    NotStarted,
    /// 草稿
    Draft,
    /// 已提交: awaiting the department's review.
    Submitted,
    /// 主管部门已审核: awaiting finance.
    Reviewed,
    /// 财政已接收
    Received,
    /// 已退回: back to the unit.
    Returned,
}

// The stored word (`evaluation_sheets.status`) and the name a finance clerk reads.
text_enum!(SheetStatus {
    NotStarted => "not_started", "未填报";
    Draft => "draft", "草稿";
    Submitted => "submitted", "已提交";
    Reviewed => "reviewed", "主管部门已审核";
    Received => "received", "财政已接收";
    Returned => "returned", "已退回";
});

impl SheetStatus {
    /// SUBMITTED, REVIEWED or RECEIVED: counts as submitted for the deadline and statistics.
    pub fn is_submitted(self) -> bool {
        matches!(
            self,
            SheetStatus::Submitted | SheetStatus::Reviewed | SheetStatus::Received
        )
    }
}

/// A step on a sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// SaveSelfEvaluation (and each sheet of ImportSelfEvaluations).
    Save,
    /// SubmitSelfEvaluation.
    Submit,
    /// ReviewSelfEvaluation by the department: pass, or return with a reason.
    Review { pass: bool, reason: String },
    /// ReceiveSelfEvaluation by finance: accept, or return with a reason.
    Receive { accept: bool, reason: String },
}

/// [`Step`] without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepKind {
    Save,
    Submit,
    Review,
    Receive,
}

impl Step {
    pub fn kind(&self) -> StepKind {
        match self {
            Step::Save => StepKind::Save,
            Step::Submit => StepKind::Submit,
            Step::Review { .. } => StepKind::Review,
            Step::Receive { .. } => StepKind::Receive,
        }
    }
}

impl StepKind {
    pub fn chinese(self) -> &'static str {
        match self {
            StepKind::Save => "保存",
            StepKind::Submit => "提交",
            StepKind::Review => "审核",
            StepKind::Receive => "接收",
        }
    }

    /// Roles that may take this step at all (docs/EVALUATION.md "Roles").
    pub fn roles(self) -> &'static [Role] {
        match self {
            StepKind::Save | StepKind::Submit => &[Role::BudgetUnit, Role::Department],
            StepKind::Review => &[Role::Department],
            StepKind::Receive => &[Role::Finance],
        }
    }
}

/// Every accepted step as (from, step, to). [`apply`] is written as guarded code; this table is
/// its specification, checked by the model test.
pub const ALLOWED: &[(SheetStatus, StepKind, SheetStatus)] = {
    use SheetStatus as S;
    use StepKind as K;
    &[
        (S::NotStarted, K::Save, S::Draft),
        (S::Draft, K::Save, S::Draft),
        (S::Returned, K::Save, S::Draft),
        (S::Draft, K::Submit, S::Submitted),
        (S::Returned, K::Submit, S::Submitted),
        (S::Draft, K::Submit, S::Reviewed),
        (S::Returned, K::Submit, S::Reviewed),
        (S::Submitted, K::Review, S::Reviewed),
        (S::Submitted, K::Review, S::Returned),
        (S::Reviewed, K::Receive, S::Received),
        (S::Reviewed, K::Receive, S::Returned),
    ]
};

/// What a step depends on besides the sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepContext {
    /// Today in China Standard Time.
    pub today: NaiveDate,
    /// The unit's effective deadline (reopened, else the campaign's).
    pub deadline: NaiveDate,
    /// The campaign's own deadline (a submission after it is late).
    pub campaign_deadline: NaiveDate,
    /// The campaign is CLOSED: every sheet is frozen.
    pub closed: bool,
    /// The sheet is a 部门整体 goal's (`DEPT:<department>`).
    pub department_whole: bool,
}

/// An accepted step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: SheetStatus,
    pub to: SheetStatus,
    pub kind: StepKind,
    /// The revision after the step (+1).
    pub revision: i64,
    /// A submission after the campaign's deadline.
    pub late: bool,
}

impl Transition {
    /// The word of the sheet's history (`saved`, `submitted`, `reviewed`, `received`,
    /// `returned`).
    pub fn action(&self) -> &'static str {
        match (self.kind, self.to) {
            (_, SheetStatus::Returned) => "returned",
            (StepKind::Save, _) => "saved",
            (StepKind::Submit, _) => "submitted",
            (StepKind::Review, _) => "reviewed",
            (StepKind::Receive, _) => "received",
        }
    }
}

/// Longest reason of a return, in characters (the contract's maximum).
pub const MAX_REASON_CHARS: usize = 2000;

/// Why a step was refused: [`WorkflowError::reason`] the stable code, `Display` the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("记录已被他人修改（您读取的是第{expected}版，当前为第{actual}版），请刷新后重试")]
    StaleRevision { expected: i64, actual: i64 },
    #[error("{}无权执行「{}」操作", role.chinese(), step.chinese())]
    RoleNotAllowed { role: Role, step: StepKind },
    #[error("{}", if *.department_whole { "部门整体自评表由主管部门填报" } else { "项目自评表由预算单位填报，主管部门负责审核" })]
    NotTheFiller { department_whole: bool },
    #[error("本年度自评已结束，自评表已冻结")]
    CampaignClosed,
    #[error(
        "自评填报截止日期（{deadline}）已过，不能再保存或提交；如需补报，请联系财政部门重新开放"
    )]
    CampaignLocked { deadline: NaiveDate },
    #[error("自评表当前状态为「{}」，不能执行「{}」操作", from.chinese(), step.chinese())]
    IllegalTransition { from: SheetStatus, step: StepKind },
    #[error("退回时必须填写退回理由")]
    ReasonRequired,
}

impl WorkflowError {
    /// Stable reason code (`ErrorInfo.reason`, domain `pbm.evaluation`).
    pub fn reason(&self) -> &'static str {
        match self {
            WorkflowError::StaleRevision { .. } => "STALE_REVISION",
            WorkflowError::RoleNotAllowed { .. } | WorkflowError::NotTheFiller { .. } => {
                "ROLE_NOT_ALLOWED"
            }
            WorkflowError::CampaignClosed => "CAMPAIGN_CLOSED",
            WorkflowError::CampaignLocked { .. } => "CAMPAIGN_LOCKED",
            WorkflowError::IllegalTransition { .. } => "ILLEGAL_TRANSITION",
            WorkflowError::ReasonRequired => "REASON_REQUIRED",
        }
    }
}

/// Applies `step` by `role` to a sheet in `status` at `revision`, read by the caller at
/// `expected_revision`. A refused step changes nothing. See the module doc for the rules.
pub fn apply(
    status: SheetStatus,
    revision: i64,
    step: &Step,
    role: Role,
    expected_revision: i64,
    ctx: &StepContext,
) -> Result<Transition, WorkflowError> {
    use SheetStatus as S;
    if revision != expected_revision {
        return Err(WorkflowError::StaleRevision {
            expected: expected_revision,
            actual: revision,
        });
    }
    let kind = step.kind();
    if !kind.roles().contains(&role) {
        return Err(WorkflowError::RoleNotAllowed { role, step: kind });
    }
    let filler = if ctx.department_whole {
        Role::Department
    } else {
        Role::BudgetUnit
    };
    if matches!(kind, StepKind::Save | StepKind::Submit) && role != filler {
        return Err(WorkflowError::NotTheFiller {
            department_whole: ctx.department_whole,
        });
    }
    if ctx.closed {
        return Err(WorkflowError::CampaignClosed);
    }
    if matches!(kind, StepKind::Save | StepKind::Submit) && ctx.today > ctx.deadline {
        return Err(WorkflowError::CampaignLocked {
            deadline: ctx.deadline,
        });
    }
    let reason_given = |reason: &str| {
        if reason.trim().is_empty() {
            Err(WorkflowError::ReasonRequired)
        } else {
            Ok(())
        }
    };
    let to = match (status, step) {
        (S::NotStarted | S::Draft | S::Returned, Step::Save) => S::Draft,
        (S::Draft | S::Returned, Step::Submit) if ctx.department_whole => S::Reviewed,
        (S::Draft | S::Returned, Step::Submit) => S::Submitted,
        (S::Submitted, Step::Review { pass: true, .. }) => S::Reviewed,
        (
            S::Submitted,
            Step::Review {
                pass: false,
                reason,
            },
        ) => {
            reason_given(reason)?;
            S::Returned
        }
        (S::Reviewed, Step::Receive { accept: true, .. }) => S::Received,
        (
            S::Reviewed,
            Step::Receive {
                accept: false,
                reason,
            },
        ) => {
            reason_given(reason)?;
            S::Returned
        }
        _ => {
            return Err(WorkflowError::IllegalTransition {
                from: status,
                step: kind,
            });
        }
    };
    debug_assert!(
        ALLOWED.contains(&(status, kind, to)),
        "missing from ALLOWED"
    );
    Ok(Transition {
        from: status,
        to,
        kind,
        revision: revision + 1,
        late: kind == StepKind::Submit && ctx.today > ctx.campaign_deadline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 3, d).unwrap()
    }

    fn ctx(today: u32) -> StepContext {
        StepContext {
            today: day(today),
            deadline: day(31),
            campaign_deadline: day(31),
            closed: false,
            department_whole: false,
        }
    }

    fn run(steps: &[(Step, Role)], c: &StepContext) -> (SheetStatus, i64) {
        let (mut s, mut rev) = (SheetStatus::NotStarted, 0);
        for (step, role) in steps {
            let t = apply(s, rev, step, *role, rev, c).unwrap_or_else(|e| panic!("{step:?}: {e}"));
            (s, rev) = (t.to, t.revision);
        }
        (s, rev)
    }

    fn review(pass: bool, reason: &str) -> Step {
        Step::Review {
            pass,
            reason: reason.into(),
        }
    }

    fn receive(accept: bool, reason: &str) -> Step {
        Step::Receive {
            accept,
            reason: reason.into(),
        }
    }

    #[test]
    fn the_whole_way_with_a_return() {
        let c = ctx(5);
        let end = run(
            &[
                (Step::Save, Role::BudgetUnit),
                (Step::Submit, Role::BudgetUnit),
                (review(false, "偏差原因分析不充分"), Role::Department),
                (Step::Save, Role::BudgetUnit),
                (Step::Submit, Role::BudgetUnit),
                (review(true, ""), Role::Department),
                (receive(false, "佐证材料不足"), Role::Finance),
                (Step::Submit, Role::BudgetUnit),
                (review(true, ""), Role::Department),
                (receive(true, ""), Role::Finance),
            ],
            &c,
        );
        assert_eq!(end, (SheetStatus::Received, 10));
    }

    #[test]
    fn a_departments_own_sheet_is_reviewed_on_submission() {
        let c = StepContext {
            department_whole: true,
            ..ctx(5)
        };
        let end = run(
            &[
                (Step::Save, Role::Department),
                (Step::Submit, Role::Department),
            ],
            &c,
        );
        assert_eq!(end, (SheetStatus::Reviewed, 2));
    }

    #[test]
    fn refusals_in_their_order() {
        let c = ctx(5);
        let code = |r: Result<Transition, WorkflowError>| r.unwrap_err().reason();
        let draft = SheetStatus::Draft;
        // The revision before the role.
        assert_eq!(
            code(apply(draft, 3, &Step::Save, Role::Auditor, 2, &c)),
            "STALE_REVISION"
        );
        assert_eq!(
            code(apply(draft, 3, &Step::Save, Role::Auditor, 3, &c)),
            "ROLE_NOT_ALLOWED"
        );
        let closed = StepContext { closed: true, ..c };
        assert_eq!(
            code(apply(
                draft,
                3,
                &review(true, ""),
                Role::Department,
                3,
                &closed
            )),
            "CAMPAIGN_CLOSED"
        );
        // Locked after the deadline: saves and submissions only.
        let late = ctx(31).with_today(NaiveDate::from_ymd_opt(2027, 4, 1).unwrap());
        assert_eq!(
            code(apply(draft, 3, &Step::Save, Role::BudgetUnit, 3, &late)),
            "CAMPAIGN_LOCKED"
        );
        assert_eq!(
            code(apply(draft, 3, &Step::Submit, Role::BudgetUnit, 3, &late)),
            "CAMPAIGN_LOCKED"
        );
        let returned = apply(
            SheetStatus::Submitted,
            3,
            &review(false, "退回"),
            Role::Department,
            3,
            &late,
        );
        assert_eq!(returned.unwrap().to, SheetStatus::Returned);
        assert_eq!(
            code(apply(draft, 3, &review(true, ""), Role::Department, 3, &c)),
            "ILLEGAL_TRANSITION"
        );
        assert_eq!(
            code(apply(
                SheetStatus::Submitted,
                3,
                &review(false, "  "),
                Role::Department,
                3,
                &c
            )),
            "REASON_REQUIRED"
        );
        assert_eq!(
            code(apply(
                SheetStatus::NotStarted,
                0,
                &Step::Submit,
                Role::BudgetUnit,
                0,
                &c
            )),
            "ILLEGAL_TRANSITION"
        );
    }

    #[test]
    fn statuses_round_trip() {
        assert_eq!(SheetStatus::ALL.len(), 6);
        for &s in SheetStatus::ALL {
            assert_eq!(SheetStatus::from_db(s.as_db()), Some(s));
            assert_eq!(SheetStatus::from_chinese(s.chinese()), Some(s));
        }
    }

    #[test]
    fn a_submission_after_the_campaigns_deadline_is_late() {
        // Reopened until 10 April: the unit may submit, late.
        let c = StepContext {
            deadline: NaiveDate::from_ymd_opt(2027, 4, 10).unwrap(),
            ..ctx(31).with_today(NaiveDate::from_ymd_opt(2027, 4, 2).unwrap())
        };
        let t = apply(
            SheetStatus::Returned,
            4,
            &Step::Submit,
            Role::BudgetUnit,
            4,
            &c,
        )
        .unwrap();
        assert!(t.late);
        assert_eq!(t.action(), "submitted");
        let on_time = apply(
            SheetStatus::Draft,
            1,
            &Step::Submit,
            Role::BudgetUnit,
            1,
            &ctx(31),
        )
        .unwrap();
        assert!(!on_time.late);
    }

    impl StepContext {
        fn with_today(self, today: NaiveDate) -> StepContext {
            StepContext { today, ..self }
        }
    }

    fn any_step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::Save),
            Just(Step::Submit),
            (any::<bool>(), prop_oneof![Just(""), Just("理由")])
                .prop_map(|(pass, r)| review(pass, r)),
            (any::<bool>(), prop_oneof![Just(""), Just("理由")])
                .prop_map(|(accept, r)| receive(accept, r)),
        ]
    }

    fn any_role() -> impl Strategy<Value = Role> {
        proptest::sample::select(Role::ALL.to_vec())
    }

    proptest! {
        /// The model: a step is accepted exactly when the table allows it for the role, the
        /// campaign is open, the lock does not apply and a return has its reason; an accepted
        /// step goes where the table says and counts the revision up by one; a refused step
        /// changes nothing.
        #[test]
        fn apply_follows_the_table(
            steps in proptest::collection::vec((any_step(), any_role(), 0i64..3), 1..40),
            department_whole: bool,
            closed: bool,
            today in 25u32..=31,
        ) {
            let c = StepContext {
                today: day(today),
                deadline: day(28),
                campaign_deadline: day(28),
                closed,
                department_whole,
            };
            let (mut status, mut revision) = (SheetStatus::NotStarted, 0i64);
            for (step, role, lag) in steps {
                let expected = revision - lag;
                let kind = step.kind();
                let result = apply(status, revision, &step, role, expected, &c);
                let reason_missing = match &step {
                    Step::Review { pass: false, reason } | Step::Receive { accept: false, reason } => reason.is_empty(),
                    _ => false,
                };
                let target = ALLOWED.iter().find(|(f, k, to)| {
                    *f == status && *k == kind && match (&step, to) {
                        (Step::Submit, SheetStatus::Reviewed) => department_whole,
                        (Step::Submit, _) => !department_whole,
                        (Step::Review { pass, .. }, to) => *pass == (*to == SheetStatus::Reviewed),
                        (Step::Receive { accept, .. }, to) => *accept == (*to == SheetStatus::Received),
                        _ => true,
                    }
                });
                let locked = matches!(kind, StepKind::Save | StepKind::Submit) && c.today > c.deadline;
                let filler = if department_whole { Role::Department } else { Role::BudgetUnit };
                let fills = !matches!(kind, StepKind::Save | StepKind::Submit) || role == filler;
                let ok = lag == 0 && kind.roles().contains(&role) && fills && !closed && !locked
                    && target.is_some() && !reason_missing;
                prop_assert_eq!(result.is_ok(), ok, "{:?} {:?} from {:?}: {:?}", step, role, status, result);
                if let Ok(t) = result {
                    prop_assert_eq!(Some(t.to), target.map(|t| t.2));
                    prop_assert_eq!(t.revision, revision + 1);
                    (status, revision) = (t.to, t.revision);
                }
            }
        }
    }
}
