//! The one scoring engine of PBM evaluations: the single place a score is computed, used by the
//! self-evaluation service and by key evaluations. Pure: no I/O, no gRPC, no database; the
//! services convert their requests and rows into [`SheetInput`] and store the [`Score`] (JSON).
//!
//! The rules are docs/DOMAIN.md "Evaluation and scoring":
//!
//! * [`rules`]: a [`RuleSet`] per region and fiscal year, data, validated — the 10/50/30/10 split
//!   and 满意度's fallback (财预〔2020〕10号), first-level names → parts, 反向's cut-off, the 定性
//!   tiers, grade bands (90/80/60; 80/70/60 elsewhere) and 预算执行率 vetoes (赣州 2020).
//! * [`formula`]: one indicator's points, "Indicator formulas" (正向 / 反向 / 等于 / 定性).
//! * [`sheet`]: weights per part, 预算执行率, not applicable indicators and empty parts left out
//!   and the total re-normalised to 100, grade, vetoes — and the one rounding order
//!   ("Exact numbers and rounding": exact decimals, two places, half-up).
//! * [`explain`]: the Chinese explanation of a score, per indicator and for the total, rendered
//!   only when asked.
//!
//! ```
//! use pbm_scoring::{Direction, Entry, IndicatorInput, RuleSet, SheetInput, score};
//! use rust_decimal::Decimal;
//!
//! let indicator = |level1, a: i64| IndicatorInput {
//!     level1,
//!     goal_weight: None,
//!     direction: Direction::Ge,
//!     target: Some(Decimal::from(100)),
//!     entry: Entry::Number(Decimal::from(a)),
//! };
//! let indicators = [indicator("产出指标", 80), indicator("效益指标", 100), indicator("满意度指标", 95)];
//! let sheet = SheetInput { budget: Decimal::from(100), executed: Decimal::from(88), indicators: &indicators };
//! let score = score(&RuleSet::national(), &sheet).unwrap();
//! // 8.80 + 80 ÷ 100 × 50 + 30 + 95 ÷ 100 × 10 = 8.80 + 40 + 30 + 9.50
//! assert_eq!(score.total.to_string(), "88.30");
//! assert_eq!(score.grade.label(), "良");
//! ```

pub mod explain;
pub mod formula;
pub mod rules;
pub mod sheet;

use rust_decimal::{Decimal, RoundingStrategy};

pub use explain::Explanation;
pub use formula::{Entry, Formula};
pub use rules::{Deviation, Direction, Grade, Part, PartPoints, RuleError, RuleSet, Tier, Veto};
pub use sheet::{IndicatorInput, IndicatorScore, RuleRef, Score, SheetInput, VetoApplied, score};

/// Largest magnitude of any number the engine takes (amounts, targets, achieved values,
/// goal weights): 10^15, far above any budget in 元, and low enough that no product or quotient
/// the formulas form can overflow a decimal's 28 digits.
pub const MAX_MAGNITUDE: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0);

/// Half-up to two places (四舍五入; every value rounded here is ≥ 0).
pub(crate) fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Why a sheet cannot be scored: where ([`ScoreError::field`], indexes 0-based), a stable reason
/// code ([`ScoreError::code`]) and a Chinese message (`Display`, indicators numbered from 1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("评分规则无效：{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("；"))]
    Rules(Vec<RuleError>),
    #[error("{}不能为负数", amount_label(field))]
    NegativeAmount { field: &'static str },
    #[error("{}超出可计算范围（绝对值不超过10^15）", value_label(*index, field))]
    OutOfRange {
        index: Option<usize>,
        field: &'static str,
    },
    #[error("第{}条指标的一级指标「{name}」不在评分规则中", index + 1)]
    UnknownLevel1 { index: usize, name: String },
    #[error("第{}条指标未给出权重：指标权重须全部给出或全部不给出", index + 1)]
    MixedGoalWeights { index: usize },
    #[error("第{}条指标的权重不能为负数", index + 1)]
    NegativeGoalWeight { index: usize },
    #[error("{}各指标权重合计为0，无法分配分值", part.label())]
    ZeroGoalWeights { part: Part },
    #[error("第{}条指标缺少目标值", index + 1)]
    MissingTarget { index: usize },
    #[error("第{}条指标为{}指标，填报内容与其类型不符", index + 1, direction.label())]
    EntryMismatch { index: usize, direction: Direction },
    #[error("第{}条指标自评为「{}」，得分须在{lo}至{hi}分之间", index + 1, tier.label())]
    OutsideTier {
        index: usize,
        tier: Tier,
        lo: Decimal,
        hi: Decimal,
    },
}

impl ScoreError {
    /// Stable reason code, SCREAMING_SNAKE_CASE.
    pub fn code(&self) -> &'static str {
        match self {
            ScoreError::Rules(_) => "SCORE_RULES_INVALID",
            ScoreError::NegativeAmount { .. } => "SCORE_AMOUNT_NEGATIVE",
            ScoreError::OutOfRange { .. } => "SCORE_VALUE_OUT_OF_RANGE",
            ScoreError::UnknownLevel1 { .. } => "SCORE_UNKNOWN_LEVEL1",
            ScoreError::MixedGoalWeights { .. } => "SCORE_GOAL_WEIGHTS_MIXED",
            ScoreError::NegativeGoalWeight { .. } => "SCORE_GOAL_WEIGHT_NEGATIVE",
            ScoreError::ZeroGoalWeights { .. } => "SCORE_GOAL_WEIGHTS_ZERO",
            ScoreError::MissingTarget { .. } => "SCORE_TARGET_MISSING",
            ScoreError::EntryMismatch { .. } => "SCORE_ENTRY_MISMATCH",
            ScoreError::OutsideTier { .. } => "SCORE_OUTSIDE_TIER",
        }
    }

    /// The indicator concerned (0-based), if any.
    pub fn index(&self) -> Option<usize> {
        match self {
            ScoreError::OutOfRange { index, .. } => *index,
            ScoreError::UnknownLevel1 { index, .. }
            | ScoreError::MixedGoalWeights { index }
            | ScoreError::NegativeGoalWeight { index }
            | ScoreError::MissingTarget { index }
            | ScoreError::EntryMismatch { index, .. }
            | ScoreError::OutsideTier { index, .. } => Some(*index),
            ScoreError::Rules(_)
            | ScoreError::NegativeAmount { .. }
            | ScoreError::ZeroGoalWeights { .. } => None,
        }
    }

    /// The input field, in [`SheetInput`]'s names (`indicators[2].entry`, `budget`).
    pub fn field(&self) -> String {
        let at = |index: usize, field: &str| format!("indicators[{index}].{field}");
        match self {
            ScoreError::Rules(_) => "rules".to_owned(),
            ScoreError::NegativeAmount { field } => (*field).to_owned(),
            ScoreError::OutOfRange { index, field } => match index {
                Some(index) => at(*index, field),
                None => (*field).to_owned(),
            },
            ScoreError::UnknownLevel1 { index, .. } => at(*index, "level1"),
            ScoreError::MixedGoalWeights { index } | ScoreError::NegativeGoalWeight { index } => {
                at(*index, "goal_weight")
            }
            ScoreError::ZeroGoalWeights { .. } => "indicators".to_owned(),
            ScoreError::MissingTarget { index } => at(*index, "target"),
            ScoreError::EntryMismatch { index, .. } | ScoreError::OutsideTier { index, .. } => {
                at(*index, "entry")
            }
        }
    }
}

fn amount_label(field: &str) -> &'static str {
    match field {
        "budget" => "预算数",
        _ => "执行数",
    }
}

fn value_label(index: Option<usize>, field: &str) -> String {
    let what = match field {
        "budget" => "预算数",
        "executed" => "执行数",
        "goal_weight" => "权重",
        "target" => "目标值",
        _ => "实际完成值",
    };
    match index {
        Some(index) => format!("第{}条指标的{what}", index + 1),
        None => what.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn max_magnitude_is_ten_to_the_fifteenth() {
        assert_eq!(MAX_MAGNITUDE, dec!(1000000000000000));
    }

    #[test]
    fn rounding_is_half_up_to_two_places() {
        assert_eq!(round2(dec!(16.005)), dec!(16.01));
        assert_eq!(round2(dec!(16.0049999)), dec!(16.00));
        assert_eq!(round2(dec!(89.995)), dec!(90.00));
    }

    #[test]
    fn errors_name_their_field_code_and_indicator() {
        let error = ScoreError::UnknownLevel1 {
            index: 2,
            name: "过程指标".to_owned(),
        };
        assert_eq!(error.code(), "SCORE_UNKNOWN_LEVEL1");
        assert_eq!(error.field(), "indicators[2].level1");
        assert_eq!(error.index(), Some(2));
        assert_eq!(
            error.to_string(),
            "第3条指标的一级指标「过程指标」不在评分规则中"
        );
        let error = ScoreError::OutOfRange {
            index: None,
            field: "budget",
        };
        assert_eq!(error.field(), "budget");
        assert_eq!(
            error.to_string(),
            "预算数超出可计算范围（绝对值不超过10^15）"
        );
        let error = ScoreError::NegativeAmount { field: "executed" };
        assert_eq!(error.to_string(), "执行数不能为负数");
    }
}
