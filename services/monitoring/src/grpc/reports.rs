//! `pbm.monitoring.v1.ReportService`: the units' reports, their steps and history, and the
//! national monitoring table in and out ([`crate::ops::reports`], [`crate::ops::report_reads`],
//! [`crate::ops::report_table`]).

use std::pin::Pin;

use pbm_proto::monitoring::v1 as proto;
use pbm_proto::monitoring::v1::report_service_server::{ReportService, ReportServiceServer};
use pbm_server::rpc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::ops::{report_reads, report_table, reports};
use crate::state::AppState;

pub struct ReportGrpc {
    state: AppState,
}

/// The service on `state`.
pub fn server(state: AppState) -> ReportServiceServer<ReportGrpc> {
    ReportServiceServer::new(ReportGrpc { state })
}

type ExportStream =
    Pin<Box<dyn Stream<Item = Result<proto::ExportMonitoringTableChunk, Status>> + Send>>;

#[tonic::async_trait]
impl ReportService for ReportGrpc {
    type ExportMonitoringTableStream = ExportStream;

    async fn save_report(
        &self,
        r: Request<proto::SaveReportRequest>,
    ) -> Result<Response<proto::SaveReportResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| reports::save(&self.state, ctx, m),
        )
        .await
    }

    async fn submit_report(
        &self,
        r: Request<proto::SubmitReportRequest>,
    ) -> Result<Response<proto::SubmitReportResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| reports::submit(&self.state, ctx, m),
        )
        .await
    }

    async fn check_report(
        &self,
        r: Request<proto::CheckReportRequest>,
    ) -> Result<Response<proto::CheckReportResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| reports::check(&self.state, ctx, m),
        )
        .await
    }

    async fn accept_report(
        &self,
        r: Request<proto::AcceptReportRequest>,
    ) -> Result<Response<proto::AcceptReportResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| reports::accept(&self.state, ctx, m),
        )
        .await
    }

    async fn return_report(
        &self,
        r: Request<proto::ReturnReportRequest>,
    ) -> Result<Response<proto::ReturnReportResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| reports::return_report(&self.state, ctx, m),
        )
        .await
    }

    async fn get_report(
        &self,
        r: Request<proto::GetReportRequest>,
    ) -> Result<Response<proto::GetReportResponse>, Status> {
        rpc::query(r, |caller, m| report_reads::get(&self.state, caller, m)).await
    }

    async fn list_reports(
        &self,
        r: Request<proto::ListReportsRequest>,
    ) -> Result<Response<proto::ListReportsResponse>, Status> {
        rpc::query(r, |caller, m| report_reads::list(&self.state, caller, m)).await
    }

    async fn get_report_history(
        &self,
        r: Request<proto::GetReportHistoryRequest>,
    ) -> Result<Response<proto::GetReportHistoryResponse>, Status> {
        rpc::query(r, |caller, m| report_reads::history(&self.state, caller, m)).await
    }

    async fn import_reports(
        &self,
        r: Request<proto::ImportReportsRequest>,
    ) -> Result<Response<proto::ImportReportsResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| report_table::import(&self.state, ctx, m),
        )
        .await
    }

    /// Authorised and built before the stream starts (a refusal is the call's status); then
    /// sent in chunks.
    async fn export_monitoring_table(
        &self,
        r: Request<proto::ExportMonitoringTableRequest>,
    ) -> Result<Response<Self::ExportMonitoringTableStream>, Status> {
        let chunks = rpc::query(r, |caller, m| report_table::export(&self.state, caller, m))
            .await?
            .into_inner();
        Ok(Response::new(Box::pin(tokio_stream::iter(
            chunks.into_iter().map(Ok),
        ))))
    }
}
