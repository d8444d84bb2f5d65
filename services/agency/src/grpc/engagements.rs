//! Transport of `pbm.agency.v1.EngagementService`.

use pbm_proto::agency::v1 as proto;
use pbm_proto::agency::v1::engagement_service_server::EngagementService;
use pbm_server::{ApiError, MutationContext};
use tonic::{Request, Response, Status};

use crate::engagements;
use crate::state::AppState;

pub struct EngagementGrpc {
    state: AppState,
}

impl EngagementGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn status(e: ApiError) -> Status {
    e.into_status(engagements::ENGAGEMENT_SERVICE)
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
impl EngagementService for EngagementGrpc {
    async fn create_engagement(
        &self,
        request: Request<proto::CreateEngagementRequest>,
    ) -> Result<Response<proto::CreateEngagementResponse>, Status> {
        let ctx = mutation(&request, "CreateEngagement", &request.get_ref().request_id)?;
        let engagement = engagements::create(&self.state, ctx, request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(proto::CreateEngagementResponse {
            engagement: Some(engagement),
        }))
    }

    async fn rate_engagement(
        &self,
        request: Request<proto::RateEngagementRequest>,
    ) -> Result<Response<proto::RateEngagementResponse>, Status> {
        let ctx = mutation(&request, "RateEngagement", &request.get_ref().request_id)?;
        engagements::rate(&self.state, ctx, request.into_inner())
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn cancel_engagement(
        &self,
        request: Request<proto::CancelEngagementRequest>,
    ) -> Result<Response<proto::CancelEngagementResponse>, Status> {
        let ctx = mutation(&request, "CancelEngagement", &request.get_ref().request_id)?;
        let engagement = engagements::cancel(&self.state, ctx, request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(proto::CancelEngagementResponse {
            engagement: Some(engagement),
        }))
    }

    async fn recompute_ratings(
        &self,
        request: Request<proto::RecomputeRatingsRequest>,
    ) -> Result<Response<proto::RecomputeRatingsResponse>, Status> {
        let ctx = mutation(&request, "RecomputeRatings", &request.get_ref().request_id)?;
        crate::ratings::recompute(&self.state, ctx, request.into_inner())
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn get_engagement(
        &self,
        request: Request<proto::GetEngagementRequest>,
    ) -> Result<Response<proto::GetEngagementResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let engagement = engagements::get(&self.state, &caller, request.get_ref().engagement_id)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::GetEngagementResponse {
            engagement: Some(engagement),
        }))
    }

    async fn list_engagements(
        &self,
        request: Request<proto::ListEngagementsRequest>,
    ) -> Result<Response<proto::ListEngagementsResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        engagements::list(&self.state, &caller, request.into_inner())
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn explain_rating(
        &self,
        request: Request<proto::ExplainRatingRequest>,
    ) -> Result<Response<proto::ExplainRatingResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let rating = engagements::explain(&self.state, &caller, request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ExplainRatingResponse {
            rating: Some(rating),
        }))
    }
}
