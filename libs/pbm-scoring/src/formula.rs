//! One indicator's points from its weight, direction, target and entry.
//!
//! docs/DOMAIN.md "Indicator formulas" (w the weight, a the achieved value, t the target):
//!
//! * 正向 `≥`: a ≥ t → w; otherwise a ÷ t × w.
//! * 反向 `≤`: a ≤ t → w; t < a < k·t → (1 − (a − t) ÷ ((k − 1)·t)) × w; a ≥ k·t → 0, with
//!   k = [`RuleSet::reverse_zero_at`] (k = 2 is the page's (1 − (a − t) ÷ t) × w).
//! * 等于 `=`: t = 0 → a ≤ 0 → w, otherwise 0; t > 0 → as 正向.
//! * 定性: the score entered, inside the claimed tier's range of w (80–100 %, 60–80 %, 0–60 %).
//!   Points are kept in hundredths, so the score is rounded half-up to two places and compared
//!   with the range's bounds rounded half-up to two places: every tier of every weight then
//!   admits at least one score (a range of 0.012–0.016 holds no hundredth; rounded it is
//!   0.01–0.02), and the bounds stay within [0, w].
//!
//! The page states no national document for these per-indicator formulas (practice, under the
//! 10/50/30/10 split of 财预〔2020〕10号). Where it is silent this engine decides, never dividing
//! by zero and never going below 0 or above w (project choices):
//!
//! * 正向 with t ≤ 0: a ≥ t → w, otherwise 0 (a ratio to a non-positive target means nothing).
//! * 正向 (and 等于 with t > 0) with a ≤ 0 < t: 0.
//! * 反向 with t ≤ 0: a ≤ t → w, otherwise 0.
//! * 等于 with t < 0: a = t → w, otherwise 0 (等于 means exactly the target).
//!
//! Points are computed exactly and rounded half-up to two places once (docs/DOMAIN.md "Exact
//! numbers and rounding"); the weight is already in hundredths, so the rounded points stay
//! within [0, w].

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::rules::{Direction, RuleSet, Tier};
use crate::{MAX_MAGNITUDE, ScoreError, round2};

/// What the unit entered for one indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// Nothing yet (a draft may be partial): scores 0 and is listed in `Score::missing`.
    Missing,
    /// 实际完成值 of a 正向 / 反向 / 等于 indicator.
    Number(Decimal),
    /// A 定性 indicator's tier and its points inside the tier's range.
    Qualitative { tier: Tier, score: Decimal },
    /// Marked not applicable: left out, the total re-normalised.
    NotApplicable,
}

/// Which branch of the formulas scored an indicator (its explanation is rendered from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Formula {
    /// No entry yet: 0.
    Missing,
    /// Not applicable: excluded.
    NotApplicable,
    /// 正向, t > 0, a ≥ t: w.
    GeMet,
    /// 正向, 0 < a < t: a ÷ t × w.
    GeRatio,
    /// 正向, a ≤ 0 < t: 0.
    GeNotPositive,
    /// 正向, t ≤ 0: a ≥ t → w (met), otherwise 0.
    GeTargetNotPositive { met: bool },
    /// 反向, t > 0, a ≤ t: w.
    LeMet,
    /// 反向, t < a < k·t: (1 − (a − t) ÷ ((k − 1)·t)) × w.
    LeRatio,
    /// 反向, a ≥ k·t: 0.
    LeBeyond,
    /// 反向, t ≤ 0: a ≤ t → w (met), otherwise 0.
    LeTargetNotPositive { met: bool },
    /// 等于, t = 0: a ≤ 0 → w (met), otherwise 0. (t > 0 is scored by the 正向 branches.)
    EqZero { met: bool },
    /// 等于, t < 0: a = t → w (met), otherwise 0.
    EqNegative { met: bool },
    /// 定性: the score entered for the tier.
    Qualitative { tier: Tier },
}

/// One indicator scored: its points (two places) and the branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scored {
    pub points: Decimal,
    pub formula: Formula,
    /// Achieved at least the configured percent of a positive target (正向 / 等于).
    pub over_achieved: bool,
}

/// Scores indicator `index` (for errors) with weight `weight` (hundredths).
pub fn score_indicator(
    rules: &RuleSet,
    index: usize,
    direction: Direction,
    target: Option<Decimal>,
    entry: &Entry,
    weight: Decimal,
) -> Result<Scored, ScoreError> {
    let zero = Decimal::ZERO;
    let plain = |points: Decimal, formula: Formula| Scored {
        points: round2(points),
        formula,
        over_achieved: false,
    };
    let achieved = match (*entry, direction) {
        (Entry::Missing, _) => return Ok(plain(zero, Formula::Missing)),
        (Entry::NotApplicable, _) => return Ok(plain(zero, Formula::NotApplicable)),
        (Entry::Qualitative { tier, score }, Direction::Qualitative) => {
            let (lo, hi) = tier_points(rules, tier, weight);
            let points = round2(score);
            if score.abs() > MAX_MAGNITUDE || points < lo || points > hi {
                return Err(ScoreError::OutsideTier {
                    index,
                    tier,
                    lo,
                    hi,
                });
            }
            return Ok(plain(points, Formula::Qualitative { tier }));
        }
        (Entry::Number(a), Direction::Ge | Direction::Le | Direction::Eq) => a,
        _ => return Err(ScoreError::EntryMismatch { index, direction }),
    };
    let Some(t) = target else {
        return Err(ScoreError::MissingTarget { index });
    };
    if achieved.abs() > MAX_MAGNITUDE || t.abs() > MAX_MAGNITUDE {
        return Err(ScoreError::OutOfRange {
            index: Some(index),
            field: if t.abs() > MAX_MAGNITUDE {
                "target"
            } else {
                "entry"
            },
        });
    }
    let a = achieved;
    let w = weight;
    let scored = match direction {
        Direction::Ge => greater(rules, a, t, w),
        Direction::Eq if t > zero => greater(rules, a, t, w),
        Direction::Eq if t.is_zero() => {
            let met = a <= zero;
            plain(if met { w } else { zero }, Formula::EqZero { met })
        }
        Direction::Eq => {
            let met = a == t;
            plain(if met { w } else { zero }, Formula::EqNegative { met })
        }
        Direction::Le if t <= zero => {
            let met = a <= t;
            plain(
                if met { w } else { zero },
                Formula::LeTargetNotPositive { met },
            )
        }
        Direction::Le if a <= t => plain(w, Formula::LeMet),
        Direction::Le if a >= rules.reverse_zero_at * t => plain(zero, Formula::LeBeyond),
        Direction::Le => {
            // t < a < k·t, so 0 < (a − t) ÷ ((k − 1)·t) < 1.
            let share = (a - t) / ((rules.reverse_zero_at - Decimal::ONE) * t);
            plain((Decimal::ONE - share) * w, Formula::LeRatio)
        }
        // A 定性 indicator with a number was refused above; kept total without a panic.
        Direction::Qualitative => return Err(ScoreError::EntryMismatch { index, direction }),
    };
    Ok(scored)
}

/// 正向 (and 等于 with t > 0).
fn greater(rules: &RuleSet, a: Decimal, t: Decimal, w: Decimal) -> Scored {
    let zero = Decimal::ZERO;
    let (points, formula) = if t <= zero {
        let met = a >= t;
        (
            if met { w } else { zero },
            Formula::GeTargetNotPositive { met },
        )
    } else if a >= t {
        (w, Formula::GeMet)
    } else if a <= zero {
        (zero, Formula::GeNotPositive)
    } else {
        // 0 < a < t, so 0 < a ÷ t < 1.
        (a / t * w, Formula::GeRatio)
    };
    let over_achieved = t > zero
        && rules
            .deviation
            .achieved_ratio_at_least
            .is_some_and(|percent| a * Decimal::ONE_HUNDRED >= percent * t);
    Scored {
        points: round2(points),
        formula,
        over_achieved,
    }
}

/// A 定性 tier's range in points of `weight`, each bound rounded half-up to two places
/// (module docs).
pub fn tier_points(rules: &RuleSet, tier: Tier, weight: Decimal) -> (Decimal, Decimal) {
    let (lo, hi) = rules.tier_range(tier);
    (
        round2(weight * lo / Decimal::ONE_HUNDRED),
        round2(weight * hi / Decimal::ONE_HUNDRED),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn number(direction: Direction, t: Decimal, a: Decimal, w: Decimal) -> (Decimal, Formula) {
        let rules = RuleSet::national();
        let s = score_indicator(&rules, 0, direction, Some(t), &Entry::Number(a), w).unwrap();
        (s.points, s.formula)
    }

    #[test]
    fn ge_worked_examples() {
        // docs/DOMAIN.md "Indicator formulas": t = 100, a = 80, w = 20 → 80 ÷ 100 × 20 = 16.
        assert_eq!(
            number(Direction::Ge, dec!(100), dec!(80), dec!(20)),
            (dec!(16.00), Formula::GeRatio)
        );
        assert_eq!(
            number(Direction::Ge, dec!(100), dec!(100), dec!(20)),
            (dec!(20), Formula::GeMet)
        );
        assert_eq!(
            number(Direction::Ge, dec!(100), dec!(130), dec!(20)).0,
            dec!(20)
        );
        // 2 ÷ 3 × 10 = 6.666… → 6.67 (half-up).
        assert_eq!(
            number(Direction::Ge, dec!(3), dec!(2), dec!(10)).0,
            dec!(6.67)
        );
        // 1 ÷ 8 × 0.1 = 0.0125 → 0.01; 0.125 → 0.13.
        assert_eq!(
            number(Direction::Ge, dec!(8), dec!(1), dec!(0.1)).0,
            dec!(0.01)
        );
        assert_eq!(
            number(Direction::Ge, dec!(8), dec!(1), dec!(1)).0,
            dec!(0.13)
        );
    }

    #[test]
    fn ge_never_divides_by_zero_nor_goes_negative() {
        assert_eq!(
            number(Direction::Ge, dec!(100), dec!(-5), dec!(20)),
            (dec!(0), Formula::GeNotPositive)
        );
        assert_eq!(
            number(Direction::Ge, dec!(0), dec!(0), dec!(20)),
            (dec!(20), Formula::GeTargetNotPositive { met: true })
        );
        assert_eq!(
            number(Direction::Ge, dec!(-3), dec!(-4), dec!(20)),
            (dec!(0), Formula::GeTargetNotPositive { met: false })
        );
    }

    #[test]
    fn le_worked_examples() {
        // t = 10, a = 15, w = 10 → (1 − 5 ÷ 10) × 10 = 5; a = 20 = 2t → 0.
        assert_eq!(
            number(Direction::Le, dec!(10), dec!(15), dec!(10)),
            (dec!(5.00), Formula::LeRatio)
        );
        assert_eq!(
            number(Direction::Le, dec!(10), dec!(20), dec!(10)),
            (dec!(0), Formula::LeBeyond)
        );
        assert_eq!(
            number(Direction::Le, dec!(10), dec!(25), dec!(10)).1,
            Formula::LeBeyond
        );
        assert_eq!(
            number(Direction::Le, dec!(10), dec!(8), dec!(10)),
            (dec!(10), Formula::LeMet)
        );
        assert_eq!(
            number(Direction::Le, dec!(0), dec!(0), dec!(10)),
            (dec!(10), Formula::LeTargetNotPositive { met: true })
        );
        assert_eq!(
            number(Direction::Le, dec!(0), dec!(1), dec!(10)),
            (dec!(0), Formula::LeTargetNotPositive { met: false })
        );
    }

    #[test]
    fn le_cut_off_is_configurable() {
        // k = 3: t = 10, a = 15 → (1 − 5 ÷ 20) × 10 = 7.5; a = 30 → 0.
        let mut rules = RuleSet::national();
        rules.reverse_zero_at = dec!(3);
        let le = |a| {
            score_indicator(
                &rules,
                0,
                Direction::Le,
                Some(dec!(10)),
                &Entry::Number(a),
                dec!(10),
            )
            .unwrap()
            .points
        };
        assert_eq!(le(dec!(15)), dec!(7.50));
        assert_eq!(le(dec!(20)), dec!(5.00));
        assert_eq!(le(dec!(30)), dec!(0));
    }

    #[test]
    fn eq_worked_examples() {
        // t = 0: a ≤ 0 → w, otherwise 0 (e.g. 安全事故 = 0).
        assert_eq!(
            number(Direction::Eq, dec!(0), dec!(0), dec!(10)),
            (dec!(10), Formula::EqZero { met: true })
        );
        assert_eq!(
            number(Direction::Eq, dec!(0), dec!(1), dec!(10)),
            (dec!(0), Formula::EqZero { met: false })
        );
        // t > 0: as 正向.
        assert_eq!(
            number(Direction::Eq, dec!(100), dec!(95), dec!(10)),
            (dec!(9.50), Formula::GeRatio)
        );
        assert_eq!(
            number(Direction::Eq, dec!(-2), dec!(-2), dec!(10)),
            (dec!(10), Formula::EqNegative { met: true })
        );
        assert_eq!(
            number(Direction::Eq, dec!(-2), dec!(0), dec!(10)),
            (dec!(0), Formula::EqNegative { met: false })
        );
    }

    #[test]
    fn qualitative_score_must_lie_in_its_tier() {
        let rules = RuleSet::national();
        let q = |tier, score| {
            score_indicator(
                &rules,
                4,
                Direction::Qualitative,
                None,
                &Entry::Qualitative { tier, score },
                dec!(10),
            )
        };
        assert_eq!(
            q(Tier::Achieved, dec!(8.5)).unwrap(),
            Scored {
                points: dec!(8.50),
                formula: Formula::Qualitative {
                    tier: Tier::Achieved
                },
                over_achieved: false
            }
        );
        assert_eq!(q(Tier::Achieved, dec!(8)).unwrap().points, dec!(8));
        assert_eq!(q(Tier::Achieved, dec!(10)).unwrap().points, dec!(10));
        let refused = q(Tier::Achieved, dec!(7.9)).unwrap_err();
        assert_eq!(
            refused,
            ScoreError::OutsideTier {
                index: 4,
                tier: Tier::Achieved,
                lo: dec!(8),
                hi: dec!(10)
            }
        );
        assert_eq!(refused.code(), "SCORE_OUTSIDE_TIER");
        assert_eq!(q(Tier::Partly, dec!(6)).unwrap().points, dec!(6));
        assert!(q(Tier::Partly, dec!(8.01)).is_err());
        assert!(q(Tier::NotAchieved, dec!(-0.01)).is_err());
        assert_eq!(q(Tier::NotAchieved, dec!(0)).unwrap().points, dec!(0));
    }

    #[test]
    fn tier_bounds_are_compared_in_hundredths() {
        // w = 16.67: 达成 is 13.336–16.67, compared as 13.34–16.67.
        let rules = RuleSet::national();
        let error = score_indicator(
            &rules,
            0,
            Direction::Qualitative,
            None,
            &Entry::Qualitative {
                tier: Tier::Achieved,
                score: dec!(13.33),
            },
            dec!(16.67),
        )
        .unwrap_err();
        assert!(
            matches!(error, ScoreError::OutsideTier { lo, hi, .. } if lo == dec!(13.34) && hi == dec!(16.67))
        );
    }

    #[test]
    fn entries_must_fit_the_direction() {
        let rules = RuleSet::national();
        let numeric_as_qualitative = score_indicator(
            &rules,
            2,
            Direction::Ge,
            Some(dec!(1)),
            &Entry::Qualitative {
                tier: Tier::Achieved,
                score: dec!(9),
            },
            dec!(10),
        );
        assert_eq!(
            numeric_as_qualitative.unwrap_err().code(),
            "SCORE_ENTRY_MISMATCH"
        );
        let number_for_qualitative = score_indicator(
            &rules,
            2,
            Direction::Qualitative,
            None,
            &Entry::Number(dec!(9)),
            dec!(10),
        );
        assert_eq!(
            number_for_qualitative.unwrap_err().code(),
            "SCORE_ENTRY_MISMATCH"
        );
        let no_target = score_indicator(
            &rules,
            2,
            Direction::Le,
            None,
            &Entry::Number(dec!(9)),
            dec!(10),
        );
        assert_eq!(
            no_target.unwrap_err(),
            ScoreError::MissingTarget { index: 2 }
        );
        let huge = score_indicator(
            &rules,
            2,
            Direction::Le,
            Some(dec!(1)),
            &Entry::Number(dec!(1000000000000000.01)),
            dec!(10),
        );
        assert_eq!(huge.unwrap_err().code(), "SCORE_VALUE_OUT_OF_RANGE");
    }

    #[test]
    fn missing_and_not_applicable_need_no_target() {
        let rules = RuleSet::national();
        for (entry, formula) in [
            (Entry::Missing, Formula::Missing),
            (Entry::NotApplicable, Formula::NotApplicable),
        ] {
            let s = score_indicator(&rules, 0, Direction::Ge, None, &entry, dec!(10)).unwrap();
            assert_eq!((s.points, s.formula), (dec!(0), formula));
        }
    }

    #[test]
    fn over_achievement_is_flagged_at_the_configured_ratio() {
        let mut rules = RuleSet::national();
        let over = |rules: &RuleSet, direction, a| {
            score_indicator(
                rules,
                0,
                direction,
                Some(dec!(100)),
                &Entry::Number(a),
                dec!(10),
            )
            .unwrap()
            .over_achieved
        };
        assert!(over(&rules, Direction::Ge, dec!(120)));
        assert!(!over(&rules, Direction::Ge, dec!(119.99)));
        assert!(over(&rules, Direction::Eq, dec!(150)));
        assert!(!over(&rules, Direction::Le, dec!(150)));
        rules.deviation.achieved_ratio_at_least = None;
        assert!(!over(&rules, Direction::Ge, dec!(500)));
    }
}
