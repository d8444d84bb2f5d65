//! The agency service's draws and engagements as the other services call them ([`AgencyPool`]):
//! the goal service's ex-ante reviews and commissioned assessments, monitoring's commissioned
//! key monitoring, evaluation's commissioned spot-check reviews (docs/DOMAIN.md "Random draws",
//! "What may be commissioned", "Independence"). Each call carries the original caller's token
//! ([`as_caller`]); request ids are the caller's to derive, so that a retry replays the same
//! draw and engagement. An unreachable agency service answers UNAVAILABLE
//! `AGENCY_SERVICE_UNAVAILABLE` and nothing is changed; the agency service's own refusals keep
//! its reason code where the calling service passes it on. Each service words its messages
//! ([`Commissioner`]).

use std::marker::PhantomData;
use std::time::Duration;

use pbm_proto::agency::v1 as ag;
use pbm_proto::agency::v1::agency_registry_service_client::AgencyRegistryServiceClient;
use pbm_proto::agency::v1::draw_service_client::DrawServiceClient;
use pbm_proto::agency::v1::engagement_service_client::EngagementServiceClient;
use pbm_proto::tls::ClientTlsFiles;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use super::{as_caller, lazy_channel};
use crate::{ApiError, ErrorKind, FieldViolation};

/// The agency service's reasons passed on as they are; any other refusal gets the calling
/// service's [`Commissioner::OTHER_REASON`].
pub const PASSED_ON: [&str; 8] = [
    "TOO_FEW_ELIGIBLE",
    "KIND_NOT_COMMISSIONABLE",
    "NOT_INDEPENDENT",
    "NOT_COMMISSIONABLE",
    "VALIDATION_FAILED",
    "ROLE_NOT_ALLOWED",
    "REGION_NOT_ALLOWED",
    "REQUEST_ID_REUSED",
];

/// A service that draws and commissions through the agency service: how long its calls may
/// take, and how it words the agency service's failures to its own callers.
pub trait Commissioner {
    /// Every call to the agency service is bounded by this.
    const TIMEOUT: Duration;
    /// The message of UNAVAILABLE `AGENCY_SERVICE_UNAVAILABLE`: what could not be done.
    const UNAVAILABLE: &'static str;
    /// The reason of a refusal whose own reason is not in [`PASSED_ON`].
    const OTHER_REASON: &'static str;
    /// The message of a refusal, from the agency service's message and the reason.
    fn refused(message: &str, reason: &str) -> String;
}

/// An agency drawn from the pool: the draw's id and the agency's 统一社会信用代码.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawnAgency {
    pub draw_id: i64,
    pub credit_code: String,
}

/// A lazily connected client of the agency service's draws and engagements, for the service
/// `C`.
pub struct AgencyPool<C> {
    channel: Channel,
    commissioner: PhantomData<fn() -> C>,
}

// Not derived: a derive would ask `C: Clone` of the marker type.
impl<C> Clone for AgencyPool<C> {
    fn clone(&self) -> Self {
        AgencyPool {
            channel: self.channel.clone(),
            commissioner: PhantomData,
        }
    }
}

impl<C: Commissioner> AgencyPool<C> {
    /// A client of the agency service at `url` (connected on first use); over TLS as `tls` says
    /// for an https:// URL.
    pub fn over_tls(url: &str, tls: &ClientTlsFiles) -> anyhow::Result<AgencyPool<C>> {
        Ok(AgencyPool {
            channel: lazy_channel(url, tls, C::TIMEOUT)?,
            commissioner: PhantomData,
        })
    }

    /// The agency service's refusal (or silence) as the calling service's error.
    pub fn refused(&self, status: tonic::Status) -> ApiError {
        let kind = match status.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown => {
                tracing::warn!(error = %status.message(), "agency service unreachable");
                return ApiError::unavailable("AGENCY_SERVICE_UNAVAILABLE", C::UNAVAILABLE);
            }
            tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => {
                ErrorKind::PermissionDenied
            }
            tonic::Code::InvalidArgument => ErrorKind::InvalidArgument,
            tonic::Code::NotFound => ErrorKind::NotFound,
            _ => ErrorKind::FailedPrecondition,
        };
        let reason = status
            .get_details_error_info()
            .and_then(|i| PASSED_ON.into_iter().find(|k| *k == i.reason))
            .unwrap_or(C::OTHER_REASON);
        let mut e = ApiError::new(kind, reason, C::refused(status.message(), reason));
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

    /// DrawAgencies as the caller: the draw's record.
    pub async fn draw_agencies(
        &self,
        authorization: &str,
        request: ag::DrawAgenciesRequest,
    ) -> Result<ag::Draw, ApiError> {
        DrawServiceClient::new(self.channel.clone())
            .draw_agencies(as_caller(authorization, request))
            .await
            .map_err(|s| self.refused(s))?
            .into_inner()
            .draw
            .ok_or_else(|| ApiError::internal("draw without a record"))
    }

    /// Draws one agency for `request.kind` of work, independent of `request.evaluated_party`
    /// (recusal is the agency service's), as the caller.
    pub async fn draw_agency(
        &self,
        authorization: &str,
        request: ag::DrawAgenciesRequest,
    ) -> Result<DrawnAgency, ApiError> {
        let draw = self.draw_agencies(authorization, request).await?;
        let credit_code = draw
            .drawn_agencies
            .first()
            .map(|a| a.credit_code.clone())
            .ok_or_else(|| ApiError::internal("agency draw without an agency"))?;
        Ok(DrawnAgency {
            draw_id: draw.id,
            credit_code,
        })
    }

    /// DrawExperts as the caller: the draw's record.
    pub async fn draw_experts(
        &self,
        authorization: &str,
        request: ag::DrawExpertsRequest,
    ) -> Result<ag::Draw, ApiError> {
        DrawServiceClient::new(self.channel.clone())
            .draw_experts(as_caller(authorization, request))
            .await
            .map_err(|s| self.refused(s))?
            .into_inner()
            .draw
            .ok_or_else(|| ApiError::internal("draw without a record"))
    }

    /// GetPoolStatistics as the caller (the region statistics a province reads), with the agency
    /// service's own status when it does not answer.
    pub async fn pool_statistics(
        &self,
        authorization: &str,
    ) -> Result<ag::GetPoolStatisticsResponse, tonic::Status> {
        AgencyRegistryServiceClient::new(self.channel.clone())
            .get_pool_statistics(as_caller(authorization, ag::GetPoolStatisticsRequest {}))
            .await
            .map(tonic::Response::into_inner)
    }

    /// GetDraw as the caller.
    pub async fn get_draw(&self, authorization: &str, draw_id: i64) -> Result<ag::Draw, ApiError> {
        DrawServiceClient::new(self.channel.clone())
            .get_draw(as_caller(authorization, ag::GetDrawRequest { draw_id }))
            .await
            .map_err(|s| self.refused(s))?
            .into_inner()
            .draw
            .ok_or_else(|| ApiError::internal("draw without a record"))
    }

    /// Records the engagement of a drawn agency (its independence of the evaluated party is
    /// checked by the agency service; the engagement is rated later there), as the caller.
    /// Returns its id.
    pub async fn engage(
        &self,
        authorization: &str,
        request: ag::CreateEngagementRequest,
    ) -> Result<i64, ApiError> {
        EngagementServiceClient::new(self.channel.clone())
            .create_engagement(as_caller(authorization, request))
            .await
            .map_err(|s| self.refused(s))?
            .into_inner()
            .engagement
            .map(|e| e.id)
            .ok_or_else(|| ApiError::internal("engagement without a record"))
    }

    /// GetEngagement as the caller.
    pub async fn get_engagement(
        &self,
        authorization: &str,
        engagement_id: i64,
    ) -> Result<ag::Engagement, ApiError> {
        EngagementServiceClient::new(self.channel.clone())
            .get_engagement(as_caller(
                authorization,
                ag::GetEngagementRequest { engagement_id },
            ))
            .await
            .map_err(|s| self.refused(s))?
            .into_inner()
            .engagement
            .ok_or_else(|| ApiError::internal("engagement without a record"))
    }

    /// CancelEngagement (撤销委托) as the caller.
    pub async fn cancel_engagement(
        &self,
        authorization: &str,
        request: ag::CancelEngagementRequest,
    ) -> Result<(), ApiError> {
        EngagementServiceClient::new(self.channel.clone())
            .cancel_engagement(as_caller(authorization, request))
            .await
            .map_err(|s| self.refused(s))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Service;

    impl Commissioner for Service {
        const TIMEOUT: Duration = Duration::from_secs(1);
        const UNAVAILABLE: &'static str = "第三方机构库服务暂时无法访问";
        const OTHER_REASON: &'static str = "POOL_REFUSED";
        fn refused(message: &str, reason: &str) -> String {
            format!("未完成：{message}（{reason}）")
        }
    }

    fn pool() -> AgencyPool<Service> {
        AgencyPool::over_tls("http://127.0.0.1:9", &ClientTlsFiles::default()).unwrap()
    }

    fn status(code: tonic::Code, reason: &str) -> tonic::Status {
        let mut details = tonic_types::ErrorDetails::new();
        details.set_error_info(reason, "pbm.agency", std::collections::HashMap::new());
        details.set_bad_request(vec![tonic_types::FieldViolation::new("count", "too many")]);
        tonic::Status::with_error_details(code, "候选不足", details)
    }

    #[tokio::test]
    async fn known_reasons_pass_on_others_get_the_callers_reason() {
        let pool = pool();
        let e = pool.refused(status(tonic::Code::FailedPrecondition, "TOO_FEW_ELIGIBLE"));
        assert_eq!(
            (e.kind, e.reason, e.message.as_str()),
            (
                ErrorKind::FailedPrecondition,
                "TOO_FEW_ELIGIBLE",
                "未完成：候选不足（TOO_FEW_ELIGIBLE）"
            )
        );
        assert_eq!(e.violations[0].field, "count");
        assert_eq!(e.violations[0].reason, "TOO_FEW_ELIGIBLE");
        let e = pool.refused(status(tonic::Code::Unauthenticated, "TOKEN_EXPIRED"));
        assert_eq!(
            (e.kind, e.reason),
            (ErrorKind::PermissionDenied, "POOL_REFUSED")
        );
        let e = pool.refused(status(tonic::Code::DeadlineExceeded, "TOO_FEW_ELIGIBLE"));
        assert_eq!(
            (e.kind, e.reason, e.message.as_str()),
            (
                ErrorKind::Unavailable,
                "AGENCY_SERVICE_UNAVAILABLE",
                Service::UNAVAILABLE
            )
        );
    }

    #[tokio::test]
    async fn an_unreachable_agency_service_is_unavailable() {
        let e = pool()
            .engage("Bearer t", ag::CreateEngagementRequest::default())
            .await
            .unwrap_err();
        assert_eq!(e.reason, "AGENCY_SERVICE_UNAVAILABLE");
    }
}
