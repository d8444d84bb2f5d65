//! Calls to the other services over gRPC: the goal service ([`Goals`]: approved goals for a
//! round's snapshot) and the agency and expert pool ([`Pool`]: key monitoring commissioned to an
//! agency). Each call carries the original caller's token (docs/DOMAIN.md "Regions and roles":
//! the called service authorises the caller by role and region).

pub mod pool;

pub use pool::Pool;

use pbm_proto::goal::v1 as goal;
use pbm_proto::goal::v1::goal_service_client::GoalServiceClient;
use pbm_proto::tls::ClientTlsFiles;
use pbm_server::ApiError;
use pbm_server::calls::{as_caller, lazy_channel};
use tonic::transport::Channel;

/// Every call to another service is bounded by this (a round's snapshot of a whole region's
/// goals takes its time).
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A lazily connected client of the goal service.
#[derive(Clone)]
pub struct Goals {
    pub(crate) channel: Channel,
}

impl Goals {
    /// A client of the goal service at `url`, over TLS as `tls` says for an https:// URL.
    pub fn over_tls(url: &str, tls: &ClientTlsFiles) -> anyhow::Result<Goals> {
        Ok(Goals {
            channel: lazy_channel(url, tls, CALL_TIMEOUT)?,
        })
    }

    /// Every item of `StreamApprovedGoals` (docs/drafts/MONITORING.md §4: the snapshot a round
    /// takes when it opens), called as the original caller. Whatever keeps the goal service
    /// from answering in full (unreachable, a refusal, a stream cut short) is UNAVAILABLE
    /// `GOAL_SERVICE_UNAVAILABLE` with the goal service's words: a round is never opened over a
    /// partial snapshot.
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
            .map_err(goal_unavailable)?
            .into_inner();
        let mut items = Vec::new();
        while let Some(item) = stream.message().await.map_err(goal_unavailable)? {
            items.push(item);
        }
        Ok(items)
    }
}

/// The goal service did not answer in full.
fn goal_unavailable(status: tonic::Status) -> ApiError {
    tracing::warn!(code = ?status.code(), message = status.message(), "goal service call failed");
    ApiError::unavailable(
        "GOAL_SERVICE_UNAVAILABLE",
        format!(
            "绩效目标服务暂不可用，无法取得已批复的绩效目标（{}），请稍后重试",
            status.message()
        ),
    )
}
