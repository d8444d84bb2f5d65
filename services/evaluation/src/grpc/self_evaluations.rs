//! `pbm.evaluation.v1.SelfEvaluationService`: the units' sheets, their steps and history, and
//! the national 自评表 out and in ([`crate::ops::sheets`], [`crate::ops::sheet_reads`],
//! [`crate::ops::sheet_table`]).

use pbm_proto::evaluation::v1 as ev;
use pbm_proto::evaluation::v1::self_evaluation_service_server::{
    SelfEvaluationService, SelfEvaluationServiceServer,
};
use pbm_server::rpc;
use tonic::{Request, Response, Status};

use crate::ops::{sheet_reads, sheet_table, sheets};
use crate::state::AppState;

pub struct SelfEvaluationGrpc {
    state: AppState,
}

/// The service on `state`.
pub fn server(state: AppState) -> SelfEvaluationServiceServer<SelfEvaluationGrpc> {
    SelfEvaluationServiceServer::new(SelfEvaluationGrpc { state })
}

#[tonic::async_trait]
impl SelfEvaluationService for SelfEvaluationGrpc {
    async fn get_self_evaluation(
        &self,
        r: Request<ev::GetSelfEvaluationRequest>,
    ) -> Result<Response<ev::GetSelfEvaluationResponse>, Status> {
        rpc::query(r, |caller, m| sheet_reads::get(&self.state, caller, m)).await
    }

    async fn list_self_evaluations(
        &self,
        r: Request<ev::ListSelfEvaluationsRequest>,
    ) -> Result<Response<ev::ListSelfEvaluationsResponse>, Status> {
        rpc::query(r, |caller, m| sheet_reads::list(&self.state, caller, m)).await
    }

    async fn save_self_evaluation(
        &self,
        r: Request<ev::SaveSelfEvaluationRequest>,
    ) -> Result<Response<ev::SaveSelfEvaluationResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| sheets::save(&self.state, ctx, m),
        )
        .await
    }

    async fn submit_self_evaluation(
        &self,
        r: Request<ev::SubmitSelfEvaluationRequest>,
    ) -> Result<Response<ev::SubmitSelfEvaluationResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| sheets::submit(&self.state, ctx, m),
        )
        .await
    }

    async fn review_self_evaluation(
        &self,
        r: Request<ev::ReviewSelfEvaluationRequest>,
    ) -> Result<Response<ev::ReviewSelfEvaluationResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| sheets::review(&self.state, ctx, m),
        )
        .await
    }

    async fn receive_self_evaluation(
        &self,
        r: Request<ev::ReceiveSelfEvaluationRequest>,
    ) -> Result<Response<ev::ReceiveSelfEvaluationResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| sheets::receive(&self.state, ctx, m),
        )
        .await
    }

    async fn get_self_evaluation_history(
        &self,
        r: Request<ev::GetSelfEvaluationHistoryRequest>,
    ) -> Result<Response<ev::GetSelfEvaluationHistoryResponse>, Status> {
        rpc::query(r, |caller, m| sheet_reads::history(&self.state, caller, m)).await
    }

    async fn export_self_evaluations(
        &self,
        r: Request<ev::ExportSelfEvaluationsRequest>,
    ) -> Result<Response<ev::ExportSelfEvaluationsResponse>, Status> {
        rpc::query(r, |caller, m| sheet_table::export(&self.state, caller, m)).await
    }

    async fn import_self_evaluations(
        &self,
        r: Request<ev::ImportSelfEvaluationsRequest>,
    ) -> Result<Response<ev::ImportSelfEvaluationsResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| sheet_table::import(&self.state, ctx, m),
        )
        .await
    }
}
