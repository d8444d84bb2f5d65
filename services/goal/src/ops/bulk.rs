//! Bulk declaration (docs/DOMAIN.md "Declarations": a department declares for all its units at
//! once, each item succeeding or failing on its own): one streaming call of up to thousands of
//! items, each result reported per item. Each item is its own pair of idempotent mutations —
//! register the project when unknown, create the draft goal — so one bad item never stops the
//! others and a re-sent stream creates nothing twice.

use pbm_auth::Caller;
use pbm_proto::goal::v1 as proto;
use pbm_server::rpc::Rpc;
use pbm_server::{ApiError, MutationContext};

use crate::convert;
use crate::domain::access::{taken_code, viewer};
use crate::ops::{self, Stored};
use crate::state::AppState;
use crate::store;

fn failure(index: i32, request_id: &str, e: ApiError) -> proto::DeclareGoalsResult {
    let violations = e
        .violations
        .iter()
        .map(|v| proto::FieldError {
            field: v.field.clone(),
            description: v.message.clone(),
        })
        .collect();
    let reason = e.reason.to_owned();
    let message = e.message.clone();
    let code = format!("{:?}", e.code());
    proto::DeclareGoalsResult {
        index,
        request_id: request_id.to_owned(),
        ok: false,
        goal: None,
        code,
        reason,
        message,
        violations,
    }
}

/// The context of one of an item's mutations, audited under the stream's RPC (`DeclareGoals`).
fn context<M: prost::Message>(
    rpc: &Rpc,
    caller: &Caller,
    request_id: &str,
    message: &M,
) -> Result<MutationContext, ApiError> {
    MutationContext::new(rpc.clone(), caller.clone(), request_id, message)
}

async fn item(
    state: &AppState,
    rpc: &Rpc,
    caller: &Caller,
    auth: &str,
    it: proto::DeclareGoalsItem,
) -> Result<proto::Goal, ApiError> {
    let rid = it.request_id.trim().to_owned();
    if let Some(spec) = it.project.clone() {
        let project = convert::project_from(Some(spec.clone()))?;
        let code = project.pro_code.as_str().to_owned();
        let year = project.fiscal_year.get();
        let v = viewer(caller, &state.region)?;
        let known = state
            .db
            .read(move |conn| -> Result<_, ApiError> {
                match store::project(conn, &code, year)? {
                    Some(row) => {
                        let seen = ops::projects::sees_project(conn, &v, &row)?;
                        Ok(Some((row, seen)))
                    }
                    None => Ok(None),
                }
            })
            .await?;
        match known {
            None => {
                let ctx = context(rpc, caller, &format!("{rid}#project"), &spec)?;
                ops::projects::declare_project(state, ctx, Ok(project), 0).await?;
            }
            // A project the caller may not see: refused as DeclareProject refuses it.
            Some((_, false)) => taken_code(false)?,
            Some((row, true)) => {
                let same = convert::project_to(&ops::projects::project_from_row(&row)?)
                    == convert::project_to(&project);
                if !same {
                    return Err(ApiError::failed_precondition(
                        "PROJECT_DIFFERS",
                        format!(
                            "{year}年度项目「{}」已登记且内容不同；请用 DeclareProject 修改",
                            row.pro_code
                        ),
                    ));
                }
            }
        }
    }
    let declaration = it.declaration.clone().unwrap_or_default();
    let ctx = context(rpc, caller, &format!("{rid}#goal"), &declaration)?;
    ops::goals::save_goal(
        state,
        ctx,
        auth.to_owned(),
        Stored::from_proto(Some(declaration)),
        0,
    )
    .await
}

/// One item's result; `rpc` is the stream's.
pub async fn declare(
    state: &AppState,
    rpc: &Rpc,
    caller: &Caller,
    auth: &str,
    index: i32,
    it: proto::DeclareGoalsItem,
) -> proto::DeclareGoalsResult {
    let rid = it.request_id.clone();
    match item(state, rpc, caller, auth, it).await {
        Ok(goal) => proto::DeclareGoalsResult {
            index,
            request_id: rid,
            ok: true,
            goal: Some(goal),
            ..Default::default()
        },
        Err(e) => failure(index, &rid, e),
    }
}
