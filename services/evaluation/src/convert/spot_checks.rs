//! `pbm.evaluation.v1.SpotCheckService` on the wire: the text maxima of its requests, the
//! enums (method, stratum, reviewer, review status, problem category), risk weights and
//! entries, spot checks, sampled sheets, reviews and problems as messages.

use pbm_proto::evaluation::v1 as ev;
use pbm_server::wire::{decimal, stamp};
use pbm_types::FieldViolation;
use rust_decimal::Decimal;

use super::limits::{Bounded, Evaluation, LONG, NAME, Texts, each_nested};
use super::scores::{grade_word_to, score_to_proto};
use super::sheets::ENTRY_TEXT;
use crate::domain::review::{ReviewStatus, Reviewer};
use crate::domain::risk::{Factor, RiskWeights};
use crate::domain::sampling::{Method, StratumKind};
use crate::store::spot_checks::{ProblemRow, ReviewRow, SpotCheckRow};

/// A spot check's name at most this long (the contract's 100).
pub const SPOT_CHECK_NAME: usize = 100;

impl Bounded<Evaluation> for ev::SelectSpotCheckRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "name",
            "抽查名称",
            &self.name,
            SPOT_CHECK_NAME.min(NAME),
        );
        if let Some(w) = &self.weights {
            weights_bound(w, t, &format!("{at}weights."));
        }
    }
}

impl Bounded<Evaluation> for ev::RankRiskRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        if let Some(w) = &self.weights {
            weights_bound(w, t, &format!("{at}weights."));
        }
    }
}

fn weights_bound(w: &ev::RiskWeights, t: &mut Texts, at: &str) {
    t.number(
        at,
        "score_over_execution",
        "风险权重",
        w.score_over_execution.as_ref(),
    );
    t.number(at, "red_warnings", "风险权重", w.red_warnings.as_ref());
    t.number(at, "amount", "风险权重", w.amount.as_ref());
    t.number(at, "past_problems", "风险权重", w.past_problems.as_ref());
}

impl Bounded<Evaluation> for ev::Problem {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "description", "问题描述", &self.description, ENTRY_TEXT);
        t.text(at, "evidence", "佐证", &self.evidence, ENTRY_TEXT);
    }
}

impl Bounded<Evaluation> for ev::SaveReviewRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        each_nested(t, at, "entries", &self.entries);
        each_nested(t, at, "problems", &self.problems);
        t.text(at, "opinion", "复核意见", &self.opinion, LONG);
    }
}

/// The risk weights of a request: the defaults when unset; otherwise each given decimal (an
/// unset weight is 0). A weight that is not a decimal: INVALID_ARGUMENT `RISK_WEIGHT_INVALID`.
pub fn weights_from(w: Option<&ev::RiskWeights>) -> Result<RiskWeights, Vec<FieldViolation>> {
    let Some(w) = w else {
        return Ok(RiskWeights::default());
    };
    let mut bad = Vec::new();
    let mut one = |name: &str, d: Option<&pbm_proto::common::v1::Decimal>| -> Decimal {
        match d.map(|d| d.value.trim()) {
            None | Some("") => Decimal::ZERO,
            Some(text) => pbm_types::decimal::parse(text).unwrap_or_else(|_| {
                bad.push(FieldViolation::new(
                    format!("weights.{name}"),
                    "RISK_WEIGHT_INVALID",
                    format!("风险权重「{text}」不是有效的数字"),
                ));
                Decimal::ZERO
            }),
        }
    };
    let weights = RiskWeights {
        score_over_execution: one("score_over_execution", w.score_over_execution.as_ref()),
        red_warnings: one("red_warnings", w.red_warnings.as_ref()),
        amount: one("amount", w.amount.as_ref()),
        past_problems: one("past_problems", w.past_problems.as_ref()),
    };
    if !bad.is_empty() {
        return Err(bad);
    }
    weights.validate().map_err(|errors| {
        errors
            .into_iter()
            .map(|e| FieldViolation::new(e.field, e.reason, e.message))
            .collect::<Vec<_>>()
    })?;
    Ok(weights)
}

pub fn weights_to(w: &RiskWeights) -> ev::RiskWeights {
    ev::RiskWeights {
        score_over_execution: decimal(w.score_over_execution),
        red_warnings: decimal(w.red_warnings),
        amount: decimal(w.amount),
        past_problems: decimal(w.past_problems),
    }
}

pub fn method_from(m: i32) -> Option<Method> {
    match ev::SampleMethod::try_from(m).ok()? {
        ev::SampleMethod::Random => Some(Method::Random),
        ev::SampleMethod::Risk => Some(Method::Risk),
        ev::SampleMethod::Stratified => Some(Method::Stratified),
        ev::SampleMethod::Unspecified => None,
    }
}

fn method_to(word: &str) -> ev::SampleMethod {
    match Method::from_db(word) {
        Some(Method::Random) => ev::SampleMethod::Random,
        Some(Method::Risk) => ev::SampleMethod::Risk,
        Some(Method::Stratified) => ev::SampleMethod::Stratified,
        None => ev::SampleMethod::Unspecified,
    }
}

pub fn stratum_from(s: i32) -> Option<StratumKind> {
    match ev::Stratum::try_from(s).ok()? {
        ev::Stratum::Department => Some(StratumKind::Department),
        ev::Stratum::FundSource => Some(StratumKind::FundSource),
        ev::Stratum::Grade => Some(StratumKind::Grade),
        ev::Stratum::Unspecified => None,
    }
}

fn stratum_to(word: &str) -> ev::Stratum {
    match StratumKind::from_db(word) {
        Some(StratumKind::Department) => ev::Stratum::Department,
        Some(StratumKind::FundSource) => ev::Stratum::FundSource,
        Some(StratumKind::Grade) => ev::Stratum::Grade,
        None => ev::Stratum::Unspecified,
    }
}

pub fn reviewer_from(r: i32) -> Option<Reviewer> {
    match ev::Reviewer::try_from(r).ok()? {
        ev::Reviewer::Finance => Some(Reviewer::Finance),
        ev::Reviewer::Joint => Some(Reviewer::Joint),
        ev::Reviewer::Agency => Some(Reviewer::Agency),
        ev::Reviewer::Unspecified => None,
    }
}

fn reviewer_to(word: &str) -> ev::Reviewer {
    match Reviewer::from_db(word) {
        Some(Reviewer::Finance) => ev::Reviewer::Finance,
        Some(Reviewer::Joint) => ev::Reviewer::Joint,
        Some(Reviewer::Agency) => ev::Reviewer::Agency,
        None => ev::Reviewer::Unspecified,
    }
}

fn review_status_to(word: &str) -> ev::ReviewStatus {
    match ReviewStatus::from_db(word) {
        Some(ReviewStatus::Pending) => ev::ReviewStatus::Pending,
        Some(ReviewStatus::Draft) => ev::ReviewStatus::Draft,
        Some(ReviewStatus::Finished) => ev::ReviewStatus::Finished,
        None => ev::ReviewStatus::Unspecified,
    }
}

/// Problem categories: the wire's and the stored word.
const CATEGORIES: [(ev::ProblemCategory, &str); 7] = [
    (ev::ProblemCategory::ScoreInflated, "score_inflated"),
    (ev::ProblemCategory::EvidenceMissing, "evidence_missing"),
    (ev::ProblemCategory::DataInconsistent, "data_inconsistent"),
    (ev::ProblemCategory::GoalNotMet, "goal_not_met"),
    (
        ev::ProblemCategory::AnalysisInsufficient,
        "analysis_insufficient",
    ),
    (ev::ProblemCategory::FundsMisused, "funds_misused"),
    (ev::ProblemCategory::Other, "other"),
];

/// A wire category's stored word (`None` for UNSPECIFIED or an unknown number).
pub fn category_word(c: i32) -> Option<&'static str> {
    let c = ev::ProblemCategory::try_from(c).ok()?;
    CATEGORIES.iter().find(|(x, _)| *x == c).map(|(_, w)| *w)
}

pub fn category_to(word: &str) -> ev::ProblemCategory {
    CATEGORIES
        .iter()
        .find(|(_, w)| *w == word)
        .map_or(ev::ProblemCategory::Unspecified, |(c, _)| *c)
}

fn factors_to(json: &str) -> Vec<ev::RiskFactor> {
    serde_json::from_str::<Vec<Factor>>(json)
        .unwrap_or_default()
        .into_iter()
        .map(|f| ev::RiskFactor {
            factor: f.factor,
            input: f.input,
            contribution: decimal(f.contribution),
        })
        .collect()
}

/// A spot check as a message, with its sampled sheets when `items` is given (each with the
/// sheet's subject key, unit, department and name).
pub fn spot_check_to(row: &SpotCheckRow, items: Option<Vec<ev::SampledSheet>>) -> ev::SpotCheck {
    ev::SpotCheck {
        id: row.id,
        campaign_id: row.campaign_id,
        fiscal_year: row.fiscal_year,
        name: row.name.clone(),
        method: method_to(&row.method) as i32,
        size: row.size,
        seed: row.seed as u64,
        candidates_fingerprint: row.fingerprint.clone(),
        candidates: row.candidates,
        weights: serde_json::from_str::<RiskWeights>(&row.weights)
            .ok()
            .map(|w| weights_to(&w)),
        stratum: stratum_to(&row.stratum) as i32,
        risk_percent: row.risk_percent,
        reviewer: reviewer_to(&row.reviewer) as i32,
        agency_credit_code: row.agency_credit_code.clone(),
        engagement_id: row.engagement_id,
        draw_id: row.draw_id,
        revision: row.revision,
        finished: row.finished,
        items: items.unwrap_or_default(),
        selected: Some(stamp(&row.selected_by, row.selected_at)),
    }
}

/// What a sampled sheet shows of the sheet itself.
pub struct SheetFacts<'a> {
    pub subject_key: &'a str,
    pub agency_code: &'a str,
    pub department_code: &'a str,
    pub name: &'a str,
    pub budget: Decimal,
}

/// A risk entry as a message.
pub fn risk_entry_to(
    id: i64,
    s: &SheetFacts<'_>,
    self_score: Decimal,
    self_grade: &str,
    risk: Decimal,
    factors: Vec<ev::RiskFactor>,
    rank: u32,
) -> ev::RiskEntry {
    ev::RiskEntry {
        self_evaluation_id: id,
        subject_key: s.subject_key.to_owned(),
        agency_code: s.agency_code.to_owned(),
        department_code: s.department_code.to_owned(),
        name: s.name.to_owned(),
        self_score: decimal(self_score),
        self_grade: grade_word_to(self_grade) as i32,
        budget: decimal(s.budget),
        risk: decimal(risk),
        factors,
        rank: rank as i32,
    }
}

/// A sampled sheet as a message (`rank`: its risk rank among the candidates).
pub fn sampled_to(r: &ReviewRow, s: &SheetFacts<'_>, rank: u32) -> ev::SampledSheet {
    let finished = r.status == ReviewStatus::Finished.as_db();
    ev::SampledSheet {
        self_evaluation_id: r.sheet_id,
        subject_key: s.subject_key.to_owned(),
        agency_code: s.agency_code.to_owned(),
        department_code: s.department_code.to_owned(),
        name: s.name.to_owned(),
        picked_by: r.picked_by.clone(),
        risk: Some(risk_entry_to(
            r.sheet_id,
            s,
            r.self_score.0,
            &r.self_grade,
            r.risk.0,
            factors_to(&r.factors),
            rank,
        )),
        review_status: review_status_to(&r.status) as i32,
        self_score: decimal(r.self_score.0),
        self_grade: grade_word_to(&r.self_grade) as i32,
        corrected_score: finished
            .then(|| r.corrected_score.and_then(|m| decimal(m.0)))
            .flatten(),
        corrected_grade: if finished {
            grade_word_to(&r.corrected_grade) as i32
        } else {
            0
        },
        difference: finished
            .then(|| r.difference.and_then(|m| decimal(m.0)))
            .flatten(),
        flagged: finished && r.flagged,
        problems: r.problems,
    }
}

pub fn problem_to(p: &ProblemRow) -> ev::Problem {
    ev::Problem {
        category: category_to(&p.category) as i32,
        indicator_seq: p.indicator_seq,
        description: p.description.clone(),
        evidence: p.evidence.clone(),
    }
}

/// A review as a message: `entries` are the sheet's entries with the reviewer's in place.
pub fn review_to(
    r: &ReviewRow,
    reviewer: &str,
    entries: Vec<ev::IndicatorEntry>,
    problems: &[ProblemRow],
) -> ev::Review {
    ev::Review {
        spot_check_id: r.spot_check_id,
        self_evaluation_id: r.sheet_id,
        status: review_status_to(&r.status) as i32,
        reviewer: reviewer_to(reviewer) as i32,
        entries,
        corrected: (!r.corrected.is_empty()).then(|| score_to_proto(&r.corrected)),
        self_score: decimal(r.self_score.0),
        self_grade: grade_word_to(&r.self_grade) as i32,
        difference: r.difference.and_then(|m| decimal(m.0)),
        flagged: r.flagged,
        problems: problems.iter().map(problem_to).collect(),
        opinion: r.opinion.clone(),
        revision: r.revision,
        changed: Some(stamp(&r.changed_by, r.changed_at)),
        finished: r
            .finished_by
            .as_deref()
            .zip(r.finished_at)
            .map(|(by, at)| stamp(by, at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_round_trip() {
        for (c, w) in CATEGORIES {
            assert_eq!(category_word(c as i32), Some(w));
            assert_eq!(category_to(w), c);
        }
        assert_eq!(category_word(0), None);
    }

    #[test]
    fn weights_default_when_unset_and_are_checked_when_given() {
        assert_eq!(weights_from(None).unwrap(), RiskWeights::default());
        let d = |v: &str| Some(pbm_proto::common::v1::Decimal { value: v.into() });
        let w = ev::RiskWeights {
            score_over_execution: d("50"),
            red_warnings: d("50"),
            amount: None,
            past_problems: d("0"),
        };
        assert_eq!(weights_from(Some(&w)).unwrap().amount, Decimal::ZERO);
        let bad = ev::RiskWeights {
            amount: d("x"),
            ..w.clone()
        };
        assert_eq!(
            weights_from(Some(&bad)).unwrap_err()[0].reason,
            "RISK_WEIGHT_INVALID"
        );
        let short = ev::RiskWeights {
            red_warnings: d("40"),
            ..w
        };
        assert_eq!(
            weights_from(Some(&short)).unwrap_err()[0].reason,
            "RISK_WEIGHTS_TOTAL"
        );
    }
}
