//! The workflow steps (二上, review, amendment, adjustment, publication …): each decided on one
//! read and written by one guarded statement ([`super::steps`]).

use pbm_auth::Caller;
use pbm_proto::goal::v1 as proto;
use pbm_server::{ApiError, Effect, ErrorKind, MutationContext};

use super::declarations::{
    apply_resolution, library_refs, refuse_declaration, subject_from, with_library,
};
use super::rules::{rules_label, rules_or_default};
use super::{
    Authorization, Stored, as_i32, event, goal_not_found, goal_to_proto, internal, scope_of,
    visible_goal_with_declaration, visible_stored, write_state,
};
use crate::convert::{self, limits};
use crate::domain::access::{can_act, ensure_can, viewer};
use crate::domain::fixed::required_fixed;
use crate::domain::goal::diff_declarations;
use crate::domain::quality::{QualityRules, check_declaration};
use crate::domain::workflow::{Action, ActionKind, Actor, GoalState, apply_expecting};
use crate::ops::steps::{self, Step, VersionText};
use crate::state::AppState;
use crate::store::{GoalRow, ProjectRow, RulesRow};

/// Loads a goal for a writer (NOT_FOUND outside the writer's scope).
pub(crate) async fn load_for_action(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<(GoalRow, GoalState, Stored), ApiError> {
    let v = viewer(caller, &state.region)?;
    let region = state.region.to_string();
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let (row, s, _, stored) = visible_goal_with_declaration(conn, &v, &region, id)?;
            Ok((row, s, stored))
        })
        .await
}

/// What a workflow step's checks see beside the goal, read with it in one statement.
pub(crate) struct Surroundings {
    /// The goal's project (none for a department's overall goal, or a vanished project).
    pub(crate) project: Option<ProjectRow>,
    /// The goal rules in force for the goal's year.
    pub(crate) rules: RulesRow,
}

/// A workflow step as [`act`] takes it.
pub(crate) struct Act<C, P> {
    /// The goal.
    pub(crate) id: i64,
    /// The revision the caller read.
    pub(crate) expected_revision: i64,
    pub(crate) action: Action,
    /// Checks the goal's declaration against its project and rules (the 二上 quality checks).
    pub(crate) check: C,
    /// The declaration the step stores instead of the current one (an amendment).
    pub(crate) replace: Option<Stored>,
    /// The history event's (comments, changes, adjustment reference).
    pub(crate) note: (String, String, String),
    /// Builds the response from the goal as it will be.
    pub(crate) respond: P,
}

/// Applies a workflow action: decided on one read (scope, revision, the rule, `check` against
/// the project and rules read with the goal), then the new state, the declaration version (if
/// any) and the history row written atomically, guarded by the revision read.
/// `respond` builds the response from the goal before the write, and the idempotency record
/// keeps it, so a retry replays it whole.
pub(crate) async fn act<R, C, P>(
    state: &AppState,
    ctx: MutationContext,
    step: Act<C, P>,
) -> Result<R, ApiError>
where
    R: prost::Message + Default + Send + 'static,
    C: FnOnce(Surroundings, &Stored) -> Result<(), ApiError> + Send + 'static,
    P: FnOnce(proto::Goal) -> R + Send + 'static,
{
    let Act {
        id,
        expected_revision,
        action,
        check,
        replace,
        note,
        respond,
    } = step;
    let st = state.clone();
    // Decided on committed reads, written with one statement guarded by the revision read
    // (batched with concurrent steps on PostgreSQL: `crate::ops::steps`).
    steps::run(state, ctx, id, move |conn, ctx, found| {
        let v = ensure_can(&ctx.caller, &st.region, action.kind())?;
        let region = st.region.to_string();
        let (row, text, project, rules) = found.ok_or_else(|| goal_not_found(id))?;
        let year = row.fiscal_year;
        let (mut row, s, reviewers, current) = visible_stored(conn, &v, &region, row, text)?;
        can_act(&v, &scope_of(&row, &s, &region, &reviewers), action.kind())?;
        let actor = Actor::new(v.role, ctx.caller.subject.clone());
        let expected = u64::try_from(expected_revision).unwrap_or(u64::MAX);
        let t = apply_expecting(&s, expected, &action, &actor)?;
        let approved_before = row.approved_version;
        let project_row = project.clone();
        let surroundings = Surroundings {
            project,
            rules: rules_or_default(rules, year),
        };
        check(surroundings, &current)?;
        write_state(&mut row, &t.to, &ctx.caller.subject)?;
        let shown = replace.unwrap_or(current);
        let outbox = if t.action.kind() == ActionKind::Approve {
            let adjusted = approved_before.is_some();
            Some(approval_event(
                &row,
                &shown,
                project_row.as_ref(),
                &region,
                adjusted,
            )?)
        } else {
            None
        };
        // An adjustment opens a new version (a copy of the one in force); an amendment
        // rewrites the version under review.
        let version = if t.to.version != s.version || t.action.kind() == ActionKind::Amend {
            Some(VersionText {
                number: as_i32(t.to.version),
                text: serde_json::to_string(&shown).map_err(internal)?,
                by: ctx.caller.subject.clone(),
                at: pbm_db::now(),
            })
        } else {
            None
        };
        let (comments, changes, adjustment_ref) = note;
        let history = event(id, &t, &comments, &changes, &adjustment_ref, &ctx.caller);
        let effect = Effect {
            response: respond(goal_to_proto(&row, &t.to, &shown, t.to.version, &region)),
            entity_type: "goal",
            entity_id: id.to_string(),
            detail: format!(
                "{}: {} → {}",
                t.action.kind().as_db(),
                t.from.status.kind().as_db(),
                t.to.status.kind().as_db()
            ),
        };
        let step = Step {
            row,
            expected: expected_revision,
            history,
            version,
            outbox,
        };
        Ok((effect, step))
    })
    .await
}

/// The event of an approval (docs/ARCHITECTURE.md "Events"): `pbm.goal.approved`, or
/// `pbm.goal.adjusted` when a version was in force before, carrying the goal as
/// StreamApprovedGoals gives it from now on, for monitoring and evaluation to add to the scopes
/// they opened before.
fn approval_event(
    row: &GoalRow,
    shown: &Stored,
    project: Option<&ProjectRow>,
    region: &str,
    adjusted: bool,
) -> Result<pbm_db::platform::NewOutboxEvent, ApiError> {
    use pbm_events::topics;
    use prost::Message;
    let text = serde_json::to_string(shown).map_err(internal)?;
    let item = super::snapshot::goal_item(row, Some(&text), project, region)?;
    let payload = topics::GoalApproved {
        fiscal_year: row.fiscal_year,
        goal_id: row.id,
        approved_version: row.approved_version.unwrap_or_default(),
        department_code: row.department_code.clone(),
        pro_code: project.map(|p| p.pro_code.clone()).unwrap_or_default(),
        item: topics::hex_encode(&item.encode_to_vec()),
    };
    Ok(pbm_db::platform::NewOutboxEvent {
        occurred_at: pbm_db::now(),
        service: "pbm.goal".into(),
        topic: if adjusted {
            topics::GOAL_ADJUSTED
        } else {
            topics::GOAL_APPROVED
        }
        .into(),
        entity_id: row.id.to_string(),
        payload: serde_json::to_string(&payload).map_err(internal)?,
    })
}

/// SubmitGoal (二上): every quality check against the library versions pinned in the
/// declaration, as one list of field violations; nothing changes when any fails.
///
/// One read gives the declaration with its project and rules; the pinned versions usually
/// come from the library client's memory ([`crate::clients::library::Library`]); only when it has not
/// seen them lately is the indicator service asked, while deciding (no transaction is open
/// then); one guarded statement writes the step.
pub async fn submit(
    state: &AppState,
    ctx: MutationContext,
    auth: Authorization,
    m: proto::SubmitGoalRequest,
) -> Result<proto::SubmitGoalResponse, ApiError> {
    let (id, expected_revision) = (m.goal_id, m.expected_revision);
    ensure_can(&ctx.caller, &state.region, ActionKind::Submit)?;
    let fixed = state.library.fixed(&auth).await?;
    let library = state.library.clone();
    let runtime = tokio::runtime::Handle::current();
    let check = move |around: Surroundings, current: &Stored| -> Result<(), ApiError> {
        let year = current.declaration.fiscal_year;
        let (positions, refs) = library_refs(&current.declaration);
        let resolution = match library.remembered(year.get(), &refs) {
            Some(known) => known,
            None => runtime.block_on(library.resolve(&auth, year.get(), &refs))?,
        };
        let mut resolved = current.declaration.clone();
        let (mut facts, refused) = apply_resolution(&mut resolved, &positions, resolution);
        let subject = subject_from(around.project, current)?;
        facts.required_fixed = required_fixed(&fixed, &subject.placement, year);
        let rules = around.rules;
        let quality = QualityRules {
            label: rules_label(&rules),
            weight_total: rules.weight_total.0,
        };
        // A reference the library refused is reported once, with the library's reason.
        let refused_fields: Vec<String> = refused.iter().map(|v| v.field.clone()).collect();
        let mut all = refused;
        all.extend(
            check_declaration(&current.declaration, &subject.facts, &facts, &quality)
                .into_iter()
                .filter(|v| {
                    !refused_fields
                        .iter()
                        .any(|f| v.field.starts_with(f.as_str()))
                }),
        );
        if all.is_empty() {
            Ok(())
        } else {
            Err(refuse_declaration(all))
        }
    };
    act(
        state,
        ctx,
        Act {
            id,
            expected_revision,
            action: Action::Submit,
            check,
            replace: None,
            note: Default::default(),
            respond: |g| proto::SubmitGoalResponse { goal: Some(g) },
        },
    )
    .await
}

/// ReviewGoal: finance's 优/良/中/差 of a submitted goal.
pub async fn review(
    state: &AppState,
    ctx: MutationContext,
    m: proto::ReviewGoalRequest,
) -> Result<proto::ReviewGoalResponse, ApiError> {
    let (id, expected_revision) = (m.goal_id, m.expected_revision);
    // Authorisation first: a caller who may not review learns nothing about the goal.
    ensure_can(&ctx.caller, &state.region, ActionKind::Review)?;
    limits::check(&m)?;
    let Some(outcome) = convert::outcome_from(m.outcome) else {
        return Err(ApiError::invalid_field(
            "OUTCOME_REQUIRED",
            "outcome",
            "请选择审核结果：优、良、中、差",
        ));
    };
    let comments = m.comments.trim().to_owned();
    act(
        state,
        ctx,
        Act {
            id,
            expected_revision,
            action: Action::Review {
                outcome,
                comments: comments.clone(),
            },
            check: |_: Surroundings, _: &Stored| Ok(()),
            replace: None,
            note: (comments, String::new(), String::new()),
            respond: |g| proto::ReviewGoalResponse { goal: Some(g) },
        },
    )
    .await
}

/// AmendGoal: finance rewrites a 良 goal; the history keeps the diff.
pub async fn amend(
    state: &AppState,
    ctx: MutationContext,
    auth: Authorization,
    m: proto::AmendGoalRequest,
) -> Result<proto::AmendGoalResponse, ApiError> {
    let texts = limits::check(&m);
    let (id, expected_revision, comments) = (m.goal_id, m.expected_revision, m.comments);
    let declaration = Stored::from_proto(m.declaration);
    ensure_can(&ctx.caller, &state.region, ActionKind::Amend)?;
    texts?;
    let (_, _, before) = load_for_action(state, &ctx.caller, id).await?;
    let mut after = declaration?;
    if after.declaration.target != before.declaration.target
        || after.declaration.fiscal_year != before.declaration.fiscal_year
    {
        return Err(ApiError::invalid_field(
            "TARGET_CHANGED",
            "declaration.pro_code",
            "修改不能改变绩效目标所属的项目（部门）和年度",
        ));
    }
    let (_, refused) = with_library(state, &auth, &mut after.declaration).await?;
    if !refused.is_empty() {
        return Err(refuse_declaration(refused));
    }
    let changes = diff_declarations(&before.declaration, &after.declaration);
    let nothing_changed = changes.is_empty();
    let text = serde_json::to_string(&changes).map_err(internal)?;
    let unchanged_since = before.clone();
    let listed = convert::changes_to(&changes);
    act(
        state,
        ctx,
        Act {
            id,
            expected_revision,
            action: Action::Amend {
                changes: changes.clone(),
            },
            check: move |_: Surroundings, current: &Stored| {
                // Checked in the transaction, after a retry would have been answered.
                if nothing_changed {
                    Err(ApiError::invalid_field(
                        "NOTHING_CHANGED",
                        "declaration",
                        "修改后的申报内容与原内容相同",
                    ))
                } else if *current == unchanged_since {
                    Ok(())
                } else {
                    Err(ApiError::new(
                        ErrorKind::Aborted,
                        "GOAL_CHANGED",
                        "申报内容已被修改，请刷新后重试",
                    ))
                }
            },
            replace: Some(after),
            note: (comments.trim().to_owned(), text, String::new()),
            respond: move |goal| proto::AmendGoalResponse {
                goal: Some(goal),
                changes: listed,
            },
        },
    )
    .await
}

/// ApproveGoal (二下).
pub async fn approve(
    state: &AppState,
    ctx: MutationContext,
    m: proto::ApproveGoalRequest,
) -> Result<proto::ApproveGoalResponse, ApiError> {
    let goal = simple(state, ctx, m.goal_id, m.expected_revision, Action::Approve).await?;
    Ok(proto::ApproveGoalResponse { goal: Some(goal) })
}

/// PublishGoal (信息公开).
pub async fn publish(
    state: &AppState,
    ctx: MutationContext,
    m: proto::PublishGoalRequest,
) -> Result<proto::PublishGoalResponse, ApiError> {
    let goal = simple(state, ctx, m.goal_id, m.expected_revision, Action::Publish).await?;
    Ok(proto::PublishGoalResponse { goal: Some(goal) })
}

/// RequestAdjustment: opens a new version of an approved goal, with the budget adjustment's
/// reference.
pub async fn request_adjustment(
    state: &AppState,
    ctx: MutationContext,
    m: proto::RequestAdjustmentRequest,
) -> Result<proto::RequestAdjustmentResponse, ApiError> {
    ensure_can(&ctx.caller, &state.region, ActionKind::RequestAdjustment)?;
    limits::check(&m)?;
    let action = Action::RequestAdjustment {
        budget_adjustment_ref: m.budget_adjustment_ref.trim().to_owned(),
        reason: m.reason.trim().to_owned(),
    };
    let goal = simple(state, ctx, m.goal_id, m.expected_revision, action).await?;
    Ok(proto::RequestAdjustmentResponse { goal: Some(goal) })
}

/// CancelAdjustment: back to the version in force.
pub async fn cancel_adjustment(
    state: &AppState,
    ctx: MutationContext,
    m: proto::CancelAdjustmentRequest,
) -> Result<proto::CancelAdjustmentResponse, ApiError> {
    ensure_can(&ctx.caller, &state.region, ActionKind::CancelAdjustment)?;
    limits::check(&m)?;
    let action = Action::CancelAdjustment {
        reason: m.reason.trim().to_owned(),
    };
    let goal = simple(state, ctx, m.goal_id, m.expected_revision, action).await?;
    Ok(proto::CancelAdjustmentResponse { goal: Some(goal) })
}

/// ApproveGoal, PublishGoal, RequestAdjustment, CancelAdjustment: the rule decides.
async fn simple(
    state: &AppState,
    ctx: MutationContext,
    id: i64,
    expected_revision: i64,
    action: Action,
) -> Result<proto::Goal, ApiError> {
    let note = match &action {
        Action::RequestAdjustment {
            budget_adjustment_ref,
            reason,
        } => (reason.clone(), String::new(), budget_adjustment_ref.clone()),
        Action::CancelAdjustment { reason } => (reason.clone(), String::new(), String::new()),
        _ => Default::default(),
    };
    act(
        state,
        ctx,
        Act {
            id,
            expected_revision,
            action,
            check: |_: Surroundings, _: &Stored| Ok(()),
            replace: None,
            note,
            respond: |g| g,
        },
    )
    .await
}
