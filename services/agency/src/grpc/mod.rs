//! Transport only: one `impl` per generated service, each unary adapter one call to
//! [`rpc::query`] or [`rpc::mutate`] (the caller, the RPC's name and the `ErrorInfo.domain`,
//! `pbm.agency`, come from the routed request).

use pbm_proto::agency::v1 as pb;
use pbm_proto::agency::v1::agency_registry_service_server::AgencyRegistryService;
use pbm_proto::agency::v1::draw_service_server::DrawService;
use pbm_proto::agency::v1::engagement_service_server::EngagementService;
use pbm_server::rpc;
use tonic::{Request, Response, Status};

use crate::ops;
use crate::state::AppState;

/// `pbm.agency.v1.AgencyRegistryService`: agencies, experts, violations, rules, statistics.
pub struct AgencyRegistryGrpc {
    state: AppState,
}

impl AgencyRegistryGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// `pbm.agency.v1.EngagementService`: engagements and ratings.
pub struct EngagementGrpc {
    state: AppState,
}

impl EngagementGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// `pbm.agency.v1.DrawService`: draws of experts and agencies.
pub struct DrawGrpc {
    state: AppState,
}

impl DrawGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl AgencyRegistryService for AgencyRegistryGrpc {
    async fn create_admission_batch(
        &self,
        r: Request<pb::CreateAdmissionBatchRequest>,
    ) -> Result<Response<pb::CreateAdmissionBatchResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::batches::create(&self.state, ctx, m),
        )
        .await
    }

    async fn list_admission_batches(
        &self,
        r: Request<pb::ListAdmissionBatchesRequest>,
    ) -> Result<Response<pb::ListAdmissionBatchesResponse>, Status> {
        rpc::query(r, |caller, m| ops::batches::list(&self.state, caller, m)).await
    }

    async fn register_agency(
        &self,
        r: Request<pb::RegisterAgencyRequest>,
    ) -> Result<Response<pb::RegisterAgencyResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::agencies::register(&self.state, ctx, m),
        )
        .await
    }

    async fn update_agency(
        &self,
        r: Request<pb::UpdateAgencyRequest>,
    ) -> Result<Response<pb::UpdateAgencyResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::agencies::update(&self.state, ctx, m),
        )
        .await
    }

    async fn get_agency(
        &self,
        r: Request<pb::GetAgencyRequest>,
    ) -> Result<Response<pb::GetAgencyResponse>, Status> {
        rpc::query(r, |caller, m| ops::agencies::get(&self.state, caller, m)).await
    }

    async fn list_agencies(
        &self,
        r: Request<pb::ListAgenciesRequest>,
    ) -> Result<Response<pb::ListAgenciesResponse>, Status> {
        rpc::query(r, |caller, m| ops::agencies::list(&self.state, caller, m)).await
    }

    async fn change_agency_status(
        &self,
        r: Request<pb::ChangeAgencyStatusRequest>,
    ) -> Result<Response<pb::ChangeAgencyStatusResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::agencies::change_status(&self.state, ctx, m),
        )
        .await
    }

    async fn record_violation(
        &self,
        r: Request<pb::RecordViolationRequest>,
    ) -> Result<Response<pb::RecordViolationResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::violations::record(&self.state, ctx, m),
        )
        .await
    }

    async fn list_violations(
        &self,
        r: Request<pb::ListViolationsRequest>,
    ) -> Result<Response<pb::ListViolationsResponse>, Status> {
        rpc::query(r, |caller, m| ops::violations::list(&self.state, caller, m)).await
    }

    async fn list_status_history(
        &self,
        r: Request<pb::ListStatusHistoryRequest>,
    ) -> Result<Response<pb::ListStatusHistoryResponse>, Status> {
        rpc::query(r, |caller, m| {
            ops::agencies::history(&self.state, caller, m)
        })
        .await
    }

    async fn register_expert(
        &self,
        r: Request<pb::RegisterExpertRequest>,
    ) -> Result<Response<pb::RegisterExpertResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::experts::register(&self.state, ctx, m),
        )
        .await
    }

    async fn update_expert(
        &self,
        r: Request<pb::UpdateExpertRequest>,
    ) -> Result<Response<pb::UpdateExpertResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::experts::update(&self.state, ctx, m),
        )
        .await
    }

    async fn get_expert(
        &self,
        r: Request<pb::GetExpertRequest>,
    ) -> Result<Response<pb::GetExpertResponse>, Status> {
        rpc::query(r, |caller, m| ops::experts::get(&self.state, caller, m)).await
    }

    async fn list_experts(
        &self,
        r: Request<pb::ListExpertsRequest>,
    ) -> Result<Response<pb::ListExpertsResponse>, Status> {
        rpc::query(r, |caller, m| ops::experts::list(&self.state, caller, m)).await
    }

    async fn change_expert_status(
        &self,
        r: Request<pb::ChangeExpertStatusRequest>,
    ) -> Result<Response<pb::ChangeExpertStatusResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::experts::change_status(&self.state, ctx, m),
        )
        .await
    }

    async fn list_expert_status_history(
        &self,
        r: Request<pb::ListExpertStatusHistoryRequest>,
    ) -> Result<Response<pb::ListStatusHistoryResponse>, Status> {
        rpc::query(r, |caller, m| ops::experts::history(&self.state, caller, m)).await
    }

    async fn reveal_expert_contact(
        &self,
        r: Request<pb::RevealExpertContactRequest>,
    ) -> Result<Response<pb::RevealExpertContactResponse>, Status> {
        rpc::query(r, |caller, m| {
            ops::experts::reveal_contact(&self.state, caller, m)
        })
        .await
    }

    async fn get_field_taxonomy(
        &self,
        r: Request<pb::GetFieldTaxonomyRequest>,
    ) -> Result<Response<pb::GetFieldTaxonomyResponse>, Status> {
        rpc::query(r, |caller, m| {
            ops::experts::taxonomy(&self.state, caller, m)
        })
        .await
    }

    async fn get_pool_rules(
        &self,
        r: Request<pb::GetPoolRulesRequest>,
    ) -> Result<Response<pb::GetPoolRulesResponse>, Status> {
        rpc::query(r, |caller, m| ops::rules::get(&self.state, caller, m)).await
    }

    async fn set_pool_rules(
        &self,
        r: Request<pb::SetPoolRulesRequest>,
    ) -> Result<Response<pb::SetPoolRulesResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::rules::set(&self.state, ctx, m),
        )
        .await
    }

    async fn get_pool_statistics(
        &self,
        r: Request<pb::GetPoolStatisticsRequest>,
    ) -> Result<Response<pb::GetPoolStatisticsResponse>, Status> {
        rpc::query(r, |caller, m| ops::statistics::get(&self.state, caller, m)).await
    }
}

#[tonic::async_trait]
impl EngagementService for EngagementGrpc {
    async fn create_engagement(
        &self,
        r: Request<pb::CreateEngagementRequest>,
    ) -> Result<Response<pb::CreateEngagementResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::engagements::create(&self.state, ctx, m),
        )
        .await
    }

    async fn rate_engagement(
        &self,
        r: Request<pb::RateEngagementRequest>,
    ) -> Result<Response<pb::RateEngagementResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::engagements::rate(&self.state, ctx, m),
        )
        .await
    }

    async fn cancel_engagement(
        &self,
        r: Request<pb::CancelEngagementRequest>,
    ) -> Result<Response<pb::CancelEngagementResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::engagements::cancel(&self.state, ctx, m),
        )
        .await
    }

    async fn recompute_ratings(
        &self,
        r: Request<pb::RecomputeRatingsRequest>,
    ) -> Result<Response<pb::RecomputeRatingsResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::ratings::recompute(&self.state, ctx, m),
        )
        .await
    }

    async fn get_engagement(
        &self,
        r: Request<pb::GetEngagementRequest>,
    ) -> Result<Response<pb::GetEngagementResponse>, Status> {
        rpc::query(r, |caller, m| ops::engagements::get(&self.state, caller, m)).await
    }

    async fn list_engagements(
        &self,
        r: Request<pb::ListEngagementsRequest>,
    ) -> Result<Response<pb::ListEngagementsResponse>, Status> {
        rpc::query(r, |caller, m| {
            ops::engagements::list(&self.state, caller, m)
        })
        .await
    }

    async fn explain_rating(
        &self,
        r: Request<pb::ExplainRatingRequest>,
    ) -> Result<Response<pb::ExplainRatingResponse>, Status> {
        rpc::query(r, |caller, m| {
            ops::engagements::explain(&self.state, caller, m)
        })
        .await
    }
}

#[tonic::async_trait]
impl DrawService for DrawGrpc {
    async fn draw_experts(
        &self,
        r: Request<pb::DrawExpertsRequest>,
    ) -> Result<Response<pb::DrawExpertsResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::draws::draw_experts(&self.state, ctx, m),
        )
        .await
    }

    async fn draw_agencies(
        &self,
        r: Request<pb::DrawAgenciesRequest>,
    ) -> Result<Response<pb::DrawAgenciesResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::draws::draw_agencies(&self.state, ctx, m),
        )
        .await
    }

    async fn respond_to_draw(
        &self,
        r: Request<pb::RespondToDrawRequest>,
    ) -> Result<Response<pb::RespondToDrawResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::draws::respond(&self.state, ctx, m),
        )
        .await
    }

    async fn get_draw(
        &self,
        r: Request<pb::GetDrawRequest>,
    ) -> Result<Response<pb::GetDrawResponse>, Status> {
        rpc::query(r, |caller, m| ops::draws::get(&self.state, caller, m)).await
    }

    async fn replay_draw(
        &self,
        r: Request<pb::ReplayDrawRequest>,
    ) -> Result<Response<pb::ReplayDrawResponse>, Status> {
        rpc::query(r, |caller, m| ops::draws::replay(&self.state, caller, m)).await
    }
}
