//! The goal workflow in step with the budget (二上二下): a guarded state machine.
//!
//! Rule: docs/DOMAIN.md "Budget cycle (二上二下)" (declared, reviewed and approved in step with
//! the budget; 四个同步), docs/DOMAIN.md "Review and approval" (优 → advances; 良 → finance amends
//! (audit-logged) and it advances; 中 → returned to the unit for revision and resubmission; 差 →
//! blocked this cycle) and docs/DOMAIN.md "Adjustments" (once approved, a goal changes only
//! through an adjustment request that carries a budget-adjustment reference, and is reviewed
//! again), after 财预〔2015〕88号; 晋城 2019 ("将绩效目标申报与'二上'预算同步进行 … 截止'二下' …
//! 审核不通过的项目退回重新填报"); 洛龙 2019 ("绩效目标批复流程与部门预算'二上二下'同步"); 青岛
//! 2020–2022 二(四) ("对预算执行中有项目内容变化、预算调整且涉及绩效目标的,应同步调整绩效目标,
//! 并按规定报市级财政部门审核确认") — local texts named in docs/DOMAIN.md "Sources".
//!
//! ```text
//! Draft ──Submit (二上)──▶ Submitted ──Review 优/良──▶ Reviewed ──Approve (二下)──▶ Approved
//!                             │  ⟲ AssignReviewer      ⟲ Amend (良 only)              │
//!                             ├──Review 中──▶ Returned ──Submit──▶ Submitted           │ Publish
//!                             └──Review 差──▶ Blocked (terminal for the fiscal year)  ▼
//! Approved | Published ──RequestAdjustment (with reference)──▶ Adjusting       Published
//! Adjusting ──Submit──▶ Submitted (reviewed again: same steps as above, except:)
//!   Review 差 of an adjustment           ──▶ back to Approved | Published (version in force)
//!   CancelAdjustment (Adjusting|Returned) ──▶ back to Approved | Published
//! Draft, Returned, Adjusting ⟲ Edit
//! ```
//!
//! Choices where the rules are silent:
//! * **Versions, not a second goal.** An adjustment opens version *n+1* of the same goal
//!   ([`GoalState::version`]) while the approved version stays in force
//!   ([`GoalState::approved_version`]); the adjustment goes through the same Submitted →
//!   Reviewed → Approved steps. Both versions stay readable (the store keeps one snapshot per
//!   version). A project being adjusted **remains fundable** on its approved version.
//! * **Review of an adjustment.** 中 returns it to the unit (the approved version stays in
//!   force). 差 rejects the adjustment and the goal goes back to its approved version
//!   (Approved, or Published if that version was published): blocking a goal that already
//!   has an approved, funded version would stop a running project, which no bureau does for a
//!   bad adjustment request. The rejected version number is not reused.
//! * **Cancelling an adjustment.** The unit (or finance) may cancel an adjustment that has not
//!   been submitted, or that was returned; the goal goes back to its approved version.
//! * **Who reviews.** Finance, or an expert or agency assigned to the goal (the use case
//!   checks the assignment before building an [`Actor`] with that role). 差 ends the goal's
//!   budget for the year, so only finance may record it; an expert or agency records 中 and
//!   says why in the comments. 中 and 差 need written comments; 优 and 良 may have them.
//! * **良 must be amended.** Approval of a 良 goal needs at least one recorded amendment
//!   (otherwise the outcome was 优); amendments are only for 良, and each carries its diff.
//! * **Publication** (同步公开) is done by finance or by the department, with its budget.
//! * **Check order.** Role first (PERMISSION_DENIED: the actor has no business with the
//!   action), then a blocked goal (GOAL_BLOCKED), then the state (FAILED_PRECONDITION), then
//!   the payload (INVALID_ARGUMENT). [`apply_expecting`] checks the revision before all
//!   (ABORTED). Retries of the same request are recognised by the use case (request id), not
//!   here.
//! * **Scope of a role** (a unit only its own goals, a department its units', finance its
//!   region) is enforced by the use case before calling [`apply`]; auditors, the province and
//!   the public only read, so every action of theirs is refused here.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::common::char_count;
use crate::domain::goal::FieldChange;

/// Who acts (docs/DOMAIN.md "Regions and roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 预算单位: declares its own goals.
    BudgetUnit,
    /// 主管部门: oversees its units; declares 部门整体 goals.
    Department,
    /// 财政部门 绩效科: reviews, amends, approves.
    Finance,
    /// 评审专家 assigned to review the goal.
    Expert,
    /// 第三方机构 commissioned to review the goal.
    Agency,
    /// 审计、人大: read only.
    Auditor,
    /// 省级平台: read only.
    Province,
    /// 社会公众: reads published goals only.
    Public,
}

text_enum!(Role {
    BudgetUnit => "budget_unit", "预算单位";
    Department => "department", "主管部门";
    Finance => "finance_admin", "财政部门";
    Expert => "expert", "评审专家";
    Agency => "agency", "第三方机构";
    Auditor => "auditor", "审计监督";
    Province => "province", "省级平台";
    Public => "public", "社会公众";
});

/// The actor of an action: a role and who (user or organisation id, for the history).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// The role the actor acts in.
    pub role: Role,
    /// Who, as recorded in the history.
    pub id: String,
}

impl Actor {
    /// Builds an actor.
    pub fn new(role: Role, id: impl Into<String>) -> Self {
        Self {
            role,
            id: id.into(),
        }
    }
}

/// 审核结果 of a goal review (docs/DOMAIN.md "Review and approval" (财预〔2015〕88号)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    /// 优: advances.
    Excellent,
    /// 良: finance amends, then it advances.
    Good,
    /// 中: returned to the unit for revision.
    Fair,
    /// 差: blocked for this cycle.
    Poor,
}

text_enum!(ReviewOutcome {
    Excellent => "excellent", "优";
    Good => "good", "良";
    Fair => "fair", "中";
    Poor => "poor", "差";
});

impl ReviewOutcome {
    /// 优 and 良 pass the review ("审核通过").
    pub fn passes(self) -> bool {
        matches!(self, ReviewOutcome::Excellent | ReviewOutcome::Good)
    }
}

/// Where a goal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// 草稿: the unit is writing the first version.
    Draft,
    /// 已申报（二上）: submitted with the budget request, awaiting review.
    Submitted,
    /// 已审核: reviewed 优 or 良 (never 中/差), awaiting approval.
    Reviewed {
        /// 优 or 良.
        outcome: ReviewOutcome,
        /// Amendments recorded by finance since the review.
        amendments: u32,
    },
    /// 已退回: reviewed 中, back with the unit for revision.
    Returned,
    /// 本年度不予安排: reviewed 差; terminal for the fiscal year.
    Blocked,
    /// 已批复（二下）.
    Approved,
    /// 已公开.
    Published,
    /// 调整中: an adjustment version is being written; the approved version stays in force.
    Adjusting,
}

/// [`Status`] without its data: for tables, the database and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// 草稿
    Draft,
    /// 已申报（二上）
    Submitted,
    /// 已审核
    Reviewed,
    /// 已退回
    Returned,
    /// 本年度不予安排
    Blocked,
    /// 已批复（二下）
    Approved,
    /// 已公开
    Published,
    /// 调整中
    Adjusting,
}

text_enum!(StatusKind {
    Draft => "draft", "草稿";
    Submitted => "submitted", "已申报（二上）";
    Reviewed => "reviewed", "已审核";
    Returned => "returned", "已退回修改";
    Blocked => "blocked", "本年度不予安排";
    Approved => "approved", "已批复（二下）";
    Published => "published", "已公开";
    Adjusting => "adjusting", "调整中";
});

impl Status {
    /// The status without its data.
    pub fn kind(self) -> StatusKind {
        match self {
            Status::Draft => StatusKind::Draft,
            Status::Submitted => StatusKind::Submitted,
            Status::Reviewed { .. } => StatusKind::Reviewed,
            Status::Returned => StatusKind::Returned,
            Status::Blocked => StatusKind::Blocked,
            Status::Approved => StatusKind::Approved,
            Status::Published => StatusKind::Published,
            Status::Adjusting => StatusKind::Adjusting,
        }
    }

    /// The status as a finance clerk reads it (`已审核（良，已修改2次）`).
    pub fn chinese(self) -> String {
        match self {
            Status::Reviewed {
                outcome,
                amendments: 0,
            } => format!("已审核（{}）", outcome.chinese()),
            Status::Reviewed {
                outcome,
                amendments,
            } => format!("已审核（{}，已修改{amendments}次）", outcome.chinese()),
            other => other.kind().chinese().to_owned(),
        }
    }
}

/// The workflow state of one goal for one fiscal year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GoalState {
    /// Where the goal stands (flattened in JSON: `"status": "reviewed", "outcome": "good"`).
    #[serde(flatten)]
    pub status: Status,
    /// The version being worked on: 1 for the declaration, +1 for each adjustment request.
    pub version: u32,
    /// The approved version in force (二下), if any: what the budget and monitoring use.
    pub approved_version: Option<u32>,
    /// The latest published version, if any: what the public reads.
    pub published_version: Option<u32>,
    /// Outcome of the first review of version 1 (statistics: "passed first review").
    pub first_review: Option<ReviewOutcome>,
    /// Count of accepted transitions: the optimistic-concurrency token (stale → ABORTED).
    pub revision: u64,
}

impl GoalState {
    /// A new goal: a draft of version 1.
    pub fn new() -> Self {
        Self {
            status: Status::Draft,
            version: 1,
            approved_version: None,
            published_version: None,
            first_review: None,
            revision: 0,
        }
    }

    /// True while an approved version is in force (also during an adjustment).
    pub fn has_approved_version(&self) -> bool {
        self.approved_version.is_some()
    }

    /// True while an adjustment of an approved goal is under way.
    pub fn is_adjusting(&self) -> bool {
        self.approved_version.is_some()
            && matches!(
                self.status,
                Status::Adjusting | Status::Submitted | Status::Reviewed { .. } | Status::Returned
            )
    }

    /// The status of the version in force: Published if it was published, else Approved.
    fn in_force_status(&self) -> Status {
        if self.published_version.is_some() && self.published_version == self.approved_version {
            Status::Published
        } else {
            Status::Approved
        }
    }
}

impl Default for GoalState {
    fn default() -> Self {
        Self::new()
    }
}

/// Kind of reviewer assigned to a goal (drawn from the pool by the agency service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewerKind {
    /// 专家
    Expert,
    /// 第三方机构
    Agency,
}

text_enum!(ReviewerKind { Expert => "expert", "专家"; Agency => "agency", "第三方机构"; });

/// A reviewer assigned to a goal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reviewer {
    /// Expert or agency.
    pub kind: ReviewerKind,
    /// Expert id or the agency's 统一社会信用代码.
    pub id: String,
}

/// An action on a goal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// 修改: the unit edits the version being written (Draft, Returned, Adjusting).
    Edit,
    /// 申报（二上）/ 重新申报 / 调整申报.
    Submit,
    /// 指派评审: finance assigns an expert or agency to review.
    AssignReviewer {
        /// Who reviews.
        reviewer: Reviewer,
    },
    /// 审核 with its outcome.
    Review {
        /// 优/良/中/差.
        outcome: ReviewOutcome,
        /// 审核意见 (required for 中 and 差).
        comments: String,
    },
    /// 财政修改 of a 良 goal, with the diff for the audit log.
    Amend {
        /// Changed fields.
        changes: Vec<FieldChange>,
    },
    /// 批复（二下）.
    Approve,
    /// 公开.
    Publish,
    /// 申请调整 after approval, carrying the budget-adjustment reference (预算调整文号/单号).
    RequestAdjustment {
        /// Reference of the budget adjustment (追加调剂) the goal change follows.
        budget_adjustment_ref: String,
        /// Why the goal changes.
        reason: String,
    },
    /// 撤销调整: the adjustment is abandoned; the approved version stays in force.
    CancelAdjustment {
        /// Why.
        reason: String,
    },
}

/// [`Action`] without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// 修改
    Edit,
    /// 申报
    Submit,
    /// 指派评审
    AssignReviewer,
    /// 审核
    Review,
    /// 财政修改
    Amend,
    /// 批复（二下）
    Approve,
    /// 公开
    Publish,
    /// 申请调整
    RequestAdjustment,
    /// 撤销调整
    CancelAdjustment,
}

text_enum!(ActionKind {
    Edit => "edit", "修改";
    Submit => "submit", "申报";
    AssignReviewer => "assign_reviewer", "指派评审";
    Review => "review", "审核";
    Amend => "amend", "财政修改";
    Approve => "approve", "批复（二下）";
    Publish => "publish", "公开";
    RequestAdjustment => "request_adjustment", "申请调整";
    CancelAdjustment => "cancel_adjustment", "撤销调整";
});

impl Action {
    /// The action without its data.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Edit => ActionKind::Edit,
            Action::Submit => ActionKind::Submit,
            Action::AssignReviewer { .. } => ActionKind::AssignReviewer,
            Action::Review { .. } => ActionKind::Review,
            Action::Amend { .. } => ActionKind::Amend,
            Action::Approve => ActionKind::Approve,
            Action::Publish => ActionKind::Publish,
            Action::RequestAdjustment { .. } => ActionKind::RequestAdjustment,
            Action::CancelAdjustment { .. } => ActionKind::CancelAdjustment,
        }
    }
}

impl ActionKind {
    /// Roles that may take this action at all.
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            ActionKind::Edit | ActionKind::Submit | ActionKind::RequestAdjustment => {
                &[BudgetUnit, Department]
            }
            ActionKind::AssignReviewer | ActionKind::Amend | ActionKind::Approve => &[Finance],
            ActionKind::Review => &[Finance, Expert, Agency],
            ActionKind::Publish => &[Finance, Department],
            ActionKind::CancelAdjustment => &[BudgetUnit, Department, Finance],
        }
    }
}

/// Every accepted transition, as (from, action, to). [`apply`] is written as guarded code;
/// this table is its specification, checked by the state-machine property test.
pub const ALLOWED: &[(StatusKind, ActionKind, StatusKind)] = {
    use ActionKind as A;
    use StatusKind as S;
    &[
        (S::Draft, A::Edit, S::Draft),
        (S::Draft, A::Submit, S::Submitted),
        (S::Submitted, A::AssignReviewer, S::Submitted),
        (S::Submitted, A::Review, S::Reviewed),
        (S::Submitted, A::Review, S::Returned),
        (S::Submitted, A::Review, S::Blocked),
        // 差 on an adjustment: back to the version in force.
        (S::Submitted, A::Review, S::Approved),
        (S::Submitted, A::Review, S::Published),
        (S::Reviewed, A::Amend, S::Reviewed),
        (S::Reviewed, A::Approve, S::Approved),
        (S::Returned, A::Edit, S::Returned),
        (S::Returned, A::Submit, S::Submitted),
        (S::Returned, A::CancelAdjustment, S::Approved),
        (S::Returned, A::CancelAdjustment, S::Published),
        (S::Approved, A::Publish, S::Published),
        (S::Approved, A::RequestAdjustment, S::Adjusting),
        (S::Published, A::RequestAdjustment, S::Adjusting),
        (S::Adjusting, A::Edit, S::Adjusting),
        (S::Adjusting, A::Submit, S::Submitted),
        (S::Adjusting, A::CancelAdjustment, S::Approved),
        (S::Adjusting, A::CancelAdjustment, S::Published),
    ]
};

/// An accepted action: the state before and after, what was done and by whom. The use case
/// stores it as one history row (full history per goal) in the same transaction as the new
/// state; an [`Action::Amend`] row carries its diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// State before.
    pub from: GoalState,
    /// State after.
    pub to: GoalState,
    /// The action taken.
    pub action: Action,
    /// Who took it.
    pub actor: Actor,
}

/// How the transport layer reports a [`WorkflowError`] (docs/ARCHITECTURE.md "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// `InvalidArgument`: the action's data is incomplete.
    InvalidArgument,
    /// `FailedPrecondition`: an illegal step for the goal's state.
    FailedPrecondition,
    /// `PermissionDenied`: the role may not take the action.
    PermissionDenied,
    /// `Aborted`: the goal changed since the caller read it; read again and retry.
    Aborted,
}

/// Longest comment, reason or opinion, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// Longest budget-adjustment reference or reviewer id, in characters.
pub const MAX_REF_CHARS: usize = 64;

/// Why an action was refused. [`WorkflowError::reason`] is the stable code,
/// [`WorkflowError::class`] the gRPC status class, and `Display` the Chinese message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// The role may not take this action (ROLE_NOT_ALLOWED).
    #[error("{}", self.chinese())]
    RoleNotAllowed {
        /// The actor's role.
        role: Role,
        /// The action.
        action: ActionKind,
    },
    /// Only finance may record 差 (ROLE_NOT_ALLOWED).
    #[error("{}", self.chinese())]
    PoorOutcomeReservedToFinance {
        /// The reviewer's role.
        role: Role,
    },
    /// The goal was reviewed 差 and is blocked for this fiscal year (GOAL_BLOCKED).
    #[error("{}", self.chinese())]
    Blocked {
        /// The refused action.
        action: ActionKind,
    },
    /// The action is not possible in the current state (ILLEGAL_TRANSITION).
    #[error("{}", self.chinese())]
    IllegalTransition {
        /// The current status.
        from: StatusKind,
        /// The refused action.
        action: ActionKind,
    },
    /// An approved goal changes only through an adjustment request (ADJUSTMENT_REQUIRED).
    #[error("{}", self.chinese())]
    AdjustmentRequired,
    /// A 良 goal must be amended by finance before approval (AMENDMENT_REQUIRED).
    #[error("{}", self.chinese())]
    AmendmentRequired,
    /// 中 and 差 need written comments (COMMENTS_REQUIRED).
    #[error("{}", self.chinese())]
    CommentsRequired {
        /// The outcome being recorded.
        outcome: ReviewOutcome,
    },
    /// An amendment without changes (AMENDMENT_EMPTY).
    #[error("{}", self.chinese())]
    AmendmentEmpty,
    /// A change with a blank field or identical before and after (AMENDMENT_INVALID).
    #[error("{}", self.chinese())]
    AmendmentInvalid {
        /// Index of the change in the list.
        index: usize,
    },
    /// An adjustment request without a budget-adjustment reference
    /// (ADJUSTMENT_REFERENCE_REQUIRED).
    #[error("{}", self.chinese())]
    AdjustmentReferenceRequired,
    /// A blank reason (REASON_REQUIRED).
    #[error("{}", self.chinese())]
    ReasonRequired,
    /// A blank reviewer id (REVIEWER_REQUIRED).
    #[error("{}", self.chinese())]
    ReviewerRequired,
    /// A text over its limit (TEXT_TOO_LONG).
    #[error("{}", self.chinese())]
    TextTooLong {
        /// Field name.
        field: &'static str,
        /// Limit in characters.
        max: usize,
    },
    /// The goal changed since the caller read it (STALE_REVISION).
    #[error("{}", self.chinese())]
    StaleRevision {
        /// Revision the caller read.
        expected: u64,
        /// Current revision.
        actual: u64,
    },
}

impl WorkflowError {
    /// Stable reason code (`google.rpc.ErrorInfo.reason`, domain `pbm.goal`).
    pub fn reason(&self) -> &'static str {
        match self {
            WorkflowError::RoleNotAllowed { .. }
            | WorkflowError::PoorOutcomeReservedToFinance { .. } => "ROLE_NOT_ALLOWED",
            WorkflowError::Blocked { .. } => "GOAL_BLOCKED",
            WorkflowError::IllegalTransition { .. } => "ILLEGAL_TRANSITION",
            WorkflowError::AdjustmentRequired => "ADJUSTMENT_REQUIRED",
            WorkflowError::AmendmentRequired => "AMENDMENT_REQUIRED",
            WorkflowError::CommentsRequired { .. } => "COMMENTS_REQUIRED",
            WorkflowError::AmendmentEmpty => "AMENDMENT_EMPTY",
            WorkflowError::AmendmentInvalid { .. } => "AMENDMENT_INVALID",
            WorkflowError::AdjustmentReferenceRequired => "ADJUSTMENT_REFERENCE_REQUIRED",
            WorkflowError::ReasonRequired => "REASON_REQUIRED",
            WorkflowError::ReviewerRequired => "REVIEWER_REQUIRED",
            WorkflowError::TextTooLong { .. } => "TEXT_TOO_LONG",
            WorkflowError::StaleRevision { .. } => "STALE_REVISION",
        }
    }

    /// How the transport layer reports it.
    pub fn class(&self) -> ErrorClass {
        match self {
            WorkflowError::RoleNotAllowed { .. }
            | WorkflowError::PoorOutcomeReservedToFinance { .. } => ErrorClass::PermissionDenied,
            WorkflowError::Blocked { .. }
            | WorkflowError::IllegalTransition { .. }
            | WorkflowError::AdjustmentRequired
            | WorkflowError::AmendmentRequired => ErrorClass::FailedPrecondition,
            WorkflowError::CommentsRequired { .. }
            | WorkflowError::AmendmentEmpty
            | WorkflowError::AmendmentInvalid { .. }
            | WorkflowError::AdjustmentReferenceRequired
            | WorkflowError::ReasonRequired
            | WorkflowError::ReviewerRequired
            | WorkflowError::TextTooLong { .. } => ErrorClass::InvalidArgument,
            WorkflowError::StaleRevision { .. } => ErrorClass::Aborted,
        }
    }

    /// The message for a finance clerk.
    pub fn chinese(&self) -> String {
        match self {
            WorkflowError::RoleNotAllowed { role, action } => {
                format!("{}无权执行「{}」操作", role.chinese(), action.chinese())
            }
            WorkflowError::PoorOutcomeReservedToFinance { role } => format!(
                "审核结果“差”将导致本年度不予安排预算，只能由财政部门确定；\
                 {}可评为“中”并在审核意见中说明",
                role.chinese()
            ),
            WorkflowError::Blocked { action } => format!(
                "该绩效目标审核结果为“差”，本年度不予安排，不能再执行「{}」操作",
                action.chinese()
            ),
            WorkflowError::IllegalTransition { from, action } => format!(
                "绩效目标当前状态为「{}」，不能执行「{}」操作",
                from.chinese(),
                action.chinese()
            ),
            WorkflowError::AdjustmentRequired => {
                "绩效目标已批复，只能通过调整申请（附预算调整文号）变更".into()
            }
            WorkflowError::AmendmentRequired => {
                "审核结果为“良”的绩效目标须经财政部门修改后才能批复".into()
            }
            WorkflowError::CommentsRequired { outcome } => {
                format!("审核结果为“{}”时必须填写审核意见", outcome.chinese())
            }
            WorkflowError::AmendmentEmpty => "修改记录不能为空：请列出修改的内容".into(),
            WorkflowError::AmendmentInvalid { index } => format!(
                "第{}条修改记录无效：须注明修改的字段，且修改前后内容不能相同",
                index + 1
            ),
            WorkflowError::AdjustmentReferenceRequired => {
                "调整绩效目标须附预算调整文号（预算调剂单号）".into()
            }
            WorkflowError::ReasonRequired => "必须填写原因".into(),
            WorkflowError::ReviewerRequired => "必须指定评审专家或第三方机构".into(),
            WorkflowError::TextTooLong { field, max } => {
                format!("{field} 不能超过{max}个字")
            }
            WorkflowError::StaleRevision { expected, actual } => format!(
                "绩效目标已被他人修改（您读取的是第{expected}次变更后的版本，\
                 当前为第{actual}次），请刷新后重试"
            ),
        }
    }
}

fn required_text(
    text: &str,
    field: &'static str,
    max: usize,
    missing: WorkflowError,
) -> Result<(), WorkflowError> {
    if text.trim().is_empty() {
        return Err(missing);
    }
    if char_count(text) > max {
        return Err(WorkflowError::TextTooLong { field, max });
    }
    Ok(())
}

fn check_changes(changes: &[FieldChange]) -> Result<(), WorkflowError> {
    if changes.is_empty() {
        return Err(WorkflowError::AmendmentEmpty);
    }
    for (index, c) in changes.iter().enumerate() {
        if c.field.trim().is_empty() || c.before == c.after {
            return Err(WorkflowError::AmendmentInvalid { index });
        }
    }
    Ok(())
}

/// Applies `action` by `actor` to `state`. Returns the transition, or why it is refused; a
/// refused action changes nothing (the function is pure). See the module doc for the rules.
pub fn apply(
    state: &GoalState,
    action: &Action,
    actor: &Actor,
) -> Result<Transition, WorkflowError> {
    let kind = action.kind();
    if !kind.roles().contains(&actor.role) {
        return Err(WorkflowError::RoleNotAllowed {
            role: actor.role,
            action: kind,
        });
    }
    if state.status == Status::Blocked {
        return Err(WorkflowError::Blocked { action: kind });
    }
    let illegal = WorkflowError::IllegalTransition {
        from: state.status.kind(),
        action: kind,
    };
    let mut to = *state;
    match (state.status, action) {
        (Status::Draft | Status::Returned | Status::Adjusting, Action::Edit) => {}
        (Status::Approved | Status::Published, Action::Edit) => {
            return Err(WorkflowError::AdjustmentRequired);
        }
        (Status::Draft | Status::Returned | Status::Adjusting, Action::Submit) => {
            to.status = Status::Submitted;
        }
        (Status::Submitted, Action::AssignReviewer { reviewer }) => {
            required_text(
                &reviewer.id,
                "reviewer.id",
                MAX_REF_CHARS,
                WorkflowError::ReviewerRequired,
            )?;
        }
        (Status::Submitted, Action::Review { outcome, comments }) => {
            if *outcome == ReviewOutcome::Poor && actor.role != Role::Finance {
                return Err(WorkflowError::PoorOutcomeReservedToFinance { role: actor.role });
            }
            if outcome.passes() {
                if char_count(comments) > MAX_COMMENT_CHARS {
                    return Err(WorkflowError::TextTooLong {
                        field: "comments",
                        max: MAX_COMMENT_CHARS,
                    });
                }
            } else {
                required_text(
                    comments,
                    "comments",
                    MAX_COMMENT_CHARS,
                    WorkflowError::CommentsRequired { outcome: *outcome },
                )?;
            }
            to.status = match outcome {
                ReviewOutcome::Excellent | ReviewOutcome::Good => Status::Reviewed {
                    outcome: *outcome,
                    amendments: 0,
                },
                ReviewOutcome::Fair => Status::Returned,
                ReviewOutcome::Poor if state.approved_version.is_some() => state.in_force_status(),
                ReviewOutcome::Poor => Status::Blocked,
            };
            if state.first_review.is_none() {
                to.first_review = Some(*outcome);
            }
        }
        (
            Status::Reviewed {
                outcome: ReviewOutcome::Good,
                amendments,
            },
            Action::Amend { changes },
        ) => {
            check_changes(changes)?;
            to.status = Status::Reviewed {
                outcome: ReviewOutcome::Good,
                amendments: amendments.saturating_add(1),
            };
        }
        (
            Status::Reviewed {
                outcome,
                amendments,
            },
            Action::Approve,
        ) => {
            match outcome {
                ReviewOutcome::Excellent => {}
                ReviewOutcome::Good if amendments > 0 => {}
                ReviewOutcome::Good => return Err(WorkflowError::AmendmentRequired),
                // Unreachable by construction: Reviewed only holds 优 or 良.
                ReviewOutcome::Fair | ReviewOutcome::Poor => return Err(illegal),
            }
            to.status = Status::Approved;
            to.approved_version = Some(state.version);
        }
        (Status::Approved, Action::Publish) => {
            to.status = Status::Published;
            to.published_version = state.approved_version;
        }
        (
            Status::Approved | Status::Published,
            Action::RequestAdjustment {
                budget_adjustment_ref,
                reason,
            },
        ) => {
            required_text(
                budget_adjustment_ref,
                "budget_adjustment_ref",
                MAX_REF_CHARS,
                WorkflowError::AdjustmentReferenceRequired,
            )?;
            required_text(
                reason,
                "reason",
                MAX_COMMENT_CHARS,
                WorkflowError::ReasonRequired,
            )?;
            to.status = Status::Adjusting;
            to.version = state.version.saturating_add(1);
        }
        (Status::Adjusting | Status::Returned, Action::CancelAdjustment { reason })
            if state.approved_version.is_some() =>
        {
            required_text(
                reason,
                "reason",
                MAX_COMMENT_CHARS,
                WorkflowError::ReasonRequired,
            )?;
            to.status = state.in_force_status();
        }
        _ => return Err(illegal),
    }
    to.revision = state.revision.saturating_add(1);
    debug_assert!(
        ALLOWED.contains(&(state.status.kind(), kind, to.status.kind())),
        "transition missing from ALLOWED"
    );
    Ok(Transition {
        from: *state,
        to,
        action: action.clone(),
        actor: actor.clone(),
    })
}

/// [`apply`] guarded by the revision the caller read: a stale revision is refused with
/// STALE_REVISION (ABORTED) before anything else is checked.
pub fn apply_expecting(
    state: &GoalState,
    expected_revision: u64,
    action: &Action,
    actor: &Actor,
) -> Result<Transition, WorkflowError> {
    if state.revision != expected_revision {
        return Err(WorkflowError::StaleRevision {
            expected: expected_revision,
            actual: state.revision,
        });
    }
    apply(state, action, actor)
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.chinese())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, HashMap, VecDeque};

    fn unit() -> Actor {
        Actor::new(Role::BudgetUnit, "101001")
    }
    fn dept() -> Actor {
        Actor::new(Role::Department, "101")
    }
    fn finance() -> Actor {
        Actor::new(Role::Finance, "fin-1")
    }
    fn expert() -> Actor {
        Actor::new(Role::Expert, "E-007")
    }

    fn review(outcome: ReviewOutcome, comments: &str) -> Action {
        Action::Review {
            outcome,
            comments: comments.into(),
        }
    }

    fn amend() -> Action {
        Action::Amend {
            changes: vec![FieldChange {
                field: "indicators[1].target_value".into(),
                before: "95".into(),
                after: "98".into(),
            }],
        }
    }

    fn adjust(reference: &str) -> Action {
        Action::RequestAdjustment {
            budget_adjustment_ref: reference.into(),
            reason: "追加预算200万元，新增供水工程3处".into(),
        }
    }

    /// Applies steps that must all be accepted; returns the final state.
    fn run(steps: &[(Action, Actor)]) -> GoalState {
        let mut s = GoalState::new();
        for (a, who) in steps {
            s = apply(&s, a, who)
                .unwrap_or_else(|e| panic!("{a:?} by {who:?}: {e}"))
                .to;
        }
        s
    }

    fn approved_excellent() -> GoalState {
        run(&[
            (Action::Submit, unit()),
            (review(ReviewOutcome::Excellent, ""), finance()),
            (Action::Approve, finance()),
        ])
    }

    fn reason(r: Result<Transition, WorkflowError>) -> &'static str {
        r.map(|_| "OK").unwrap_or_else(|e| e.reason())
    }

    #[test]
    fn excellent_advances_to_approval_and_publication() {
        let s = approved_excellent();
        assert_eq!(s.status, Status::Approved);
        assert_eq!(s.approved_version, Some(1));
        assert_eq!(s.first_review, Some(ReviewOutcome::Excellent));
        assert_eq!(s.revision, 3);
        let p = apply(&s, &Action::Publish, &dept()).unwrap().to;
        assert_eq!(p.status, Status::Published);
        assert_eq!(p.published_version, Some(1));
    }

    #[test]
    fn good_is_amended_by_finance_before_approval() {
        let s = run(&[
            (Action::Submit, unit()),
            (review(ReviewOutcome::Good, "目标值偏低"), expert()),
        ]);
        assert_eq!(
            s.status,
            Status::Reviewed {
                outcome: ReviewOutcome::Good,
                amendments: 0
            }
        );
        let e = apply(&s, &Action::Approve, &finance()).unwrap_err();
        assert_eq!(
            (e.reason(), e.class()),
            ("AMENDMENT_REQUIRED", ErrorClass::FailedPrecondition)
        );
        assert_eq!(reason(apply(&s, &amend(), &unit())), "ROLE_NOT_ALLOWED");
        assert_eq!(
            reason(apply(&s, &Action::Amend { changes: vec![] }, &finance())),
            "AMENDMENT_EMPTY"
        );
        let same = Action::Amend {
            changes: vec![FieldChange {
                field: "year_goal".into(),
                before: "x".into(),
                after: "x".into(),
            }],
        };
        assert_eq!(reason(apply(&s, &same, &finance())), "AMENDMENT_INVALID");
        let t = apply(&s, &amend(), &finance()).unwrap();
        assert_eq!(t.to.status.chinese(), "已审核（良，已修改1次）");
        assert!(matches!(&t.action, Action::Amend { changes } if changes[0].after == "98"));
        let approved = apply(&t.to, &Action::Approve, &finance()).unwrap().to;
        assert_eq!(approved.status, Status::Approved);
    }

    #[test]
    fn excellent_is_not_amended() {
        let s = run(&[
            (Action::Submit, unit()),
            (review(ReviewOutcome::Excellent, ""), finance()),
        ]);
        assert_eq!(
            reason(apply(&s, &amend(), &finance())),
            "ILLEGAL_TRANSITION"
        );
    }

    #[test]
    fn fair_returns_to_the_unit_with_comments_and_is_resubmitted() {
        let s = run(&[(Action::Submit, unit())]);
        let e = apply(&s, &review(ReviewOutcome::Fair, "  "), &expert()).unwrap_err();
        assert_eq!(
            (e.reason(), e.class()),
            ("COMMENTS_REQUIRED", ErrorClass::InvalidArgument)
        );
        let s = apply(&s, &review(ReviewOutcome::Fair, "缺少效益指标"), &expert())
            .unwrap()
            .to;
        assert_eq!(s.status, Status::Returned);
        assert_eq!(s.first_review, Some(ReviewOutcome::Fair));
        let s = apply(&s, &Action::Edit, &unit()).unwrap().to;
        let s = apply(&s, &Action::Submit, &unit()).unwrap().to;
        assert_eq!(s.status, Status::Submitted);
        // A second review does not overwrite the first (statistics: "passed first review").
        let s = apply(&s, &review(ReviewOutcome::Excellent, ""), &finance())
            .unwrap()
            .to;
        assert_eq!(s.first_review, Some(ReviewOutcome::Fair));
    }

    #[test]
    fn poor_blocks_for_the_cycle_and_only_finance_records_it() {
        let s = run(&[(Action::Submit, unit())]);
        let e = apply(&s, &review(ReviewOutcome::Poor, "立项依据不足"), &expert()).unwrap_err();
        assert_eq!(
            (e.reason(), e.class()),
            ("ROLE_NOT_ALLOWED", ErrorClass::PermissionDenied)
        );
        assert!(e.to_string().contains("只能由财政部门确定"), "{e}");
        let blocked = apply(&s, &review(ReviewOutcome::Poor, "立项依据不足"), &finance())
            .unwrap()
            .to;
        assert_eq!(blocked.status, Status::Blocked);
        for (a, who) in [
            (Action::Edit, unit()),
            (Action::Submit, unit()),
            (Action::Approve, finance()),
            (review(ReviewOutcome::Excellent, ""), finance()),
        ] {
            let e = apply(&blocked, &a, &who).unwrap_err();
            assert_eq!(
                (e.reason(), e.class()),
                ("GOAL_BLOCKED", ErrorClass::FailedPrecondition)
            );
        }
    }

    #[test]
    fn approval_needs_a_review() {
        let s = run(&[(Action::Submit, unit())]);
        let e = apply(&s, &Action::Approve, &finance()).unwrap_err();
        assert_eq!(e.reason(), "ILLEGAL_TRANSITION");
        assert_eq!(
            e.to_string(),
            "绩效目标当前状态为「已申报（二上）」，不能执行「批复（二下）」操作"
        );
        assert_eq!(
            reason(apply(&GoalState::new(), &Action::Approve, &finance())),
            "ILLEGAL_TRANSITION"
        );
        assert_eq!(
            reason(apply(&GoalState::new(), &Action::Publish, &finance())),
            "ILLEGAL_TRANSITION"
        );
    }

    #[test]
    fn roles_are_guarded() {
        let s = GoalState::new();
        for who in [
            Role::Finance,
            Role::Expert,
            Role::Agency,
            Role::Auditor,
            Role::Province,
            Role::Public,
        ] {
            let e = apply(&s, &Action::Submit, &Actor::new(who, "x")).unwrap_err();
            assert_eq!(e.reason(), "ROLE_NOT_ALLOWED", "{who:?}");
        }
        let submitted = run(&[(Action::Submit, dept())]);
        assert_eq!(
            reason(apply(
                &submitted,
                &review(ReviewOutcome::Excellent, ""),
                &unit()
            )),
            "ROLE_NOT_ALLOWED"
        );
        assert_eq!(
            reason(apply(
                &submitted,
                &review(ReviewOutcome::Excellent, ""),
                &Actor::new(Role::Agency, "91140500MA0K")
            )),
            "OK"
        );
        let assign = Action::AssignReviewer {
            reviewer: Reviewer {
                kind: ReviewerKind::Agency,
                id: "91140500MA0K".into(),
            },
        };
        assert_eq!(
            reason(apply(&submitted, &assign, &dept())),
            "ROLE_NOT_ALLOWED"
        );
        let t = apply(&submitted, &assign, &finance()).unwrap();
        assert_eq!(
            (t.to.status, t.to.revision),
            (Status::Submitted, submitted.revision + 1)
        );
        let blank = Action::AssignReviewer {
            reviewer: Reviewer {
                kind: ReviewerKind::Expert,
                id: " ".into(),
            },
        };
        assert_eq!(
            reason(apply(&submitted, &blank, &finance())),
            "REVIEWER_REQUIRED"
        );
    }

    #[test]
    fn approved_goals_change_only_through_an_adjustment_with_a_reference() {
        let s = approved_excellent();
        assert_eq!(
            reason(apply(&s, &Action::Edit, &unit())),
            "ADJUSTMENT_REQUIRED"
        );
        assert_eq!(
            reason(apply(&s, &adjust(" "), &unit())),
            "ADJUSTMENT_REFERENCE_REQUIRED"
        );
        assert_eq!(
            reason(apply(&s, &adjust(&"号".repeat(65)), &unit())),
            "TEXT_TOO_LONG"
        );
        let published = apply(&s, &Action::Publish, &finance()).unwrap().to;
        let adjusting = apply(&published, &adjust("晋市财预调〔2019〕12号"), &unit())
            .unwrap()
            .to;
        assert_eq!(adjusting.status, Status::Adjusting);
        assert_eq!(
            (
                adjusting.version,
                adjusting.approved_version,
                adjusting.published_version
            ),
            (2, Some(1), Some(1))
        );
        assert!(adjusting.is_adjusting());
        // Reviewed again: 中 returns it, the unit resubmits, 良 is amended, approval makes v2
        // the version in force; v1 stays published until v2 is published.
        let s = [
            (Action::Edit, unit()),
            (Action::Submit, unit()),
            (
                review(ReviewOutcome::Fair, "调整后的目标值与追加资金不匹配"),
                expert(),
            ),
            (Action::Submit, unit()),
            (review(ReviewOutcome::Good, ""), finance()),
            (amend(), finance()),
            (Action::Approve, finance()),
        ]
        .iter()
        .fold(adjusting, |s, (a, who)| apply(&s, a, who).unwrap().to);
        assert_eq!(s.status, Status::Approved);
        assert_eq!(
            (s.version, s.approved_version, s.published_version),
            (2, Some(2), Some(1))
        );
        assert_eq!(s.first_review, Some(ReviewOutcome::Excellent));
        let s = apply(&s, &Action::Publish, &dept()).unwrap().to;
        assert_eq!(s.published_version, Some(2));
    }

    #[test]
    fn a_poor_adjustment_is_rejected_and_the_approved_version_stays() {
        let published = apply(&approved_excellent(), &Action::Publish, &finance())
            .unwrap()
            .to;
        let s = [(adjust("调-1"), unit()), (Action::Submit, unit())]
            .iter()
            .fold(published, |s, (a, who)| apply(&s, a, who).unwrap().to);
        let back = apply(
            &s,
            &review(ReviewOutcome::Poor, "调整理由不充分"),
            &finance(),
        )
        .unwrap()
        .to;
        assert_eq!(back.status, Status::Published);
        assert_eq!((back.version, back.approved_version), (2, Some(1)));
        // The next adjustment gets version 3: version 2 stays readable as rejected.
        let again = apply(&back, &adjust("调-2"), &unit()).unwrap().to;
        assert_eq!(again.version, 3);
    }

    #[test]
    fn an_adjustment_can_be_cancelled_before_submission_or_after_return() {
        let s = apply(&approved_excellent(), &adjust("调-1"), &dept())
            .unwrap()
            .to;
        assert_eq!(
            reason(apply(
                &s,
                &Action::CancelAdjustment { reason: "".into() },
                &unit()
            )),
            "REASON_REQUIRED"
        );
        let back = apply(
            &s,
            &Action::CancelAdjustment {
                reason: "预算调整撤回".into(),
            },
            &unit(),
        )
        .unwrap()
        .to;
        assert_eq!(back.status, Status::Approved);
        // Without an approved version there is nothing to cancel.
        let returned = run(&[
            (Action::Submit, unit()),
            (review(ReviewOutcome::Fair, "补充指标"), finance()),
        ]);
        assert_eq!(
            reason(apply(
                &returned,
                &Action::CancelAdjustment { reason: "x".into() },
                &unit()
            )),
            "ILLEGAL_TRANSITION"
        );
    }

    #[test]
    fn stale_revisions_are_aborted() {
        let s = run(&[(Action::Submit, unit())]);
        let e =
            apply_expecting(&s, 0, &review(ReviewOutcome::Excellent, ""), &finance()).unwrap_err();
        assert_eq!(
            (e.reason(), e.class()),
            ("STALE_REVISION", ErrorClass::Aborted)
        );
        assert!(apply_expecting(&s, 1, &review(ReviewOutcome::Excellent, ""), &finance()).is_ok());
    }

    #[test]
    fn text_forms_round_trip() {
        for k in StatusKind::ALL {
            assert_eq!(StatusKind::from_db(k.as_db()), Some(*k));
            assert_eq!(StatusKind::from_chinese(k.chinese()), Some(*k));
        }
        for k in ActionKind::ALL {
            assert_eq!(ActionKind::from_db(k.as_db()), Some(*k));
        }
        for r in Role::ALL {
            assert_eq!(Role::from_db(r.as_db()), Some(*r));
        }
        assert_eq!(ReviewOutcome::from_chinese("良"), Some(ReviewOutcome::Good));
        let json = serde_json::to_value(approved_excellent()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "status": "approved",
                "version": 1,
                "approved_version": 1,
                "published_version": null,
                "first_review": "excellent",
                "revision": 3
            })
        );
        let reviewed = GoalState {
            status: Status::Reviewed {
                outcome: ReviewOutcome::Good,
                amendments: 2,
            },
            ..GoalState::new()
        };
        let json = serde_json::to_value(reviewed).unwrap();
        assert_eq!(
            (&json["status"], &json["outcome"], &json["amendments"]),
            (&"reviewed".into(), &"good".into(), &2.into())
        );
        let back: GoalState = serde_json::from_value(json).unwrap();
        assert_eq!(back, reviewed);
    }

    // ---- State-machine property test -------------------------------------------------

    /// A tiny independent model of the workflow, written as a lookup over a different
    /// representation (flat fields, explicit role lists), to be compared with [`apply`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Model {
        kind: StatusKind,
        outcome: Option<ReviewOutcome>,
        amendments: u32,
        version: u32,
        approved: Option<u32>,
        published: Option<u32>,
        first: Option<ReviewOutcome>,
    }

    /// The generated actions: payloads are either valid or deliberately broken.
    #[derive(Debug, Clone, Copy)]
    enum Step {
        Edit,
        Submit,
        Assign {
            valid: bool,
        },
        Review {
            outcome: ReviewOutcome,
            comments: bool,
        },
        Amend {
            valid: bool,
        },
        Approve,
        Publish,
        Adjust {
            reference: bool,
        },
        Cancel {
            reason: bool,
        },
    }

    impl Step {
        fn action(self) -> Action {
            let text = |ok: bool| {
                if ok {
                    "有内容".to_owned()
                } else {
                    " ".to_owned()
                }
            };
            match self {
                Step::Edit => Action::Edit,
                Step::Submit => Action::Submit,
                Step::Assign { valid } => Action::AssignReviewer {
                    reviewer: Reviewer {
                        kind: ReviewerKind::Expert,
                        id: text(valid),
                    },
                },
                Step::Review { outcome, comments } => Action::Review {
                    outcome,
                    comments: text(comments),
                },
                Step::Amend { valid } => Action::Amend {
                    changes: if valid {
                        vec![FieldChange {
                            field: "f".into(),
                            before: "a".into(),
                            after: "b".into(),
                        }]
                    } else {
                        vec![]
                    },
                },
                Step::Approve => Action::Approve,
                Step::Publish => Action::Publish,
                Step::Adjust { reference } => Action::RequestAdjustment {
                    budget_adjustment_ref: text(reference),
                    reason: "预算调整".into(),
                },
                Step::Cancel { reason } => Action::CancelAdjustment {
                    reason: text(reason),
                },
            }
        }
    }

    fn model_from(s: &GoalState) -> Model {
        let (outcome, amendments) = match s.status {
            Status::Reviewed {
                outcome,
                amendments,
            } => (Some(outcome), amendments),
            _ => (None, 0),
        };
        Model {
            kind: s.status.kind(),
            outcome,
            amendments,
            version: s.version,
            approved: s.approved_version,
            published: s.published_version,
            first: s.first_review,
        }
    }

    fn model_step(m: Model, step: Step, role: Role) -> Option<Model> {
        use Role::*;
        use StatusKind as K;
        let may = |roles: &[Role]| roles.contains(&role);
        let in_force = |m: Model| {
            if m.published.is_some() && m.published == m.approved {
                K::Published
            } else {
                K::Approved
            }
        };
        let mut n = m;
        n.outcome = None;
        n.amendments = 0;
        match (m.kind, step) {
            (K::Blocked, _) => return None,
            (K::Draft | K::Returned | K::Adjusting, Step::Edit)
                if may(&[BudgetUnit, Department]) =>
            {
                n = m
            }
            (K::Draft | K::Returned | K::Adjusting, Step::Submit)
                if may(&[BudgetUnit, Department]) =>
            {
                n.kind = K::Submitted
            }
            (K::Submitted, Step::Assign { valid: true }) if role == Finance => n = m,
            (K::Submitted, Step::Review { outcome, comments }) => {
                let reviewer = role == Finance
                    || (outcome != ReviewOutcome::Poor && matches!(role, Expert | Agency));
                if !reviewer || (!outcome.passes() && !comments) {
                    return None;
                }
                n.first = m.first.or(Some(outcome));
                match outcome {
                    ReviewOutcome::Excellent | ReviewOutcome::Good => {
                        n.kind = K::Reviewed;
                        n.outcome = Some(outcome);
                    }
                    ReviewOutcome::Fair => n.kind = K::Returned,
                    ReviewOutcome::Poor => {
                        n.kind = if m.approved.is_some() {
                            in_force(m)
                        } else {
                            K::Blocked
                        }
                    }
                }
            }
            (K::Reviewed, Step::Amend { valid: true })
                if role == Finance && m.outcome == Some(ReviewOutcome::Good) =>
            {
                n.kind = K::Reviewed;
                n.outcome = m.outcome;
                n.amendments = m.amendments + 1;
            }
            (K::Reviewed, Step::Approve)
                if role == Finance
                    && (m.outcome == Some(ReviewOutcome::Excellent)
                        || (m.outcome == Some(ReviewOutcome::Good) && m.amendments > 0)) =>
            {
                n.kind = K::Approved;
                n.approved = Some(m.version);
            }
            (K::Approved, Step::Publish) if may(&[Finance, Department]) => {
                n.kind = K::Published;
                n.published = m.approved;
            }
            (K::Approved | K::Published, Step::Adjust { reference: true })
                if may(&[BudgetUnit, Department]) =>
            {
                n.kind = K::Adjusting;
                n.version = m.version + 1;
            }
            (K::Adjusting | K::Returned, Step::Cancel { reason: true })
                if m.approved.is_some() && may(&[BudgetUnit, Department, Finance]) =>
            {
                n.kind = in_force(m);
            }
            _ => return None,
        }
        Some(n)
    }

    fn arb_role() -> impl Strategy<Value = Role> {
        prop_oneof![
            6 => prop::sample::select(vec![Role::BudgetUnit, Role::Department, Role::Finance]),
            2 => prop::sample::select(vec![Role::Expert, Role::Agency]),
            1 => prop::sample::select(vec![Role::Auditor, Role::Province, Role::Public]),
        ]
    }

    fn arb_outcome() -> impl Strategy<Value = ReviewOutcome> {
        prop::sample::select(ReviewOutcome::ALL.to_vec())
    }

    fn arb_step() -> impl Strategy<Value = Step> {
        let ok = prop::bool::weighted(0.85);
        prop_oneof![
            2 => Just(Step::Edit),
            3 => Just(Step::Submit),
            1 => ok.prop_map(|valid| Step::Assign { valid }),
            4 => (arb_outcome(), ok)
                .prop_map(|(outcome, comments)| Step::Review { outcome, comments }),
            2 => ok.prop_map(|valid| Step::Amend { valid }),
            3 => Just(Step::Approve),
            2 => Just(Step::Publish),
            2 => ok.prop_map(|reference| Step::Adjust { reference }),
            1 => ok.prop_map(|reason| Step::Cancel { reason }),
        ]
    }

    /// A step with, most of the time, a role that may take it (so that random walks reach the
    /// deep states: published goals, adjustments, their reviews), otherwise any role.
    fn arb_step_with_role() -> impl Strategy<Value = (Step, Role)> {
        (
            arb_step(),
            prop::bool::weighted(0.8),
            any::<prop::sample::Index>(),
            arb_role(),
        )
            .prop_map(|(step, fitting, pick, any_role)| {
                let roles = step.action().kind().roles();
                let role = if fitting { *pick.get(roles) } else { any_role };
                (step, role)
            })
    }

    /// Runs `steps` against both [`apply`] and the model, checking the invariants after each.
    fn run_against_model(steps: Vec<(Step, Role)>) -> Result<(), TestCaseError> {
        let mut state = GoalState::new();
        let mut model = model_from(&state);
        // Outcome of the review that led to each approved version.
        let mut approvals: HashMap<u32, (ReviewOutcome, u32)> = HashMap::new();
        let mut was_blocked = false;
        for (step, role) in steps {
            let action = step.action();
            let actor = Actor::new(role, "someone");
            let expected = model_step(model, step, role);
            let result = apply(&state, &action, &actor);
            // Pure: the same request on the same state gets the same answer.
            prop_assert_eq!(&result, &apply(&state, &action, &actor));
            let t = match result {
                Ok(t) => t,
                Err(e) => {
                    prop_assert!(
                        expected.is_none(),
                        "model accepts {:?} by {:?} in {:?}, apply says {}",
                        step,
                        role,
                        state,
                        e
                    );
                    if was_blocked {
                        prop_assert!(matches!(e.reason(), "GOAL_BLOCKED" | "ROLE_NOT_ALLOWED"));
                    }
                    prop_assert!(!e.chinese().is_empty());
                    // A refused action leaves the state unchanged: `apply` only reads it, and
                    // the loop keeps the old state, which must still agree with the model.
                    prop_assert_eq!(model_from(&state), model);
                    continue;
                }
            };
            prop_assert!(!was_blocked, "accepted {:?} after Blocked", step);
            let Some(next) = expected else {
                let message = format!("model refuses {step:?} by {role:?} in {state:?}");
                return Err(TestCaseError::fail(message));
            };
            prop_assert_eq!(model_from(&t.to), next);
            prop_assert_eq!(t.from, state);
            prop_assert_eq!(t.to.revision, state.revision + 1);

            // Every accepted transition is in the explicit table.
            let row = (t.from.status.kind(), action.kind(), t.to.status.kind());
            prop_assert!(ALLOWED.contains(&row), "{:?} not in ALLOWED", row);

            // Never approved without a passing review (优, or 良 amended).
            if t.to.approved_version != t.from.approved_version {
                let Status::Reviewed {
                    outcome,
                    amendments,
                } = t.from.status
                else {
                    let message = format!("approved from {:?}", t.from.status);
                    return Err(TestCaseError::fail(message));
                };
                let passing = outcome == ReviewOutcome::Excellent
                    || (outcome == ReviewOutcome::Good && amendments > 0);
                prop_assert!(passing);
                prop_assert_eq!(action.kind(), ActionKind::Approve);
                let version = t.to.approved_version.unwrap_or_default();
                approvals.insert(version, (outcome, amendments));
            }
            if matches!(t.to.status, Status::Approved | Status::Published) {
                let v = t.to.approved_version;
                prop_assert!(v.is_some_and(|v| approvals.contains_key(&v)));
            }

            // Publication only of an approved version, only by Publish from Approved.
            if t.to.published_version != t.from.published_version {
                prop_assert_eq!(t.from.status, Status::Approved);
                prop_assert_eq!(action.kind(), ActionKind::Publish);
            }
            if t.to.status == Status::Published {
                prop_assert!(t.to.published_version.is_some());
                prop_assert_eq!(t.to.published_version, t.to.approved_version);
            }

            // Blocked only from the first cycle, and terminal (checked on later steps).
            if t.to.status == Status::Blocked {
                prop_assert!(t.from.approved_version.is_none());
                was_blocked = true;
            }

            // Versions: approved ≤ working, published ≤ approved, never decreasing.
            let (approved, published) = (
                t.to.approved_version.unwrap_or(0),
                t.to.published_version.unwrap_or(0),
            );
            prop_assert!(t.to.version >= t.from.version);
            prop_assert!(approved <= t.to.version && published <= approved);
            prop_assert!(t.to.first_review.is_some() || t.from.first_review.is_none());
            state = t.to;
            model = next;
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn workflow_agrees_with_the_model_and_keeps_its_invariants(
            steps in prop::collection::vec(arb_step_with_role(), 0..80)
        ) {
            run_against_model(steps)?;
        }
    }

    /// Breadth-first search over every reachable state (bounded depth): each row of
    /// [`ALLOWED`] is actually used, so the table has no dead entries.
    #[test]
    fn every_allowed_row_is_reachable() {
        let roles = [Role::BudgetUnit, Role::Finance, Role::Expert];
        let steps = [
            Step::Edit,
            Step::Submit,
            Step::Assign { valid: true },
            Step::Review {
                outcome: ReviewOutcome::Excellent,
                comments: true,
            },
            Step::Review {
                outcome: ReviewOutcome::Good,
                comments: true,
            },
            Step::Review {
                outcome: ReviewOutcome::Fair,
                comments: true,
            },
            Step::Review {
                outcome: ReviewOutcome::Poor,
                comments: true,
            },
            Step::Amend { valid: true },
            Step::Approve,
            Step::Publish,
            Step::Adjust { reference: true },
            Step::Cancel { reason: true },
        ];
        let mut seen_rows = BTreeSet::new();
        let mut seen_states = BTreeSet::new();
        let mut queue = VecDeque::from([(GoalState::new(), 0)]);
        while let Some((s, depth)) = queue.pop_front() {
            let key = format!("{:?}", GoalState { revision: 0, ..s });
            if depth > 12 || !seen_states.insert(key) {
                continue;
            }
            for step in steps {
                for role in roles {
                    if let Ok(t) = apply(&s, &step.action(), &Actor::new(role, "x")) {
                        seen_rows.insert((
                            t.from.status.kind(),
                            step.action().kind(),
                            t.to.status.kind(),
                        ));
                        queue.push_back((t.to, depth + 1));
                    }
                }
            }
        }
        let table: BTreeSet<_> = ALLOWED.iter().copied().collect();
        assert_eq!(seen_rows, table);
    }
}
