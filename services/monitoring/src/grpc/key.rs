//! `pbm.monitoring.v1.KeyMonitoringService`: 重点监控 marked, commissioned to an agency of the
//! pool, reported on by that agency and decided by finance. Thin: one `rpc::query` /
//! `rpc::mutate` per RPC with its use case in `ops::key`; CommissionKeyMonitoring forwards the
//! caller's `authorization` to the agency service.

use pbm_proto::monitoring::v1 as mon;
use pbm_proto::monitoring::v1::key_monitoring_service_server::{
    KeyMonitoringService, KeyMonitoringServiceServer,
};
use pbm_server::rpc;
use tonic::{Request, Response, Status};

use crate::ops::key;
use crate::state::AppState;

pub struct KeyMonitoringGrpc {
    state: AppState,
}

pub fn server(state: AppState) -> KeyMonitoringServiceServer<KeyMonitoringGrpc> {
    KeyMonitoringServiceServer::new(KeyMonitoringGrpc { state })
}

#[tonic::async_trait]
impl KeyMonitoringService for KeyMonitoringGrpc {
    async fn mark_key_monitoring(
        &self,
        r: Request<mon::MarkKeyMonitoringRequest>,
    ) -> Result<Response<mon::MarkKeyMonitoringResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| key::mark(&self.state, ctx, m),
        )
        .await
    }

    async fn commission_key_monitoring(
        &self,
        r: Request<mon::CommissionKeyMonitoringRequest>,
    ) -> Result<Response<mon::CommissionKeyMonitoringResponse>, Status> {
        let auth = super::authorization(&r);
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| key::commission(&self.state, ctx, auth, m),
        )
        .await
    }

    async fn file_key_monitoring_report(
        &self,
        r: Request<mon::FileKeyMonitoringReportRequest>,
    ) -> Result<Response<mon::FileKeyMonitoringReportResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| key::file(&self.state, ctx, m),
        )
        .await
    }

    async fn decide_key_monitoring_report(
        &self,
        r: Request<mon::DecideKeyMonitoringReportRequest>,
    ) -> Result<Response<mon::DecideKeyMonitoringReportResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| key::decide(&self.state, ctx, m),
        )
        .await
    }

    async fn get_key_monitoring(
        &self,
        r: Request<mon::GetKeyMonitoringRequest>,
    ) -> Result<Response<mon::GetKeyMonitoringResponse>, Status> {
        rpc::query(r, |caller, m| key::get(&self.state, caller, m)).await
    }

    async fn list_key_monitoring(
        &self,
        r: Request<mon::ListKeyMonitoringRequest>,
    ) -> Result<Response<mon::ListKeyMonitoringResponse>, Status> {
        rpc::query(r, |caller, m| key::list(&self.state, caller, m)).await
    }
}
