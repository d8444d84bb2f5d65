//! The scoring rules as data: one [`RuleSet`] per region and fiscal year, versioned and stored
//! by the evaluation service, validated here.
//!
//! docs/DOMAIN.md "Self-evaluation weights" (10/50/30/10 and moving 满意度's points, 财预〔2020〕10号),
//! "Indicator formulas" (反向's cut-off at 2t and the 定性 tiers are configuration), "Grades and
//! vetoes" (90/80/60, one province 80/70/60; 赣州 2020's 预算执行率 vetoes 85 % → not 优,
//! 75 % → not 良).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The four parts of a self-evaluation's 100 points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// 预算执行率
    BudgetExecution,
    /// 产出指标 (成本指标 too, by default)
    Output,
    /// 效益指标
    Benefit,
    /// 满意度指标
    Satisfaction,
}

impl Part {
    /// The four parts in the form's order.
    pub const ALL: [Part; 4] = [
        Part::BudgetExecution,
        Part::Output,
        Part::Benefit,
        Part::Satisfaction,
    ];

    /// 预算执行率 / 产出指标 / 效益指标 / 满意度指标.
    pub fn label(self) -> &'static str {
        match self {
            Part::BudgetExecution => "预算执行率",
            Part::Output => "产出指标",
            Part::Benefit => "效益指标",
            Part::Satisfaction => "满意度指标",
        }
    }

    /// Stable code: budget_execution / output / benefit / satisfaction.
    pub fn code(self) -> &'static str {
        match self {
            Part::BudgetExecution => "budget_execution",
            Part::Output => "output",
            Part::Benefit => "benefit",
            Part::Satisfaction => "satisfaction",
        }
    }
}

/// An indicator's direction: 正向 `≥`, 反向 `≤`, 等于 `=`, 定性.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// 正向: the more the better.
    Ge,
    /// 反向: the less the better.
    Le,
    /// 等于: exactly the target (t = 0: nothing at all).
    Eq,
    /// 定性: scored by the tier claimed.
    Qualitative,
}

impl Direction {
    /// 正向 / 反向 / 等于 / 定性.
    pub fn label(self) -> &'static str {
        match self {
            Direction::Ge => "正向",
            Direction::Le => "反向",
            Direction::Eq => "等于",
            Direction::Qualitative => "定性",
        }
    }
}

/// The tier a 定性 indicator claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 达成
    Achieved,
    /// 部分达成并具有一定效果
    Partly,
    /// 未达成且效果较差
    NotAchieved,
}

impl Tier {
    /// The tier's name on the national form.
    pub fn label(self) -> &'static str {
        match self {
            Tier::Achieved => "达成",
            Tier::Partly => "部分达成并具有一定效果",
            Tier::NotAchieved => "未达成且效果较差",
        }
    }
}

/// 优/良/中/差, ordered Poor < Fair < Good < Excellent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// 差
    Poor,
    /// 中
    Fair,
    /// 良
    Good,
    /// 优
    Excellent,
}

impl Grade {
    /// 优 / 良 / 中 / 差.
    pub fn label(self) -> &'static str {
        match self {
            Grade::Excellent => "优",
            Grade::Good => "良",
            Grade::Fair => "中",
            Grade::Poor => "差",
        }
    }

    /// Stable code: excellent / good / fair / poor.
    pub fn code(self) -> &'static str {
        match self {
            Grade::Excellent => "excellent",
            Grade::Good => "good",
            Grade::Fair => "fair",
            Grade::Poor => "poor",
        }
    }
}

/// Points per part (the rules' split, or a score's split after 满意度's fallback).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartPoints {
    pub budget_execution: Decimal,
    pub output: Decimal,
    pub benefit: Decimal,
    pub satisfaction: Decimal,
}

impl PartPoints {
    /// The points of one part.
    pub fn get(&self, part: Part) -> Decimal {
        match part {
            Part::BudgetExecution => self.budget_execution,
            Part::Output => self.output,
            Part::Benefit => self.benefit,
            Part::Satisfaction => self.satisfaction,
        }
    }

    /// The four parts' sum.
    pub fn total(&self) -> Decimal {
        self.budget_execution + self.output + self.benefit + self.satisfaction
    }
}

/// 否定性指标: an execution rate below `below_rate_percent` caps the grade at `best_grade`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Veto {
    pub below_rate_percent: Decimal,
    pub best_grade: Grade,
}

/// When an indicator deviates (its causes and measures must then be stated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deviation {
    /// Points below the indicator's weight.
    pub below_weight: bool,
    /// 正向 / 等于 (t > 0): achieved at least this percent of the target (over-achievement);
    /// `None` turns it off.
    pub achieved_ratio_at_least: Option<Decimal>,
}

/// The scoring rules of one region and fiscal year. The version, region, year and label are the
/// evaluation service's (it stores this as JSON); [`crate::RuleRef`] records them on a score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    /// Each part's points: each > 0, at most two places, 100 in all.
    pub points: PartPoints,
    /// Where 满意度's points go when a sheet has no 满意度 indicator: (to 产出, to 效益); each ≥ 0,
    /// at most two places, together `points.satisfaction`.
    pub satisfaction_fallback: (Decimal, Decimal),
    /// First-level indicator name (as goals carry it) → part. Never [`Part::BudgetExecution`].
    pub level1_parts: Vec<(String, Part)>,
    /// 反向 scores 0 at or beyond this multiple of the target; above 1, at most 100.
    pub reverse_zero_at: Decimal,
    /// 定性 tiers: (tier, low, high) in percent of the weight, inclusive, 0 ≤ low ≤ high ≤ 100;
    /// each tier once.
    pub tiers: [(Tier, Decimal, Decimal); 3],
    /// Inclusive lower bounds of 优, 良, 中 in this order, strictly descending, in (0, 100];
    /// 差 is below the last.
    pub grades: Vec<(Grade, Decimal)>,
    /// 否定性指标 on the execution rate.
    pub vetoes: Vec<Veto>,
    /// Execution (percent) below which a reason is required; 0–100.
    pub reason_below_rate: Decimal,
    pub deviation: Deviation,
}

impl RuleSet {
    /// The national default: 10/50/30/10 with 满意度's points split 5/5 (财预〔2020〕10号),
    /// 反向 zero at 2t, tiers 80–100 / 60–80 / 0–60, grades 90/80/60, 赣州 2020's vetoes (85 % → at
    /// best 良, 75 % → at best 中), a reason below 90 %, deviation below the weight or at 120 %.
    pub fn national() -> RuleSet {
        let d = Decimal::from;
        RuleSet {
            points: PartPoints {
                budget_execution: d(10),
                output: d(50),
                benefit: d(30),
                satisfaction: d(10),
            },
            satisfaction_fallback: (d(5), d(5)),
            level1_parts: vec![
                ("产出指标".to_owned(), Part::Output),
                ("成本指标".to_owned(), Part::Output),
                ("效益指标".to_owned(), Part::Benefit),
                ("满意度指标".to_owned(), Part::Satisfaction),
            ],
            reverse_zero_at: d(2),
            tiers: [
                (Tier::Achieved, d(80), d(100)),
                (Tier::Partly, d(60), d(80)),
                (Tier::NotAchieved, d(0), d(60)),
            ],
            grades: vec![
                (Grade::Excellent, d(90)),
                (Grade::Good, d(80)),
                (Grade::Fair, d(60)),
            ],
            vetoes: vec![
                Veto {
                    below_rate_percent: d(85),
                    best_grade: Grade::Good,
                },
                Veto {
                    below_rate_percent: d(75),
                    best_grade: Grade::Fair,
                },
            ],
            reason_below_rate: d(90),
            deviation: Deviation {
                below_weight: true,
                achieved_ratio_at_least: Some(d(120)),
            },
        }
    }

    /// Every rule broken, or `Ok`. Allocates nothing when the rules are valid (the engine
    /// checks them on every score).
    pub fn validate(&self) -> Result<(), Vec<RuleError>> {
        let mut errors = Vec::new();
        let hundred = Decimal::ONE_HUNDRED;
        for part in Part::ALL {
            let points = self.points.get(part);
            if points <= Decimal::ZERO || !cents(points) {
                errors.push(RuleError::PartPoints { part, points });
            }
        }
        if self.points.total() != hundred {
            errors.push(RuleError::PointsTotal {
                total: self.points.total(),
            });
        }
        let (to_output, to_benefit) = self.satisfaction_fallback;
        if to_output < Decimal::ZERO
            || to_benefit < Decimal::ZERO
            || !cents(to_output)
            || !cents(to_benefit)
            || to_output + to_benefit != self.points.satisfaction
        {
            errors.push(RuleError::Fallback {
                to_output,
                to_benefit,
                satisfaction: self.points.satisfaction,
            });
        }
        if self.level1_parts.is_empty() {
            errors.push(RuleError::NoLevel1);
        }
        for (i, (name, part)) in self.level1_parts.iter().enumerate() {
            if name.trim().is_empty() || name.chars().count() > MAX_LEVEL1_CHARS {
                errors.push(RuleError::Level1Name { index: i });
            } else if self.level1_parts[..i].iter().any(|(n, _)| n == name) {
                errors.push(RuleError::Level1Duplicate { index: i });
            }
            if *part == Part::BudgetExecution {
                errors.push(RuleError::Level1BudgetExecution { index: i });
            }
        }
        if self.reverse_zero_at <= Decimal::ONE || self.reverse_zero_at > hundred {
            errors.push(RuleError::ReverseZeroAt {
                value: self.reverse_zero_at,
            });
        }
        for (i, (tier, lo, hi)) in self.tiers.iter().enumerate() {
            if *lo < Decimal::ZERO || lo > hi || *hi > hundred {
                errors.push(RuleError::TierRange { index: i });
            }
            if self.tiers[..i].iter().any(|(t, _, _)| t == tier) {
                errors.push(RuleError::TierDuplicate { index: i });
            }
        }
        let bands = [Grade::Excellent, Grade::Good, Grade::Fair];
        let grades_in_order =
            self.grades.len() == 3 && self.grades.iter().zip(bands).all(|((g, _), b)| *g == b);
        let bounds_descend = self.grades.windows(2).all(|w| w[0].1 > w[1].1)
            && self
                .grades
                .iter()
                .all(|(_, bound)| *bound > Decimal::ZERO && *bound <= hundred);
        if !grades_in_order || !bounds_descend {
            errors.push(RuleError::GradeBands);
        }
        if self.vetoes.len() > MAX_VETOES {
            errors.push(RuleError::TooManyVetoes {
                count: self.vetoes.len(),
            });
        }
        for (i, veto) in self.vetoes.iter().enumerate() {
            if veto.below_rate_percent <= Decimal::ZERO || veto.below_rate_percent > hundred {
                errors.push(RuleError::VetoRate { index: i });
            }
            if veto.best_grade == Grade::Excellent {
                errors.push(RuleError::VetoNoCap { index: i });
            }
        }
        if self.reason_below_rate < Decimal::ZERO || self.reason_below_rate > hundred {
            errors.push(RuleError::ReasonBelowRate {
                value: self.reason_below_rate,
            });
        }
        if let Some(ratio) = self.deviation.achieved_ratio_at_least
            && (ratio <= hundred || ratio > MAX_DEVIATION_RATIO)
        {
            errors.push(RuleError::DeviationRatio { value: ratio });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The part a first-level indicator name belongs to.
    pub fn part_of(&self, level1: &str) -> Option<Part> {
        self.level1_parts
            .iter()
            .find(|(name, _)| name == level1)
            .map(|(_, part)| *part)
    }

    /// The inclusive range (percent of the weight) of a 定性 tier.
    pub fn tier_range(&self, tier: Tier) -> (Decimal, Decimal) {
        self.tiers
            .iter()
            .find(|(t, _, _)| *t == tier)
            .map(|(_, lo, hi)| (*lo, *hi))
            .unwrap_or((Decimal::ZERO, Decimal::ZERO))
    }

    /// The grade the bands give a total (before vetoes).
    pub fn grade_of(&self, total: Decimal) -> Grade {
        self.grades
            .iter()
            .find(|(_, bound)| total >= *bound)
            .map_or(Grade::Poor, |(grade, _)| *grade)
    }
}

/// Longest first-level name accepted (characters), as the evaluation API states.
pub const MAX_LEVEL1_CHARS: usize = 200;
/// Most vetoes of a rule set.
pub const MAX_VETOES: usize = 5;
/// Highest over-achievement ratio (percent) accepted for [`Deviation::achieved_ratio_at_least`].
pub const MAX_DEVIATION_RATIO: Decimal = Decimal::from_parts(100_000, 0, 0, false, 0);

/// Whether a number has at most two decimal places (points are kept in hundredths).
fn cents(value: Decimal) -> bool {
    value.normalize().scale() <= 2
}

/// One broken rule of a [`RuleSet`]: where ([`RuleError::field`]), a stable reason code
/// ([`RuleError::code`]) and a Chinese message (`Display`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("{}的分值须大于0且最多两位小数（当前为{points}）", part.label())]
    PartPoints { part: Part, points: Decimal },
    #[error("四部分分值合计须为100（当前为{total}）")]
    PointsTotal { total: Decimal },
    #[error(
        "无满意度指标时转入产出指标（{to_output}）与效益指标（{to_benefit}）的分值须不小于0、最多两位小数，且合计等于满意度指标分值{satisfaction}"
    )]
    Fallback {
        to_output: Decimal,
        to_benefit: Decimal,
        satisfaction: Decimal,
    },
    #[error("须至少配置一个一级指标与评分部分的对应")]
    NoLevel1,
    #[error("第{}个一级指标名称不能为空且最多200字", index + 1)]
    Level1Name { index: usize },
    #[error("第{}个一级指标名称重复", index + 1)]
    Level1Duplicate { index: usize },
    #[error("第{}个一级指标不能归入预算执行率（预算执行率由执行数计算）", index + 1)]
    Level1BudgetExecution { index: usize },
    #[error("反向指标得0分的目标值倍数须大于1且不超过100（当前为{value}）")]
    ReverseZeroAt { value: Decimal },
    #[error("第{}个定性档次的区间须满足 0 ≤ 下限 ≤ 上限 ≤ 100", index + 1)]
    TierRange { index: usize },
    #[error("第{}个定性档次重复", index + 1)]
    TierDuplicate { index: usize },
    #[error("等级须依次给出优、良、中的分数下限，严格递减且在0（不含）至100之间")]
    GradeBands,
    #[error("否定性指标最多5条（当前{count}条）")]
    TooManyVetoes { count: usize },
    #[error("第{}条否定性指标的执行率须大于0且不超过100", index + 1)]
    VetoRate { index: usize },
    #[error("第{}条否定性指标的最高等级不能为优（否则不起作用）", index + 1)]
    VetoNoCap { index: usize },
    #[error("须说明原因的执行率须在0至100之间（当前为{value}）")]
    ReasonBelowRate { value: Decimal },
    #[error("判定超额完成偏差的比例须大于100%且不超过100000%（当前为{value}%）")]
    DeviationRatio { value: Decimal },
}

impl RuleError {
    /// Stable reason code, SCREAMING_SNAKE_CASE.
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::PartPoints { .. } => "RULES_PART_POINTS_INVALID",
            RuleError::PointsTotal { .. } => "RULES_POINTS_NOT_100",
            RuleError::Fallback { .. } => "RULES_SATISFACTION_FALLBACK_INVALID",
            RuleError::NoLevel1 => "RULES_LEVEL1_PARTS_EMPTY",
            RuleError::Level1Name { .. } => "RULES_LEVEL1_NAME_INVALID",
            RuleError::Level1Duplicate { .. } => "RULES_LEVEL1_DUPLICATE",
            RuleError::Level1BudgetExecution { .. } => "RULES_LEVEL1_BUDGET_EXECUTION",
            RuleError::ReverseZeroAt { .. } => "RULES_REVERSE_ZERO_AT_INVALID",
            RuleError::TierRange { .. } => "RULES_TIER_RANGE_INVALID",
            RuleError::TierDuplicate { .. } => "RULES_TIER_DUPLICATE",
            RuleError::GradeBands => "RULES_GRADE_BANDS_INVALID",
            RuleError::TooManyVetoes { .. } => "RULES_TOO_MANY_VETOES",
            RuleError::VetoRate { .. } => "RULES_VETO_RATE_INVALID",
            RuleError::VetoNoCap { .. } => "RULES_VETO_NO_CAP",
            RuleError::ReasonBelowRate { .. } => "RULES_REASON_RATE_INVALID",
            RuleError::DeviationRatio { .. } => "RULES_DEVIATION_RATIO_INVALID",
        }
    }

    /// The rule's field, with 0-based indexes (`level1_parts[2]`), in [`RuleSet`]'s names.
    pub fn field(&self) -> String {
        match self {
            RuleError::PartPoints { part, .. } => format!("points.{}", part.code()),
            RuleError::PointsTotal { .. } => "points".to_owned(),
            RuleError::Fallback { .. } => "satisfaction_fallback".to_owned(),
            RuleError::NoLevel1 => "level1_parts".to_owned(),
            RuleError::Level1Name { index }
            | RuleError::Level1Duplicate { index }
            | RuleError::Level1BudgetExecution { index } => format!("level1_parts[{index}]"),
            RuleError::ReverseZeroAt { .. } => "reverse_zero_at".to_owned(),
            RuleError::TierRange { index } | RuleError::TierDuplicate { index } => {
                format!("tiers[{index}]")
            }
            RuleError::GradeBands => "grades".to_owned(),
            RuleError::TooManyVetoes { .. } => "vetoes".to_owned(),
            RuleError::VetoRate { index } | RuleError::VetoNoCap { index } => {
                format!("vetoes[{index}]")
            }
            RuleError::ReasonBelowRate { .. } => "reason_below_rate".to_owned(),
            RuleError::DeviationRatio { .. } => "deviation.achieved_ratio_at_least".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn codes(rules: &RuleSet) -> Vec<&'static str> {
        rules
            .validate()
            .err()
            .unwrap_or_default()
            .iter()
            .map(RuleError::code)
            .collect()
    }

    #[test]
    fn national_rules_are_valid() {
        assert_eq!(RuleSet::national().validate(), Ok(()));
    }

    #[test]
    fn another_provinces_bands_80_70_60_validate() {
        let mut rules = RuleSet::national();
        rules.grades = vec![
            (Grade::Excellent, dec!(80)),
            (Grade::Good, dec!(70)),
            (Grade::Fair, dec!(60)),
        ];
        assert_eq!(rules.validate(), Ok(()));
        assert_eq!(rules.grade_of(dec!(80)), Grade::Excellent);
        assert_eq!(rules.grade_of(dec!(79.99)), Grade::Good);
        assert_eq!(rules.grade_of(dec!(70)), Grade::Good);
        assert_eq!(rules.grade_of(dec!(60)), Grade::Fair);
        assert_eq!(rules.grade_of(dec!(59.99)), Grade::Poor);
    }

    #[test]
    fn default_bands_have_inclusive_lower_bounds() {
        let rules = RuleSet::national();
        assert_eq!(rules.grade_of(dec!(90)), Grade::Excellent);
        assert_eq!(rules.grade_of(dec!(89.99)), Grade::Good);
        assert_eq!(rules.grade_of(dec!(80)), Grade::Good);
        assert_eq!(rules.grade_of(dec!(60)), Grade::Fair);
        assert_eq!(rules.grade_of(dec!(0)), Grade::Poor);
    }

    #[test]
    fn points_must_be_positive_hundredths_totalling_100() {
        let mut rules = RuleSet::national();
        rules.points.satisfaction = dec!(0);
        rules.points.output = dec!(60);
        rules.satisfaction_fallback = (dec!(0), dec!(0));
        assert_eq!(codes(&rules), ["RULES_PART_POINTS_INVALID"]);

        let mut rules = RuleSet::national();
        rules.points.output = dec!(49.995);
        rules.points.benefit = dec!(30.005);
        assert_eq!(
            codes(&rules),
            ["RULES_PART_POINTS_INVALID", "RULES_PART_POINTS_INVALID"]
        );

        let mut rules = RuleSet::national();
        rules.points.output = dec!(55);
        assert_eq!(codes(&rules), ["RULES_POINTS_NOT_100"]);
        assert_eq!(rules.validate().unwrap_err()[0].field(), "points");
    }

    #[test]
    fn fallback_must_total_satisfaction() {
        let mut rules = RuleSet::national();
        rules.satisfaction_fallback = (dec!(6), dec!(5));
        assert_eq!(codes(&rules), ["RULES_SATISFACTION_FALLBACK_INVALID"]);
        rules.satisfaction_fallback = (dec!(12), dec!(-2));
        assert_eq!(codes(&rules), ["RULES_SATISFACTION_FALLBACK_INVALID"]);
        rules.satisfaction_fallback = (dec!(10), dec!(0));
        assert_eq!(rules.validate(), Ok(()));
    }

    #[test]
    fn level1_parts_are_named_once_and_never_budget_execution() {
        let mut rules = RuleSet::national();
        rules
            .level1_parts
            .push(("产出指标".to_owned(), Part::Benefit));
        rules.level1_parts.push((" ".to_owned(), Part::Output));
        rules
            .level1_parts
            .push(("执行指标".to_owned(), Part::BudgetExecution));
        let errors = rules.validate().unwrap_err();
        let got: Vec<_> = errors.iter().map(|e| (e.code(), e.field())).collect();
        assert_eq!(
            got,
            [
                ("RULES_LEVEL1_DUPLICATE", "level1_parts[4]".to_owned()),
                ("RULES_LEVEL1_NAME_INVALID", "level1_parts[5]".to_owned()),
                (
                    "RULES_LEVEL1_BUDGET_EXECUTION",
                    "level1_parts[6]".to_owned()
                ),
            ]
        );
        rules.level1_parts.clear();
        assert!(codes(&rules).contains(&"RULES_LEVEL1_PARTS_EMPTY"));
    }

    #[test]
    fn tiers_grades_vetoes_and_ratios_are_checked() {
        let mut rules = RuleSet::national();
        rules.reverse_zero_at = dec!(1);
        rules.tiers[1] = (Tier::Achieved, dec!(80), dec!(60));
        rules.grades = vec![
            (Grade::Excellent, dec!(90)),
            (Grade::Good, dec!(90)),
            (Grade::Fair, dec!(60)),
        ];
        rules.vetoes.push(Veto {
            below_rate_percent: dec!(0),
            best_grade: Grade::Excellent,
        });
        rules.reason_below_rate = dec!(101);
        rules.deviation.achieved_ratio_at_least = Some(dec!(100));
        assert_eq!(
            codes(&rules),
            [
                "RULES_REVERSE_ZERO_AT_INVALID",
                "RULES_TIER_RANGE_INVALID",
                "RULES_TIER_DUPLICATE",
                "RULES_GRADE_BANDS_INVALID",
                "RULES_VETO_RATE_INVALID",
                "RULES_VETO_NO_CAP",
                "RULES_REASON_RATE_INVALID",
                "RULES_DEVIATION_RATIO_INVALID",
            ]
        );
        let mut rules = RuleSet::national();
        rules.grades.pop();
        assert_eq!(codes(&rules), ["RULES_GRADE_BANDS_INVALID"]);
        rules.grades = vec![
            (Grade::Good, dec!(90)),
            (Grade::Excellent, dec!(80)),
            (Grade::Fair, dec!(60)),
        ];
        assert_eq!(codes(&rules), ["RULES_GRADE_BANDS_INVALID"]);
        let mut rules = RuleSet::national();
        rules.deviation.achieved_ratio_at_least = None;
        rules.vetoes.clear();
        assert_eq!(rules.validate(), Ok(()));
    }

    #[test]
    fn messages_are_chinese_and_name_the_rule() {
        let mut rules = RuleSet::national();
        rules.points.output = dec!(55);
        let error = &rules.validate().unwrap_err()[0];
        assert_eq!(error.to_string(), "四部分分值合计须为100（当前为105）");
    }

    #[test]
    fn rules_round_trip_through_json() {
        let rules = RuleSet::national();
        let json = serde_json::to_string(&rules).unwrap();
        assert!(json.contains("\"excellent\""), "{json}");
        let back: RuleSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, rules);
    }
}
