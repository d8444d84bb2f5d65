//! The explainable risk score of a submitted self-evaluation (docs/EVALUATION.md "Risk score"),
//! for choosing spot checks better aimed than "the highest self-scores" (赣州 checked 50 high
//! self-scores jointly with the audit bureau and found 129 problems). Four factors, each
//! contribution shown with its input; weights (defaults 40/25/15/20, each ≥ 0, total 100):
//!
//! * `score_over_execution` = w × min(max(0, self-score − 预算执行率), 50) ÷ 50: a high
//!   self-score with low execution;
//! * `red_warnings` = w × min(red warnings, 5) ÷ 5: the latest monitoring round's red warnings;
//! * `amount` = w × budget ÷ the largest budget among the candidates;
//! * `past_problems` = w × min(problems, 5) ÷ 5: problems found by finished reviews of earlier
//!   years on the same unit (`agency_code`).
//!
//! Each contribution is rounded half-up to two places and the risk is their sum (so the shown
//! contributions add up to the risk exactly). Ranking: risk descending, then budget
//! descending, then subject key.

use std::cmp::Ordering;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Points of the self-score above the execution rate that count in full.
pub const SCORE_GAP_CAP: i64 = 50;
/// Red warnings that count in full.
pub const RED_CAP: i64 = 5;
/// Past problems that count in full.
pub const PROBLEMS_CAP: i64 = 5;

/// The factors' weights (points of 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskWeights {
    pub score_over_execution: Decimal,
    pub red_warnings: Decimal,
    pub amount: Decimal,
    pub past_problems: Decimal,
}

impl Default for RiskWeights {
    /// 40/25/15/20: the gap between self-score and execution weighs most (docs/EVALUATION.md
    /// "Risk score").
    fn default() -> Self {
        RiskWeights {
            score_over_execution: Decimal::from(40),
            red_warnings: Decimal::from(25),
            amount: Decimal::from(15),
            past_problems: Decimal::from(20),
        }
    }
}

/// Why weights are refused: the field and a Chinese message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightError {
    /// `weights.<factor>` or `weights`.
    pub field: String,
    pub reason: &'static str,
    pub message: String,
}

impl RiskWeights {
    /// `(factor, weight)` in the fixed order of the explanation.
    pub fn named(&self) -> [(&'static str, Decimal); 4] {
        [
            ("score_over_execution", self.score_over_execution),
            ("red_warnings", self.red_warnings),
            ("amount", self.amount),
            ("past_problems", self.past_problems),
        ]
    }

    /// Each ≥ 0 with at most two decimals, and a total of exactly 100. Every problem at once.
    pub fn validate(&self) -> Result<(), Vec<WeightError>> {
        let mut errors = Vec::new();
        for (name, w) in self.named() {
            if w.is_sign_negative() && !w.is_zero() || w.normalize().scale() > 2 {
                errors.push(WeightError {
                    field: format!("weights.{name}"),
                    reason: "RISK_WEIGHT_INVALID",
                    message: format!(
                        "风险因素「{}」的权重 {w} 无效：应不小于0且最多2位小数",
                        factor_label(name)
                    ),
                });
            }
        }
        let total: Decimal = self.named().iter().map(|(_, w)| *w).sum();
        if errors.is_empty() && total != Decimal::ONE_HUNDRED {
            errors.push(WeightError {
                field: "weights".into(),
                reason: "RISK_WEIGHTS_TOTAL",
                message: format!("风险因素权重合计应为100，实为 {total}"),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The Chinese name of a factor.
pub fn factor_label(factor: &str) -> &'static str {
    match factor {
        "score_over_execution" => "自评得分高于预算执行率",
        "red_warnings" => "监控红色预警",
        "amount" => "资金规模",
        "past_problems" => "以往年度复核发现问题",
        _ => "其他",
    }
}

/// What the risk of one sheet is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskInput {
    /// The self-score (0–100).
    pub self_score: Decimal,
    /// 预算执行率 in percent.
    pub execution_rate: Decimal,
    pub red_warnings: i64,
    pub budget: Decimal,
    /// Problems found in earlier years' finished reviews of the same unit.
    pub past_problems: i64,
}

/// One factor's input and contribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factor {
    pub factor: String,
    pub input: String,
    pub contribution: Decimal,
}

/// A sheet's risk (0–100) and its factors, in the fixed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    pub risk: Decimal,
    pub factors: Vec<Factor>,
}

/// Half-up to two places, shown with two places (`27.2` → `27.20`).
fn round2(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

/// The risk of `input` with `weights`, `max_budget` being the largest budget among the
/// candidates (0: the amount factor contributes nothing).
pub fn risk(weights: &RiskWeights, input: &RiskInput, max_budget: Decimal) -> Risk {
    let gap = (input.self_score - input.execution_rate)
        .max(Decimal::ZERO)
        .min(Decimal::from(SCORE_GAP_CAP));
    let red = input.red_warnings.clamp(0, RED_CAP);
    let problems = input.past_problems.clamp(0, PROBLEMS_CAP);
    let share = if max_budget > Decimal::ZERO {
        (input.budget.max(Decimal::ZERO) / max_budget).min(Decimal::ONE)
    } else {
        Decimal::ZERO
    };
    let factors = vec![
        Factor {
            factor: "score_over_execution".into(),
            input: format!(
                "自评 {}，执行率 {}%",
                round2(input.self_score),
                round2(input.execution_rate)
            ),
            contribution: round2(weights.score_over_execution * gap / Decimal::from(SCORE_GAP_CAP)),
        },
        Factor {
            factor: "red_warnings".into(),
            input: format!("红色预警 {} 个", input.red_warnings),
            contribution: round2(
                weights.red_warnings * Decimal::from(red) / Decimal::from(RED_CAP),
            ),
        },
        Factor {
            factor: "amount".into(),
            input: format!("预算 {} 元，最大 {} 元", input.budget, max_budget),
            contribution: round2(weights.amount * share),
        },
        Factor {
            factor: "past_problems".into(),
            input: format!("以往年度发现问题 {} 个", input.past_problems),
            contribution: round2(
                weights.past_problems * Decimal::from(problems) / Decimal::from(PROBLEMS_CAP),
            ),
        },
    ];
    Risk {
        risk: factors.iter().map(|f| f.contribution).sum(),
        factors,
    }
}

/// The ranking order: risk descending, then budget descending, then subject key ascending.
pub fn rank_order(a: (&Decimal, &Decimal, &str), b: (&Decimal, &Decimal, &str)) -> Ordering {
    b.0.cmp(a.0).then(b.1.cmp(a.1)).then(a.2.cmp(b.2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn input(score: Decimal, rate: Decimal, red: i64, budget: Decimal, past: i64) -> RiskInput {
        RiskInput {
            self_score: score,
            execution_rate: rate,
            red_warnings: red,
            budget,
            past_problems: past,
        }
    }

    #[test]
    fn each_factor_is_explained_and_the_risk_is_their_sum() {
        let r = risk(
            &RiskWeights::default(),
            &input(dec!(96), dec!(62), 2, dec!(300000), 1),
            dec!(1000000),
        );
        let got: Vec<(&str, &str, Decimal)> = r
            .factors
            .iter()
            .map(|f| (f.factor.as_str(), f.input.as_str(), f.contribution))
            .collect();
        assert_eq!(
            got,
            vec![
                // 40 × 34 ÷ 50
                (
                    "score_over_execution",
                    "自评 96.00，执行率 62.00%",
                    dec!(27.20)
                ),
                ("red_warnings", "红色预警 2 个", dec!(10.00)),
                ("amount", "预算 300000 元，最大 1000000 元", dec!(4.50)),
                ("past_problems", "以往年度发现问题 1 个", dec!(4.00)),
            ]
        );
        assert_eq!(r.risk, dec!(45.70));
    }

    #[test]
    fn factors_are_capped_and_never_negative() {
        let r = risk(
            &RiskWeights::default(),
            &input(dec!(100), dec!(10), 9, dec!(5), 12),
            dec!(5),
        );
        assert_eq!(r.risk, dec!(100));
        let r = risk(
            &RiskWeights::default(),
            &input(dec!(60), dec!(100), 0, dec!(0), 0),
            dec!(0),
        );
        assert_eq!(r.risk, dec!(0));
    }

    #[test]
    fn weights_must_be_non_negative_and_total_100() {
        assert!(RiskWeights::default().validate().is_ok());
        let mut w = RiskWeights {
            amount: dec!(-5),
            past_problems: dec!(1.234),
            ..Default::default()
        };
        let e = w.validate().unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["weights.amount", "weights.past_problems"]);
        w = RiskWeights::default();
        w.amount = dec!(10);
        assert_eq!(w.validate().unwrap_err()[0].reason, "RISK_WEIGHTS_TOTAL");
    }

    #[test]
    fn ties_rank_by_budget_then_key() {
        let mut v = [
            (dec!(50), dec!(10), "B"),
            (dec!(50), dec!(20), "C"),
            (dec!(60), dec!(1), "Z"),
            (dec!(50), dec!(10), "A"),
        ];
        v.sort_by(|a, b| rank_order((&a.0, &a.1, a.2), (&b.0, &b.1, b.2)));
        let keys: Vec<&str> = v.iter().map(|x| x.2).collect();
        assert_eq!(keys, ["Z", "C", "A", "B"]);
    }

    /// The 赣州 comparison on a synthetic year: 10,000 sheets, where problems sit (as reviews
    /// find them) in sheets whose self-score runs ahead of execution, with red warnings or with
    /// a unit's past problems. The top 50 by risk catch more of them than the top 50 by
    /// self-score (赣州's method: 50 high self-scores → 129 problems).
    #[test]
    fn the_top_50_by_risk_catch_more_problems_than_the_top_50_self_scores() {
        let mut rng = pbm_types::draw::SplitMix64::new(2020);
        struct Sheet {
            input: RiskInput,
            problems: u64,
        }
        let sheets: Vec<Sheet> = (0..10_000)
            .map(|_| {
                let self_score = Decimal::from(70 + rng.below(31)); // 70–100
                let rate = Decimal::from(40 + rng.below(61)); // 40–100 %
                let red = if rng.below(10) == 0 {
                    1 + rng.below(4)
                } else {
                    0
                };
                let budget = Decimal::from(100_000 + rng.below(9_900_000));
                let past = if rng.below(8) == 0 {
                    1 + rng.below(4)
                } else {
                    0
                };
                let gap = (self_score - rate).max(Decimal::ZERO);
                // Problems follow the gap, the red warnings and the unit's history, plus noise.
                let mut problems = rng.below(2);
                if gap > Decimal::from(25) {
                    problems += 2 + rng.below(3);
                }
                problems += red + past / 2;
                Sheet {
                    input: input(self_score, rate, red as i64, budget, past as i64),
                    problems,
                }
            })
            .collect();
        let max_budget = sheets.iter().map(|s| s.input.budget).max().unwrap();
        let weights = RiskWeights::default();
        let risks: Vec<Decimal> = sheets
            .iter()
            .map(|s| risk(&weights, &s.input, max_budget).risk)
            .collect();
        let mut by_risk: Vec<usize> = (0..sheets.len()).collect();
        by_risk.sort_by(|&a, &b| {
            risks[b]
                .cmp(&risks[a])
                .then(sheets[b].input.budget.cmp(&sheets[a].input.budget))
                .then(a.cmp(&b))
        });
        let mut by_score: Vec<usize> = (0..sheets.len()).collect();
        by_score.sort_by(|&a, &b| {
            sheets[b]
                .input
                .self_score
                .cmp(&sheets[a].input.self_score)
                .then(a.cmp(&b))
        });
        let caught =
            |order: &[usize]| -> u64 { order[..50].iter().map(|&i| sheets[i].problems).sum() };
        let (risk_caught, score_caught) = (caught(&by_risk), caught(&by_score));
        assert!(
            risk_caught > score_caught * 2,
            "top 50 by risk found {risk_caught} problems, by self-score {score_caught}"
        );
    }

    proptest! {
        #[test]
        fn the_risk_stays_within_0_and_100(
            score in 0i64..=100, rate in 0i64..=200, red in 0i64..20,
            budget in 0i64..1_000_000, extra in 0i64..1_000_000, past in 0i64..20,
        ) {
            let r = risk(
                &RiskWeights::default(),
                &input(Decimal::from(score), Decimal::from(rate), red, Decimal::from(budget), past),
                Decimal::from(budget + extra),
            );
            prop_assert!(r.risk >= Decimal::ZERO && r.risk <= Decimal::ONE_HUNDRED);
            for f in &r.factors {
                prop_assert!(f.contribution >= Decimal::ZERO);
            }
        }
    }
}
