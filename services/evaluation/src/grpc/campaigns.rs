//! `pbm.evaluation.v1.CampaignService`: rules, campaigns (open, refresh, close, reopen a unit),
//! their reads and statistics. Thin: one `rpc::query` / `rpc::mutate` per RPC with its use case
//! in `ops`.

use pbm_proto::evaluation::v1 as ev;
use pbm_proto::evaluation::v1::campaign_service_server::{CampaignService, CampaignServiceServer};
use pbm_server::rpc;
use tonic::{Request, Response, Status};

use crate::ops::{campaigns, rules, statistics};
use crate::state::AppState;

pub struct CampaignGrpc {
    state: AppState,
}

pub fn server(state: AppState) -> CampaignServiceServer<CampaignGrpc> {
    CampaignServiceServer::new(CampaignGrpc { state })
}

#[tonic::async_trait]
impl CampaignService for CampaignGrpc {
    async fn get_evaluation_rules(
        &self,
        r: Request<ev::GetEvaluationRulesRequest>,
    ) -> Result<Response<ev::GetEvaluationRulesResponse>, Status> {
        rpc::query(r, |caller, m| rules::get(&self.state, caller, m)).await
    }

    async fn set_evaluation_rules(
        &self,
        r: Request<ev::SetEvaluationRulesRequest>,
    ) -> Result<Response<ev::SetEvaluationRulesResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| rules::set(&self.state, ctx, m),
        )
        .await
    }

    /// Calls the goal and monitoring services with the caller's token.
    async fn open_campaign(
        &self,
        r: Request<ev::OpenCampaignRequest>,
    ) -> Result<Response<ev::OpenCampaignResponse>, Status> {
        let auth = super::authorization(&r);
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| async move { campaigns::open(&self.state, ctx, &auth, m).await },
        )
        .await
    }

    /// Calls the monitoring service with the caller's token.
    async fn refresh_execution(
        &self,
        r: Request<ev::RefreshExecutionRequest>,
    ) -> Result<Response<ev::RefreshExecutionResponse>, Status> {
        let auth = super::authorization(&r);
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| async move { campaigns::refresh(&self.state, ctx, &auth, m).await },
        )
        .await
    }

    async fn close_campaign(
        &self,
        r: Request<ev::CloseCampaignRequest>,
    ) -> Result<Response<ev::CloseCampaignResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| campaigns::close(&self.state, ctx, m),
        )
        .await
    }

    async fn get_campaign(
        &self,
        r: Request<ev::GetCampaignRequest>,
    ) -> Result<Response<ev::GetCampaignResponse>, Status> {
        rpc::query(r, |caller, m| campaigns::get(&self.state, caller, m)).await
    }

    async fn list_campaigns(
        &self,
        r: Request<ev::ListCampaignsRequest>,
    ) -> Result<Response<ev::ListCampaignsResponse>, Status> {
        rpc::query(r, |caller, m| campaigns::list(&self.state, caller, m)).await
    }

    async fn reopen_unit(
        &self,
        r: Request<ev::ReopenUnitRequest>,
    ) -> Result<Response<ev::ReopenUnitResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| campaigns::reopen_unit(&self.state, ctx, m),
        )
        .await
    }

    async fn get_self_evaluation_statistics(
        &self,
        r: Request<ev::GetSelfEvaluationStatisticsRequest>,
    ) -> Result<Response<ev::GetSelfEvaluationStatisticsResponse>, Status> {
        rpc::query(r, |caller, m| statistics::get(&self.state, caller, m)).await
    }
}
