//! The pool's two numbers (issue 3), measured on the domain code that produces them:
//! * a draw of 5 experts from a pool of 10,000, with every eligibility and recusal check,
//!   fingerprint and seeded draw: p99 over 200 draws;
//! * recomputing the ratings of 1,000 agencies with 50 rated engagements each (plus violations).
//!
//! `cargo bench -p pbm-agency --bench pool` (release build). The computations alone; the RPC-level
//! numbers, with the database, are `benches/rpc.rs` (`scripts/bench-agency.sh`). Percentiles
//! and the verdict are pbm-bench's (nearest rank); exit code 3 when a target is missed.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use pbm_agency::domain::draw::{Candidate, Weighting, draw, fingerprint};
use pbm_agency::domain::eligibility::{
    DrawTask, ExpertFacts, ExpertStatus, Relation, RelationKind, TitleLevel, expert_exclusions,
};
use pbm_agency::domain::engagement::EngagementKind;
use pbm_agency::domain::rating::{RatedEngagement, RatingInput, ViolationRecord, pool_mean, rate};
use pbm_agency::domain::rules::{PoolRules, Severity};
use pbm_bench::{Check, Latencies, Verdict, ms};
use rust_decimal::Decimal;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn main() {
    let rules = PoolRules::default();
    let fields = [
        "LAW",
        "ECON",
        "ACCT",
        "AUDIT",
        "IT",
        "CONSTRUCTION",
        "TRANSPORT",
        "WATER",
    ];
    let titles = [
        TitleLevel::Intermediate,
        TitleLevel::Senior,
        TitleLevel::FullSenior,
        TitleLevel::Junior,
    ];
    let experts: Vec<ExpertFacts> = (0..10_000u32)
        .map(|i| ExpertFacts {
            id: format!("E{i:05}"),
            status: if i % 50 == 0 {
                ExpertStatus::UnderReview
            } else {
                ExpertStatus::Active
            },
            title: titles[(i % 4) as usize],
            years_in_field: 5 + i % 20,
            birth_date: day(1950 + (i % 40) as i32, 1 + i % 12, 1 + i % 28),
            fields: vec![
                fields[(i % 8) as usize].to_string(),
                fields[((i / 8) % 8) as usize].to_string(),
            ],
            relations: (0..(i % 3))
                .map(|k| Relation {
                    party_code: format!("U{:04}", (i * 7 + k) % 500),
                    kind: RelationKind::WorkedFor,
                    from: day(2022, 1, 1),
                    to: None,
                })
                .collect(),
            engagements_this_year: i % 15,
            drawn_for_task: false,
            major_violation_on: (i % 97 == 0).then(|| day(2025, 3, 1)),
        })
        .collect();
    let mut draws = Latencies::with_capacity(200);
    for round in 0..200u64 {
        let task = DrawTask {
            field: Some(fields[(round % 8) as usize].to_string()),
            evaluated_party: format!("U{:04}", round % 500),
            on: day(2026, 6, 1),
            kind: EngagementKind::GoalReview,
        };
        let start = Instant::now();
        let candidates: Vec<Candidate> = experts
            .iter()
            .filter(|e| expert_exclusions(e, &task, &rules).is_empty())
            .map(|e| Candidate {
                id: e.id.clone(),
                weight: Decimal::ONE,
            })
            .collect();
        let print = fingerprint(&candidates);
        let picked =
            draw(&candidates, 5, 0x5eed ^ round, Weighting::Uniform).expect("enough eligible");
        draws.record(start.elapsed());
        assert_eq!(picked.len(), 5);
        assert_eq!(print.len(), 64);
    }

    let agencies: Vec<RatingInput> = (0..1_000u32)
        .map(|a| RatingInput {
            engagements: (0..50u32)
                .map(|k| RatedEngagement {
                    engagement_id: i64::from(a * 50 + k),
                    ended_on: day(2022 + (k % 5) as i32, 1 + k % 12, 1 + (a + k) % 28),
                    score: Decimal::new(i64::from(5_000 + (a * 37 + k * 101) % 5_000), 2),
                })
                .collect(),
            violations: (0..(a % 3))
                .map(|v| ViolationRecord {
                    id: i64::from(a * 3 + v),
                    on: day(2025, 1 + v, 10),
                    severity: if v == 2 {
                        Severity::Major
                    } else {
                        Severity::Minor
                    },
                })
                .collect(),
            last_suspended_on: None,
        })
        .collect();
    let mut recompute = Latencies::with_capacity(20);
    for _ in 0..20 {
        let start = Instant::now();
        let scores: Vec<Decimal> = agencies
            .iter()
            .flat_map(|a| a.engagements.iter().map(|e| e.score))
            .collect();
        let mean = pool_mean(&scores).unwrap_or(rules.shrinkage.prior_mean);
        let ratings: Vec<_> = agencies
            .iter()
            .map(|a| rate(a, &rules, mean, day(2026, 6, 1)))
            .collect();
        recompute.record(start.elapsed());
        assert_eq!(ratings.len(), 1_000);
    }

    println!(
        "draw of 5 from 10,000 experts (eligibility + recusal + fingerprint + draw), 200 draws:"
    );
    let draw = draws.summary(None).expect("200 draws");
    println!(
        "  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms   target p99 ≤ 20 ms",
        ms(draw.p50),
        ms(draw.p99),
        ms(draw.max)
    );
    println!("recompute 1,000 agencies × 50 engagements (pool mean + rate), 20 runs:");
    let recompute = recompute.summary(None).expect("20 runs");
    println!(
        "  p50 {:.1} ms  max {:.1} ms   target ≤ 200 ms",
        ms(recompute.p50),
        ms(recompute.max)
    );
    Verdict::new("domain level")
        .check(Check::at_most_ms(
            "draw 5 of 10,000 p99",
            draw.p99,
            Duration::from_millis(20),
        ))
        .check(Check::at_most_ms(
            "recompute 1,000 agencies, slowest run",
            recompute.max,
            Duration::from_millis(200),
        ))
        .finish();
}
