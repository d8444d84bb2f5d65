//! The scoring engine's throughput on one thread: 100,000 sheets × 10 indicators scored under
//! the national rules (docs/BENCHMARKS.md "Evaluation (session 12)" → "Scoring engine"; the
//! target is ≥ 1,000,000 indicators per second on one core).
//!
//! `cargo bench -p pbm-scoring --bench engine` (BENCH_SHEETS and BENCH_RUNS override the
//! defaults). The sheets are built before the clock starts; each timed `score` builds its whole
//! `Score` (weights, formulas, total, grade, veto), as the service does. Explanations are
//! rendered only when asked, and timed separately on 10,000 sheets.

use std::hint::black_box;
use std::time::Instant;

use pbm_scoring::{Direction, Entry, IndicatorInput, RuleSet, SheetInput, Tier, score};
use rust_decimal::Decimal;

const LEVEL1: [&str; 10] = [
    "产出指标",
    "产出指标",
    "产出指标",
    "成本指标",
    "产出指标",
    "效益指标",
    "效益指标",
    "效益指标",
    "满意度指标",
    "满意度指标",
];

/// Sheet `s`: a mix of every direction, declared goal weights on a third of the sheets, a not
/// applicable indicator on a fifth, no 满意度 indicator on a seventh, a missing entry on an
/// eleventh, execution between 60 % and 110 %.
fn sheet_indicators(s: usize) -> Vec<IndicatorInput<'static>> {
    (0..10)
        .map(|i| {
            let level1 = if s.is_multiple_of(7) && i >= 8 {
                "效益指标"
            } else {
                LEVEL1[i]
            };
            let v = ((s * 31 + i * 17) % 160) as i64;
            let (direction, target, entry) = match i {
                3 => (
                    Direction::Le,
                    Some(Decimal::new(100_000, 2)),
                    Entry::Number(Decimal::new(80_000 + v * 1_000, 2)),
                ),
                6 => (
                    Direction::Eq,
                    Some(Decimal::ZERO),
                    Entry::Number(Decimal::from(v % 2)),
                ),
                7 => (
                    Direction::Qualitative,
                    None,
                    Entry::Qualitative {
                        tier: Tier::NotAchieved,
                        score: Decimal::ZERO,
                    },
                ),
                _ => (
                    Direction::Ge,
                    Some(Decimal::new(9_500, 2)),
                    Entry::Number(Decimal::new(v * 100 + 37, 2)),
                ),
            };
            let entry = if s.is_multiple_of(5) && i == 4 {
                Entry::NotApplicable
            } else if s.is_multiple_of(11) && i == 9 {
                Entry::Missing
            } else {
                entry
            };
            IndicatorInput {
                level1,
                goal_weight: s
                    .is_multiple_of(3)
                    .then(|| Decimal::from(5 + (i as i64 * 7) % 9)),
                direction,
                target,
                entry,
            }
        })
        .collect()
}

/// The baseline of the same run: one exact decimal division rounded half-up to two places per
/// indicator (the execution rate, the least a score computes per indicator) over the same
/// sheets on the same thread — how fast this core does decimal work right now.
fn baseline(inputs: &[SheetInput<'_>], count: usize, when: &str) {
    let hundred = Decimal::ONE_HUNDRED;
    let start = Instant::now();
    let mut sum = Decimal::ZERO;
    for sheet in inputs {
        for _ in sheet.indicators {
            let rate = black_box(sheet.executed) * hundred / black_box(sheet.budget);
            sum += rate
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        }
    }
    black_box(sum);
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{{\"baseline\": \"{when}\", \"what\": \"one decimal division + half-up rounding per indicator\", \"indicators\": {count}, \"seconds\": {seconds:.3}, \"indicators_per_second\": {:.0}}}",
        count as f64 / seconds
    );
}

fn main() {
    let sheets: usize = std::env::var("BENCH_SHEETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let rules = RuleSet::national();
    let indicators: Vec<Vec<IndicatorInput<'static>>> = (0..sheets).map(sheet_indicators).collect();
    let inputs: Vec<SheetInput<'_>> = indicators
        .iter()
        .enumerate()
        .map(|(s, indicators)| SheetInput {
            budget: Decimal::new(100_000_000, 2),
            executed: Decimal::new(60_000_000 + ((s * 7_919) % 50_000_000) as i64, 2),
            indicators,
        })
        .collect();
    let count: usize = inputs.iter().map(|s| s.indicators.len()).sum();

    baseline(&inputs, count, "before");
    let mut best = f64::MAX;
    let mut checksum = Decimal::ZERO;
    for run in 0..runs {
        let start = Instant::now();
        let mut sum = Decimal::ZERO;
        for sheet in &inputs {
            let score = score(black_box(&rules), black_box(sheet)).expect("bench sheets score");
            sum += score.total;
            black_box(&score);
        }
        let seconds = start.elapsed().as_secs_f64();
        best = best.min(seconds);
        checksum = sum;
        println!(
            "{{\"run\": {run}, \"sheets\": {sheets}, \"indicators\": {count}, \"seconds\": {seconds:.3}, \"indicators_per_second\": {:.0}}}",
            count as f64 / seconds
        );
    }
    baseline(&inputs, count, "after");
    let explained = inputs.len().min(10_000);
    let start = Instant::now();
    let mut lines = 0usize;
    for sheet in &inputs[..explained] {
        let score = score(&rules, sheet).expect("bench sheets score");
        lines += black_box(score.explain(&rules, sheet)).total.len();
    }
    let explain_seconds = start.elapsed().as_secs_f64();
    println!(
        "{{\"bench\": \"pbm-scoring engine\", \"threads\": 1, \"sheets\": {sheets}, \"indicators\": {count}, \"runs\": {runs}, \"best_seconds\": {best:.3}, \"indicators_per_second\": {:.0}, \"sheets_per_second\": {:.0}, \"mean_total\": \"{}\", \"score_and_explain_sheets_per_second\": {:.0}, \"explanation_lines\": {lines}}}",
        count as f64 / best,
        sheets as f64 / best,
        (checksum / Decimal::from(sheets.max(1))).round_dp(2),
        explained as f64 / explain_seconds
    );
}
