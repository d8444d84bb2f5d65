//! The frame of a fiscal year: its first and second levels, fixed once created.

use pbm_auth::Caller;
use pbm_proto::indicator::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};
use pbm_types::FiscalYear;

use crate::convert;
use crate::domain::access;
use crate::state::AppState;
use crate::store;

pub async fn create(
    state: &AppState,
    ctx: MutationContext,
    m: proto::CreateFrameRequest,
) -> Result<proto::CreateFrameResponse, ApiError> {
    let frame = convert::limits::check(&m).and_then(|()| convert::frame_from_request(&m));
    let region = state.region.clone();
    let entity = (
        "frame",
        frame
            .as_ref()
            .map(|f| f.fiscal_year.to_string())
            .unwrap_or_default(),
    );
    let st = state.clone();
    let response = run_mutation(&state.db, ctx, entity, move |conn, ctx| {
        access::can_write(&ctx.caller, &region)?;
        let frame = frame?;
        ApiError::check(frame.violations())?;
        let year = frame.fiscal_year.get();
        if store::load_frames(conn)?
            .iter()
            .any(|f| f.frame.fiscal_year == frame.fiscal_year)
        {
            return Err(ApiError::already_exists(
                "FRAME_EXISTS",
                format!("{year} 年度的指标框架已存在，框架建立后不可修改"),
            )
            .with_violation("fiscal_year", "frame exists"));
        }
        let at = pbm_db::now();
        store::insert_frame(conn, &frame, &ctx.caller.subject, at)?;
        let stored = store::StoredFrame {
            frame,
            created_by: ctx.caller.subject.clone(),
            created_at: at,
        };
        Ok(Effect {
            response: proto::CreateFrameResponse {
                frame: Some(convert::frame_to_proto(&stored, &st.region)),
            },
            entity_type: "frame",
            entity_id: year.to_string(),
            detail: format!("{} nodes", stored.frame.nodes.len()),
        })
    })
    .await?;
    state.reload_frames().await?;
    state.library_written();
    Ok(response)
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    m: proto::GetFrameRequest,
) -> Result<proto::GetFrameResponse, ApiError> {
    access::can_read(&caller, &state.region)?;
    let year = m.fiscal_year;
    // A year PBM does not serve is a bad argument, not a frame not yet created.
    FiscalYear::new(year)
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?;
    match state.frame(year).await? {
        Some(f) => Ok(proto::GetFrameResponse {
            frame: Some(convert::frame_to_proto(&f, &state.region)),
        }),
        None => Err(ApiError::not_found(
            "FRAME_NOT_FOUND",
            format!("{year} 年度尚未建立指标框架"),
        )),
    }
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    _m: proto::ListFramesRequest,
) -> Result<proto::ListFramesResponse, ApiError> {
    access::can_read(&caller, &state.region)?;
    state.reload_frames().await?;
    let frames = state
        .cached_frames()
        .iter()
        .map(|f| convert::frame_to_proto(f, &state.region))
        .collect();
    Ok(proto::ListFramesResponse { frames })
}
