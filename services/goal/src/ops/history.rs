//! A goal's history of workflow events.

use pbm_auth::Caller;
use pbm_proto::goal::v1 as proto;
use pbm_server::ApiError;

use super::{internal, visible_goal};
use crate::convert;
use crate::domain::access::viewer;
use crate::domain::workflow::ActionKind;
use crate::state::AppState;
use crate::store::{self};

/// GetGoalHistory: every workflow event of a goal the caller may read in full.
pub async fn history(
    state: &AppState,
    caller: Caller,
    m: proto::GetGoalHistoryRequest,
) -> Result<proto::GetGoalHistoryResponse, ApiError> {
    let v = viewer(&caller, &state.region)?;
    let id = m.goal_id;
    let region = state.region.to_string();
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            visible_goal(conn, &v, &region, id)?;
            let events = store::events(conn, id)?
                .into_iter()
                .enumerate()
                .map(|(k, e)| {
                    let changes: Vec<crate::domain::goal::FieldChange> = if e.changes.is_empty() {
                        Vec::new()
                    } else {
                        serde_json::from_str(&e.changes).map_err(internal)?
                    };
                    let status = |t: &str| {
                        crate::domain::workflow::StatusKind::from_db(t)
                            .map_or(0, |k| convert::status_to(k) as i32)
                    };
                    Ok(proto::GoalEvent {
                        seq: i64::try_from(k + 1).unwrap_or(i64::MAX),
                        action_text: ActionKind::from_db(&e.action)
                            .map(|a| a.chinese().to_owned())
                            .unwrap_or_default(),
                        action: e.action,
                        from_status: status(&e.from_status),
                        to_status: status(&e.to_status),
                        version: e.version,
                        comments: e.comments,
                        changes: convert::changes_to(&changes),
                        budget_adjustment_ref: e.budget_adjustment_ref,
                        role: e.role,
                        by: Some(convert::stamp(&e.actor, e.at)),
                    })
                })
                .collect::<Result<_, ApiError>>()?;
            Ok(proto::GetGoalHistoryResponse { events })
        })
        .await
}
