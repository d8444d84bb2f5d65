//! Transport only: each unary RPC is one call to `pbm_server::rpc::{query, mutate}` with its use
//! case in `ops`; the caller, the RPC's name and the `ErrorInfo.domain` (`pbm.goal`) come from
//! the routed request. RPCs that call the indicator or agency service on the caller's behalf
//! forward the caller's `authorization` header.

use std::pin::Pin;

use pbm_proto::goal::v1 as proto;
use pbm_proto::goal::v1::goal_service_server::GoalService;
use pbm_server::{ApiError, rpc};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::domain::access;
use crate::ops::{self, Authorization};
use crate::state::AppState;

pub struct GoalGrpc {
    state: AppState,
}

impl GoalGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// The caller's `authorization` header, forwarded to the indicator and agency services.
fn authorization<M>(request: &Request<M>) -> Authorization {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

type DeclareGoalsStream =
    Pin<Box<dyn Stream<Item = Result<proto::DeclareGoalsResult, Status>> + Send>>;

type ExportStream =
    Pin<Box<dyn Stream<Item = Result<proto::ExportApprovedGoalsChunk, Status>> + Send>>;

type ApprovedGoalsStream =
    Pin<Box<dyn Stream<Item = Result<proto::ApprovedGoalItem, Status>> + Send>>;

#[tonic::async_trait]
impl GoalService for GoalGrpc {
    type DeclareGoalsStream = DeclareGoalsStream;
    type ExportApprovedGoalsStream = ExportStream;
    type StreamApprovedGoalsStream = ApprovedGoalsStream;

    /// Authorised and checked before the stream starts (a refusal is the call's status); then
    /// each chunk is sent on as soon as it is read, while the next is read.
    async fn stream_approved_goals(
        &self,
        r: Request<proto::StreamApprovedGoalsRequest>,
    ) -> Result<Response<Self::StreamApprovedGoalsStream>, Status> {
        let rpc = rpc::rpc_of(&r);
        let mut snapshot = rpc::query(r, |caller, m| async {
            ops::snapshot::open(&self.state, caller, m)
        })
        .await?
        .into_inner();
        let state = self.state.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(ops::snapshot::CHUNK as usize);
        tokio::spawn(
            async move {
                loop {
                    let items = match snapshot.next(&state).await {
                        Ok(Some(items)) => items,
                        Ok(None) => return,
                        Err(e) => {
                            let _ = tx.send(Err(e.into_status(rpc.domain()))).await;
                            return;
                        }
                    };
                    for item in items {
                        if tx.send(Ok(item)).await.is_err() {
                            // The caller went away.
                            return;
                        }
                    }
                }
            }
            .instrument(tracing::Span::current()),
        );
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn export_approved_goals(
        &self,
        r: Request<proto::ExportApprovedGoalsRequest>,
    ) -> Result<Response<Self::ExportApprovedGoalsStream>, Status> {
        let auth = authorization(&r);
        let chunks = rpc::query(r, |caller, m| {
            ops::export::export(&self.state, caller, &auth, m)
        })
        .await?
        .into_inner();
        Ok(Response::new(Box::pin(tokio_stream::iter(
            chunks.into_iter().map(Ok),
        ))))
    }

    /// Each item is its own pair of mutations, audited under this RPC; the client stream is
    /// read with deadlines ([`rpc::Inbound`]), so an idle one ends with DEADLINE_EXCEEDED.
    async fn declare_goals(
        &self,
        r: Request<tonic::Streaming<proto::DeclareGoalsItem>>,
    ) -> Result<Response<Self::DeclareGoalsStream>, Status> {
        let rpc = rpc::rpc_of(&r);
        let caller = rpc::caller_of(&r, &rpc)?;
        // The stream as a whole is for those who declare goals: units and departments.
        access::ensure_declarer(&caller, &self.state.region)
            .map_err(|d| ApiError::from(d).into_status(rpc.domain()))?;
        let (auth, state) = (authorization(&r), self.state.clone());
        let mut input = rpc::Inbound::new(r.into_inner(), &rpc);
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(
            async move {
                let mut index = 0i32;
                while let Some(next) = input.message().await.transpose() {
                    let result = match next {
                        Ok(item) => {
                            Ok(ops::bulk::declare(&state, &rpc, &caller, &auth, index, item).await)
                        }
                        Err(e) => Err(e),
                    };
                    let stop = result.is_err();
                    if tx.send(result).await.is_err() || stop {
                        break;
                    }
                    index = index.saturating_add(1);
                }
            }
            .instrument(tracing::Span::current()),
        );
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn declare_project(
        &self,
        r: Request<proto::DeclareProjectRequest>,
    ) -> Result<Response<proto::DeclareProjectResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::projects::declare(&self.state, ctx, m),
        )
        .await
    }

    async fn get_project(
        &self,
        r: Request<proto::GetProjectRequest>,
    ) -> Result<Response<proto::GetProjectResponse>, Status> {
        rpc::query(r, |caller, m| ops::projects::get(&self.state, caller, m)).await
    }

    async fn save_goal(
        &self,
        r: Request<proto::SaveGoalRequest>,
    ) -> Result<Response<proto::SaveGoalResponse>, Status> {
        let auth = authorization(&r);
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::goals::save(&self.state, ctx, auth, m),
        )
        .await
    }

    async fn submit_goal(
        &self,
        r: Request<proto::SubmitGoalRequest>,
    ) -> Result<Response<proto::SubmitGoalResponse>, Status> {
        let auth = authorization(&r);
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::workflow::submit(&self.state, ctx, auth, m),
        )
        .await
    }

    async fn assign_reviewers(
        &self,
        r: Request<proto::AssignReviewersRequest>,
    ) -> Result<Response<proto::AssignReviewersResponse>, Status> {
        let auth = authorization(&r);
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::reviewers::assign(&self.state, ctx, auth, m),
        )
        .await
    }

    async fn review_goal(
        &self,
        r: Request<proto::ReviewGoalRequest>,
    ) -> Result<Response<proto::ReviewGoalResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::workflow::review(&self.state, ctx, m),
        )
        .await
    }

    async fn amend_goal(
        &self,
        r: Request<proto::AmendGoalRequest>,
    ) -> Result<Response<proto::AmendGoalResponse>, Status> {
        let auth = authorization(&r);
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::workflow::amend(&self.state, ctx, auth, m),
        )
        .await
    }

    async fn approve_goal(
        &self,
        r: Request<proto::ApproveGoalRequest>,
    ) -> Result<Response<proto::ApproveGoalResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::workflow::approve(&self.state, ctx, m),
        )
        .await
    }

    async fn publish_goal(
        &self,
        r: Request<proto::PublishGoalRequest>,
    ) -> Result<Response<proto::PublishGoalResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::workflow::publish(&self.state, ctx, m),
        )
        .await
    }

    async fn request_adjustment(
        &self,
        r: Request<proto::RequestAdjustmentRequest>,
    ) -> Result<Response<proto::RequestAdjustmentResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::workflow::request_adjustment(&self.state, ctx, m),
        )
        .await
    }

    async fn cancel_adjustment(
        &self,
        r: Request<proto::CancelAdjustmentRequest>,
    ) -> Result<Response<proto::CancelAdjustmentResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::workflow::cancel_adjustment(&self.state, ctx, m),
        )
        .await
    }

    async fn get_goal(
        &self,
        r: Request<proto::GetGoalRequest>,
    ) -> Result<Response<proto::GetGoalResponse>, Status> {
        rpc::query(r, |caller, m| ops::goals::get(&self.state, caller, m)).await
    }

    async fn list_goals(
        &self,
        r: Request<proto::ListGoalsRequest>,
    ) -> Result<Response<proto::ListGoalsResponse>, Status> {
        rpc::query(r, |caller, m| ops::goals::list(&self.state, caller, m)).await
    }

    async fn get_goal_history(
        &self,
        r: Request<proto::GetGoalHistoryRequest>,
    ) -> Result<Response<proto::GetGoalHistoryResponse>, Status> {
        rpc::query(r, |caller, m| ops::history::history(&self.state, caller, m)).await
    }

    async fn submit_ex_ante_report(
        &self,
        r: Request<proto::SubmitExAnteReportRequest>,
    ) -> Result<Response<proto::SubmitExAnteReportResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::exante::submit(&self.state, ctx, m),
        )
        .await
    }

    async fn review_ex_ante_report(
        &self,
        r: Request<proto::ReviewExAnteReportRequest>,
    ) -> Result<Response<proto::ReviewExAnteReportResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::exante::review(&self.state, ctx, m),
        )
        .await
    }

    async fn get_ex_ante_report(
        &self,
        r: Request<proto::GetExAnteReportRequest>,
    ) -> Result<Response<proto::GetExAnteReportResponse>, Status> {
        rpc::query(r, |caller, m| ops::exante::get(&self.state, caller, m)).await
    }

    async fn commission_ex_ante_assessment(
        &self,
        r: Request<proto::CommissionExAnteAssessmentRequest>,
    ) -> Result<Response<proto::CommissionExAnteAssessmentResponse>, Status> {
        let auth = authorization(&r);
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::commission::commission(&self.state, ctx, auth, m),
        )
        .await
    }

    async fn check_funding_eligibility(
        &self,
        r: Request<proto::CheckFundingEligibilityRequest>,
    ) -> Result<Response<proto::CheckFundingEligibilityResponse>, Status> {
        rpc::query(r, |caller, m| ops::funding::funding(&self.state, caller, m)).await
    }

    async fn get_goal_statistics(
        &self,
        r: Request<proto::GetGoalStatisticsRequest>,
    ) -> Result<Response<proto::GetGoalStatisticsResponse>, Status> {
        rpc::query(r, |caller, m| {
            ops::statistics::statistics(&self.state, caller, m)
        })
        .await
    }

    async fn get_goal_rules(
        &self,
        r: Request<proto::GetGoalRulesRequest>,
    ) -> Result<Response<proto::GetGoalRulesResponse>, Status> {
        rpc::query(r, |caller, m| ops::rules::get(&self.state, caller, m)).await
    }

    async fn set_goal_rules(
        &self,
        r: Request<proto::SetGoalRulesRequest>,
    ) -> Result<Response<proto::SetGoalRulesResponse>, Status> {
        rpc::mutate(
            r,
            |m| &m.request_id,
            |ctx, m| ops::rules::set(&self.state, ctx, m),
        )
        .await
    }
}
