//! The agency and expert pool as the goal service sees it: reviewers of a goal are drawn by the
//! agency service over gRPC (docs/DOMAIN.md "Review and approval", docs/DOMAIN.md "Random draws":
//! review by experts or agencies drawn for the purpose; an unreachable agency service answers
//! UNAVAILABLE `AGENCY_SERVICE_UNAVAILABLE`, docs/GOAL.md "Served now: pbm.goal.v1.GoalService").
//! The call carries the original caller's token; its request id is derived from the caller's,
//! so a retried assignment replays the same draw.

use pbm_proto::agency::v1 as ag;
use pbm_proto::agency::v1::draw_service_client::DrawServiceClient;
use pbm_proto::agency::v1::engagement_service_client::EngagementServiceClient;
use pbm_proto::tls::ClientTlsFiles;
use pbm_server::{ApiError, ErrorKind, FieldViolation};
use tonic::transport::Channel;

use pbm_server::calls::{as_caller, lazy_channel};

use crate::clients::library::CALL_TIMEOUT;
use tonic_types::StatusExt;

/// A lazily connected client of the agency service's draws.
#[derive(Clone)]
pub struct Pool {
    channel: Channel,
}

/// Who reviews: drawn experts (by id) or a drawn agency (by credit code), and the draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drawn {
    pub draw_id: i64,
    /// (`expert` | `agency`, id).
    pub reviewers: Vec<(&'static str, String)>,
}

/// What to draw.
pub enum Ask {
    Experts { field: String, count: i32 },
    Agency { weighted_by_rating: bool },
}

fn reason_of(status: &tonic::Status) -> &'static str {
    // The agency's reason codes the goal service passes on; anything else keeps a generic one.
    const KNOWN: [&str; 8] = [
        "TOO_FEW_ELIGIBLE",
        "KIND_NOT_COMMISSIONABLE",
        "NOT_INDEPENDENT",
        "NOT_COMMISSIONABLE",
        "VALIDATION_FAILED",
        "ROLE_NOT_ALLOWED",
        "REGION_NOT_ALLOWED",
        "REQUEST_ID_REUSED",
    ];
    let reason = status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default();
    KNOWN
        .into_iter()
        .find(|k| *k == reason)
        .unwrap_or("POOL_DRAW_REFUSED")
}

fn refused(status: tonic::Status) -> ApiError {
    let kind = match status.code() {
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown => {
            tracing::warn!(error = %status.message(), "agency service unreachable");
            return ApiError::unavailable(
                "AGENCY_SERVICE_UNAVAILABLE",
                "第三方机构/专家库服务暂时无法访问，无法抽取或委托；请稍后重试（未做任何修改）",
            );
        }
        tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => ErrorKind::PermissionDenied,
        tonic::Code::InvalidArgument => ErrorKind::InvalidArgument,
        tonic::Code::NotFound => ErrorKind::NotFound,
        _ => ErrorKind::FailedPrecondition,
    };
    let reason = reason_of(&status);
    let mut e = ApiError::new(
        kind,
        reason,
        format!("第三方机构/专家库未完成抽取或委托：{}", status.message()),
    );
    e.violations = status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| FieldViolation::new(v.field, reason, v.description))
                .collect()
        })
        .unwrap_or_default();
    e
}

impl Pool {
    /// A client of the agency service at an http:// `url` (connected on first use).
    pub fn new(url: &str) -> anyhow::Result<Pool> {
        Pool::over_tls(url, &ClientTlsFiles::default())
    }

    /// A client of the agency service at `url`, over TLS as `tls` says for an https:// URL.
    pub fn over_tls(url: &str, tls: &ClientTlsFiles) -> anyhow::Result<Pool> {
        Ok(Pool {
            channel: lazy_channel(url, tls, CALL_TIMEOUT)?,
        })
    }

    /// Draws reviewers (or an assessor) of `kind` for `task_ref` against `evaluated_party`
    /// (recusal), as the caller.
    pub async fn draw(
        &self,
        authorization: &str,
        request_id: String,
        task_ref: String,
        evaluated_party: String,
        kind: ag::EngagementKind,
        ask: &Ask,
    ) -> Result<Drawn, ApiError> {
        let mut client = DrawServiceClient::new(self.channel.clone());
        let kind = kind as i32;
        let draw = match ask {
            Ask::Experts { field, count } => {
                client
                    .draw_experts(as_caller(
                        authorization,
                        ag::DrawExpertsRequest {
                            request_id,
                            task_ref,
                            field: field.clone(),
                            count: *count,
                            evaluated_party,
                            kind,
                        },
                    ))
                    .await
                    .map_err(refused)?
                    .into_inner()
                    .draw
            }
            Ask::Agency { weighted_by_rating } => {
                client
                    .draw_agencies(as_caller(
                        authorization,
                        ag::DrawAgenciesRequest {
                            request_id,
                            task_ref,
                            count: 1,
                            evaluated_party,
                            kind,
                            weighted_by_rating: *weighted_by_rating,
                        },
                    ))
                    .await
                    .map_err(refused)?
                    .into_inner()
                    .draw
            }
        }
        .ok_or_else(|| ApiError::internal("draw without a record"))?;
        let mut reviewers: Vec<(&'static str, String)> = draw
            .drawn
            .iter()
            .map(|m| ("expert", m.expert_id.to_string()))
            .collect();
        reviewers.extend(
            draw.drawn_agencies
                .iter()
                .map(|a| ("agency", a.credit_code.clone())),
        );
        Ok(Drawn {
            draw_id: draw.id,
            reviewers,
        })
    }

    /// The agency a draw stands at now: the latest round's agency that has not declined (a
    /// decline makes the agency service draw a replacement round on the same record).
    pub async fn current_agency(
        &self,
        authorization: &str,
        draw_id: i64,
    ) -> Result<Option<String>, ApiError> {
        let draw = DrawServiceClient::new(self.channel.clone())
            .get_draw(as_caller(authorization, ag::GetDrawRequest { draw_id }))
            .await
            .map_err(refused)?
            .into_inner()
            .draw
            .ok_or_else(|| ApiError::internal("draw without a record"))?;
        Ok(draw
            .drawn_agencies
            .into_iter()
            .filter(|a| a.answer != ag::DrawAnswer::Declined as i32)
            .max_by_key(|a| a.round)
            .map(|a| a.credit_code))
    }

    /// Withdraws an engagement in the agency service (撤销委托, with `reason`), as the caller —
    /// unless it is withdrawn already (by an earlier attempt of the same request, or by hand).
    pub async fn withdraw(
        &self,
        authorization: &str,
        request_id: String,
        engagement_id: i64,
        reason: String,
    ) -> Result<(), ApiError> {
        let mut client = EngagementServiceClient::new(self.channel.clone());
        let engagement = client
            .get_engagement(as_caller(
                authorization,
                ag::GetEngagementRequest { engagement_id },
            ))
            .await
            .map_err(refused)?
            .into_inner()
            .engagement
            .ok_or_else(|| ApiError::internal("engagement without a record"))?;
        if engagement.cancelled {
            return Ok(());
        }
        client
            .cancel_engagement(as_caller(
                authorization,
                ag::CancelEngagementRequest {
                    request_id,
                    engagement_id,
                    expected_version: engagement.version,
                    reason,
                },
            ))
            .await
            .map_err(refused)?;
        Ok(())
    }

    /// Records the engagement of a drawn agency in the agency service (its independence rules
    /// apply there; the engagement is rated later), as the caller. Returns its id.
    pub async fn engage(
        &self,
        authorization: &str,
        request: ag::CreateEngagementRequest,
    ) -> Result<i64, ApiError> {
        EngagementServiceClient::new(self.channel.clone())
            .create_engagement(as_caller(authorization, request))
            .await
            .map_err(refused)?
            .into_inner()
            .engagement
            .map(|e| e.id)
            .ok_or_else(|| ApiError::internal("engagement without a record"))
    }
}
