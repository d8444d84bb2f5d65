//! Ratings ⇄ proto.

use pbm_proto::agency::v1 as proto;

use super::dec;
use crate::domain::rating::Rating;
use crate::domain::rules::Action as GradeAction;

/// A grade's action as the API names it, and its suspension in months (0 unless suspended).
fn grade_action_to(action: GradeAction) -> (&'static str, i32) {
    match action {
        GradeAction::None => ("none", 0),
        GradeAction::Warning => ("warning", 0),
        GradeAction::Suspend { months } => ("suspend", i32::try_from(months).unwrap_or(i32::MAX)),
        GradeAction::Remove => ("remove", 0),
    }
}

/// Every number behind a rating, for ExplainRating and RateEngagement; `rules` names the rules
/// it was computed under.
pub fn rating_explanation_to_proto(r: &Rating, rules: String) -> proto::RatingExplanation {
    let (action, months) = grade_action_to(r.action);
    proto::RatingExplanation {
        as_of: r.as_of.to_string(),
        contributions: r
            .contributions
            .iter()
            .map(|c| proto::RatingContribution {
                engagement_id: c.engagement_id,
                ended_on: c.ended_on.to_string(),
                score: dec(c.score),
                age_months: i32::try_from(c.age_months).unwrap_or(i32::MAX),
                decay_weight: dec(c.decay_weight),
                weighted: dec(c.weighted),
            })
            .collect(),
        weighted_sum: dec(r.weighted_sum),
        weight_total: dec(r.weight_total),
        pool_mean: dec(r.pool_mean),
        shrinkage_k: dec(r.shrinkage_k),
        shrunk: dec(r.shrunk.round_dp(6)),
        penalties: r
            .penalties
            .iter()
            .map(|p| proto::RatingPenalty {
                violation_id: p.violation_id,
                occurred_on: p.on.to_string(),
                severity: p.severity.as_db().into(),
                points: dec(p.points),
            })
            .collect(),
        final_score: dec(r.final_score),
        grade: format!("{:?}", r.grade),
        action: action.into(),
        suspend_months: months,
        selectable: r.selectable,
        rules,
    }
}

/// One line of a recomputed ranking: the rating's score, grade and action, and how many
/// engagements it rests on (the caller fills in who).
pub fn rated_subject_to_proto(rating: &Rating, engagements: usize) -> proto::RatedSubject {
    proto::RatedSubject {
        final_score: dec(rating.final_score),
        grade: format!("{:?}", rating.grade),
        action: grade_action_to(rating.action).0.into(),
        selectable: rating.selectable,
        engagements: i32::try_from(engagements).unwrap_or(i32::MAX),
        ..Default::default()
    }
}
