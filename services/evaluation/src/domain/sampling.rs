//! Which submitted self-evaluations a spot check (抽查复核) reviews, chosen reproducibly "as the
//! pool's draws are" (docs/DOMAIN.md "Random draws"; docs/EVALUATION.md "Spot checks"): the
//! same recorded candidates and seed give the same sample, years later, so an auditor replays a
//! selection from its record. The generator and the fingerprint are the platform's
//! ([`pbm_types::draw`]); every step below is part of the record format.
//!
//! * Candidates ([`SampleCandidate`]: sheet id, subject key, stratum, risk and risk rank) are
//!   sorted by subject key first; the fingerprint is [`pbm_types::draw::fingerprint`] over the
//!   keys (each weighing 1).
//! * [`Method::Random`]: a partial Fisher–Yates shuffle of the sorted candidates
//!   ([`pbm_types::draw::shuffle_prefix`]) with a generator seeded by the seed.
//! * [`Method::Risk`]: the `size` lowest risk ranks (rank 1 = the highest risk; see
//!   [`crate::domain::risk`]). No randomness.
//! * [`Method::Stratified`]: strata in key order; each stratum's share of `size` proportional to
//!   its candidates by largest remainder (ties by stratum key); within a stratum
//!   `risk_percent` % of its share (rounded half-up) by risk rank and the rest uniformly at random
//!   from the stratum's remaining candidates (in key order), one generator seeded by the seed
//!   for all strata, strata in key order.

use std::collections::BTreeMap;

use pbm_types::draw::{Candidate, SplitMix64, fingerprint as draw_fingerprint, shuffle_prefix};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How the sample is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Random,
    Risk,
    Stratified,
}

// The stable text stored in the database (`evaluation_spot_checks.method`), and the method's
// name as the spot-check messages already word it ("按风险抽取的比例…", "分层抽取须选择分层依据";
// docs/EVALUATION.md "Spot-check review").
text_enum!(Method {
    Random => "random", "随机抽取";
    Risk => "risk", "按风险抽取";
    Stratified => "stratified", "分层抽取";
});

/// What a stratified sample's strata are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StratumKind {
    Department,
    FundSource,
    Grade,
}

// The stable text stored in the database, and the Chinese name shown in 「分层：部门 101 随机」.
text_enum!(StratumKind {
    Department => "department", "部门";
    FundSource => "fund_source", "资金来源";
    Grade => "grade", "自评等级";
});

/// One candidate as recorded with the spot check (`evaluation_spot_checks.candidate_list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleCandidate {
    /// The sheet (`evaluation_sheets.id`).
    pub id: i64,
    /// Its subject key (PRO_CODE, or `DEPT:<department_code>`).
    pub key: String,
    /// Its stratum's value (department code, fund source or grade word; empty when not
    /// stratified).
    pub stratum: String,
    /// Its risk score (0–100) and rank among all candidates (1 = the highest).
    pub risk: Decimal,
    pub rank: u32,
}

/// A picked candidate: its index in the key-sorted candidates and why it was picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    pub index: usize,
    pub why: Why,
}

/// Why a candidate was picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Uniformly at random.
    Random,
    /// By its risk rank.
    Risk(u32),
    /// In a stratum: by its risk rank (Some) or at random (None).
    Stratum(String, Option<u32>),
}

impl Why {
    /// The reason shown with a sampled sheet: 「风险排名第3」, 「随机」, 「分层：部门 101 随机」.
    pub fn text(&self, kind: Option<StratumKind>) -> String {
        match self {
            Why::Random => "随机".to_owned(),
            Why::Risk(rank) => format!("风险排名第{rank}"),
            Why::Stratum(value, by) => {
                let label = kind.map(StratumKind::chinese).unwrap_or("分层");
                let value = if value.is_empty() { "（空）" } else { value };
                match by {
                    Some(rank) => format!("分层：{label} {value} 风险排名第{rank}"),
                    None => format!("分层：{label} {value} 随机"),
                }
            }
        }
    }
}

/// What to sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub method: Method,
    pub size: usize,
    pub seed: u64,
    /// Stratified only: percent (0–100) of each stratum's share taken by risk rank.
    pub risk_percent: u32,
}

/// Sorts the candidates by subject key: the order every method, the fingerprint and the record
/// use.
pub fn sort_candidates(candidates: &mut [SampleCandidate]) {
    candidates.sort_by(|a, b| a.key.cmp(&b.key));
}

/// The candidates' fingerprint: [`pbm_types::draw::fingerprint`] over their keys, each weighing
/// 1 (lower-case hex SHA-256). Input order does not matter.
pub fn fingerprint(candidates: &[SampleCandidate]) -> String {
    let keys: Vec<Candidate> = candidates
        .iter()
        .map(|c| Candidate {
            id: c.key.clone(),
            weight: Decimal::ONE,
        })
        .collect();
    draw_fingerprint(&keys)
}

/// The sample of `plan` from `candidates` (sorted by key: [`sort_candidates`]), in pick order.
/// `size` larger than the candidates takes them all.
pub fn sample(candidates: &[SampleCandidate], plan: &Plan) -> Vec<Pick> {
    let size = plan.size.min(candidates.len());
    let mut rng = SplitMix64::new(plan.seed);
    match plan.method {
        Method::Random => {
            let mut order: Vec<usize> = (0..candidates.len()).collect();
            shuffle_prefix(&mut order, size, &mut rng);
            order[..size]
                .iter()
                .map(|&index| Pick {
                    index,
                    why: Why::Random,
                })
                .collect()
        }
        Method::Risk => by_rank(candidates, (0..candidates.len()).collect(), size)
            .into_iter()
            .map(|index| Pick {
                index,
                why: Why::Risk(candidates[index].rank),
            })
            .collect(),
        Method::Stratified => {
            let mut strata: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (i, c) in candidates.iter().enumerate() {
                strata.entry(c.stratum.as_str()).or_default().push(i);
            }
            let counts: Vec<usize> = strata.values().map(Vec::len).collect();
            let shares = largest_remainder(&counts, size);
            let mut picks = Vec::with_capacity(size);
            for ((value, members), share) in strata.into_iter().zip(shares) {
                let by_risk = (share * plan.risk_percent.min(100) as usize + 50) / 100;
                let risky = by_rank(candidates, members.clone(), by_risk);
                picks.extend(risky.iter().map(|&index| Pick {
                    index,
                    why: Why::Stratum(value.to_owned(), Some(candidates[index].rank)),
                }));
                let mut rest: Vec<usize> =
                    members.into_iter().filter(|i| !risky.contains(i)).collect();
                let random = share - by_risk;
                shuffle_prefix(&mut rest, random, &mut rng);
                picks.extend(rest[..random].iter().map(|&index| Pick {
                    index,
                    why: Why::Stratum(value.to_owned(), None),
                }));
            }
            picks
        }
    }
}

/// The `n` of `members` with the lowest risk ranks (then key order), in rank order.
fn by_rank(candidates: &[SampleCandidate], mut members: Vec<usize>, n: usize) -> Vec<usize> {
    members.sort_by_key(|&i| (candidates[i].rank, i));
    members.truncate(n);
    members
}

/// `total` split in proportion to `counts` by largest remainder: each gets ⌊total × count ÷ Σ⌋,
/// and the rest go one each to the largest remainders, ties to the earlier (the strata are in
/// key order). Never more than a count.
pub fn largest_remainder(counts: &[usize], total: usize) -> Vec<usize> {
    let sum: usize = counts.iter().sum();
    if sum == 0 {
        return vec![0; counts.len()];
    }
    let total = total.min(sum);
    let mut shares: Vec<usize> = counts.iter().map(|c| total * c / sum).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    // Remainders compared as total × count mod sum (the same denominator for all).
    order.sort_by_key(|&i| (std::cmp::Reverse(total * counts[i] % sum), i));
    let mut left = total - shares.iter().sum::<usize>();
    for i in order {
        if left == 0 {
            break;
        }
        if shares[i] < counts[i] {
            shares[i] += 1;
            left -= 1;
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cands(n: usize, strata: usize) -> Vec<SampleCandidate> {
        let mut c: Vec<SampleCandidate> = (0..n)
            .map(|i| SampleCandidate {
                id: i as i64 + 1,
                key: format!("P{i:04}"),
                stratum: format!("D{}", i % strata.max(1)),
                risk: Decimal::from((i * 37 % 101) as i64),
                rank: 0,
            })
            .collect();
        // Ranks by risk desc, then key.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| c[b].risk.cmp(&c[a].risk).then(a.cmp(&b)));
        for (r, i) in order.into_iter().enumerate() {
            c[i].rank = r as u32 + 1;
        }
        sort_candidates(&mut c);
        c
    }

    fn plan(method: Method, size: usize, seed: u64, risk_percent: u32) -> Plan {
        Plan {
            method,
            size,
            seed,
            risk_percent,
        }
    }

    #[test]
    fn largest_remainder_is_proportional_with_ties_by_key() {
        assert_eq!(largest_remainder(&[5, 3, 2], 5), vec![3, 1, 1]);
        // 4 × 1/3 each: 1, 1, 1 and the tie goes to the first stratum.
        assert_eq!(largest_remainder(&[1, 1, 1], 2), vec![1, 1, 0]);
        assert_eq!(largest_remainder(&[2, 2, 2], 4), vec![2, 1, 1]);
        assert_eq!(largest_remainder(&[3, 0], 10), vec![3, 0]);
        assert_eq!(largest_remainder(&[], 3), Vec::<usize>::new());
    }

    #[test]
    fn random_samples_are_the_pools_shuffle_of_the_sorted_keys() {
        let c = cands(10, 1);
        let picked: Vec<&str> = sample(&c, &plan(Method::Random, 3, 20_260_630, 0))
            .iter()
            .map(|p| c[p.index].key.as_str())
            .collect();
        // The pool's pinned uniform draw of ten sorted ids with this seed: 3rd, 9th, 7th (0-based).
        assert_eq!(picked, ["P0003", "P0009", "P0007"]);
    }

    #[test]
    fn risk_samples_take_the_highest_ranks() {
        let c = cands(20, 1);
        let picks = sample(&c, &plan(Method::Risk, 4, 0, 0));
        let ranks: Vec<u32> = picks.iter().map(|p| c[p.index].rank).collect();
        assert_eq!(ranks, [1, 2, 3, 4]);
        assert_eq!(picks[2].why.text(None), "风险排名第3");
    }

    #[test]
    fn stratified_samples_split_by_share_then_risk_then_random() {
        let c = cands(30, 3); // strata D0, D1, D2 of 10 each
        let picks = sample(&c, &plan(Method::Stratified, 7, 11, 50));
        assert_eq!(picks.len(), 7);
        let in_stratum = |s: &str| picks.iter().filter(|p| c[p.index].stratum == s).count();
        assert_eq!(
            (in_stratum("D0"), in_stratum("D1"), in_stratum("D2")),
            (3, 2, 2)
        );
        // D0: share 3, 50 % → 2 by risk (half-up), 1 at random.
        let d0: Vec<&Pick> = picks
            .iter()
            .filter(|p| c[p.index].stratum == "D0")
            .collect();
        assert!(matches!(d0[0].why, Why::Stratum(_, Some(_))));
        assert!(matches!(d0[1].why, Why::Stratum(_, Some(_))));
        assert!(matches!(d0[2].why, Why::Stratum(_, None)));
        let best_d0 = c
            .iter()
            .filter(|x| x.stratum == "D0")
            .map(|x| x.rank)
            .min()
            .unwrap();
        assert_eq!(c[d0[0].index].rank, best_d0);
        assert_eq!(
            d0[2].why.text(Some(StratumKind::Department)),
            "分层：部门 D0 随机"
        );
    }

    #[test]
    fn the_fingerprint_is_the_pools_over_the_keys() {
        let c = cands(5, 1);
        let mut reversed = c.clone();
        reversed.reverse();
        assert_eq!(fingerprint(&c), fingerprint(&reversed));
        let keys: Vec<Candidate> = c
            .iter()
            .map(|x| Candidate {
                id: x.key.clone(),
                weight: Decimal::ONE,
            })
            .collect();
        assert_eq!(fingerprint(&c), draw_fingerprint(&keys));
        assert_ne!(fingerprint(&c), fingerprint(&c[1..]));
    }

    #[test]
    fn words_round_trip() {
        assert_eq!(Method::ALL.len(), 3);
        for &m in Method::ALL {
            assert_eq!(Method::from_db(m.as_db()), Some(m));
            assert_eq!(Method::from_chinese(m.chinese()), Some(m));
        }
        assert_eq!(StratumKind::ALL.len(), 3);
        for &k in StratumKind::ALL {
            assert_eq!(StratumKind::from_db(k.as_db()), Some(k));
            assert_eq!(StratumKind::from_chinese(k.chinese()), Some(k));
        }
    }

    proptest! {
        #[test]
        fn samples_are_distinct_exact_and_replayable(
            n in 0usize..60, strata in 1usize..6, size in 0usize..70,
            seed: u64, pct in 0u32..=100, m in 0u8..3,
        ) {
            let c = cands(n, strata);
            let method = [Method::Random, Method::Risk, Method::Stratified][m as usize];
            let p = plan(method, size, seed, pct);
            let picks = sample(&c, &p);
            prop_assert_eq!(picks.len(), size.min(n));
            let mut idx: Vec<usize> = picks.iter().map(|p| p.index).collect();
            idx.sort_unstable();
            idx.dedup();
            prop_assert_eq!(idx.len(), picks.len());
            prop_assert_eq!(sample(&c, &p), picks);
        }
    }
}
