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

// -- rules ----------------------------------------------------------------------------------------

/// Most first-level names in a rule set (as the contract states).
const MAX_LEVEL1_PARTS: usize = 20;

/// A rule set as the message: `region` the deployment's, `row` the stored version (none for
/// the national default).
pub(crate) fn rules_to(
    region: &str,
    fiscal_year: i32,
    rules: &crate::ops::scoring::Rules,
    row: Option<&crate::store::RulesRow>,
) -> ev::EvaluationRules {
    let r = &rules.set;
    ev::EvaluationRules {
        mof_div_code: region.to_owned(),
        fiscal_year,
        version: rules.version,
        label: rules.label.clone(),
        points: Some(ev::PartPoints {
            budget_execution: decimal(r.points.budget_execution),
            output: decimal(r.points.output),
            benefit: decimal(r.points.benefit),
            satisfaction: decimal(r.points.satisfaction),
        }),
        satisfaction_to_output: decimal(r.satisfaction_fallback.0),
        satisfaction_to_benefit: decimal(r.satisfaction_fallback.1),
        level1_parts: r
            .level1_parts
            .iter()
            .map(|(name, part)| ev::Level1Part {
                level1_name: name.clone(),
                part: part_to(*part) as i32,
            })
            .collect(),
        reverse_zero_at: decimal(r.reverse_zero_at),
        tiers: r
            .tiers
            .iter()
            .map(|(tier, lo, hi)| ev::TierRange {
                tier: tier_to(*tier) as i32,
                low_percent: decimal(*lo),
                high_percent: decimal(*hi),
            })
            .collect(),
        grades: r
            .grades
            .iter()
            .map(|(grade, lower)| ev::GradeBand {
                grade: grade_to(*grade) as i32,
                lower: decimal(*lower),
            })
            .collect(),
        vetoes: r
            .vetoes
            .iter()
            .map(|v| ev::Veto {
                below_rate_percent: decimal(v.below_rate_percent),
                best_grade: grade_to(v.best_grade) as i32,
            })
            .collect(),
        reason_below_rate: decimal(r.reason_below_rate),
        deviation_below_weight: r.deviation.below_weight,
        deviation_achieved_percent: decimal(
            r.deviation
                .achieved_ratio_at_least
                .unwrap_or(rust_decimal::Decimal::ZERO),
        ),
        changed: row.map(|row| pbm_server::wire::stamp(&row.changed_by, row.changed_at)),
    }
}

/// The rule set a SetEvaluationRules request states, validated by the engine
/// (`RuleSet::validate`). The request carries the whole rule set as GetEvaluationRules returns
/// it; a number left unset, or an empty list of first-level names, tiers or grade bands, keeps
/// the national default; the vetoes are as given (none: no veto); a
/// `deviation_achieved_percent` of 0 turns the over-achievement rule off. Every violation at
/// once, each on its field under `rules.`.
pub(crate) fn rules_from(
    m: &ev::EvaluationRules,
) -> Result<pbm_scoring::RuleSet, Vec<pbm_types::FieldViolation>> {
    use pbm_types::FieldViolation;
    let mut r = pbm_scoring::RuleSet::national();
    let mut v = Vec::new();
    if let Some(p) = &m.points {
        number(
            &mut v,
            "points.budget_execution",
            p.budget_execution.as_ref(),
            &mut r.points.budget_execution,
        );
        number(
            &mut v,
            "points.output",
            p.output.as_ref(),
            &mut r.points.output,
        );
        number(
            &mut v,
            "points.benefit",
            p.benefit.as_ref(),
            &mut r.points.benefit,
        );
        number(
            &mut v,
            "points.satisfaction",
            p.satisfaction.as_ref(),
            &mut r.points.satisfaction,
        );
    }
    number(
        &mut v,
        "satisfaction_to_output",
        m.satisfaction_to_output.as_ref(),
        &mut r.satisfaction_fallback.0,
    );
    number(
        &mut v,
        "satisfaction_to_benefit",
        m.satisfaction_to_benefit.as_ref(),
        &mut r.satisfaction_fallback.1,
    );
    number(
        &mut v,
        "reverse_zero_at",
        m.reverse_zero_at.as_ref(),
        &mut r.reverse_zero_at,
    );
    number(
        &mut v,
        "reason_below_rate",
        m.reason_below_rate.as_ref(),
        &mut r.reason_below_rate,
    );
    let mut ratio = r.deviation.achieved_ratio_at_least.unwrap_or_default();
    number(
        &mut v,
        "deviation_achieved_percent",
        m.deviation_achieved_percent.as_ref(),
        &mut ratio,
    );
    r.deviation.achieved_ratio_at_least = (!ratio.is_zero()).then_some(ratio);
    r.deviation.below_weight = m.deviation_below_weight;

    if m.level1_parts.len() > MAX_LEVEL1_PARTS {
        v.push(FieldViolation::new(
            "rules.level1_parts",
            "RULES_TOO_MANY_LEVEL1_PARTS",
            format!(
                "一级指标对应最多{MAX_LEVEL1_PARTS}条（当前{}条）",
                m.level1_parts.len()
            ),
        ));
    } else if !m.level1_parts.is_empty() {
        r.level1_parts.clear();
        for (i, l) in m.level1_parts.iter().enumerate() {
            match part_from(l.part) {
                Some(part) => r.level1_parts.push((l.level1_name.trim().to_owned(), part)),
                None => v.push(FieldViolation::new(
                    format!("rules.level1_parts[{i}].part"),
                    "RULES_PART_INVALID",
                    format!(
                        "第{}个一级指标「{}」须归入产出、效益或满意度指标",
                        i + 1,
                        l.level1_name
                    ),
                )),
            }
        }
    }
    if !m.tiers.is_empty() {
        if m.tiers.len() != 3 {
            v.push(FieldViolation::new(
                "rules.tiers",
                "RULES_TIERS_INVALID",
                "定性档次须为达成、部分达成、未达成三档各一",
            ));
        } else {
            for (i, t) in m.tiers.iter().enumerate() {
                let Some(tier) = tier_from(t.tier) else {
                    v.push(FieldViolation::new(
                        format!("rules.tiers[{i}].tier"),
                        "RULES_TIERS_INVALID",
                        format!("第{}个定性档次未指定档次", i + 1),
                    ));
                    continue;
                };
                let (mut lo, mut hi) = (r.tier_range(tier).0, r.tier_range(tier).1);
                number(
                    &mut v,
                    &format!("tiers[{i}].low_percent"),
                    t.low_percent.as_ref(),
                    &mut lo,
                );
                number(
                    &mut v,
                    &format!("tiers[{i}].high_percent"),
                    t.high_percent.as_ref(),
                    &mut hi,
                );
                r.tiers[i] = (tier, lo, hi);
            }
        }
    }
    if !m.grades.is_empty() {
        let mut bands = Vec::new();
        for (i, g) in m.grades.iter().enumerate() {
            let Some(grade) = grade_from(g.grade).filter(|g| *g != Grade::Poor) else {
                v.push(FieldViolation::new(
                    format!("rules.grades[{i}].grade"),
                    "RULES_GRADE_BANDS_INVALID",
                    format!("第{}个等级须为优、良或中（差为最低一档以下）", i + 1),
                ));
                continue;
            };
            let mut lower = rust_decimal::Decimal::ZERO;
            number(
                &mut v,
                &format!("grades[{i}].lower"),
                g.lower.as_ref(),
                &mut lower,
            );
            bands.push((grade, lower));
        }
        bands.sort_by_key(|b| std::cmp::Reverse(b.0));
        r.grades = bands;
    }
    r.vetoes = Vec::with_capacity(m.vetoes.len());
    for (i, veto) in m.vetoes.iter().enumerate() {
        let mut rate = rust_decimal::Decimal::ZERO;
        number(
            &mut v,
            &format!("vetoes[{i}].below_rate_percent"),
            veto.below_rate_percent.as_ref(),
            &mut rate,
        );
        match grade_from(veto.best_grade) {
            Some(best_grade) => r.vetoes.push(pbm_scoring::Veto {
                below_rate_percent: rate,
                best_grade,
            }),
            None => v.push(FieldViolation::new(
                format!("rules.vetoes[{i}].best_grade"),
                "RULES_VETO_GRADE_INVALID",
                format!("第{}条否定性指标须指定最高等级", i + 1),
            )),
        }
    }
    if v.is_empty()
        && let Err(errors) = r.validate()
    {
        v.extend(errors.iter().map(|e| {
            let field = match e.field().as_str() {
                "satisfaction_fallback" => "satisfaction_to_output".to_owned(),
                "deviation.achieved_ratio_at_least" => "deviation_achieved_percent".to_owned(),
                other => other.to_owned(),
            };
            FieldViolation::new(format!("rules.{field}"), e.code(), e.to_string())
        }));
    }
    if v.is_empty() { Ok(r) } else { Err(v) }
}

/// A decimal of the request into `into` (unset or empty: `into` keeps its value).
fn number(
    v: &mut Vec<pbm_types::FieldViolation>,
    field: &str,
    value: Option<&pbm_proto::common::v1::Decimal>,
    into: &mut rust_decimal::Decimal,
) {
    let Some(text) = value.map(|d| d.value.trim()).filter(|t| !t.is_empty()) else {
        return;
    };
    match pbm_types::decimal::parse(text) {
        Ok(d) => *into = d,
        Err(e) => v.push(pbm_types::FieldViolation::new(
            format!("rules.{field}"),
            e.reason,
            e.message,
        )),
    }
}

// -- campaigns ------------------------------------------------------------------------------------

/// A date on the wire: `YYYY-MM-DD`.
pub(crate) fn date(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A campaign as the message (`region` the deployment's).
pub(crate) fn campaign_to(region: &str, c: &crate::store::CampaignRow) -> ev::Campaign {
    ev::Campaign {
        id: c.id,
        mof_div_code: region.to_owned(),
        fiscal_year: c.fiscal_year,
        name: c.name.clone(),
        deadline: date(c.deadline),
        lead_days: c.lead_days,
        status: match c.status.as_str() {
            "open" => ev::CampaignStatus::Open,
            "closed" => ev::CampaignStatus::Closed,
            _ => ev::CampaignStatus::Unspecified,
        } as i32,
        rules_version: c.rules_version,
        rules_label: c.rules_label.clone(),
        revision: c.revision,
        sheets: c.sheets,
        execution_month: c.execution_month,
        opened: Some(pbm_server::wire::stamp(&c.opened_by, c.opened_at)),
        changed: Some(pbm_server::wire::stamp(&c.changed_by, c.changed_at)),
    }
}
