//! A drawn expert's or agency's answer. A decline is always recorded, with the event
//! `pbm.agency.draw_declined` in the same transaction: its replacement round is drawn by the
//! consumer in [`super::replacement`] (docs/AGENCY.md "Draws").

use pbm_db::platform::{self, NewOutboxEvent};
use pbm_events::topics;
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};

use super::not_found;
use crate::convert;
use crate::domain::access;
use crate::ops::SERVICE;
use crate::state::AppState;
use crate::store::draws as store_d;

pub async fn respond(
    state: &AppState,
    ctx: MutationContext,
    r: proto::RespondToDrawRequest,
) -> Result<proto::RespondToDrawResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("draw", r.draw_id.to_string()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let (row, members) =
                store_d::get(conn, r.draw_id)?.ok_or_else(|| not_found(r.draw_id))?;
            if row.version != r.expected_version {
                return Err(ApiError::stale_version(
                    &format!("抽取记录 {}", row.id),
                    r.expected_version,
                    row.version,
                ));
            }
            let (key, who) = if row.is_agencies() {
                let code = r.agency_credit_code.trim().to_uppercase();
                if code.is_empty() {
                    return Err(ApiError::invalid_field(
                        "AGENCY_REQUIRED",
                        "agency_credit_code",
                        "这是机构抽取记录，请指定答复的机构（统一社会信用代码）",
                    ));
                }
                (code.clone(), format!("机构「{code}」"))
            } else {
                if r.expert_id <= 0 {
                    return Err(ApiError::invalid_field(
                        "EXPERT_REQUIRED",
                        "expert_id",
                        "这是专家抽取记录，请指定答复的专家编号",
                    ));
                }
                (r.expert_id.to_string(), format!("专家 {}", r.expert_id))
            };
            let Some(member) = members.iter().find(|m| m.key == key) else {
                return Err(ApiError::failed_precondition(
                    "NOT_DRAWN",
                    format!("{who} 不在抽取记录 {} 中", row.id),
                ));
            };
            if member.answer != "pending" {
                return Err(ApiError::failed_precondition(
                    "ALREADY_ANSWERED",
                    format!("{who} 已答复"),
                ));
            }
            if !r.accept && r.reason.trim().is_empty() {
                return Err(ApiError::invalid_field(
                    "REASON_REQUIRED",
                    "reason",
                    "不参加时请记录原因",
                ));
            }
            let answer = if r.accept { "accepted" } else { "declined" };
            if !store_d::answer(
                conn,
                row.id,
                row.version,
                &row.subject,
                &key,
                answer,
                r.reason.trim(),
                pbm_db::now(),
            )? {
                return Err(ApiError::stale_version(
                    &format!("抽取记录 {}", row.id),
                    r.expected_version,
                    row.version + 1,
                ));
            }
            if !r.accept {
                // One replacement round per decline (round 0 is the draw itself), drawn by the
                // consumer of this event.
                let declined_before = members.iter().filter(|m| m.answer == "declined").count();
                let payload = topics::DrawDeclined {
                    draw_id: row.id,
                    declined: key.clone(),
                    round: i32::try_from(declined_before + 1).unwrap_or(i32::MAX),
                };
                platform::insert_outbox(
                    conn,
                    &NewOutboxEvent {
                        occurred_at: pbm_db::now(),
                        service: SERVICE.into(),
                        topic: topics::DRAW_DECLINED.into(),
                        entity_id: row.id.to_string(),
                        payload: serde_json::to_string(&payload).map_err(ApiError::internal)?,
                    },
                )?;
            }
            let (row, members) = store_d::get(conn, row.id)?.ok_or_else(|| not_found(r.draw_id))?;
            let response = convert::draw_to_proto(&row, &members);
            Ok(Effect {
                response,
                entity_type: "draw",
                entity_id: row.id.to_string(),
                detail: format!("{key} {answer}"),
            })
        },
    )
    .await
    .map(|draw| proto::RespondToDrawResponse { draw: Some(draw) })
}
