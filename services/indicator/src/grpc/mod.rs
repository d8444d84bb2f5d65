//! Transport only: parse the request, call the use case, map the error.

pub mod convert;

use std::pin::Pin;

use pbm_proto::indicator::v1 as proto;
use pbm_proto::indicator::v1::indicator_service_server::IndicatorService;
use pbm_server::paging::Page;
use pbm_server::{ApiError, MutationContext};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::excel;
use crate::ops::{self, SERVICE};
use crate::state::AppState;

pub struct IndicatorGrpc {
    state: AppState,
}

impl IndicatorGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn status(e: ApiError) -> Status {
    e.into_status(SERVICE)
}

fn mutation<M: prost::Message>(
    request: &Request<M>,
    method: &'static str,
    request_id: &str,
) -> Result<MutationContext, Status> {
    let caller = pbm_auth::caller(request)?;
    let rpc = pbm_server::rpc::Rpc::new(crate::HEALTH_NAME, method);
    MutationContext::new(rpc, caller, request_id, request.get_ref()).map_err(status)
}

fn page(p: Option<pbm_proto::common::v1::PageRequest>) -> Result<Page, Status> {
    let p = p.unwrap_or_default();
    Page::parse(p.page_size, &p.page_token).map_err(status)
}

type ExportStream =
    Pin<Box<dyn Stream<Item = Result<proto::ExportIndicatorsChunk, Status>> + Send>>;

#[tonic::async_trait]
impl IndicatorService for IndicatorGrpc {
    async fn create_frame(
        &self,
        request: Request<proto::CreateFrameRequest>,
    ) -> Result<Response<proto::CreateFrameResponse>, Status> {
        let ctx = mutation(&request, "CreateFrame", &request.get_ref().request_id)?;
        let frame = convert::frame_from_request(request.get_ref());
        ops::create_frame(&self.state, ctx, frame)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn get_frame(
        &self,
        request: Request<proto::GetFrameRequest>,
    ) -> Result<Response<proto::GetFrameResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        crate::domain::access::can_read(&caller, &self.state.region).map_err(status)?;
        let year = request.get_ref().fiscal_year;
        match self.state.frame(year).await.map_err(status)? {
            Some(f) => Ok(Response::new(proto::GetFrameResponse {
                frame: Some(convert::frame_to_proto(&f, &self.state.region)),
            })),
            None => Err(status(ApiError::not_found(
                "FRAME_NOT_FOUND",
                format!("{year} 年度尚未建立指标框架"),
            ))),
        }
    }

    async fn list_frames(
        &self,
        request: Request<proto::ListFramesRequest>,
    ) -> Result<Response<proto::ListFramesResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        crate::domain::access::can_read(&caller, &self.state.region).map_err(status)?;
        self.state.reload_frames().await.map_err(status)?;
        let frames = self
            .state
            .cached_frames()
            .iter()
            .map(|f| convert::frame_to_proto(f, &self.state.region))
            .collect();
        Ok(Response::new(proto::ListFramesResponse { frames }))
    }

    #[tracing::instrument(skip_all, fields(indicator.code = %request.get_ref().code))]
    async fn create_indicator(
        &self,
        request: Request<proto::CreateIndicatorRequest>,
    ) -> Result<Response<proto::CreateIndicatorResponse>, Status> {
        let ctx = mutation(&request, "CreateIndicator", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let spec = convert::spec_from_proto(r.spec, "spec.");
        let indicator = ops::create_indicator(&self.state, ctx, r.code.trim().to_owned(), spec)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::CreateIndicatorResponse {
            indicator: Some(indicator),
        }))
    }

    #[tracing::instrument(skip_all, fields(indicator.code = %request.get_ref().code))]
    async fn update_indicator(
        &self,
        request: Request<proto::UpdateIndicatorRequest>,
    ) -> Result<Response<proto::UpdateIndicatorResponse>, Status> {
        let ctx = mutation(&request, "UpdateIndicator", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let spec = convert::spec_from_proto(r.spec, "spec.");
        let indicator = ops::update_indicator(
            &self.state,
            ctx,
            r.code.trim().to_owned(),
            r.expected_version,
            spec,
            r.change_note,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::UpdateIndicatorResponse {
            indicator: Some(indicator),
        }))
    }

    #[tracing::instrument(skip_all, fields(indicator.code = %request.get_ref().code))]
    async fn set_indicator_status(
        &self,
        request: Request<proto::SetIndicatorStatusRequest>,
    ) -> Result<Response<proto::SetIndicatorStatusResponse>, Status> {
        let ctx = mutation(
            &request,
            "SetIndicatorStatus",
            &request.get_ref().request_id,
        )?;
        let r = request.into_inner();
        let new_status = convert::status_from(r.status)
            .ok_or_else(|| ApiError::invalid_field("STATUS_INVALID", "status", "请选择启用或停用"));
        let indicator = ops::set_status(
            &self.state,
            ctx,
            r.code.trim().to_owned(),
            r.expected_version,
            new_status,
            r.reason,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::SetIndicatorStatusResponse {
            indicator: Some(indicator),
        }))
    }

    async fn get_indicator(
        &self,
        request: Request<proto::GetIndicatorRequest>,
    ) -> Result<Response<proto::GetIndicatorResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.into_inner();
        let indicator =
            ops::get_indicator(&self.state, &caller, r.code.trim().to_owned(), r.version)
                .await
                .map_err(status)?;
        Ok(Response::new(proto::GetIndicatorResponse {
            indicator: Some(indicator),
        }))
    }

    async fn list_indicators(
        &self,
        request: Request<proto::ListIndicatorsRequest>,
    ) -> Result<Response<proto::ListIndicatorsResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.into_inner();
        let filter = convert::filter_from_proto(r.filter).map_err(status)?;
        ops::list_indicators(&self.state, &caller, filter, page(r.page)?)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn list_indicator_versions(
        &self,
        request: Request<proto::ListIndicatorVersionsRequest>,
    ) -> Result<Response<proto::ListIndicatorVersionsResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let versions = ops::list_versions(
            &self.state,
            &caller,
            request.into_inner().code.trim().to_owned(),
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::ListIndicatorVersionsResponse {
            versions,
        }))
    }

    async fn search_indicators(
        &self,
        request: Request<proto::SearchIndicatorsRequest>,
    ) -> Result<Response<proto::SearchIndicatorsResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.into_inner();
        let filter = convert::filter_from_proto(r.filter).map_err(status)?;
        let limit = match r.limit {
            0 => 20,
            n @ 1..=200 => n as usize,
            _ => {
                return Err(status(ApiError::invalid_field(
                    "LIMIT_INVALID",
                    "limit",
                    "返回条数应在 1–200 之间",
                )));
            }
        };
        ops::search(&self.state, &caller, &r.query, &filter, limit)
            .map(Response::new)
            .map_err(status)
    }

    async fn resolve_indicators(
        &self,
        request: Request<proto::ResolveIndicatorsRequest>,
    ) -> Result<Response<proto::ResolveIndicatorsResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.into_inner();
        let refs = r
            .refs
            .into_iter()
            .map(|x| (x.code.trim().to_owned(), x.version))
            .collect();
        let indicators = ops::resolve(&self.state, &caller, r.fiscal_year, refs)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ResolveIndicatorsResponse {
            indicators,
        }))
    }

    async fn propose_indicator(
        &self,
        request: Request<proto::ProposeIndicatorRequest>,
    ) -> Result<Response<proto::ProposeIndicatorResponse>, Status> {
        let ctx = mutation(&request, "ProposeIndicator", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let spec = convert::spec_from_proto(r.spec, "spec.");
        let proposal = ops::propose(&self.state, ctx, r.code.trim().to_owned(), spec, r.reason)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ProposeIndicatorResponse {
            proposal: Some(proposal),
        }))
    }

    async fn decide_proposal(
        &self,
        request: Request<proto::DecideProposalRequest>,
    ) -> Result<Response<proto::DecideProposalResponse>, Status> {
        let ctx = mutation(&request, "DecideProposal", &request.get_ref().request_id)?;
        let r = request.into_inner();
        ops::decide(
            &self.state,
            ctx,
            r.proposal_id,
            r.expected_version,
            r.approve,
            r.comment,
        )
        .await
        .map(Response::new)
        .map_err(status)
    }

    async fn get_proposal(
        &self,
        request: Request<proto::GetProposalRequest>,
    ) -> Result<Response<proto::GetProposalResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let proposal = ops::get_proposal(&self.state, &caller, request.get_ref().proposal_id)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::GetProposalResponse {
            proposal: Some(proposal),
        }))
    }

    async fn list_proposals(
        &self,
        request: Request<proto::ListProposalsRequest>,
    ) -> Result<Response<proto::ListProposalsResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.into_inner();
        let st = convert::proposal_status_from(r.status).map_err(status)?;
        ops::list_proposals(&self.state, &caller, st, page(r.page)?)
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn import_indicators(
        &self,
        request: Request<proto::ImportIndicatorsRequest>,
    ) -> Result<Response<proto::ImportIndicatorsResponse>, Status> {
        let ctx = mutation(&request, "ImportIndicators", &request.get_ref().request_id)?;
        let r = request.into_inner();
        excel::import(&self.state, ctx, r.workbook, r.validate_only)
            .await
            .map(Response::new)
            .map_err(status)
    }

    type ExportIndicatorsStream = ExportStream;

    async fn export_indicators(
        &self,
        request: Request<proto::ExportIndicatorsRequest>,
    ) -> Result<Response<Self::ExportIndicatorsStream>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let filter = convert::filter_from_proto(request.into_inner().filter).map_err(status)?;
        let (bytes, rows) = excel::export(&self.state, &caller, filter)
            .await
            .map_err(status)?;
        const CHUNK: usize = 1 << 20;
        let chunks: Vec<Result<proto::ExportIndicatorsChunk, Status>> = bytes
            .chunks(CHUNK)
            .enumerate()
            .map(|(i, c)| {
                Ok(proto::ExportIndicatorsChunk {
                    data: c.to_vec(),
                    rows: if i == 0 { rows as i32 } else { 0 },
                })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }
}
