//! Properties of the engine over random sheets and random valid rule sets (docs/DOMAIN.md
//! "Evaluation and scoring"): a score never exceeds its weight nor goes below 0; the weights
//! add up to 100 before exclusion; re-normalisation keeps the total within 0–100; a veto never
//! raises a grade; without vetoes the grade is monotone in the total; scoring is deterministic.

use pbm_scoring::{
    Direction, Entry, Grade, IndicatorInput, Part, PartPoints, RuleSet, Score, SheetInput, Tier,
    Veto, score,
};
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};

const LEVEL1: [&str; 4] = ["产出指标", "成本指标", "效益指标", "满意度指标"];

/// A valid rule set: random integer split (each part ≥ 1), fallback, cut-off, bands, vetoes.
fn rules() -> impl Strategy<Value = RuleSet> {
    (
        (1i64..=40, 1i64..=40, 1i64..=18),
        0i64..=100,
        101i64..=500,
        (61i64..=100, 1i64..=20, 1i64..=20),
        proptest::collection::vec((1i64..=100, 0usize..3), 0..=3),
        0i64..=100,
        any::<bool>(),
        proptest::option::of(101i64..=300),
    )
        .prop_map(
            |(
                (be, output, benefit),
                fallback,
                k,
                (excellent, gap1, gap2),
                vetoes,
                reason,
                below,
                ratio,
            )| {
                let mut rules = RuleSet::national();
                let satisfaction = 100 - be - output - benefit;
                rules.points = PartPoints {
                    budget_execution: be.into(),
                    output: output.into(),
                    benefit: benefit.into(),
                    satisfaction: satisfaction.into(),
                };
                let to_output =
                    Decimal::from(satisfaction) * Decimal::from(fallback) / Decimal::ONE_HUNDRED;
                let to_output = to_output.trunc_with_scale(2);
                rules.satisfaction_fallback = (to_output, Decimal::from(satisfaction) - to_output);
                rules.reverse_zero_at = Decimal::new(k, 2);
                let good = excellent - gap1;
                rules.grades = vec![
                    (Grade::Excellent, excellent.into()),
                    (Grade::Good, good.into()),
                    (Grade::Fair, (good - gap2).into()),
                ];
                rules.vetoes = vetoes
                    .into_iter()
                    .map(|(rate, grade)| Veto {
                        below_rate_percent: rate.into(),
                        best_grade: [Grade::Poor, Grade::Fair, Grade::Good][grade],
                    })
                    .collect();
                rules.reason_below_rate = reason.into();
                rules.deviation.below_weight = below;
                rules.deviation.achieved_ratio_at_least = ratio.map(Decimal::from);
                rules
            },
        )
        .prop_filter("points sum to 100 with each part > 0", |rules| {
            rules.points.satisfaction > Decimal::ZERO
        })
}

/// An indicator: level1 index, direction, target and achieved in hundredths, entry kind (0
/// number, 1 missing, 2 not applicable), tier and fraction of its range (per mille), weight.
#[derive(Clone, Debug)]
struct Raw {
    level1: usize,
    direction: Direction,
    target: i64,
    achieved: i64,
    kind: u8,
    tier: Tier,
    permille: i64,
    goal_weight: i64,
}

fn raw() -> impl Strategy<Value = Raw> {
    (
        0usize..4,
        prop_oneof![
            Just(Direction::Ge),
            Just(Direction::Le),
            Just(Direction::Eq),
            Just(Direction::Qualitative)
        ],
        -5_000i64..50_000,
        -5_000i64..100_000,
        prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        prop_oneof![
            Just(Tier::Achieved),
            Just(Tier::Partly),
            Just(Tier::NotAchieved)
        ],
        0i64..=1000,
        0i64..1_000,
    )
        .prop_map(
            |(level1, direction, target, achieved, kind, tier, permille, goal_weight)| Raw {
                level1,
                direction,
                target,
                achieved,
                kind,
                tier,
                permille,
                goal_weight,
            },
        )
}

/// A random sheet: budget, executed (hundredths), whether goal weights are declared, indicators.
fn sheet() -> impl Strategy<Value = (i64, i64, bool, Vec<Raw>)> {
    (
        prop_oneof![1 => Just(0i64), 9 => 1i64..10_000_000],
        0i64..12_000_000,
        any::<bool>(),
        proptest::collection::vec(raw(), 0..14),
    )
}

/// Builds the inputs; 定性 scores are placed inside their tier's range of the weight the engine
/// gives (weights never depend on entries), so the sheet is scored twice.
fn scored(
    rules: &RuleSet,
    (budget, executed, declared, raws): &(i64, i64, bool, Vec<Raw>),
) -> (Vec<IndicatorInput<'static>>, Score) {
    let mut inputs: Vec<IndicatorInput<'static>> = raws
        .iter()
        .map(|r| IndicatorInput {
            level1: LEVEL1[r.level1],
            // A part whose declared weights are all 0 is refused; keep every weight ≥ 1.
            goal_weight: declared.then(|| Decimal::new(r.goal_weight + 1, 1)),
            direction: r.direction,
            target: (r.direction != Direction::Qualitative).then(|| Decimal::new(r.target, 2)),
            entry: match r.kind {
                1 => Entry::Missing,
                2 => Entry::NotApplicable,
                _ if r.direction == Direction::Qualitative => Entry::Missing,
                _ => Entry::Number(Decimal::new(r.achieved, 2)),
            },
        })
        .collect();
    let first = score(rules, &make(*budget, *executed, &inputs)).expect("valid sheet");
    for ((input, r), weight) in inputs
        .iter_mut()
        .zip(raws)
        .zip(first.indicators.iter().map(|i| i.weight))
    {
        if input.direction == Direction::Qualitative && r.kind == 0 {
            let (lo, hi) = rules.tier_range(r.tier);
            let lo = (weight * lo / Decimal::ONE_HUNDRED)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            let hi = (weight * hi / Decimal::ONE_HUNDRED)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            let points = lo + ((hi - lo) * Decimal::new(r.permille, 3)).trunc_with_scale(2);
            input.entry = Entry::Qualitative {
                tier: r.tier,
                score: points,
            };
        }
    }
    let score = score(rules, &make(*budget, *executed, &inputs))
        .expect("valid sheet with 定性 scores in range");
    (inputs, score)
}

fn make<'a>(budget: i64, executed: i64, indicators: &'a [IndicatorInput<'a>]) -> SheetInput<'a> {
    SheetInput {
        budget: Decimal::new(budget, 2),
        executed: Decimal::new(executed, 2),
        indicators,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_indicator_scores_between_0_and_its_weight(rules in rules(), input in sheet()) {
        let (_, score) = scored(&rules, &input);
        for indicator in &score.indicators {
            prop_assert!(indicator.points >= Decimal::ZERO, "{indicator:?}");
            prop_assert!(indicator.points <= indicator.weight, "{indicator:?}");
            prop_assert!(indicator.points.scale() == 2 && indicator.weight.scale() == 2);
        }
        prop_assert!(score.execution_points >= Decimal::ZERO);
        prop_assert!(score.execution_points <= rules.points.budget_execution);
    }

    #[test]
    fn weights_add_up_to_100_before_exclusion(rules in rules(), input in sheet()) {
        let (_, score) = scored(&rules, &input);
        prop_assert_eq!(score.part_weights.total(), Decimal::ONE_HUNDRED);
        let mut left_out = Decimal::ZERO;
        let mut all = score.part_weights.budget_execution;
        for part in [Part::Output, Part::Benefit, Part::Satisfaction] {
            let weights: Vec<Decimal> = score.indicators.iter().filter(|i| i.part == part).map(|i| i.weight).collect();
            if weights.is_empty() {
                left_out += score.part_weights.get(part);
            } else {
                prop_assert_eq!(weights.iter().copied().sum::<Decimal>(), score.part_weights.get(part));
            }
            all += weights.iter().copied().sum::<Decimal>();
        }
        prop_assert_eq!(all + left_out, Decimal::ONE_HUNDRED);
        let not_applicable: Decimal = score.indicators.iter().filter(|i| !i.applicable).map(|i| i.weight).sum();
        prop_assert_eq!(score.applicable_weight, Decimal::ONE_HUNDRED - left_out - not_applicable);
    }

    #[test]
    fn renormalised_total_stays_within_0_and_100(rules in rules(), input in sheet()) {
        let (_, score) = scored(&rules, &input);
        prop_assert!(score.raw_total >= Decimal::ZERO);
        prop_assert!(score.raw_total <= score.applicable_weight);
        prop_assert!(score.total >= score.raw_total);
        prop_assert!(score.total >= Decimal::ZERO && score.total <= Decimal::ONE_HUNDRED, "{}", score.total);
        let applicable: Decimal = score.execution_points
            + score.indicators.iter().filter(|i| i.applicable).map(|i| i.points).sum::<Decimal>();
        prop_assert_eq!(score.raw_total, applicable);
    }

    #[test]
    fn a_veto_never_raises_a_grade(rules in rules(), input in sheet()) {
        let (_, score) = scored(&rules, &input);
        prop_assert!(score.grade <= score.raw_grade);
        prop_assert_eq!(score.raw_grade, rules.grade_of(score.total));
        match score.veto {
            Some(veto) => {
                prop_assert!(veto.best_grade < score.raw_grade);
                prop_assert_eq!(score.grade, veto.best_grade);
                prop_assert!(score.execution_rate < veto.below_rate_percent);
            }
            None => prop_assert_eq!(score.grade, score.raw_grade),
        }
    }

    #[test]
    fn without_vetoes_the_grade_is_monotone_in_the_total(mut rules in rules(), a in sheet(), b in sheet()) {
        rules.vetoes.clear();
        let (_, a) = scored(&rules, &a);
        let (_, b) = scored(&rules, &b);
        let (low, high) = if a.total <= b.total { (&a, &b) } else { (&b, &a) };
        prop_assert!(low.grade <= high.grade, "{} {:?} / {} {:?}", low.total, low.grade, high.total, high.grade);
    }

    #[test]
    fn scoring_is_deterministic_and_survives_json(rules in rules(), input in sheet()) {
        let (inputs, score) = scored(&rules, &input);
        let sheet = SheetInput { budget: Decimal::new(input.0, 2), executed: Decimal::new(input.1, 2), indicators: &inputs };
        let again = pbm_scoring::score(&rules, &sheet).unwrap();
        prop_assert_eq!(&again, &score);
        let json = serde_json::to_string(&score).unwrap();
        let back: Score = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &score);
        let explained = score.explain(&rules, &sheet);
        prop_assert_eq!(explained.indicators.len(), inputs.len());
        prop_assert_eq!(explained.veto.is_some(), score.veto.is_some());
        let rules_back: RuleSet = serde_json::from_str(&serde_json::to_string(&rules).unwrap()).unwrap();
        prop_assert_eq!(rules_back, rules);
    }
}
