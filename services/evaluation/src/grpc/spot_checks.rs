//! `pbm.evaluation.v1.SpotCheckService`: risk ranking, selection and its replay, commissioning
//! a review through the pool, reviews, findings and statistics. Thin: one `rpc::query` /
//! `rpc::mutate` per RPC with its use case in `ops::{spot_checks, reviews}`.

use pbm_proto::evaluation::v1 as ev;
use pbm_proto::evaluation::v1::spot_check_service_server::{
    SpotCheckService, SpotCheckServiceServer,
};
use pbm_server::rpc;
use tonic::{Request, Response, Status};

use crate::ops::{reviews, spot_checks};
use crate::state::AppState;

pub struct SpotCheckGrpc {
    state: AppState,
}

pub fn server(state: AppState) -> SpotCheckServiceServer<SpotCheckGrpc> {
    SpotCheckServiceServer::new(SpotCheckGrpc { state })
}

#[tonic::async_trait]
impl SpotCheckService for SpotCheckGrpc {
    async fn rank_risk(
        &self,
        r: Request<ev::RankRiskRequest>,
    ) -> Result<Response<ev::RankRiskResponse>, Status> {
        rpc::query(r, |caller, m| {
            spot_checks::rank_risk(&self.state, caller, m)
        })
        .await
    }

    async fn select_spot_check(
        &self,
        r: Request<ev::SelectSpotCheckRequest>,
    ) -> Result<Response<ev::SelectSpotCheckResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| spot_checks::select(&self.state, ctx, m),
        )
        .await
    }

    async fn replay_spot_check(
        &self,
        r: Request<ev::ReplaySpotCheckRequest>,
    ) -> Result<Response<ev::ReplaySpotCheckResponse>, Status> {
        rpc::query(r, |caller, m| spot_checks::replay(&self.state, caller, m)).await
    }

    /// Calls the agency service with the caller's token.
    async fn commission_review(
        &self,
        r: Request<ev::CommissionReviewRequest>,
    ) -> Result<Response<ev::CommissionReviewResponse>, Status> {
        let auth = super::authorization(&r);
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| async move { spot_checks::commission(&self.state, ctx, auth, m).await },
        )
        .await
    }

    async fn get_spot_check(
        &self,
        r: Request<ev::GetSpotCheckRequest>,
    ) -> Result<Response<ev::GetSpotCheckResponse>, Status> {
        rpc::query(r, |caller, m| spot_checks::get(&self.state, caller, m)).await
    }

    async fn list_spot_checks(
        &self,
        r: Request<ev::ListSpotChecksRequest>,
    ) -> Result<Response<ev::ListSpotChecksResponse>, Status> {
        rpc::query(r, |caller, m| spot_checks::list(&self.state, caller, m)).await
    }

    async fn get_review(
        &self,
        r: Request<ev::GetReviewRequest>,
    ) -> Result<Response<ev::GetReviewResponse>, Status> {
        rpc::query(r, |caller, m| reviews::get(&self.state, caller, m)).await
    }

    async fn save_review(
        &self,
        r: Request<ev::SaveReviewRequest>,
    ) -> Result<Response<ev::SaveReviewResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| reviews::save(&self.state, ctx, m),
        )
        .await
    }

    async fn finish_review(
        &self,
        r: Request<ev::FinishReviewRequest>,
    ) -> Result<Response<ev::FinishReviewResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| reviews::finish(&self.state, ctx, m),
        )
        .await
    }

    async fn list_findings(
        &self,
        r: Request<ev::ListFindingsRequest>,
    ) -> Result<Response<ev::ListFindingsResponse>, Status> {
        rpc::query(r, |caller, m| reviews::findings(&self.state, caller, m)).await
    }

    async fn get_spot_check_statistics(
        &self,
        r: Request<ev::GetSpotCheckStatisticsRequest>,
    ) -> Result<Response<ev::GetSpotCheckStatisticsResponse>, Status> {
        rpc::query(r, |caller, m| reviews::statistics(&self.state, caller, m)).await
    }
}
