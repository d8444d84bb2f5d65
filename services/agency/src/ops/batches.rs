//! Admission batches (入库批次): the procurement rounds agencies are admitted in.

use pbm_auth::Caller;
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};

use crate::convert;
use crate::domain::access::{self};
use crate::state::AppState;
use crate::store;

pub async fn create(
    state: &AppState,
    ctx: MutationContext,
    r: proto::CreateAdmissionBatchRequest,
) -> Result<proto::CreateAdmissionBatchResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let batch = convert::batch_from_request(&r);
    let region = state.region.clone();
    run_mutation(
        &state.db,
        ctx,
        ("admission_batch", String::new()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &region)?;
            let mut batch = batch?;
            batch.created_by = ctx.caller.subject.clone();
            batch.created_at = pbm_db::now();
            batch.id = store::insert_batch(conn, &batch)?;
            Ok(Effect {
                response: convert::batch_to_proto(&batch),
                entity_type: "admission_batch",
                entity_id: batch.id.to_string(),
                detail: format!(
                    "{} {}–{}",
                    batch.name, batch.qualified_from, batch.qualified_to
                ),
            })
        },
    )
    .await
    .map(|batch| proto::CreateAdmissionBatchResponse { batch: Some(batch) })
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    _: proto::ListAdmissionBatchesRequest,
) -> Result<proto::ListAdmissionBatchesResponse, ApiError> {
    access::read_scope(&caller, &state.region)?;
    let batches = state.db.read(store::batches).await?;
    Ok(proto::ListAdmissionBatchesResponse {
        batches: batches.iter().map(convert::batch_to_proto).collect(),
    })
}
