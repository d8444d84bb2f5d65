//! Transport of `pbm.agency.v1.DrawService`.

use pbm_proto::agency::v1 as proto;
use pbm_proto::agency::v1::draw_service_server::DrawService;
use pbm_server::{ApiError, MutationContext};
use tonic::{Request, Response, Status};

use crate::draws;
use crate::state::AppState;

pub struct DrawGrpc {
    state: AppState,
}

impl DrawGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn status(e: ApiError) -> Status {
    e.into_status(draws::DRAW_SERVICE)
}

fn mutation<M: prost::Message>(
    request: &Request<M>,
    _method: &'static str,
    request_id: &str,
) -> Result<MutationContext, Status> {
    let rpc = pbm_server::rpc::rpc_of(request);
    let caller = pbm_server::rpc::caller_of(request, &rpc)?;
    MutationContext::new(rpc.clone(), caller, request_id, request.get_ref())
        .map_err(|e| e.into_status(rpc.domain()))
}

#[tonic::async_trait]
impl DrawService for DrawGrpc {
    async fn draw_experts(
        &self,
        request: Request<proto::DrawExpertsRequest>,
    ) -> Result<Response<proto::DrawExpertsResponse>, Status> {
        let ctx = mutation(&request, "DrawExperts", &request.get_ref().request_id)?;
        let draw = draws::draw_experts(&self.state, ctx, request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(proto::DrawExpertsResponse {
            draw: Some(draw),
        }))
    }

    async fn draw_agencies(
        &self,
        request: Request<proto::DrawAgenciesRequest>,
    ) -> Result<Response<proto::DrawAgenciesResponse>, Status> {
        let ctx = mutation(&request, "DrawAgencies", &request.get_ref().request_id)?;
        let draw = draws::draw_agencies(&self.state, ctx, request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(proto::DrawAgenciesResponse {
            draw: Some(draw),
        }))
    }

    async fn respond_to_draw(
        &self,
        request: Request<proto::RespondToDrawRequest>,
    ) -> Result<Response<proto::RespondToDrawResponse>, Status> {
        let ctx = mutation(&request, "RespondToDraw", &request.get_ref().request_id)?;
        let draw = draws::respond(&self.state, ctx, request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(proto::RespondToDrawResponse {
            draw: Some(draw),
        }))
    }

    async fn get_draw(
        &self,
        request: Request<proto::GetDrawRequest>,
    ) -> Result<Response<proto::GetDrawResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let draw = draws::get(&self.state, &caller, request.get_ref().draw_id)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::GetDrawResponse { draw: Some(draw) }))
    }

    async fn replay_draw(
        &self,
        request: Request<proto::ReplayDrawRequest>,
    ) -> Result<Response<proto::ReplayDrawResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        draws::replay(&self.state, &caller, request.get_ref().draw_id)
            .await
            .map(Response::new)
            .map_err(status)
    }
}
