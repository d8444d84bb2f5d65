//! Scores, rules and campaigns on the wire (`pbm.evaluation.v1`): the engine's [`Score`] as
//! stored (JSON with its explanation, rendered once when it is computed) and as the `Score`
//! message; the engine's [`RuleSet`] as `EvaluationRules`; the enums they share.
//! Rule: docs/EVALUATION.md, docs/DOMAIN.md "Evaluation and scoring".

use pbm_proto::evaluation::v1 as ev;
use pbm_scoring::{Explanation, Grade, Part, Score, Tier};
use pbm_server::wire::decimal;
use serde::{Deserialize, Serialize};

/// A sheet's score as stored (`evaluation_sheets.score`, a review's `corrected`): the engine's
/// score, its explanation, and the `seq` of each indicator in the score's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredScore {
    pub seqs: Vec<i32>,
    pub score: Score,
    pub explanation: Explanation,
}

/// The stored JSON of a score.
pub(crate) fn encode(seqs: Vec<i32>, score: &Score, explanation: Explanation) -> String {
    let stored = StoredScore {
        seqs,
        score: score.clone(),
        explanation,
    };
    serde_json::to_string(&stored).expect("a score serialises")
}

/// The `Score` message of a stored score (an empty or unreadable text: the empty message, and a
/// warning in the log — the sheet's figures stay readable).
pub(crate) fn score_to_proto(json: &str) -> ev::Score {
    if json.is_empty() {
        return ev::Score::default();
    }
    match serde_json::from_str::<StoredScore>(json) {
        Ok(stored) => stored_to_proto(&stored),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable stored score");
            ev::Score::default()
        }
    }
}

fn stored_to_proto(s: &StoredScore) -> ev::Score {
    let score = &s.score;
    let seq = |index: usize| s.seqs.get(index).copied().unwrap_or(index as i32 + 1);
    let points = score.part_weights;
    ev::Score {
        total: decimal(score.total),
        raw_total: decimal(score.raw_total),
        grade: grade_to(score.grade) as i32,
        banded_grade: grade_to(score.raw_grade) as i32,
        grade_text: score.grade.label().to_owned(),
        execution_rate: decimal(score.execution_rate),
        execution_points: decimal(score.execution_points),
        applicable_weight: decimal(score.applicable_weight),
        part_points: Some(ev::PartPoints {
            budget_execution: decimal(points.budget_execution),
            output: decimal(points.output),
            benefit: decimal(points.benefit),
            satisfaction: decimal(points.satisfaction),
        }),
        indicators: score
            .indicators
            .iter()
            .enumerate()
            .map(|(i, scored)| ev::IndicatorScore {
                seq: seq(i),
                part: part_to(scored.part) as i32,
                weight: decimal(scored.weight),
                points: decimal(scored.points),
                applicable: scored.applicable,
                deviates: scored.deviates,
                explanation: s.explanation.indicators.get(i).cloned().unwrap_or_default(),
            })
            .collect(),
        veto: s.explanation.veto.clone().unwrap_or_default(),
        explanation: s.explanation.total.clone(),
        missing: score.missing.iter().map(|&i| seq(i)).collect(),
        needs_execution_reason: score.needs_reason,
        rules_version: score.rules.as_ref().map_or(0, |r| r.version),
        rules_label: score
            .rules
            .as_ref()
            .map(|r| r.label.clone())
            .unwrap_or_default(),
    }
}

/// The engine's grade on the wire.
pub(crate) fn grade_to(g: Grade) -> ev::Grade {
    match g {
        Grade::Excellent => ev::Grade::Excellent,
        Grade::Good => ev::Grade::Good,
        Grade::Fair => ev::Grade::Fair,
        Grade::Poor => ev::Grade::Poor,
    }
}

/// A wire grade (`None` for UNSPECIFIED or an unknown number).
pub(crate) fn grade_from(g: i32) -> Option<Grade> {
    match ev::Grade::try_from(g).ok()? {
        ev::Grade::Excellent => Some(Grade::Excellent),
        ev::Grade::Good => Some(Grade::Good),
        ev::Grade::Fair => Some(Grade::Fair),
        ev::Grade::Poor => Some(Grade::Poor),
        ev::Grade::Unspecified => None,
    }
}

/// A stored grade word (`excellent`, `good`, `fair`, `poor`) on the wire; anything else
/// (a sheet not scored) UNSPECIFIED.
pub(crate) fn grade_word_to(word: &str) -> ev::Grade {
    match word {
        "excellent" => ev::Grade::Excellent,
        "good" => ev::Grade::Good,
        "fair" => ev::Grade::Fair,
        "poor" => ev::Grade::Poor,
        _ => ev::Grade::Unspecified,
    }
}

/// The engine's part on the wire.
pub(crate) fn part_to(p: Part) -> ev::Part {
    match p {
        Part::BudgetExecution => ev::Part::BudgetExecution,
        Part::Output => ev::Part::Output,
        Part::Benefit => ev::Part::Benefit,
        Part::Satisfaction => ev::Part::Satisfaction,
    }
}

/// A wire part (`None` for UNSPECIFIED or an unknown number).
pub(crate) fn part_from(p: i32) -> Option<Part> {
    match ev::Part::try_from(p).ok()? {
        ev::Part::BudgetExecution => Some(Part::BudgetExecution),
        ev::Part::Output => Some(Part::Output),
        ev::Part::Benefit => Some(Part::Benefit),
        ev::Part::Satisfaction => Some(Part::Satisfaction),
        ev::Part::Unspecified => None,
    }
}

/// The engine's tier on the wire.
pub(crate) fn tier_to(t: Tier) -> ev::Tier {
    match t {
        Tier::Achieved => ev::Tier::Achieved,
        Tier::Partly => ev::Tier::Partly,
        Tier::NotAchieved => ev::Tier::NotAchieved,
    }
}

/// A wire tier (`None` for UNSPECIFIED or an unknown number).
pub(crate) fn tier_from(t: i32) -> Option<Tier> {
    match ev::Tier::try_from(t).ok()? {
        ev::Tier::Achieved => Some(Tier::Achieved),
        ev::Tier::Partly => Some(Tier::Partly),
        ev::Tier::NotAchieved => Some(Tier::NotAchieved),
        ev::Tier::Unspecified => None,
    }
}

/// The stored tier word (`achieved`, `partly`, `not_achieved`; empty: none).
pub(crate) fn tier_word(t: Tier) -> &'static str {
    match t {
        Tier::Achieved => "achieved",
        Tier::Partly => "partly",
        Tier::NotAchieved => "not_achieved",
    }
}

/// A stored tier word as the engine's tier.
pub(crate) fn tier_of_word(word: &str) -> Option<Tier> {
    match word {
        "achieved" => Some(Tier::Achieved),
        "partly" => Some(Tier::Partly),
        "not_achieved" => Some(Tier::NotAchieved),
        _ => None,
    }
}
