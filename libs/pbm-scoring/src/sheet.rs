//! A whole self-evaluation sheet: weights per part, 预算执行率, the total, re-normalisation,
//! grade and vetoes.
//!
//! docs/DOMAIN.md "Self-evaluation weights" (财预〔2020〕10号: 10/50/30/10, 满意度's points moved
//! to 产出/效益 without a 满意度 indicator; not applicable indicators left out and the total
//! scaled back to 100), "Grades and vetoes" (财预〔2020〕10号's four grades; 赣州 2020's 预算执行率
//! vetoes) and "Exact numbers and rounding" (exact decimals, two places, half-up).
//!
//! **One rounding order**, chosen so that every property holds exactly and the form adds up as
//! printed:
//!
//! 1. Weights: a part's points are shared by all its indicators (not applicable ones too),
//!    proportional to the goal's declared weights or equally, in hundredths by the largest
//!    remainder: each gets its exact share cut to hundredths, and the hundredths left over go
//!    one each to the largest cut-off remainders (ties: the earlier indicator). Every weight
//!    has two places and a part's weights add up to its points exactly, so Σ weights = 100.
//! 2. 预算执行率 = 执行数 × 100 ÷ 预算数, rounded to two places; its points are
//!    min(points, rate × points ÷ 100) from that printed rate, rounded.
//! 3. Each indicator's points are computed exactly from its weight and rounded once
//!    (0 ≤ points ≤ weight, see formula.rs).
//! 4. raw_total = the execution points + Σ applicable indicators' rounded points (what the
//!    form's column adds up to); applicable_weight = 100 − weights not applicable − points of
//!    parts without any indicator (exact, hundredths).
//! 5. total = raw_total when applicable_weight = 100, else round(raw_total × 100 ÷
//!    applicable_weight); raw_total ≤ applicable_weight, so total ≤ 100.
//! 6. The grade comes from the total; vetoes compare the printed rate (step 2) and only cap.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::formula::{Entry, Formula, score_indicator};
use crate::rules::{Direction, Grade, Part, PartPoints, RuleSet};
use crate::{MAX_MAGNITUDE, ScoreError, round2};

/// One indicator of a sheet, as the goal's snapshot and the unit's entry give it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IndicatorInput<'a> {
    /// First-level name as the goal's snapshot has it (`level1_name`).
    pub level1: &'a str,
    /// The goal's declared weight: all indicators of a sheet have one, or none does (equal
    /// shares within each part).
    pub goal_weight: Option<Decimal>,
    pub direction: Direction,
    /// Numeric target of 正向 / 反向 / 等于 (None for 定性).
    pub target: Option<Decimal>,
    pub entry: Entry,
}

/// A self-evaluation sheet: 全年预算数, 执行数 (元) and the goal's indicators.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SheetInput<'a> {
    pub budget: Decimal,
    pub executed: Decimal,
    pub indicators: &'a [IndicatorInput<'a>],
}

/// Which stored rule set made a score (the evaluation service's version and label).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    pub version: i64,
    pub label: String,
}

/// The veto that lowered a grade: the rate, the veto's threshold and the grade it allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VetoApplied {
    /// 预算执行率, percent, two places.
    pub rate: Decimal,
    pub below_rate_percent: Decimal,
    pub best_grade: Grade,
}

/// One indicator's score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorScore {
    pub part: Part,
    /// Its share of its part's points, two places (before re-normalisation).
    pub weight: Decimal,
    /// Two places, 0 ≤ points ≤ weight.
    pub points: Decimal,
    pub formula: Formula,
    /// Its causes and measures must be stated: points below the weight, or over-achieved
    /// ([`crate::Deviation`]). Never for a missing or not applicable entry.
    pub deviates: bool,
    pub applicable: bool,
}

/// A sheet's score. [`Score::explain`] renders why, in Chinese.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    /// The rule set that made it ([`Score::made_by`]); `None` until the caller records it.
    #[serde(default)]
    pub rules: Option<RuleRef>,
    /// Re-normalised to 100, two places.
    pub total: Decimal,
    /// Before re-normalisation.
    pub raw_total: Decimal,
    /// After vetoes.
    pub grade: Grade,
    /// From the bands alone.
    pub raw_grade: Grade,
    pub veto: Option<VetoApplied>,
    /// Percent, two places (0 when the budget is 0).
    pub execution_rate: Decimal,
    pub execution_points: Decimal,
    /// 100 − not applicable weights − parts without indicators.
    pub applicable_weight: Decimal,
    /// Each part's points after 满意度's fallback.
    pub part_weights: PartPoints,
    pub indicators: Vec<IndicatorScore>,
    /// Indexes of indicators without an entry (scored 0).
    pub missing: Vec<usize>,
    /// Execution below the rules' `reason_below_rate`: a reason is required.
    pub needs_reason: bool,
}

impl Score {
    /// Records the rule set that made this score.
    #[must_use]
    pub fn made_by(mut self, rules: RuleRef) -> Score {
        self.rules = Some(rules);
        self
    }
}

/// Scores a sheet under `rules` (validated first: invalid rules are [`ScoreError::Rules`]).
pub fn score(rules: &RuleSet, sheet: &SheetInput<'_>) -> Result<Score, ScoreError> {
    rules.validate().map_err(ScoreError::Rules)?;
    for (field, amount) in [("budget", sheet.budget), ("executed", sheet.executed)] {
        if amount < Decimal::ZERO {
            return Err(ScoreError::NegativeAmount { field });
        }
        if amount > MAX_MAGNITUDE {
            return Err(ScoreError::OutOfRange { index: None, field });
        }
    }

    // Parts and goal weights.
    let declared = sheet
        .indicators
        .first()
        .is_some_and(|i| i.goal_weight.is_some());
    let mut count = [0usize; 4];
    let mut sum = [Decimal::ZERO; 4];
    let mut indicators = Vec::with_capacity(sheet.indicators.len());
    for (index, input) in sheet.indicators.iter().enumerate() {
        let part = rules
            .part_of(input.level1)
            .ok_or_else(|| ScoreError::UnknownLevel1 {
                index,
                name: input.level1.to_owned(),
            })?;
        if input.goal_weight.is_some() != declared {
            return Err(ScoreError::MixedGoalWeights { index });
        }
        let goal_weight = input.goal_weight.unwrap_or(Decimal::ONE);
        if goal_weight < Decimal::ZERO {
            return Err(ScoreError::NegativeGoalWeight { index });
        }
        if goal_weight > MAX_MAGNITUDE {
            return Err(ScoreError::OutOfRange {
                index: Some(index),
                field: "goal_weight",
            });
        }
        count[part as usize] += 1;
        sum[part as usize] += goal_weight;
        indicators.push(IndicatorScore {
            part,
            weight: Decimal::ZERO,
            points: Decimal::ZERO,
            formula: Formula::Missing,
            deviates: false,
            applicable: true,
        });
    }

    // Each part's points: 满意度's go to 产出 and 效益 when the sheet has no 满意度 indicator.
    let mut part_weights = rules.points;
    if count[Part::Satisfaction as usize] == 0 {
        part_weights.output += rules.satisfaction_fallback.0;
        part_weights.benefit += rules.satisfaction_fallback.1;
        part_weights.satisfaction = Decimal::ZERO;
    }
    let mut applicable_weight = Decimal::ONE_HUNDRED;
    for part in [Part::Output, Part::Benefit, Part::Satisfaction] {
        let p = part as usize;
        if count[p] == 0 {
            // No indicator at all: the part is left out like a not applicable indicator.
            applicable_weight -= part_weights.get(part);
        } else if sum[p].is_zero() {
            return Err(ScoreError::ZeroGoalWeights { part });
        } else {
            allot(
                sheet,
                &mut indicators,
                part,
                part_weights.get(part),
                sum[p],
                count[p],
            );
        }
    }

    // 预算执行率. A budget of 0 scores 0 and never raises an error (docs/DOMAIN.md
    // "Self-evaluation weights"); the vetoes and the reason rule then do not apply either
    // (nothing was there to execute) — a project choice, explained as 「预算数为0，不适用否定性指标」.
    let execution_points_max = rules.points.budget_execution;
    let (execution_rate, execution_points) = if sheet.budget.is_zero() {
        (Decimal::ZERO, Decimal::ZERO)
    } else {
        let rate = round2(sheet.executed * Decimal::ONE_HUNDRED / sheet.budget);
        let points = (rate * execution_points_max / Decimal::ONE_HUNDRED).min(execution_points_max);
        (rate, round2(points))
    };

    // Indicators.
    let mut raw_total = execution_points;
    let mut missing = Vec::new();
    for (index, (input, scored)) in sheet.indicators.iter().zip(&mut indicators).enumerate() {
        let outcome = score_indicator(
            rules,
            index,
            input.direction,
            input.target,
            &input.entry,
            scored.weight,
        )?;
        scored.weight = two_places(scored.weight);
        scored.points = two_places(outcome.points);
        scored.formula = outcome.formula;
        match input.entry {
            Entry::NotApplicable => {
                scored.applicable = false;
                applicable_weight -= scored.weight;
            }
            Entry::Missing => missing.push(index),
            Entry::Number(_) | Entry::Qualitative { .. } => {
                raw_total += outcome.points;
                scored.deviates = (rules.deviation.below_weight && outcome.points < scored.weight)
                    || outcome.over_achieved;
            }
        }
    }

    let total = if applicable_weight == Decimal::ONE_HUNDRED {
        raw_total
    } else {
        round2(raw_total * Decimal::ONE_HUNDRED / applicable_weight)
    };
    let raw_grade = rules.grade_of(total);
    let budgeted = !sheet.budget.is_zero();
    let veto = if budgeted {
        veto_of(rules, execution_rate, raw_grade)
    } else {
        None
    };
    Ok(Score {
        rules: None,
        total: two_places(total),
        raw_total: two_places(raw_total),
        grade: veto.map_or(raw_grade, |v| v.best_grade),
        raw_grade,
        veto,
        execution_rate: two_places(execution_rate),
        execution_points: two_places(execution_points),
        applicable_weight: two_places(applicable_weight),
        part_weights,
        indicators,
        missing,
        needs_reason: budgeted && execution_rate < rules.reason_below_rate,
    })
}

/// Shares `points` among `part`'s indicators in hundredths by the largest remainder
/// (module docs, step 1). `sum` is the part's Σ goal weights (its count when none declared).
fn allot(
    sheet: &SheetInput<'_>,
    indicators: &mut [IndicatorScore],
    part: Part,
    points: Decimal,
    sum: Decimal,
    count: usize,
) {
    let equal_share = points / Decimal::from(count);
    let share = |input: &IndicatorInput<'_>| match input.goal_weight {
        Some(goal_weight) => points * goal_weight / sum,
        None => equal_share,
    };
    let mut allotted = Decimal::ZERO;
    for (input, scored) in sheet.indicators.iter().zip(indicators.iter_mut()) {
        if scored.part == part {
            scored.weight = share(input).trunc_with_scale(2);
            allotted += scored.weight;
        }
    }
    let cent = Decimal::new(1, 2);
    let left = ((points - allotted) / cent).trunc();
    if left.is_zero() {
        return;
    }
    let mut order: Vec<(Decimal, usize)> = sheet
        .indicators
        .iter()
        .zip(indicators.iter())
        .enumerate()
        .filter(|(_, (_, scored))| scored.part == part)
        .map(|(i, (input, scored))| (share(input) - scored.weight, i))
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let left = left.to_usize().unwrap_or(order.len());
    for (_, i) in order.into_iter().take(left) {
        indicators[i].weight += cent;
    }
}

/// The most restrictive veto the rate triggers, when it lowers `raw_grade`.
fn veto_of(rules: &RuleSet, rate: Decimal, raw_grade: Grade) -> Option<VetoApplied> {
    rules
        .vetoes
        .iter()
        .filter(|veto| rate < veto.below_rate_percent)
        .min_by_key(|veto| veto.best_grade)
        .filter(|veto| veto.best_grade < raw_grade)
        .map(|veto| VetoApplied {
            rate,
            below_rate_percent: veto.below_rate_percent,
            best_grade: veto.best_grade,
        })
}

/// A recorded number with exactly two places (`16.00`, not `16`).
fn two_places(mut value: Decimal) -> Decimal {
    value.rescale(2);
    value
}
