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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formula::Entry;
    use crate::rules::Tier;
    use rust_decimal_macros::dec;

    fn ge(level1: &'static str, t: Decimal, a: Decimal) -> IndicatorInput<'static> {
        IndicatorInput {
            level1,
            goal_weight: None,
            direction: Direction::Ge,
            target: Some(t),
            entry: Entry::Number(a),
        }
    }

    /// 5 产出, 3 效益, 2 满意度, all met.
    fn full() -> Vec<IndicatorInput<'static>> {
        let mut indicators = vec![ge("产出指标", dec!(100), dec!(100)); 5];
        indicators.extend(vec![ge("效益指标", dec!(1), dec!(1)); 3]);
        indicators.extend(vec![ge("满意度指标", dec!(90), dec!(95)); 2]);
        indicators
    }

    fn sheet(executed: Decimal, indicators: &[IndicatorInput<'static>]) -> Score {
        let sheet = SheetInput {
            budget: dec!(100),
            executed,
            indicators,
        };
        score(&RuleSet::national(), &sheet).unwrap()
    }

    fn weights(score: &Score) -> Vec<Decimal> {
        score.indicators.iter().map(|i| i.weight).collect()
    }

    #[test]
    fn full_marks_are_100_and_excellent() {
        let score = sheet(dec!(100), &full());
        assert_eq!(score.total, dec!(100));
        assert_eq!(score.total.to_string(), "100.00");
        assert_eq!(score.grade, Grade::Excellent);
        assert_eq!(score.veto, None);
        assert!(!score.needs_reason);
        assert_eq!(
            weights(&score),
            [10, 10, 10, 10, 10, 10, 10, 10, 5, 5].map(Decimal::from)
        );
    }

    #[test]
    fn execution_88_of_100_scores_8_80_and_needs_a_reason() {
        let score = sheet(dec!(88), &full());
        assert_eq!(score.execution_rate.to_string(), "88.00");
        assert_eq!(score.execution_points.to_string(), "8.80");
        assert_eq!(score.total, dec!(98.80));
        assert_eq!(
            (score.raw_grade, score.grade),
            (Grade::Excellent, Grade::Excellent)
        );
        assert_eq!(score.veto, None);
        assert!(score.needs_reason);
    }

    #[test]
    fn execution_84_caps_excellent_at_good() {
        let score = sheet(dec!(84), &full());
        assert_eq!(score.total, dec!(98.40));
        assert_eq!(score.raw_grade, Grade::Excellent);
        assert_eq!(score.grade, Grade::Good);
        assert_eq!(
            score.veto,
            Some(VetoApplied {
                rate: dec!(84),
                below_rate_percent: dec!(85),
                best_grade: Grade::Good
            })
        );
    }

    #[test]
    fn execution_74_caps_at_fair_the_most_restrictive_veto() {
        let score = sheet(dec!(74), &full());
        assert_eq!(score.total, dec!(97.40));
        assert_eq!(score.grade, Grade::Fair);
        assert_eq!(score.veto.unwrap().below_rate_percent, dec!(75));
    }

    #[test]
    fn a_veto_that_would_not_lower_the_grade_is_not_recorded() {
        // 产出 at half: 10 × 8.4 + 25 + 30 + 10 = raw 良; 84 % caps at 良 anyway.
        let mut indicators = full();
        for indicator in &mut indicators[..5] {
            indicator.entry = Entry::Number(dec!(50));
        }
        let score = sheet(dec!(84), &indicators);
        assert_eq!(score.total, dec!(73.40));
        assert_eq!(
            (score.raw_grade, score.grade, score.veto),
            (Grade::Fair, Grade::Fair, None)
        );
    }

    #[test]
    fn execution_above_budget_scores_at_most_the_part() {
        let score = sheet(dec!(130), &full());
        assert_eq!(score.execution_rate, dec!(130));
        assert_eq!(score.execution_points, dec!(10));
        assert_eq!(score.total, dec!(100));
    }

    #[test]
    fn a_zero_budget_scores_0_without_vetoes_or_reason() {
        let indicators = full();
        let score = score(
            &RuleSet::national(),
            &SheetInput {
                budget: dec!(0),
                executed: dec!(5),
                indicators: &indicators,
            },
        )
        .unwrap();
        assert_eq!(
            (score.execution_rate, score.execution_points),
            (dec!(0), dec!(0))
        );
        assert_eq!(score.total, dec!(90));
        assert_eq!(
            (score.grade, score.veto, score.needs_reason),
            (Grade::Excellent, None, false)
        );
    }

    #[test]
    fn without_satisfaction_its_points_go_to_output_and_benefit() {
        let mut indicators = vec![ge("产出指标", dec!(1), dec!(1)); 5];
        indicators.extend(vec![ge("效益指标", dec!(1), dec!(1)); 3]);
        let score = sheet(dec!(100), &indicators);
        assert_eq!(
            score.part_weights,
            PartPoints {
                budget_execution: dec!(10),
                output: dec!(55),
                benefit: dec!(35),
                satisfaction: dec!(0)
            }
        );
        // 35 ÷ 3 = 11.666…: 11.67, 11.67, 11.66 (largest remainder, earlier first).
        assert_eq!(
            weights(&score),
            [
                dec!(11),
                dec!(11),
                dec!(11),
                dec!(11),
                dec!(11),
                dec!(11.67),
                dec!(11.67),
                dec!(11.66)
            ]
        );
        assert_eq!(score.applicable_weight, dec!(100));
        assert_eq!(score.total, dec!(100));
    }

    #[test]
    fn goal_weights_share_a_part_proportionally_in_hundredths() {
        // No 满意度: 产出 55 by 1:1:1:3 → 9.1666… ×3 and 27.5: cut to 9.16 ×3 + 27.50 = 54.98,
        // the 2 hundredths left go to the first two equal remainders (Σ 55); 效益 35.
        let indicators: Vec<_> = [1, 1, 1, 3, 2]
            .into_iter()
            .enumerate()
            .map(|(i, weight)| IndicatorInput {
                goal_weight: Some(Decimal::from(weight)),
                ..ge(
                    if i < 4 {
                        "产出指标"
                    } else {
                        "效益指标"
                    },
                    dec!(1),
                    dec!(1),
                )
            })
            .collect();
        let score = sheet(dec!(100), &indicators);
        assert_eq!(
            weights(&score),
            [dec!(9.17), dec!(9.17), dec!(9.16), dec!(27.5), dec!(35)]
        );
    }

    #[test]
    fn not_applicable_indicators_are_left_out_and_the_total_scaled_to_100() {
        // docs/DOMAIN.md: one 10-point 产出 indicator not applicable → scaled by 100 ÷ 90.
        let mut indicators = full();
        indicators[0].entry = Entry::NotApplicable;
        indicators[1].entry = Entry::Number(dec!(80));
        let score = sheet(dec!(100), &indicators);
        assert!(!score.indicators[0].applicable);
        assert_eq!(score.applicable_weight, dec!(90));
        // 10 + 8 + 30 + 30 + 10 = 88 → 88 × 100 ÷ 90 = 97.777… → 97.78.
        assert_eq!(score.raw_total, dec!(88));
        assert_eq!(score.total, dec!(97.78));
    }

    #[test]
    fn a_part_without_indicators_is_left_out() {
        let indicators = vec![ge("产出指标", dec!(100), dec!(80)); 2];
        let score = sheet(dec!(100), &indicators);
        // 效益 35 (with 满意度's 5) left out: applicable 65; raw 10 + 44 = 54 → 83.08.
        assert_eq!(score.applicable_weight, dec!(65));
        assert_eq!(score.raw_total, dec!(54));
        assert_eq!(score.total, dec!(83.08));
    }

    #[test]
    fn missing_entries_score_0_and_are_listed() {
        let mut indicators = full();
        indicators[2].entry = Entry::Missing;
        indicators[9].entry = Entry::Missing;
        let score = sheet(dec!(100), &indicators);
        assert_eq!(score.missing, [2, 9]);
        assert_eq!(score.total, dec!(85));
        assert!(!score.indicators[2].deviates);
    }

    #[test]
    fn deviation_below_weight_or_over_achieved() {
        let mut indicators = full();
        indicators[0].entry = Entry::Number(dec!(99));
        indicators[1].entry = Entry::Number(dec!(120));
        indicators[7] = IndicatorInput {
            direction: Direction::Qualitative,
            target: None,
            entry: Entry::Qualitative {
                tier: Tier::Achieved,
                score: dec!(9),
            },
            ..indicators[7]
        };
        let score = sheet(dec!(100), &indicators);
        let deviates: Vec<bool> = score.indicators.iter().map(|i| i.deviates).collect();
        assert_eq!(
            deviates,
            [
                true, true, false, false, false, false, false, true, false, false
            ]
        );
        let mut rules = RuleSet::national();
        rules.deviation.below_weight = false;
        rules.deviation.achieved_ratio_at_least = None;
        let quiet = score_of(&rules, &indicators);
        assert!(quiet.indicators.iter().all(|i| !i.deviates));
    }

    fn score_of(rules: &RuleSet, indicators: &[IndicatorInput<'_>]) -> Score {
        score(
            rules,
            &SheetInput {
                budget: dec!(100),
                executed: dec!(100),
                indicators,
            },
        )
        .unwrap()
    }

    #[test]
    fn bands_80_70_60_grade_the_same_total_higher() {
        let mut indicators = full();
        for indicator in &mut indicators[..5] {
            indicator.entry = Entry::Number(dec!(60));
        }
        let national = score_of(&RuleSet::national(), &indicators);
        assert_eq!((national.total, national.grade), (dec!(80), Grade::Good));
        let mut rules = RuleSet::national();
        rules.grades = vec![
            (Grade::Excellent, dec!(80)),
            (Grade::Good, dec!(70)),
            (Grade::Fair, dec!(60)),
        ];
        assert_eq!(score_of(&rules, &indicators).grade, Grade::Excellent);
    }

    #[test]
    fn bad_sheets_are_refused_with_their_field() {
        let rules = RuleSet::national();
        let refuse = |indicators: &[IndicatorInput<'_>], budget, executed| {
            score(
                &rules,
                &SheetInput {
                    budget,
                    executed,
                    indicators,
                },
            )
            .unwrap_err()
        };
        let mut indicators = full();
        indicators[3].level1 = "过程指标";
        let error = refuse(&indicators, dec!(1), dec!(1));
        assert_eq!(
            (error.code(), error.field()),
            ("SCORE_UNKNOWN_LEVEL1", "indicators[3].level1".to_owned())
        );

        let mut indicators = full();
        indicators[0].goal_weight = Some(dec!(10));
        assert_eq!(
            refuse(&indicators, dec!(1), dec!(1)),
            ScoreError::MixedGoalWeights { index: 1 }
        );
        for indicator in &mut indicators {
            indicator.goal_weight = Some(dec!(1));
        }
        indicators[4].goal_weight = Some(dec!(-1));
        assert_eq!(
            refuse(&indicators, dec!(1), dec!(1)),
            ScoreError::NegativeGoalWeight { index: 4 }
        );
        for indicator in &mut indicators[5..8] {
            indicator.goal_weight = Some(dec!(0));
        }
        indicators[4].goal_weight = Some(dec!(1));
        assert_eq!(
            refuse(&indicators, dec!(1), dec!(1)),
            ScoreError::ZeroGoalWeights {
                part: Part::Benefit
            }
        );

        let indicators = full();
        assert_eq!(
            refuse(&indicators, dec!(-1), dec!(1)),
            ScoreError::NegativeAmount { field: "budget" }
        );
        assert_eq!(
            refuse(&indicators, dec!(1), dec!(-0.01)),
            ScoreError::NegativeAmount { field: "executed" }
        );
        assert_eq!(
            refuse(&indicators, dec!(1000000000000001), dec!(1)).code(),
            "SCORE_VALUE_OUT_OF_RANGE"
        );
    }

    #[test]
    fn invalid_rules_are_refused() {
        let mut rules = RuleSet::national();
        rules.points.output = dec!(60);
        let indicators = full();
        let error = score(
            &rules,
            &SheetInput {
                budget: dec!(1),
                executed: dec!(1),
                indicators: &indicators,
            },
        )
        .unwrap_err();
        assert_eq!(error.code(), "SCORE_RULES_INVALID");
        assert!(
            error
                .to_string()
                .starts_with("评分规则无效：四部分分值合计须为100"),
            "{error}"
        );
    }

    #[test]
    fn an_empty_sheet_scores_execution_alone() {
        let score = sheet(dec!(90), &[]);
        assert_eq!(score.applicable_weight, dec!(10));
        assert_eq!(score.raw_total, dec!(9));
        assert_eq!(score.total, dec!(90));
    }

    #[test]
    fn scores_round_trip_through_json_with_their_rule_set() {
        let score = sheet(dec!(84), &full()).made_by(RuleRef {
            version: 3,
            label: "2026年度评价规则第3版".to_owned(),
        });
        let json = serde_json::to_string(&score).unwrap();
        assert!(json.contains("\"total\":\"98.40\""), "{json}");
        assert!(json.contains("\"grade\":\"good\""), "{json}");
        assert!(json.contains("\"formula\":\"ge_met\""), "{json}");
        let back: Score = serde_json::from_str(&json).unwrap();
        assert_eq!(back, score);
    }
}
