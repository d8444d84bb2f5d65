//! Transport only: each RPC is one call to `pbm_server::rpc::{query, mutate}` with its use case
//! in `ops`; the caller, the RPC's name and the `ErrorInfo.domain` come from the routed request.

use std::pin::Pin;

use pbm_proto::indicator::v1 as proto;
use pbm_proto::indicator::v1::indicator_service_server::IndicatorService;
use pbm_server::rpc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::ops;
use crate::state::AppState;

pub mod library;

pub struct IndicatorGrpc {
    state: AppState,
}

impl IndicatorGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

type ExportStream =
    Pin<Box<dyn Stream<Item = Result<proto::ExportIndicatorsChunk, Status>> + Send>>;

#[tonic::async_trait]
impl IndicatorService for IndicatorGrpc {
    async fn create_frame(
        &self,
        r: Request<proto::CreateFrameRequest>,
    ) -> Result<Response<proto::CreateFrameResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::frames::create(&self.state, ctx, m),
        )
        .await
    }

    async fn get_frame(
        &self,
        r: Request<proto::GetFrameRequest>,
    ) -> Result<Response<proto::GetFrameResponse>, Status> {
        rpc::query(r, |caller, m| ops::frames::get(&self.state, caller, m)).await
    }

    async fn list_frames(
        &self,
        r: Request<proto::ListFramesRequest>,
    ) -> Result<Response<proto::ListFramesResponse>, Status> {
        rpc::query(r, |caller, m| ops::frames::list(&self.state, caller, m)).await
    }

    #[tracing::instrument(skip_all, fields(indicator.code = %r.get_ref().code))]
    async fn create_indicator(
        &self,
        r: Request<proto::CreateIndicatorRequest>,
    ) -> Result<Response<proto::CreateIndicatorResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::indicators::create(&self.state, ctx, m),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(indicator.code = %r.get_ref().code))]
    async fn update_indicator(
        &self,
        r: Request<proto::UpdateIndicatorRequest>,
    ) -> Result<Response<proto::UpdateIndicatorResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::indicators::update(&self.state, ctx, m),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(indicator.code = %r.get_ref().code))]
    async fn set_indicator_status(
        &self,
        r: Request<proto::SetIndicatorStatusRequest>,
    ) -> Result<Response<proto::SetIndicatorStatusResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::indicators::set_status(&self.state, ctx, m),
        )
        .await
    }

    async fn get_indicator(
        &self,
        r: Request<proto::GetIndicatorRequest>,
    ) -> Result<Response<proto::GetIndicatorResponse>, Status> {
        rpc::query(r, |caller, m| ops::indicators::get(&self.state, caller, m)).await
    }

    async fn list_indicators(
        &self,
        r: Request<proto::ListIndicatorsRequest>,
    ) -> Result<Response<proto::ListIndicatorsResponse>, Status> {
        rpc::query(r, |caller, m| ops::indicators::list(&self.state, caller, m)).await
    }

    async fn list_indicator_versions(
        &self,
        r: Request<proto::ListIndicatorVersionsRequest>,
    ) -> Result<Response<proto::ListIndicatorVersionsResponse>, Status> {
        rpc::query(r, |caller, m| {
            ops::indicators::versions(&self.state, caller, m)
        })
        .await
    }

    async fn search_indicators(
        &self,
        r: Request<proto::SearchIndicatorsRequest>,
    ) -> Result<Response<proto::SearchIndicatorsResponse>, Status> {
        rpc::query(r, |caller, m| {
            ops::indicators::search(&self.state, caller, m)
        })
        .await
    }

    async fn resolve_indicators(
        &self,
        r: Request<proto::ResolveIndicatorsRequest>,
    ) -> Result<Response<proto::ResolveIndicatorsResponse>, Status> {
        rpc::query(r, |caller, m| ops::resolve::resolve(&self.state, caller, m)).await
    }

    async fn propose_indicator(
        &self,
        r: Request<proto::ProposeIndicatorRequest>,
    ) -> Result<Response<proto::ProposeIndicatorResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::proposals::propose(&self.state, ctx, m),
        )
        .await
    }

    async fn decide_proposal(
        &self,
        r: Request<proto::DecideProposalRequest>,
    ) -> Result<Response<proto::DecideProposalResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::proposals::decide(&self.state, ctx, m),
        )
        .await
    }

    async fn get_proposal(
        &self,
        r: Request<proto::GetProposalRequest>,
    ) -> Result<Response<proto::GetProposalResponse>, Status> {
        rpc::query(r, |caller, m| ops::proposals::get(&self.state, caller, m)).await
    }

    async fn list_proposals(
        &self,
        r: Request<proto::ListProposalsRequest>,
    ) -> Result<Response<proto::ListProposalsResponse>, Status> {
        rpc::query(r, |caller, m| ops::proposals::list(&self.state, caller, m)).await
    }

    async fn import_indicators(
        &self,
        r: Request<proto::ImportIndicatorsRequest>,
    ) -> Result<Response<proto::ImportIndicatorsResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::excel::import(&self.state, ctx, m),
        )
        .await
    }

    type ExportIndicatorsStream = ExportStream;

    async fn export_indicators(
        &self,
        r: Request<proto::ExportIndicatorsRequest>,
    ) -> Result<Response<Self::ExportIndicatorsStream>, Status> {
        let export = rpc::query(r, |caller, m| ops::excel::export(&self.state, caller, m)).await?;
        let (bytes, rows) = export.into_inner();
        let chunks = convert::export_chunks(&bytes, rows).into_iter().map(Ok);
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }
}
