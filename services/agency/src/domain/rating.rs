//! Dynamic rating of an agency or expert (docs/DOMAIN.md "Rating and credit grades"): recent
//! engagements weigh more, few engagements are pulled toward the pool mean so one good job does
//! not top the table, violations subtract. Every number of a [`Rating`] is returned so it can
//! be explained.
//!
//! ```text
//! weighted_i   = score_i × decay(age_months_i)
//! shrunk       = (Σ weighted_i + k × pool_mean) / (Σ decay_i + k)
//! final_score  = round_half_up_2(clamp(shrunk − Σ penalty points, 0, 100))
//! ```
//!
//! Exact decimals throughout: products and sums are exact; the one division keeps
//! `rust_decimal`'s full precision (28 significant digits); only `final_score` is rounded
//! (docs/DOMAIN.md "Exact numbers and rounding": two places, half-up). `shrunk` is returned
//! unrounded.

use std::collections::HashSet;

use chrono::NaiveDate;
use pbm_types::FieldViolation;
use pbm_types::decimal::round_score;
use rust_decimal::Decimal;

use super::dates;
use super::rules::{Action, CreditGrade, Criterion, PoolRules, Severity};

/// Score of one engagement on the rubric: `Σ score × weight / 100`, rounded half-up to two
/// places. Every criterion of the rubric must be scored exactly once, with a score from 0 to
/// 100 of at most two decimals, and no other code may appear. Errors are field violations
/// without codes of their own, on e.g. `scores.QUALITY`.
pub fn engagement_score<S: AsRef<str>>(
    rubric: &[Criterion],
    scores: &[(S, Decimal)],
) -> Result<Decimal, Vec<FieldViolation>> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (code, score) in scores {
        let code = code.as_ref();
        let field = format!("scores.{code}");
        if !rubric.iter().any(|c| c.code == code) {
            errors.push(FieldViolation::generic(
                field,
                format!("评分细则中没有评分项「{code}」"),
            ));
            continue;
        }
        if !seen.insert(code) {
            errors.push(FieldViolation::generic(
                field,
                format!("评分项「{code}」重复评分"),
            ));
            continue;
        }
        if *score < Decimal::ZERO || *score > Decimal::ONE_HUNDRED {
            errors.push(FieldViolation::generic(
                field,
                format!("评分项「{code}」的得分 {score} 应在0–100之间"),
            ));
        } else if score.normalize().scale() > 2 {
            errors.push(FieldViolation::generic(
                field,
                format!("评分项「{code}」的得分 {score} 最多保留两位小数"),
            ));
        }
    }
    for c in rubric {
        if !seen.contains(c.code.as_str()) {
            errors.push(FieldViolation::generic(
                format!("scores.{}", c.code),
                format!("缺少评分项「{}」（{}）的得分", c.name, c.code),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let total: Decimal = rubric
        .iter()
        .map(|c| {
            let score = scores
                .iter()
                .find(|(code, _)| code.as_ref() == c.code)
                .map_or(Decimal::ZERO, |(_, s)| *s);
            score * c.weight
        })
        .sum();
    Ok(round_score(total / Decimal::ONE_HUNDRED))
}

/// Exact average of engagement scores across the pool, `None` when there are none (use
/// `rules.shrinkage.prior_mean` then). Full precision: callers store it as computed.
pub fn pool_mean(scores: &[Decimal]) -> Option<Decimal> {
    if scores.is_empty() {
        return None;
    }
    let sum: Decimal = scores.iter().copied().sum();
    Some(sum / Decimal::from(scores.len()))
}

/// One rated engagement of the agency or expert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatedEngagement {
    pub engagement_id: i64,
    pub ended_on: NaiveDate,
    /// Its [`engagement_score`], 0–100.
    pub score: Decimal,
}

/// One recorded violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationRecord {
    pub id: i64,
    pub on: NaiveDate,
    pub severity: Severity,
}

/// Everything a rating depends on besides the rules, the pool mean and the date.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RatingInput {
    pub engagements: Vec<RatedEngagement>,
    pub violations: Vec<ViolationRecord>,
    /// Start of the most recent suspension, if any: a suspension within
    /// `rules.credit.removal_lookback_months` turns the next suspension into removal.
    pub last_suspended_on: Option<NaiveDate>,
}

/// How one engagement counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub engagement_id: i64,
    pub ended_on: NaiveDate,
    pub score: Decimal,
    /// See [`dates::months_ago`].
    pub age_months: u32,
    pub decay_weight: Decimal,
    /// `score × decay_weight`.
    pub weighted: Decimal,
}

/// Points subtracted for one violation within the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Penalty {
    pub violation_id: i64,
    pub on: NaiveDate,
    pub severity: Severity,
    pub points: Decimal,
}

/// A rating with all its components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    pub as_of: NaiveDate,
    /// Engagements ended on or before `as_of`, most recent first (then by id), including
    /// those too old to count (decay weight 0).
    pub contributions: Vec<Contribution>,
    pub weighted_sum: Decimal,
    pub weight_total: Decimal,
    pub pool_mean: Decimal,
    pub shrinkage_k: Decimal,
    /// `(weighted_sum + k × pool_mean) / (weight_total + k)`, unrounded; `pool_mean` when
    /// `weight_total` is 0.
    pub shrunk: Decimal,
    /// Violations within `rules.penalties.window_months` up to `as_of`, most recent first.
    pub penalties: Vec<Penalty>,
    pub penalty_total: Decimal,
    /// `clamp(shrunk − penalty_total, 0, 100)`, rounded half-up to 2 places.
    pub final_score: Decimal,
    pub grade: CreditGrade,
    pub action: Action,
    /// False with a major violation within `rules.penalties.major_bars_selection_years`
    /// years, or when `action` suspends or removes.
    pub selectable: bool,
}

/// Rates an agency or expert as of `as_of`. `pool_mean` is the mean engagement score of the
/// pool ([`pool_mean`], or `rules.shrinkage.prior_mean` for an empty pool). Engagements that
/// ended and violations recorded after `as_of` are ignored, so a past rating can be
/// recomputed. Deterministic: the same arguments give an identical [`Rating`] whatever the
/// order of the input lists.
pub fn rate(
    input: &RatingInput,
    rules: &PoolRules,
    pool_mean: Decimal,
    as_of: NaiveDate,
) -> Rating {
    let mut engagements: Vec<&RatedEngagement> = input
        .engagements
        .iter()
        .filter(|e| e.ended_on <= as_of)
        .collect();
    engagements.sort_by(|a, b| {
        (b.ended_on, a.engagement_id, a.score).cmp(&(a.ended_on, b.engagement_id, b.score))
    });
    let contributions: Vec<Contribution> = engagements
        .into_iter()
        .map(|e| {
            let age_months = dates::months_ago(e.ended_on, as_of);
            let decay_weight = rules.decay_weight(age_months);
            Contribution {
                engagement_id: e.engagement_id,
                ended_on: e.ended_on,
                score: e.score,
                age_months,
                decay_weight,
                weighted: e.score * decay_weight,
            }
        })
        .collect();
    let weighted_sum: Decimal = contributions.iter().map(|c| c.weighted).sum();
    let weight_total: Decimal = contributions.iter().map(|c| c.decay_weight).sum();
    let k = rules.shrinkage.pseudo_count;
    // Nothing counts → the pool mean exactly (also guards k = 0).
    let shrunk = if weight_total.is_zero() {
        pool_mean
    } else {
        (weighted_sum + k * pool_mean) / (weight_total + k)
    };

    let mut violations: Vec<&ViolationRecord> = input
        .violations
        .iter()
        .filter(|v| dates::within_months(v.on, as_of, rules.penalties.window_months))
        .collect();
    violations.sort_by(|a, b| (b.on, a.id, a.severity).cmp(&(a.on, b.id, b.severity)));
    let penalties: Vec<Penalty> = violations
        .into_iter()
        .map(|v| Penalty {
            violation_id: v.id,
            on: v.on,
            severity: v.severity,
            points: rules.penalty_points(v.severity),
        })
        .collect();
    let penalty_total: Decimal = penalties.iter().map(|p| p.points).sum();

    let final_score =
        round_score((shrunk - penalty_total).clamp(Decimal::ZERO, Decimal::ONE_HUNDRED));
    let grade = rules.credit.grade(final_score);
    // Grade actions judge a record: an agency or expert with no counting engagement and no
    // penalty stands at the pool mean by construction, and the pool's mean alone never warns,
    // suspends or removes anyone (otherwise a weak pool would suspend every newcomer).
    let action = if weight_total.is_zero() && penalties.is_empty() {
        Action::None
    } else {
        rules.credit.action(grade, input.last_suspended_on, as_of)
    };
    // docs/DOMAIN.md "Independence": a major violation within 3 years → not selectable.
    let barred = input
        .violations
        .iter()
        .any(|v| v.severity == Severity::Major && rules.major_violation_bars(v.on, as_of));
    let selectable = !barred && !matches!(action, Action::Suspend { .. } | Action::Remove);

    Rating {
        as_of,
        contributions,
        weighted_sum,
        weight_total,
        pool_mean,
        shrinkage_k: k,
        shrunk,
        penalties,
        penalty_total,
        final_score,
        grade,
        action,
        selectable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const AS_OF: (i32, u32, u32) = (2026, 6, 30);

    fn as_of() -> NaiveDate {
        d(AS_OF.0, AS_OF.1, AS_OF.2)
    }

    fn eng(id: i64, ended_on: NaiveDate, score: Decimal) -> RatedEngagement {
        RatedEngagement {
            engagement_id: id,
            ended_on,
            score,
        }
    }

    #[test]
    fn no_record_means_no_action_even_in_a_weak_pool() {
        let rules = PoolRules::default();
        let weak_pool = dec!(10);
        let r = rate(&RatingInput::default(), &rules, weak_pool, as_of());
        assert_eq!(r.final_score, dec!(10));
        assert_eq!(r.grade, CreditGrade::D);
        assert_eq!(r.action, Action::None);
        assert!(r.selectable);
        // One poor engagement is a record: the grade acts.
        let input = RatingInput {
            engagements: vec![eng(1, d(2026, 1, 1), dec!(10))],
            ..RatingInput::default()
        };
        assert_ne!(
            rate(&input, &rules, weak_pool, as_of()).action,
            Action::None
        );
    }

    #[test]
    fn engagement_score_weights_the_rubric() {
        let rules = PoolRules::default();
        let s = engagement_score(
            &rules.rubric,
            &[
                ("QUALITY", dec!(90)),
                ("TIMELINESS", dec!(80)),
                ("CONDUCT", dec!(100)),
                ("SATISFACTION", dec!(70.5)),
            ],
        );
        // 36 + 16 + 20 + 14.1
        assert_eq!(s, Ok(dec!(86.1)));
        // Rounded half-up: 0.4×88.89 + 0.2×(88.88+88.88+88.89) = 35.556 + 53.33 = 88.886 → 88.89
        let s = engagement_score(
            &rules.rubric,
            &[
                ("SATISFACTION".to_string(), dec!(88.89)),
                ("QUALITY".to_string(), dec!(88.89)),
                ("TIMELINESS".to_string(), dec!(88.88)),
                ("CONDUCT".to_string(), dec!(88.88)),
            ],
        );
        assert_eq!(s, Ok(dec!(88.89)));
    }

    #[test]
    fn engagement_score_explains_every_problem() {
        let rules = PoolRules::default();
        let err = engagement_score(
            &rules.rubric,
            &[
                ("QUALITY", dec!(101)),
                ("QUALITY", dec!(90)),
                ("TIMELINESS", dec!(80.125)),
                ("MAGIC", dec!(50)),
                ("CONDUCT", dec!(-1)),
            ],
        )
        .unwrap_err();
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "scores.QUALITY",
                "scores.QUALITY",
                "scores.TIMELINESS",
                "scores.MAGIC",
                "scores.CONDUCT",
                "scores.SATISFACTION"
            ]
        );
        assert!(err[5].message.contains("委托方满意度"), "{}", err[5]);
        // Trailing zeros are not extra decimals.
        let ok = engagement_score(
            &rules.rubric,
            &[
                ("QUALITY", dec!(90.500)),
                ("TIMELINESS", dec!(80)),
                ("CONDUCT", dec!(80)),
                ("SATISFACTION", dec!(80)),
            ],
        );
        assert_eq!(ok, Ok(dec!(84.2)));
    }

    #[test]
    fn pool_mean_is_exact() {
        assert_eq!(pool_mean(&[]), None);
        assert_eq!(
            pool_mean(&[dec!(80), dec!(90), dec!(85.5), dec!(86.5)]),
            Some(dec!(85.5))
        );
        let third = pool_mean(&[dec!(1), dec!(0), dec!(0)]).unwrap();
        assert_eq!(
            third * dec!(3),
            dec!(1) - dec!(0.0000000000000000000000000001)
        );
    }

    #[test]
    fn one_good_job_does_not_top_the_table() {
        let rules = PoolRules::default();
        let one = RatingInput {
            engagements: vec![eng(1, d(2026, 5, 1), dec!(100))],
            ..Default::default()
        };
        let r = rate(&one, &rules, dec!(80), as_of());
        // (100 + 3×80) / (1 + 3) = 85
        assert_eq!(r.shrunk, dec!(85));
        assert_eq!(r.final_score, dec!(85.00));
        assert_eq!(r.grade, CreditGrade::B);
        let many = RatingInput {
            engagements: (1..=12).map(|i| eng(i, d(2026, 1, 1), dec!(95))).collect(),
            ..Default::default()
        };
        let r = rate(&many, &rules, dec!(80), as_of());
        // (12×95 + 240) / 15 = 92
        assert_eq!(r.final_score, dec!(92));
        assert_eq!(
            (r.grade, r.action, r.selectable),
            (CreditGrade::A, Action::None, true)
        );
    }

    #[test]
    fn every_component_is_explained() {
        let rules = PoolRules::default();
        let input = RatingInput {
            engagements: vec![
                eng(3, d(2022, 1, 1), dec!(10)),  // 54 months: weight 0
                eng(1, d(2025, 6, 30), dec!(90)), // 12 months: 1
                eng(2, d(2024, 6, 29), dec!(70)), // 25 months: 0.25
                eng(4, d(2024, 7, 1), dec!(80)),  // 24 months: 0.5
                eng(9, d(2026, 7, 1), dec!(0)),   // after as_of: ignored
            ],
            violations: vec![
                ViolationRecord {
                    id: 7,
                    on: d(2023, 6, 29),
                    severity: Severity::Major,
                }, // outside 36 months
                ViolationRecord {
                    id: 8,
                    on: d(2026, 1, 5),
                    severity: Severity::Minor,
                },
            ],
            last_suspended_on: None,
        };
        let r = rate(&input, &rules, dec!(80), as_of());
        let parts: Vec<(i64, u32, Decimal, Decimal)> = r
            .contributions
            .iter()
            .map(|c| (c.engagement_id, c.age_months, c.decay_weight, c.weighted))
            .collect();
        assert_eq!(
            parts,
            vec![
                (1, 12, dec!(1), dec!(90)),
                (4, 24, dec!(0.5), dec!(40.0)),
                (2, 25, dec!(0.25), dec!(17.50)),
                (3, 54, dec!(0), dec!(0)),
            ]
        );
        assert_eq!(r.weighted_sum, dec!(147.5));
        assert_eq!(r.weight_total, dec!(1.75));
        // (147.5 + 240) / 4.75 = 81.578947368…
        assert_eq!(r.shrunk.round_dp(6), dec!(81.578947));
        assert_eq!(
            r.penalties,
            vec![Penalty {
                violation_id: 8,
                on: d(2026, 1, 5),
                severity: Severity::Minor,
                points: dec!(5)
            }]
        );
        assert_eq!(r.penalty_total, dec!(5));
        assert_eq!(r.final_score, dec!(76.58));
        assert_eq!((r.grade, r.action), (CreditGrade::C, Action::Warning));
        assert!(r.selectable);
        assert_eq!((r.pool_mean, r.shrinkage_k), (dec!(80), dec!(3)));
    }

    #[test]
    fn poor_ratings_suspend_then_remove() {
        let rules = PoolRules::default();
        let mut input = RatingInput {
            engagements: vec![
                eng(1, d(2026, 3, 1), dec!(30)),
                eng(2, d(2026, 4, 1), dec!(40)),
            ],
            violations: vec![ViolationRecord {
                id: 1,
                on: d(2026, 1, 1),
                severity: Severity::Minor,
            }],
            last_suspended_on: None,
        };
        let r = rate(&input, &rules, dec!(60), as_of());
        // (70 + 180) / 5 = 50; − 5 = 45
        assert_eq!(r.final_score, dec!(45));
        assert_eq!(
            (r.grade, r.action, r.selectable),
            (CreditGrade::D, Action::Suspend { months: 6 }, false)
        );
        input.last_suspended_on = Some(d(2025, 1, 1));
        assert_eq!(
            rate(&input, &rules, dec!(60), as_of()).action,
            Action::Remove
        );
        input.last_suspended_on = Some(d(2024, 6, 29));
        assert_eq!(
            rate(&input, &rules, dec!(60), as_of()).action,
            Action::Suspend { months: 6 }
        );
    }

    #[test]
    fn a_major_violation_bars_selection_for_three_years() {
        let rules = PoolRules::default();
        let input = |on| RatingInput {
            engagements: (1..=10).map(|i| eng(i, d(2026, 1, 1), dec!(100))).collect(),
            violations: vec![ViolationRecord {
                id: 1,
                on,
                severity: Severity::Major,
            }],
            last_suspended_on: None,
        };
        let r = rate(&input(d(2023, 6, 30)), &rules, dec!(80), as_of());
        assert_eq!(r.final_score, dec!(75.38)); // 1240/13 − 20 = 75.3846…
        assert!(!r.selectable);
        let r = rate(&input(d(2023, 6, 29)), &rules, dec!(80), as_of());
        assert!(r.selectable);
        assert!(r.penalties.is_empty());
    }

    #[test]
    fn scores_are_bounded() {
        let rules = PoolRules::default();
        let input = RatingInput {
            violations: (1..=10)
                .map(|id| ViolationRecord {
                    id,
                    on: d(2026, 1, 1),
                    severity: Severity::Major,
                })
                .collect(),
            ..Default::default()
        };
        assert_eq!(rate(&input, &rules, dec!(80), as_of()).final_score, dec!(0));
        assert_eq!(
            rate(&RatingInput::default(), &rules, dec!(100), as_of()).final_score,
            dec!(100)
        );
    }

    #[test]
    fn zero_pseudo_count_means_no_shrinkage() {
        let mut rules = PoolRules::default();
        rules.shrinkage.pseudo_count = dec!(0);
        let input = RatingInput {
            engagements: vec![eng(1, d(2026, 5, 1), dec!(97.5))],
            ..Default::default()
        };
        assert_eq!(
            rate(&input, &rules, dec!(80), as_of()).final_score,
            dec!(97.5)
        );
        assert_eq!(
            rate(&RatingInput::default(), &rules, dec!(80), as_of()).final_score,
            dec!(80)
        );
    }

    #[test]
    fn full_precision_pool_mean_is_fine() {
        let rules = PoolRules::default();
        let mean = pool_mean(&[dec!(80), dec!(81), dec!(81)]).unwrap(); // 80.666…
        let input = RatingInput {
            engagements: (1..=50)
                .map(|i| eng(i, d(2025, 1, 1) + chrono::Days::new(i as u64), dec!(99.99)))
                .collect(),
            ..Default::default()
        };
        let r = rate(&input, &rules, mean, as_of());
        assert!(
            r.final_score > dec!(90) && r.final_score < dec!(100),
            "{}",
            r.final_score
        );
    }

    fn arb_input() -> impl Strategy<Value = RatingInput> {
        let engagement = (0i64..1000, 0u64..2000, 0i64..=10_000).prop_map(|(id, days, cents)| {
            eng(
                id,
                as_of() - chrono::Days::new(days),
                Decimal::new(cents, 2),
            )
        });
        let violation =
            (0i64..1000, 0u64..2000, any::<bool>()).prop_map(|(id, days, major)| ViolationRecord {
                id,
                on: as_of() - chrono::Days::new(days),
                severity: if major {
                    Severity::Major
                } else {
                    Severity::Minor
                },
            });
        (
            prop::collection::vec(engagement, 0..12),
            prop::collection::vec(violation, 0..4),
            prop::option::of(0u64..1500),
        )
            .prop_map(|(engagements, violations, susp)| RatingInput {
                engagements,
                violations,
                last_suspended_on: susp.map(|days| as_of() - chrono::Days::new(days)),
            })
    }

    fn arb_mean() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (0i64..=10_000).prop_map(|c| Decimal::new(c, 2)),
            // Full-precision means such as 241 / 3 = 80.333…
            (1u32..7, 0u32..=600).prop_map(|(n, s)| Decimal::from(s) / Decimal::from(n)),
        ]
        .prop_map(|m| m.clamp(Decimal::ZERO, Decimal::ONE_HUNDRED))
    }

    proptest! {
        #[test]
        fn final_score_is_monotone_in_each_engagement_score(
            input in arb_input(), mean in arb_mean(), pick in any::<prop::sample::Index>(), raise in 0i64..=10_000
        ) {
            prop_assume!(!input.engagements.is_empty());
            let rules = PoolRules::default();
            let i = pick.index(input.engagements.len());
            let mut better = input.clone();
            let s = &mut better.engagements[i].score;
            *s = (*s + Decimal::new(raise, 2)).min(Decimal::ONE_HUNDRED);
            let before = rate(&input, &rules, mean, as_of());
            let after = rate(&better, &rules, mean, as_of());
            prop_assert!(after.final_score >= before.final_score, "{} < {}", after.final_score, before.final_score);
            prop_assert!(after.shrunk >= before.shrunk);
        }

        #[test]
        fn final_score_is_bounded_and_rounded(input in arb_input(), mean in arb_mean()) {
            let r = rate(&input, &PoolRules::default(), mean, as_of());
            prop_assert!(r.final_score >= Decimal::ZERO && r.final_score <= Decimal::ONE_HUNDRED);
            prop_assert!(r.final_score.normalize().scale() <= 2);
        }

        #[test]
        fn rating_is_deterministic_and_order_free(input in arb_input(), mean in arb_mean()) {
            let rules = PoolRules::default();
            let a = rate(&input, &rules, mean, as_of());
            prop_assert_eq!(&a, &rate(&input.clone(), &rules, mean, as_of()));
            let mut reversed = input.clone();
            reversed.engagements.reverse();
            reversed.violations.reverse();
            prop_assert_eq!(a, rate(&reversed, &rules, mean, as_of()));
        }

        #[test]
        fn without_engagements_the_score_is_the_mean_minus_penalties(input in arb_input(), mean in arb_mean()) {
            let rules = PoolRules::default();
            let input = RatingInput { engagements: vec![], ..input };
            let r = rate(&input, &rules, mean, as_of());
            let expected = round_score((mean - r.penalty_total).clamp(Decimal::ZERO, Decimal::ONE_HUNDRED));
            prop_assert_eq!(r.shrunk, mean);
            prop_assert_eq!(r.final_score, expected);
        }

        #[test]
        fn a_violation_never_raises_the_score(
            input in arb_input(), mean in arb_mean(), days in 0u64..2000, major in any::<bool>()
        ) {
            let rules = PoolRules::default();
            let before = rate(&input, &rules, mean, as_of());
            let mut worse = input.clone();
            worse.violations.push(ViolationRecord {
                id: 9999,
                on: as_of() - chrono::Days::new(days),
                severity: if major { Severity::Major } else { Severity::Minor },
            });
            let after = rate(&worse, &rules, mean, as_of());
            prop_assert!(after.final_score <= before.final_score);
            prop_assert!(after.selectable <= before.selectable);
        }
    }
}
