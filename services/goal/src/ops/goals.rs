//! Goals: SaveGoal (a draft or an edit) and the reads GetGoal, ListGoals.

use pbm_auth::Caller;
use pbm_proto::goal::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};

use super::declarations::{refuse_declaration, subject_of, target_key, with_library};
use super::{
    Authorization, Stored, as_i32, event, goal_not_found, goal_to_proto, internal, load_version,
    scope_of, state_of, write_state,
};
use crate::convert;
use crate::domain::access::{
    ListScope, Visibility, can_create_goal, ensure_can, list_scope, may_write, viewer, visibility,
};
use crate::domain::workflow::{Action, ActionKind, Actor, GoalState, Transition, apply_expecting};
use crate::state::AppState;
use crate::store::{self, GoalFilter, GoalRow};

/// SaveGoal: creates the draft (expected_revision 0) or replaces the declaration being edited.
pub async fn save(
    state: &AppState,
    ctx: MutationContext,
    auth: Authorization,
    m: proto::SaveGoalRequest,
) -> Result<proto::SaveGoalResponse, ApiError> {
    let declaration = Stored::from_proto(m.declaration);
    let goal = save_goal(state, ctx, auth, declaration, m.expected_revision).await?;
    Ok(proto::SaveGoalResponse { goal: Some(goal) })
}

/// [`save`] of a parsed declaration (also each item of DeclareGoals).
pub async fn save_goal(
    state: &AppState,
    ctx: MutationContext,
    auth: Authorization,
    declaration: Result<Stored, ApiError>,
    expected_revision: i64,
) -> Result<proto::Goal, ApiError> {
    // Authorise before calling the library on the caller's behalf.
    ensure_can(&ctx.caller, &state.region, ActionKind::Edit)?;
    let mut stored = declaration?;
    let (_, refused) = with_library(state, &auth, &mut stored.declaration).await?;
    if !refused.is_empty() {
        return Err(refuse_declaration(refused));
    }
    let st = state.clone();
    run_mutation(&state.db, ctx, ("goal", String::new()), move |conn, ctx| {
        let v = viewer(&ctx.caller, &st.region)?;
        let region = st.region.to_string();
        let subject = subject_of(conn, &stored)?;
        let (kind, code) = target_key(&stored.declaration);
        let year = stored.declaration.fiscal_year.get();
        let actor = Actor::new(v.role, ctx.caller.subject.clone());
        let text = serde_json::to_string(&stored).map_err(internal)?;
        let now = pbm_db::now();
        let existing = store::goal_of_target(conn, year, kind, &code)?;
        let (mut row, from) = match (existing, expected_revision) {
            (None, 0) => {
                let row = GoalRow {
                    id: 0,
                    fiscal_year: year,
                    target_kind: kind.into(),
                    target_code: code.clone(),
                    agency_code: subject.agency_code.clone(),
                    department_code: subject.department_code.clone(),
                    status: String::new(),
                    approved_version: None,
                    published_version: None,
                    state: String::new(),
                    revision: 0,
                    changed_by: String::new(),
                    changed_at: now,
                    working_version: 1,
                };
                (row, None)
            }
            (Some(_), 0) => {
                return Err(ApiError::already_exists(
                    "GOAL_EXISTS",
                    format!("{year}年度「{code}」已有绩效目标；修改请带上当前修订号"),
                ));
            }
            (None, _) => {
                return Err(ApiError::not_found(
                    "GOAL_NOT_FOUND",
                    format!("{year}年度「{code}」还没有绩效目标"),
                ));
            }
            (Some(row), _) => {
                let s = state_of(&row)?;
                (row, Some(s))
            }
        };
        let scope_state = from.unwrap_or_default();
        let scope = scope_of(&row, &scope_state, &region, &[]);
        match from {
            // Another's goal is not found, so that its existence does not leak.
            Some(_) if !may_write(&v, &scope) => return Err(goal_not_found(row.id)),
            Some(_) => {}
            None => can_create_goal(&v, &scope)?,
        }
        let to = match &from {
            None => {
                // Revision 0 means "no goal yet"; the new draft is revision 1.
                GoalState {
                    revision: 1,
                    ..GoalState::new()
                }
            }
            Some(s) => {
                let expected = u64::try_from(expected_revision).unwrap_or(0);
                apply_expecting(s, expected, &Action::Edit, &actor)?.to
            }
        };
        write_state(&mut row, &to, &ctx.caller.subject)?;
        if from.is_none() {
            row.id = store::insert_goal(conn, &row).map_err(|e| match e {
                pbm_db::StoreError::UniqueViolation(_) => ApiError::already_exists(
                    "GOAL_EXISTS",
                    format!("{year}年度「{code}」已有绩效目标"),
                ),
                other => other.into(),
            })?;
        } else if !store::update_goal(conn, &row, expected_revision)? {
            return Err(ApiError::stale_version(
                &format!("绩效目标 {}", row.id),
                expected_revision,
                expected_revision + 1,
            ));
        }
        store::replace_version(
            conn,
            row.id,
            as_i32(to.version),
            &text,
            &ctx.caller.subject,
            now,
        )?;
        let t = Transition {
            from: from.unwrap_or_default(),
            to,
            action: Action::Edit,
            actor,
        };
        store::insert_event(conn, &event(row.id, &t, "", "", "", &ctx.caller))?;
        Ok(Effect {
            response: goal_to_proto(&row, &t.to, &stored, t.to.version, &region),
            entity_type: "goal",
            entity_id: row.id.to_string(),
            detail: format!("saved version {}", t.to.version),
        })
    })
    .await
}

/// GetGoal: the version asked for (0: the one being worked on), or the published one for a
/// reader without scope.
pub async fn get(
    state: &AppState,
    caller: Caller,
    m: proto::GetGoalRequest,
) -> Result<proto::GetGoalResponse, ApiError> {
    let v = viewer(&caller, &state.region)?;
    let (id, version) = (m.goal_id, m.version);
    let region = state.region.to_string();
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let row = store::goal(conn, id)?.ok_or_else(|| goal_not_found(id))?;
            let s = state_of(&row)?;
            let reviewers = store::reviewers_of(conn, id)?;
            let shown = match visibility(&v, &scope_of(&row, &s, &region, &reviewers)) {
                Visibility::None => return Err(goal_not_found(id)),
                // 信息公开: only the published version, whatever was asked.
                Visibility::PublishedVersion => {
                    s.published_version.ok_or_else(|| goal_not_found(id))?
                }
                Visibility::Full if version > 0 => {
                    let asked = u32::try_from(version).unwrap_or(0);
                    if asked > s.version {
                        return Err(ApiError::not_found(
                            "VERSION_NOT_FOUND",
                            format!("绩效目标 {id} 没有第{version}版"),
                        ));
                    }
                    asked
                }
                Visibility::Full => s.version,
            };
            let stored = load_version(conn, id, as_i32(shown))?;
            Ok(proto::GetGoalResponse {
                goal: Some(goal_to_proto(&row, &s, &stored, shown, &region)),
            })
        })
        .await
}

/// ListGoals, narrowed to the caller's scope.
pub async fn list(
    state: &AppState,
    caller: Caller,
    r: proto::ListGoalsRequest,
) -> Result<proto::ListGoalsResponse, ApiError> {
    let v = viewer(&caller, &state.region)?;
    crate::convert::limits::check(&r)?;
    let p = r.page.unwrap_or_default();
    let page = pbm_server::paging::Page::parse(p.page_size, &p.page_token)?;
    let status = match convert::status_from(r.status) {
        Some(k) => Some(k.as_db().to_owned()),
        None if r.status != 0 => {
            return Err(ApiError::invalid_field(
                "STATUS_INVALID",
                "status",
                "状态无效",
            ));
        }
        None => None,
    };
    let mut f = GoalFilter {
        fiscal_year: (r.fiscal_year > 0).then_some(r.fiscal_year),
        agency_code: Some(r.agency_code.trim().to_owned()).filter(|c| !c.is_empty()),
        department_code: Some(r.department_code.trim().to_owned()).filter(|c| !c.is_empty()),
        status,
        published_only: false,
        reviewer: None,
    };
    // The caller's scope narrows the filter, so nothing outside it can be listed or counted.
    match list_scope(&v) {
        ListScope::Unit(code) => {
            if f.agency_code.as_ref().is_some_and(|a| *a != code) {
                return Ok(proto::ListGoalsResponse::default());
            }
            f.agency_code = Some(code);
        }
        ListScope::Department(code) => {
            if f.department_code.as_ref().is_some_and(|d| *d != code) {
                return Ok(proto::ListGoalsResponse::default());
            }
            f.department_code = Some(code);
        }
        ListScope::Region => {}
        ListScope::Reviewer(code) => {
            f.published_only = true;
            f.reviewer = Some(code);
        }
        ListScope::Published => f.published_only = true,
    }
    let published_only = f.published_only;
    let region = state.region.to_string();
    let goals = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let (rows, total) = store::list_goals(conn, &f, page.offset, page.limit)?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let s = state_of(&row)?;
                let shown = if published_only {
                    s.published_version.unwrap_or(s.version)
                } else {
                    s.version
                };
                let stored = load_version(conn, row.id, as_i32(shown))?;
                out.push(goal_to_proto(&row, &s, &stored, shown, &region));
            }
            Ok((out, total))
        })
        .await?;
    Ok(proto::ListGoalsResponse {
        goals: goals.0,
        page: Some(pbm_proto::common::v1::PageResponse {
            next_page_token: page.next_token(goals.1),
            total_size: goals.1,
        }),
    })
}
