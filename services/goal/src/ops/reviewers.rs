//! Review assignment: experts or an agency drawn by the agency service.

use pbm_proto::goal::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};

use super::workflow::load_for_action;
use super::{
    Authorization, as_i32, event, goal_not_found, goal_to_proto, load_version, scope_of,
    visible_goal, write_state,
};
use crate::domain::access::{ensure_can, may_write};
use crate::domain::workflow::{Action, ActionKind, Actor, apply_expecting};
use crate::state::AppState;
use crate::store::{self};

/// AssignReviewers: the pool's draw first (its own idempotent mutation in the agency service,
/// request id derived from ours, so a retry replays the same draw), then one transaction that
/// records every reviewer as a workflow step.
pub async fn assign(
    state: &AppState,
    ctx: MutationContext,
    auth: Authorization,
    r: proto::AssignReviewersRequest,
) -> Result<proto::AssignReviewersResponse, ApiError> {
    use crate::clients::pool::Ask;
    use crate::domain::workflow::{Reviewer, ReviewerKind};
    ensure_can(&ctx.caller, &state.region, ActionKind::AssignReviewer)?;
    crate::convert::limits::check(&r)?;
    let ask = match (r.agency, r.experts) {
        (true, 0) => Ask::Agency {
            weighted_by_rating: r.weighted_by_rating,
        },
        (false, n) if (1..=9).contains(&n) && !r.field.trim().is_empty() => Ask::Experts {
            field: r.field.trim().to_owned(),
            count: n,
        },
        _ => {
            return Err(ApiError::invalid_field(
                "REVIEWERS_INVALID",
                "experts",
                "请指定抽取的专家人数（1–9）和专业领域，或选择抽取一家第三方机构，二者选一",
            ));
        }
    };
    let (row, s, _) = load_for_action(state, &ctx.caller, r.goal_id).await?;
    let drawn = state
        .pool
        .draw(
            &auth,
            format!("{}#draw", ctx.request_id),
            format!("goal-review/{}/v{}", row.id, s.version),
            row.agency_code.clone(),
            pbm_proto::agency::v1::EngagementKind::GoalReview,
            &ask,
        )
        .await?;
    let st = state.clone();
    let goal_id = r.goal_id;
    let expected_revision = r.expected_revision;
    run_mutation(
        &state.db,
        ctx,
        ("goal", goal_id.to_string()),
        move |conn, ctx| {
            let v = ensure_can(&ctx.caller, &st.region, ActionKind::AssignReviewer)?;
            let region = st.region.to_string();
            let (mut row, s, reviewers) = visible_goal(conn, &v, &region, goal_id)?;
            if !may_write(&v, &scope_of(&row, &s, &region, &reviewers)) {
                return Err(goal_not_found(goal_id));
            }
            let actor = Actor::new(v.role, ctx.caller.subject.clone());
            let mut expected = u64::try_from(expected_revision).unwrap_or(u64::MAX);
            let mut to = s;
            for (kind, id) in &drawn.reviewers {
                let action = Action::AssignReviewer {
                    reviewer: Reviewer {
                        kind: if *kind == "agency" {
                            ReviewerKind::Agency
                        } else {
                            ReviewerKind::Expert
                        },
                        id: id.clone(),
                    },
                };
                let t = apply_expecting(&to, expected, &action, &actor)?;
                store::insert_event(
                    conn,
                    &event(
                        goal_id,
                        &t,
                        &format!("抽取记录 {}：{kind} {id}", drawn.draw_id),
                        "",
                        "",
                        &ctx.caller,
                    ),
                )?;
                store::insert_reviewer(
                    conn,
                    goal_id,
                    kind,
                    id,
                    drawn.draw_id,
                    &ctx.caller.subject,
                    pbm_db::now(),
                )?;
                to = t.to;
                expected = to.revision;
            }
            write_state(&mut row, &to, &ctx.caller.subject)?;
            if !store::update_goal(conn, &row, expected_revision)? {
                return Err(ApiError::stale_version(
                    &format!("绩效目标 {goal_id}"),
                    expected_revision,
                    expected_revision + 1,
                ));
            }
            let stored = load_version(conn, goal_id, as_i32(to.version))?;
            Ok(Effect {
                response: proto::AssignReviewersResponse {
                    goal: Some(goal_to_proto(&row, &to, &stored, to.version, &region)),
                    draw_id: drawn.draw_id,
                    reviewers: drawn.reviewers.iter().map(|(_, id)| id.clone()).collect(),
                },
                entity_type: "goal",
                entity_id: goal_id.to_string(),
                detail: format!("reviewers from draw {}", drawn.draw_id),
            })
        },
    )
    .await
}
