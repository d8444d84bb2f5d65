//! The two calls a commissioned review makes to the agency service ([`Pool`]): draw one agency
//! for 评价结果复核 and record its engagement (docs/DOMAIN.md "What may be commissioned",
//! "Independence", "Random draws"), as services/monitoring/src/clients/pool.rs does for key
//! monitoring. Each carries the original caller's token; request ids are derived from the
//! caller's, so a retry replays the same draw and engagement. An unreachable agency service
//! answers UNAVAILABLE `AGENCY_SERVICE_UNAVAILABLE`, and nothing is changed.

use pbm_proto::agency::v1 as ag;
use pbm_proto::agency::v1::draw_service_client::DrawServiceClient;
use pbm_proto::agency::v1::engagement_service_client::EngagementServiceClient;
use pbm_server::calls::as_caller;
use pbm_server::{ApiError, ErrorKind, FieldViolation};
use tonic_types::StatusExt;

use super::Pool;

/// The agency service's reasons passed on as they are; any other refusal is `POOL_REFUSED`.
const PASSED_ON: [&str; 8] = [
    "TOO_FEW_ELIGIBLE",
    "KIND_NOT_COMMISSIONABLE",
    "NOT_INDEPENDENT",
    "NOT_COMMISSIONABLE",
    "VALIDATION_FAILED",
    "ROLE_NOT_ALLOWED",
    "REGION_NOT_ALLOWED",
    "REQUEST_ID_REUSED",
];

/// The agency service's refusal as this service's error.
fn refused(status: tonic::Status) -> ApiError {
    let kind = match status.code() {
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown => {
            tracing::warn!(error = %status.message(), "agency service unreachable");
            return ApiError::unavailable(
                "AGENCY_SERVICE_UNAVAILABLE",
                "第三方机构库服务暂时无法访问，无法委托复核；请稍后重试（未做任何修改）",
            );
        }
        tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => ErrorKind::PermissionDenied,
        tonic::Code::InvalidArgument => ErrorKind::InvalidArgument,
        tonic::Code::NotFound => ErrorKind::NotFound,
        _ => ErrorKind::FailedPrecondition,
    };
    let reason = status
        .get_details_error_info()
        .and_then(|i| PASSED_ON.into_iter().find(|k| *k == i.reason))
        .unwrap_or("POOL_REFUSED");
    let mut e = ApiError::new(
        kind,
        reason,
        format!("第三方机构库未完成抽取或委托：{}", status.message()),
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

/// An agency drawn from the pool: the draw's id and the agency's 统一社会信用代码.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawnAgency {
    pub draw_id: i64,
    pub credit_code: String,
}

impl Pool {
    /// Draws one agency for `request.kind` of work, independent of `request.evaluated_party`
    /// (recusal is the agency service's), as the caller.
    pub async fn draw_agency(
        &self,
        authorization: &str,
        request: ag::DrawAgenciesRequest,
    ) -> Result<DrawnAgency, ApiError> {
        let draw = DrawServiceClient::new(self.channel.clone())
            .draw_agencies(as_caller(authorization, request))
            .await
            .map_err(refused)?
            .into_inner()
            .draw
            .ok_or_else(|| ApiError::internal("draw without a record"))?;
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

    /// Records the engagement of a drawn agency (rated later in the agency service), as the
    /// caller; the agency service checks its independence of the evaluated party. Returns its
    /// id.
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
