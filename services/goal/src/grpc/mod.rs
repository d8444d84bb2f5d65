//! Transport of `pbm.goal.v1.GoalService`: parse, call the use case, map errors.

use pbm_proto::goal::v1 as proto;
use pbm_proto::goal::v1::goal_service_server::GoalService;
use pbm_server::{ApiError, MutationContext};
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::workflow::Action;
use crate::ops::bulk::stored;
use crate::ops::{self, GRPC_SERVICE};
use crate::state::AppState;
use pbm_server::rpc::{Rpc, error_domain};

pub struct GoalGrpc {
    state: AppState,
}

impl GoalGrpc {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn status(e: ApiError) -> Status {
    e.into_status(error_domain(GRPC_SERVICE))
}

fn mutation<M: prost::Message>(
    request: &Request<M>,
    method: &'static str,
    request_id: &str,
) -> Result<MutationContext, Status> {
    let caller = pbm_auth::caller(request)?;
    MutationContext::new(
        Rpc::new(GRPC_SERVICE, method),
        caller,
        request_id,
        request.get_ref(),
    )
    .map_err(status)
}

/// The caller's `authorization` header, forwarded to the indicator service.
fn authorization<M>(request: &Request<M>) -> String {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn goal(g: proto::Goal) -> Option<proto::Goal> {
    Some(g)
}

type DeclareGoalsStream = std::pin::Pin<
    Box<dyn tokio_stream::Stream<Item = Result<proto::DeclareGoalsResult, Status>> + Send>,
>;

type ExportStream = std::pin::Pin<
    Box<dyn tokio_stream::Stream<Item = Result<proto::ExportApprovedGoalsChunk, Status>> + Send>,
>;

#[tonic::async_trait]
impl GoalService for GoalGrpc {
    type DeclareGoalsStream = DeclareGoalsStream;
    type ExportApprovedGoalsStream = ExportStream;

    async fn export_approved_goals(
        &self,
        request: Request<proto::ExportApprovedGoalsRequest>,
    ) -> Result<Response<Self::ExportApprovedGoalsStream>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let auth = authorization(&request);
        let (bytes, goals, rows) =
            crate::ops::export::export(&self.state, &caller, &auth, request.into_inner())
                .await
                .map_err(status)?;
        const CHUNK: usize = 1 << 20;
        let first = |i: usize, n: usize| {
            if i == 0 {
                i32::try_from(n).unwrap_or(i32::MAX)
            } else {
                0
            }
        };
        let chunks: Vec<Result<proto::ExportApprovedGoalsChunk, Status>> = bytes
            .chunks(CHUNK)
            .enumerate()
            .map(|(i, c)| {
                Ok(proto::ExportApprovedGoalsChunk {
                    data: c.to_vec(),
                    goals: first(i, goals),
                    rows: first(i, rows),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }

    async fn declare_goals(
        &self,
        request: Request<tonic::Streaming<proto::DeclareGoalsItem>>,
    ) -> Result<Response<Self::DeclareGoalsStream>, Status> {
        let caller = pbm_auth::caller(&request)?;
        // The stream as a whole is for those who declare goals: units and departments.
        ops::ensure_declarer(&caller, &self.state.region).map_err(status)?;
        let auth = authorization(&request);
        let mut input = request.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let state = self.state.clone();
        tokio::spawn(async move {
            let mut index = 0i32;
            loop {
                let next = match input.message().await {
                    Ok(Some(item)) => {
                        Ok(crate::ops::bulk::declare(&state, &caller, &auth, index, item).await)
                    }
                    Ok(None) => break,
                    Err(e) => Err(e),
                };
                let stop = next.is_err();
                if tx.send(next).await.is_err() || stop {
                    break;
                }
                index = index.saturating_add(1);
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn declare_project(
        &self,
        request: Request<proto::DeclareProjectRequest>,
    ) -> Result<Response<proto::DeclareProjectResponse>, Status> {
        let ctx = mutation(&request, "DeclareProject", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let project = ops::projects::declare_project(
            &self.state,
            ctx,
            convert::project_from(r.spec),
            r.expected_version,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::DeclareProjectResponse {
            project: Some(project),
        }))
    }

    async fn get_project(
        &self,
        request: Request<proto::GetProjectRequest>,
    ) -> Result<Response<proto::GetProjectResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.into_inner();
        let project = ops::projects::get_project(&self.state, &caller, r.pro_code, r.fiscal_year)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::GetProjectResponse {
            project: Some(project),
        }))
    }

    async fn save_goal(
        &self,
        request: Request<proto::SaveGoalRequest>,
    ) -> Result<Response<proto::SaveGoalResponse>, Status> {
        let ctx = mutation(&request, "SaveGoal", &request.get_ref().request_id)?;
        let auth = authorization(&request);
        let r = request.into_inner();
        let g = ops::goals::save_goal(
            &self.state,
            ctx,
            auth,
            stored(r.declaration),
            r.expected_revision,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::SaveGoalResponse { goal: goal(g) }))
    }

    async fn submit_goal(
        &self,
        request: Request<proto::SubmitGoalRequest>,
    ) -> Result<Response<proto::SubmitGoalResponse>, Status> {
        let ctx = mutation(&request, "SubmitGoal", &request.get_ref().request_id)?;
        let auth = authorization(&request);
        let r = request.into_inner();
        let g = ops::workflow::submit(&self.state, ctx, auth, r.goal_id, r.expected_revision)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::SubmitGoalResponse { goal: goal(g) }))
    }

    async fn assign_reviewers(
        &self,
        request: Request<proto::AssignReviewersRequest>,
    ) -> Result<Response<proto::AssignReviewersResponse>, Status> {
        let ctx = mutation(&request, "AssignReviewers", &request.get_ref().request_id)?;
        let auth = authorization(&request);
        ops::reviewers::assign(&self.state, ctx, auth, request.into_inner())
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn review_goal(
        &self,
        request: Request<proto::ReviewGoalRequest>,
    ) -> Result<Response<proto::ReviewGoalResponse>, Status> {
        let ctx = mutation(&request, "ReviewGoal", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let g = ops::workflow::review(
            &self.state,
            ctx,
            r.goal_id,
            r.expected_revision,
            convert::outcome_from(r.outcome),
            r.comments,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::ReviewGoalResponse { goal: goal(g) }))
    }

    async fn amend_goal(
        &self,
        request: Request<proto::AmendGoalRequest>,
    ) -> Result<Response<proto::AmendGoalResponse>, Status> {
        let ctx = mutation(&request, "AmendGoal", &request.get_ref().request_id)?;
        let auth = authorization(&request);
        let r = request.into_inner();
        ops::workflow::amend(
            &self.state,
            ctx,
            auth,
            r.goal_id,
            r.expected_revision,
            stored(r.declaration),
            r.comments,
        )
        .await
        .map(Response::new)
        .map_err(status)
    }

    async fn approve_goal(
        &self,
        request: Request<proto::ApproveGoalRequest>,
    ) -> Result<Response<proto::ApproveGoalResponse>, Status> {
        let ctx = mutation(&request, "ApproveGoal", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let g = ops::workflow::simple(
            &self.state,
            ctx,
            r.goal_id,
            r.expected_revision,
            Action::Approve,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::ApproveGoalResponse { goal: goal(g) }))
    }

    async fn publish_goal(
        &self,
        request: Request<proto::PublishGoalRequest>,
    ) -> Result<Response<proto::PublishGoalResponse>, Status> {
        let ctx = mutation(&request, "PublishGoal", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let g = ops::workflow::simple(
            &self.state,
            ctx,
            r.goal_id,
            r.expected_revision,
            Action::Publish,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::PublishGoalResponse { goal: goal(g) }))
    }

    async fn request_adjustment(
        &self,
        request: Request<proto::RequestAdjustmentRequest>,
    ) -> Result<Response<proto::RequestAdjustmentResponse>, Status> {
        let ctx = mutation(&request, "RequestAdjustment", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let action = Action::RequestAdjustment {
            budget_adjustment_ref: r.budget_adjustment_ref.trim().to_owned(),
            reason: r.reason.trim().to_owned(),
        };
        let g = ops::workflow::simple(&self.state, ctx, r.goal_id, r.expected_revision, action)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::RequestAdjustmentResponse {
            goal: goal(g),
        }))
    }

    async fn cancel_adjustment(
        &self,
        request: Request<proto::CancelAdjustmentRequest>,
    ) -> Result<Response<proto::CancelAdjustmentResponse>, Status> {
        let ctx = mutation(&request, "CancelAdjustment", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let action = Action::CancelAdjustment {
            reason: r.reason.trim().to_owned(),
        };
        let g = ops::workflow::simple(&self.state, ctx, r.goal_id, r.expected_revision, action)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::CancelAdjustmentResponse {
            goal: goal(g),
        }))
    }

    async fn get_goal(
        &self,
        request: Request<proto::GetGoalRequest>,
    ) -> Result<Response<proto::GetGoalResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.into_inner();
        let g = ops::goals::get(&self.state, &caller, r.goal_id, r.version)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::GetGoalResponse { goal: goal(g) }))
    }

    async fn list_goals(
        &self,
        request: Request<proto::ListGoalsRequest>,
    ) -> Result<Response<proto::ListGoalsResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        ops::goals::list(&self.state, &caller, request.into_inner())
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn get_goal_history(
        &self,
        request: Request<proto::GetGoalHistoryRequest>,
    ) -> Result<Response<proto::GetGoalHistoryResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let events = ops::history::history(&self.state, &caller, request.get_ref().goal_id)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::GetGoalHistoryResponse { events }))
    }

    async fn submit_ex_ante_report(
        &self,
        request: Request<proto::SubmitExAnteReportRequest>,
    ) -> Result<Response<proto::SubmitExAnteReportResponse>, Status> {
        let ctx = mutation(
            &request,
            "SubmitExAnteReport",
            &request.get_ref().request_id,
        )?;
        let r = request.into_inner();
        let report = crate::ops::exante::submit(
            &self.state,
            ctx,
            r.report.unwrap_or_default(),
            r.expected_version,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::SubmitExAnteReportResponse {
            report: Some(report),
        }))
    }

    async fn review_ex_ante_report(
        &self,
        request: Request<proto::ReviewExAnteReportRequest>,
    ) -> Result<Response<proto::ReviewExAnteReportResponse>, Status> {
        let ctx = mutation(
            &request,
            "ReviewExAnteReport",
            &request.get_ref().request_id,
        )?;
        let report = crate::ops::exante::review(&self.state, ctx, request.into_inner())
            .await
            .map_err(status)?;
        Ok(Response::new(proto::ReviewExAnteReportResponse {
            report: Some(report),
        }))
    }

    async fn get_ex_ante_report(
        &self,
        request: Request<proto::GetExAnteReportRequest>,
    ) -> Result<Response<proto::GetExAnteReportResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.into_inner();
        let (report, commission) =
            crate::ops::exante::get(&self.state, &caller, r.pro_code, r.fiscal_year)
                .await
                .map_err(status)?;
        Ok(Response::new(proto::GetExAnteReportResponse {
            report: Some(report),
            commission,
        }))
    }

    async fn commission_ex_ante_assessment(
        &self,
        request: Request<proto::CommissionExAnteAssessmentRequest>,
    ) -> Result<Response<proto::CommissionExAnteAssessmentResponse>, Status> {
        let ctx = mutation(
            &request,
            "CommissionExAnteAssessment",
            &request.get_ref().request_id,
        )?;
        let auth = authorization(&request);
        let commission =
            crate::ops::commission::commission(&self.state, ctx, auth, request.into_inner())
                .await
                .map_err(status)?;
        Ok(Response::new(proto::CommissionExAnteAssessmentResponse {
            commission: Some(commission),
        }))
    }

    async fn check_funding_eligibility(
        &self,
        request: Request<proto::CheckFundingEligibilityRequest>,
    ) -> Result<Response<proto::CheckFundingEligibilityResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let r = request.into_inner();
        let results = ops::funding::funding(&self.state, &caller, r.fiscal_year, r.pro_codes)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::CheckFundingEligibilityResponse {
            results,
        }))
    }

    async fn get_goal_statistics(
        &self,
        request: Request<proto::GetGoalStatisticsRequest>,
    ) -> Result<Response<proto::GetGoalStatisticsResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        ops::statistics::statistics(&self.state, &caller, request.into_inner())
            .await
            .map(Response::new)
            .map_err(status)
    }

    async fn get_goal_rules(
        &self,
        request: Request<proto::GetGoalRulesRequest>,
    ) -> Result<Response<proto::GetGoalRulesResponse>, Status> {
        let caller = pbm_auth::caller(&request)?;
        let rules = ops::rules::get_rules(&self.state, &caller, request.get_ref().fiscal_year)
            .await
            .map_err(status)?;
        Ok(Response::new(proto::GetGoalRulesResponse {
            rules: Some(rules),
        }))
    }

    async fn set_goal_rules(
        &self,
        request: Request<proto::SetGoalRulesRequest>,
    ) -> Result<Response<proto::SetGoalRulesResponse>, Status> {
        let ctx = mutation(&request, "SetGoalRules", &request.get_ref().request_id)?;
        let r = request.into_inner();
        let rules = ops::rules::set_rules(
            &self.state,
            ctx,
            r.rules.unwrap_or_default(),
            r.expected_version,
        )
        .await
        .map_err(status)?;
        Ok(Response::new(proto::SetGoalRulesResponse {
            rules: Some(rules),
        }))
    }
}
