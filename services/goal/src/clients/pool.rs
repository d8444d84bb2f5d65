//! The agency and expert pool as the goal service sees it: reviewers of a goal are drawn by the
//! agency service over gRPC (docs/DOMAIN.md "Review and approval", docs/DOMAIN.md "Random draws":
//! review by experts or agencies drawn for the purpose; an unreachable agency service answers
//! UNAVAILABLE `AGENCY_SERVICE_UNAVAILABLE`, docs/GOAL.md "Served now: pbm.goal.v1.GoalService").
//! The call carries the original caller's token; its request id is derived from the caller's,
//! so a retried assignment replays the same draw.

use pbm_proto::agency::v1 as ag;
use pbm_proto::tls::ClientTlsFiles;
use pbm_server::ApiError;
use pbm_server::calls::agency::{AgencyPool, Commissioner};

use crate::clients::library::CALL_TIMEOUT;

/// A lazily connected client of the agency service's draws (the platform's,
/// [`pbm_server::calls::agency`], with the goal service's own reviewers and withdrawals).
#[derive(Clone)]
pub struct Pool {
    agency: AgencyPool<Goal>,
}

/// The goal service as it draws reviewers and commissions assessments.
pub struct Goal;

impl Commissioner for Goal {
    const TIMEOUT: std::time::Duration = CALL_TIMEOUT;
    const UNAVAILABLE: &'static str =
        "第三方机构/专家库服务暂时无法访问，无法抽取或委托；请稍后重试（未做任何修改）";
    const OTHER_REASON: &'static str = "POOL_DRAW_REFUSED";

    fn refused(message: &str, _reason: &str) -> String {
        format!("第三方机构/专家库未完成抽取或委托：{message}")
    }
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

impl Pool {
    /// A client of the agency service at an http:// `url` (connected on first use).
    pub fn new(url: &str) -> anyhow::Result<Pool> {
        Pool::over_tls(url, &ClientTlsFiles::default())
    }

    /// A client of the agency service at `url`, over TLS as `tls` says for an https:// URL.
    pub fn over_tls(url: &str, tls: &ClientTlsFiles) -> anyhow::Result<Pool> {
        Ok(Pool {
            agency: AgencyPool::over_tls(url, tls)?,
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
        let kind = kind as i32;
        let draw = match ask {
            Ask::Experts { field, count } => {
                let request = ag::DrawExpertsRequest {
                    request_id,
                    task_ref,
                    field: field.clone(),
                    count: *count,
                    evaluated_party,
                    kind,
                };
                self.agency.draw_experts(authorization, request).await?
            }
            Ask::Agency { weighted_by_rating } => {
                let request = ag::DrawAgenciesRequest {
                    request_id,
                    task_ref,
                    count: 1,
                    evaluated_party,
                    kind,
                    weighted_by_rating: *weighted_by_rating,
                };
                self.agency.draw_agencies(authorization, request).await?
            }
        };
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
        let draw = self.agency.get_draw(authorization, draw_id).await?;
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
        let engagement = self
            .agency
            .get_engagement(authorization, engagement_id)
            .await?;
        if engagement.cancelled {
            return Ok(());
        }
        let request = ag::CancelEngagementRequest {
            request_id,
            engagement_id,
            expected_version: engagement.version,
            reason,
        };
        self.agency.cancel_engagement(authorization, request).await
    }

    /// Records the engagement of a drawn agency in the agency service (its independence rules
    /// apply there; the engagement is rated later), as the caller. Returns its id.
    pub async fn engage(
        &self,
        authorization: &str,
        request: ag::CreateEngagementRequest,
    ) -> Result<i64, ApiError> {
        self.agency.engage(authorization, request).await
    }
}
