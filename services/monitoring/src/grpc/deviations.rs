//! `pbm.monitoring.v1.DeviationService`: warnings, the deviation list, the execution forecasts,
//! corrective actions, decisions and the payment holds. Thin: one `rpc::query` / `rpc::mutate`
//! per RPC with its use case in `ops`.

use pbm_proto::monitoring::v1 as mon;
use pbm_proto::monitoring::v1::deviation_service_server::{
    DeviationService, DeviationServiceServer,
};
use pbm_server::rpc;
use tonic::{Request, Response, Status};

use crate::ops::{actions, decisions, deviations};
use crate::state::AppState;

pub struct DeviationGrpc {
    state: AppState,
}

pub fn server(state: AppState) -> DeviationServiceServer<DeviationGrpc> {
    DeviationServiceServer::new(DeviationGrpc { state })
}

#[tonic::async_trait]
impl DeviationService for DeviationGrpc {
    async fn list_warnings(
        &self,
        r: Request<mon::ListWarningsRequest>,
    ) -> Result<Response<mon::ListWarningsResponse>, Status> {
        rpc::query(r, |caller, m| {
            deviations::list_warnings(&self.state, caller, m)
        })
        .await
    }

    async fn list_deviations(
        &self,
        r: Request<mon::ListDeviationsRequest>,
    ) -> Result<Response<mon::ListDeviationsResponse>, Status> {
        rpc::query(r, |caller, m| {
            deviations::list_deviations(&self.state, caller, m)
        })
        .await
    }

    async fn list_execution_forecasts(
        &self,
        r: Request<mon::ListExecutionForecastsRequest>,
    ) -> Result<Response<mon::ListExecutionForecastsResponse>, Status> {
        rpc::query(r, |caller, m| {
            deviations::list_execution_forecasts(&self.state, caller, m)
        })
        .await
    }

    async fn create_corrective_action(
        &self,
        r: Request<mon::CreateCorrectiveActionRequest>,
    ) -> Result<Response<mon::CreateCorrectiveActionResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| actions::create(&self.state, ctx, m),
        )
        .await
    }

    async fn update_corrective_action(
        &self,
        r: Request<mon::UpdateCorrectiveActionRequest>,
    ) -> Result<Response<mon::UpdateCorrectiveActionResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| actions::update(&self.state, ctx, m),
        )
        .await
    }

    async fn verify_corrective_action(
        &self,
        r: Request<mon::VerifyCorrectiveActionRequest>,
    ) -> Result<Response<mon::VerifyCorrectiveActionResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| actions::verify(&self.state, ctx, m),
        )
        .await
    }

    async fn list_corrective_actions(
        &self,
        r: Request<mon::ListCorrectiveActionsRequest>,
    ) -> Result<Response<mon::ListCorrectiveActionsResponse>, Status> {
        rpc::query(r, |caller, m| actions::list(&self.state, caller, m)).await
    }

    async fn record_decision(
        &self,
        r: Request<mon::RecordDecisionRequest>,
    ) -> Result<Response<mon::RecordDecisionResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| decisions::record(&self.state, ctx, m),
        )
        .await
    }

    async fn list_decisions(
        &self,
        r: Request<mon::ListDecisionsRequest>,
    ) -> Result<Response<mon::ListDecisionsResponse>, Status> {
        rpc::query(r, |caller, m| decisions::list(&self.state, caller, m)).await
    }

    async fn check_payment_holds(
        &self,
        r: Request<mon::CheckPaymentHoldsRequest>,
    ) -> Result<Response<mon::CheckPaymentHoldsResponse>, Status> {
        rpc::query(r, |caller, m| {
            decisions::check_holds(&self.state, caller, m)
        })
        .await
    }
}
