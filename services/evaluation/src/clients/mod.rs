//! Calls to the other services over gRPC: the goal service ([`Goals`]: approved goals for a
//! self-evaluation's sheets), the monitoring service ([`Monitoring`]: the year's execution
//! figures and warnings) and the agency and expert pool ([`Pool`]: reviews commissioned to an
//! agency). Each call carries the original caller's token (docs/DOMAIN.md "Regions and roles":
//! the called service authorises the caller by role and region).

pub mod pool;

pub use pool::Pool;

use std::time::Duration;

use pbm_proto::common::v1::PageRequest;
use pbm_proto::goal::v1 as goal;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::monitoring::v1 as mon;
use pbm_proto::monitoring::v1::execution_service_client::ExecutionServiceClient;
use pbm_proto::monitoring::v1::round_service_client::RoundServiceClient;
use pbm_proto::tls::ClientTlsFiles;
use pbm_server::ApiError;
use pbm_server::calls::{as_caller, lazy_channel};
use tonic::transport::Channel;

/// Streams of a whole region's goals or figures may take their time (tens of thousands of
/// items); a single call is bounded by this.
const STREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// A lazily connected client of the goal service.
#[derive(Clone)]
pub struct Goals {
    pub(crate) channel: Channel,
}

impl Goals {
    /// A client of the goal service at `url`, over TLS as `tls` says for an https:// URL.
    pub fn over_tls(url: &str, tls: &ClientTlsFiles) -> anyhow::Result<Goals> {
        Ok(Goals {
            channel: lazy_channel(url, tls, STREAM_TIMEOUT)?,
        })
    }

    /// Every item of `StreamApprovedGoals`, called as the original caller. Whatever keeps the
    /// goal service from answering in full (unreachable, a refusal, a stream cut short) is
    /// UNAVAILABLE `GOAL_SERVICE_UNAVAILABLE` with the goal service's words: a self-evaluation
    /// is never opened over a partial snapshot.
    pub async fn approved_goals(
        &self,
        authorization: &str,
        request: goal::StreamApprovedGoalsRequest,
    ) -> Result<Vec<goal::ApprovedGoalItem>, ApiError> {
        let mut client = GoalServiceClient::new(self.channel.clone())
            .max_decoding_message_size(16 * 1024 * 1024);
        let mut stream = client
            .stream_approved_goals(as_caller(authorization, request))
            .await
            .map_err(|s| unavailable("GOAL_SERVICE_UNAVAILABLE", "绩效目标服务", s))?
            .into_inner();
        let mut items = Vec::new();
        while let Some(item) = stream
            .message()
            .await
            .map_err(|s| unavailable("GOAL_SERVICE_UNAVAILABLE", "绩效目标服务", s))?
        {
            items.push(item);
        }
        Ok(items)
    }

    /// GetGoalStatistics as the original caller (the region statistics), with the goal
    /// service's own status when it does not answer.
    pub async fn statistics(
        &self,
        authorization: &str,
        request: goal::GetGoalStatisticsRequest,
    ) -> Result<goal::GetGoalStatisticsResponse, tonic::Status> {
        GoalServiceClient::new(self.channel.clone())
            .get_goal_statistics(as_caller(authorization, request))
            .await
            .map(tonic::Response::into_inner)
    }
}

/// A lazily connected client of the monitoring service.
#[derive(Clone)]
pub struct Monitoring {
    pub(crate) channel: Channel,
}

impl Monitoring {
    /// A client of the monitoring service at `url`, over TLS as `tls` says for an https:// URL.
    pub fn over_tls(url: &str, tls: &ClientTlsFiles) -> anyhow::Result<Monitoring> {
        Ok(Monitoring {
            channel: lazy_channel(url, tls, STREAM_TIMEOUT)?,
        })
    }

    /// Every item of `ExecutionService/StreamExecutionSummary` (the year's latest execution
    /// figures and the latest round's warnings per project), called as the original caller.
    /// Anything short of a full answer is UNAVAILABLE `MONITORING_SERVICE_UNAVAILABLE`.
    pub async fn execution_summary(
        &self,
        authorization: &str,
        request: mon::StreamExecutionSummaryRequest,
    ) -> Result<Vec<mon::ExecutionSummary>, ApiError> {
        let unavailable = |s| unavailable("MONITORING_SERVICE_UNAVAILABLE", "绩效运行监控服务", s);
        let mut client = ExecutionServiceClient::new(self.channel.clone())
            .max_decoding_message_size(16 * 1024 * 1024);
        let mut stream = client
            .stream_execution_summary(as_caller(authorization, request))
            .await
            .map_err(unavailable)?
            .into_inner();
        let mut items = Vec::new();
        while let Some(item) = stream.message().await.map_err(unavailable)? {
            items.push(item);
        }
        Ok(items)
    }

    /// The statistics of the latest round of `fiscal_year` (the one reaching the latest month),
    /// as the original caller; `None` when the year has no round.
    pub async fn latest_round_statistics(
        &self,
        authorization: &str,
        fiscal_year: i32,
    ) -> Result<Option<mon::GetRoundStatisticsResponse>, tonic::Status> {
        let mut rounds = RoundServiceClient::new(self.channel.clone());
        let mut latest: Option<mon::Round> = None;
        let mut token = String::new();
        loop {
            let page = rounds
                .list_rounds(as_caller(
                    authorization,
                    mon::ListRoundsRequest {
                        fiscal_year,
                        page: Some(PageRequest {
                            page_size: 500,
                            page_token: token.clone(),
                        }),
                        ..Default::default()
                    },
                ))
                .await?
                .into_inner();
            for r in page.rounds {
                if latest
                    .as_ref()
                    .is_none_or(|l| (r.months_to, r.id) > (l.months_to, l.id))
                {
                    latest = Some(r);
                }
            }
            token = page.page.map(|p| p.next_page_token).unwrap_or_default();
            if token.is_empty() {
                break;
            }
        }
        let Some(round) = latest else {
            return Ok(None);
        };
        Ok(Some(
            rounds
                .get_round_statistics(as_caller(
                    authorization,
                    mon::GetRoundStatisticsRequest { round_id: round.id },
                ))
                .await?
                .into_inner(),
        ))
    }
}

/// Another service did not answer in full: nothing is written.
fn unavailable(reason: &'static str, service: &str, status: tonic::Status) -> ApiError {
    tracing::warn!(code = ?status.code(), message = status.message(), reason, "service call failed");
    ApiError::unavailable(
        reason,
        format!(
            "{service}暂不可用（{}），请稍后重试（未做任何修改）（{reason}）",
            status.message()
        ),
    )
}
