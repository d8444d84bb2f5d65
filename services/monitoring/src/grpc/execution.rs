//! `pbm.monitoring.v1.ExecutionService`: execution figures pushed or imported by the budget
//! system, and a project's monthly history ([`crate::ops::execution`]).

use pbm_proto::monitoring::v1 as proto;
use pbm_proto::monitoring::v1::execution_service_server::{
    ExecutionService, ExecutionServiceServer,
};
use pbm_server::rpc;
use tonic::{Request, Response, Status};

use crate::ops::execution;
use crate::state::AppState;

pub struct ExecutionGrpc {
    state: AppState,
}

/// The service on `state`.
pub fn server(state: AppState) -> ExecutionServiceServer<ExecutionGrpc> {
    ExecutionServiceServer::new(ExecutionGrpc { state })
}

#[tonic::async_trait]
impl ExecutionService for ExecutionGrpc {
    async fn push_execution(
        &self,
        r: Request<proto::PushExecutionRequest>,
    ) -> Result<Response<proto::PushExecutionResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| execution::push(&self.state, ctx, m),
        )
        .await
    }

    async fn import_execution(
        &self,
        r: Request<proto::ImportExecutionRequest>,
    ) -> Result<Response<proto::ImportExecutionResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| execution::import(&self.state, ctx, m),
        )
        .await
    }

    async fn get_execution_history(
        &self,
        r: Request<proto::GetExecutionHistoryRequest>,
    ) -> Result<Response<proto::GetExecutionHistoryResponse>, Status> {
        rpc::query(r, |caller, m| execution::history(&self.state, caller, m)).await
    }
}
