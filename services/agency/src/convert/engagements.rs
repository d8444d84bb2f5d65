//! Engagements ⇄ proto.

use pbm_proto::agency::v1 as proto;
use pbm_server::ApiError;
use pbm_types::Decimal;

use super::{dec, stamp};
use crate::domain::engagement::EngagementKind;
use crate::store::engagements::EngagementRow;

pub fn kind_from(v: i32) -> Option<EngagementKind> {
    use proto::EngagementKind as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::ExAnteAssessment => EngagementKind::ExAnteAssessment,
        P::GoalReview => EngagementKind::GoalReview,
        P::Evaluation => EngagementKind::Evaluation,
        P::EvaluationReview => EngagementKind::EvaluationReview,
        P::IndicatorSystem => EngagementKind::IndicatorSystem,
        P::Research => EngagementKind::Research,
        P::GoalSetting => EngagementKind::GoalSetting,
        P::Monitoring => EngagementKind::Monitoring,
        P::SelfEvaluation => EngagementKind::SelfEvaluation,
    })
}

pub fn kind_to(k: EngagementKind) -> proto::EngagementKind {
    use proto::EngagementKind as P;
    match k {
        EngagementKind::ExAnteAssessment => P::ExAnteAssessment,
        EngagementKind::GoalReview => P::GoalReview,
        EngagementKind::Evaluation => P::Evaluation,
        EngagementKind::EvaluationReview => P::EvaluationReview,
        EngagementKind::IndicatorSystem => P::IndicatorSystem,
        EngagementKind::Research => P::Research,
        EngagementKind::GoalSetting => P::GoalSetting,
        EngagementKind::Monitoring => P::Monitoring,
        EngagementKind::SelfEvaluation => P::SelfEvaluation,
    }
}

pub fn engagement_to_proto(
    row: &EngagementRow,
    experts: &[i64],
) -> Result<proto::Engagement, ApiError> {
    let scores: Vec<(String, Decimal)> =
        serde_json::from_str(&row.scores).map_err(ApiError::internal)?;
    let kind =
        EngagementKind::from_db(&row.kind).ok_or_else(|| ApiError::internal("engagement kind"))?;
    Ok(proto::Engagement {
        id: row.id,
        commissioner: row.commissioner.clone(),
        evaluated_party: row.evaluated_party.clone(),
        kind: kind_to(kind) as i32,
        agency_credit_code: row.agency_credit_code.clone().unwrap_or_default(),
        expert_ids: experts.to_vec(),
        started_on: row.started_on.to_string(),
        ended_on: row.ended_on.to_string(),
        rated: row.score.is_some(),
        scores: scores
            .into_iter()
            .map(|(criterion, score)| proto::CriterionScore {
                criterion,
                score: dec(score),
            })
            .collect(),
        score: row.score.and_then(|s| dec(s.0)),
        rules: row.rules.clone(),
        version: row.version,
        created: Some(stamp(&row.created_by, row.created_at)),
        rated_by: match (&row.rated_by, row.rated_at) {
            (Some(by), Some(at)) => Some(stamp(by, at)),
            _ => None,
        },
        cancelled: row.cancelled_at.is_some(),
        cancelled_by: match (&row.cancelled_by, row.cancelled_at) {
            (Some(by), Some(at)) => Some(stamp(by, at)),
            _ => None,
        },
        cancel_reason: row.cancel_reason.clone(),
    })
}
