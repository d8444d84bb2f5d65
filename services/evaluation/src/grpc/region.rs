//! `pbm.region.v1.RegionStatisticsService`: the region's statistics in the one shape the
//! province reads from every deployment. Thin: one `rpc::query` with its use case in
//! `ops::region`, which reads the goal, monitoring and agency services with the caller's token.

use pbm_proto::region::v1 as rg;
use pbm_proto::region::v1::region_statistics_service_server::{
    RegionStatisticsService, RegionStatisticsServiceServer,
};
use pbm_server::rpc;
use tonic::{Request, Response, Status};

use crate::ops::region;
use crate::state::AppState;

pub struct RegionGrpc {
    state: AppState,
}

pub fn server(state: AppState) -> RegionStatisticsServiceServer<RegionGrpc> {
    RegionStatisticsServiceServer::new(RegionGrpc { state })
}

#[tonic::async_trait]
impl RegionStatisticsService for RegionGrpc {
    /// Calls the goal, monitoring and agency services with the caller's token.
    async fn get_region_statistics(
        &self,
        r: Request<rg::GetRegionStatisticsRequest>,
    ) -> Result<Response<rg::GetRegionStatisticsResponse>, Status> {
        let auth = super::authorization(&r);
        rpc::query(r, |caller, m| async move {
            region::get(&self.state, caller, &auth, m).await
        })
        .await
    }
}
