//! `pbm.monitoring.v1.RoundService`: rules, rounds (open, re-pin, close, reopen a unit) and
//! their reads. Thin: one `rpc::query` / `rpc::mutate` per RPC with its use case in `ops`.

use pbm_proto::monitoring::v1 as mon;
use pbm_proto::monitoring::v1::round_service_server::{RoundService, RoundServiceServer};
use pbm_server::rpc;
use tonic::{Request, Response, Status};

use crate::ops::{round_reads, rounds, rules};
use crate::state::AppState;

pub struct RoundGrpc {
    state: AppState,
}

pub fn server(state: AppState) -> RoundServiceServer<RoundGrpc> {
    RoundServiceServer::new(RoundGrpc { state })
}

#[tonic::async_trait]
impl RoundService for RoundGrpc {
    async fn get_monitoring_rules(
        &self,
        r: Request<mon::GetMonitoringRulesRequest>,
    ) -> Result<Response<mon::GetMonitoringRulesResponse>, Status> {
        rpc::query(r, |caller, m| rules::get(&self.state, caller, m)).await
    }

    async fn set_monitoring_rules(
        &self,
        r: Request<mon::SetMonitoringRulesRequest>,
    ) -> Result<Response<mon::SetMonitoringRulesResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| rules::set(&self.state, ctx, m),
        )
        .await
    }

    /// Calls the goal service with the caller's token.
    async fn open_round(
        &self,
        r: Request<mon::OpenRoundRequest>,
    ) -> Result<Response<mon::OpenRoundResponse>, Status> {
        let auth = super::authorization(&r);
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| async move { rounds::open(&self.state, ctx, &auth, m).await },
        )
        .await
    }

    async fn set_round_rules(
        &self,
        r: Request<mon::SetRoundRulesRequest>,
    ) -> Result<Response<mon::SetRoundRulesResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| rounds::set_rules(&self.state, ctx, m),
        )
        .await
    }

    async fn close_round(
        &self,
        r: Request<mon::CloseRoundRequest>,
    ) -> Result<Response<mon::CloseRoundResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| rounds::close(&self.state, ctx, m),
        )
        .await
    }

    async fn reopen_unit(
        &self,
        r: Request<mon::ReopenUnitRequest>,
    ) -> Result<Response<mon::ReopenUnitResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| rounds::reopen_unit(&self.state, ctx, m),
        )
        .await
    }

    async fn get_round(
        &self,
        r: Request<mon::GetRoundRequest>,
    ) -> Result<Response<mon::GetRoundResponse>, Status> {
        rpc::query(r, |caller, m| round_reads::get(&self.state, caller, m)).await
    }

    async fn list_rounds(
        &self,
        r: Request<mon::ListRoundsRequest>,
    ) -> Result<Response<mon::ListRoundsResponse>, Status> {
        rpc::query(r, |caller, m| round_reads::list(&self.state, caller, m)).await
    }

    async fn list_round_subjects(
        &self,
        r: Request<mon::ListRoundSubjectsRequest>,
    ) -> Result<Response<mon::ListRoundSubjectsResponse>, Status> {
        rpc::query(r, |caller, m| round_reads::subjects(&self.state, caller, m)).await
    }

    async fn get_round_subject(
        &self,
        r: Request<mon::GetRoundSubjectRequest>,
    ) -> Result<Response<mon::GetRoundSubjectResponse>, Status> {
        rpc::query(r, |caller, m| round_reads::subject(&self.state, caller, m)).await
    }

    async fn list_unit_deadlines(
        &self,
        r: Request<mon::ListUnitDeadlinesRequest>,
    ) -> Result<Response<mon::ListUnitDeadlinesResponse>, Status> {
        rpc::query(r, |caller, m| {
            round_reads::deadlines(&self.state, caller, m)
        })
        .await
    }

    async fn get_round_statistics(
        &self,
        r: Request<mon::GetRoundStatisticsRequest>,
    ) -> Result<Response<mon::GetRoundStatisticsResponse>, Status> {
        rpc::query(r, |caller, m| {
            round_reads::statistics(&self.state, caller, m)
        })
        .await
    }
}
