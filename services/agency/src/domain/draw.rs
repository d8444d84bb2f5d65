//! Reproducible random draws (docs/DOMAIN.md "Random draws"): the same candidate set and seed give
//! the same result, years later, on any machine. An auditor replays a draw from its record
//! (seed, candidate fingerprint, round), so the generator and every step below are part of the
//! record format: **changing any of them changes past results**. The generator, the uniform
//! shuffle and the fingerprint are the platform's ([`pbm_types::draw`], implemented there
//! instead of taken from a crate whose algorithm may change between versions), shared with the
//! evaluation service's spot-check samples.
//!
//! * Generator: SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
//!   generators", OOPSLA 2014; the `splitmix64.c` reference by Vigna).
//! * Candidates are sorted by id (byte order) first, so the caller's order does not matter.
//! * Uniform: partial Fisher–Yates shuffle of the sorted ids with unbiased [`SplitMix64::below`].
//! * By weight: weights (> 0, ≤ 4 decimals) × 10⁴ as integers; each pick is
//!   `below(total)` located in the cumulative weights of the remaining candidates (in id
//!   order), then removed (sampling without replacement).
//! * Replacement round `r` draws from the candidates not yet drawn with seed
//!   [`round_seed`]`(seed, r)`.

use std::collections::HashSet;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use pbm_types::draw::shuffle_prefix;
pub use pbm_types::draw::{Candidate, SplitMix64, fingerprint, round_seed};

/// How picks are weighted: experts uniformly; agencies optionally by rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    Uniform,
    ByWeight,
}

text_enum!(Weighting { Uniform => "uniform", "等概率"; ByWeight => "by_weight", "按权重"; });

/// Why a draw could not be made. `TooFew` is the "too few eligible" error: never a silent
/// fallback.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawError {
    #[error("符合条件的候选只有 {eligible} 个，不足所需的 {needed} 个")]
    TooFew { eligible: usize, needed: usize },
    #[error("候选「{id}」重复")]
    DuplicateCandidate { id: String },
    #[error("候选编号「{id}」无效：不能为空，不能含制表符或换行")]
    InvalidCandidateId { id: String },
    #[error("候选「{id}」的权重 {weight} 无效：应大于0且最多4位小数")]
    InvalidWeight { id: String, weight: Decimal },
    #[error("候选权重合计过大")]
    WeightsTooLarge,
}

impl DrawError {
    /// Stable machine code.
    pub fn reason(&self) -> &'static str {
        match self {
            DrawError::TooFew { .. } => "TOO_FEW_ELIGIBLE",
            DrawError::DuplicateCandidate { .. } => "DUPLICATE_CANDIDATE",
            DrawError::InvalidCandidateId { .. } => "CANDIDATE_ID_INVALID",
            DrawError::InvalidWeight { .. } => "CANDIDATE_WEIGHT_INVALID",
            DrawError::WeightsTooLarge => "CANDIDATE_WEIGHT_INVALID",
        }
    }
}

/// Scale of integer weights: 4 decimal places.
const WEIGHT_SCALE: u64 = 10_000;

/// Sorts by id and validates: ids non-empty without tab or newline, unique; for weighted
/// draws each weight > 0 with at most 4 decimals. Returns `(id, integer weight)`.
fn prepare(candidates: &[Candidate], weighting: Weighting) -> Result<Vec<(&str, u64)>, DrawError> {
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = Vec::with_capacity(sorted.len());
    for (i, c) in sorted.iter().enumerate() {
        if c.id.is_empty() || c.id.contains(['\t', '\n']) {
            return Err(DrawError::InvalidCandidateId { id: c.id.clone() });
        }
        if i > 0 && sorted[i - 1].id == c.id {
            return Err(DrawError::DuplicateCandidate { id: c.id.clone() });
        }
        let weight = match weighting {
            Weighting::Uniform => 1,
            Weighting::ByWeight => {
                let invalid = || DrawError::InvalidWeight {
                    id: c.id.clone(),
                    weight: c.weight,
                };
                if c.weight <= Decimal::ZERO || c.weight.normalize().scale() > 4 {
                    return Err(invalid());
                }
                c.weight
                    .checked_mul(Decimal::from(WEIGHT_SCALE))
                    .and_then(|w| w.to_u64())
                    .ok_or(DrawError::WeightsTooLarge)?
            }
        };
        out.push((c.id.as_str(), weight));
    }
    Ok(out)
}

/// Draws `n` of `pool` (already sorted and validated) with a generator seeded by `seed`.
fn pick(
    mut pool: Vec<(&str, u64)>,
    n: usize,
    seed: u64,
    weighting: Weighting,
) -> Result<Vec<String>, DrawError> {
    if n > pool.len() {
        return Err(DrawError::TooFew {
            eligible: pool.len(),
            needed: n,
        });
    }
    let mut rng = SplitMix64::new(seed);
    match weighting {
        Weighting::Uniform => {
            shuffle_prefix(&mut pool, n, &mut rng);
            Ok(pool[..n].iter().map(|(id, _)| (*id).to_owned()).collect())
        }
        Weighting::ByWeight => {
            let mut total = pool
                .iter()
                .try_fold(0u64, |t, (_, w)| t.checked_add(*w))
                .ok_or(DrawError::WeightsTooLarge)?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let r = rng.below(total);
                let mut acc = 0u64;
                let idx = pool
                    .iter()
                    .position(|(_, w)| {
                        acc += w;
                        r < acc
                    })
                    .expect("r < total = Σ remaining weights");
                let (id, w) = pool.remove(idx);
                total -= w;
                out.push(id.to_owned());
            }
            Ok(out)
        }
    }
}

/// Draws `n` distinct candidates with `seed`, in draw order. Input order does not matter.
/// `n` larger than the number of candidates is [`DrawError::TooFew`]; `n = 0` draws nothing.
pub fn draw(
    candidates: &[Candidate],
    n: usize,
    seed: u64,
    weighting: Weighting,
) -> Result<Vec<String>, DrawError> {
    pick(prepare(candidates, weighting)?, n, seed, weighting)
}

/// Replacement round `round` (1, 2, …) of a draw seeded with `seed`: draws `n` of the
/// candidates whose id is not in `already` (everyone drawn in earlier rounds, declined or
/// not), with seed [`round_seed`]`(seed, round)`. Ids in `already` that are not candidates are
/// ignored. Round 0 with nothing already drawn is the original [`draw`].
pub fn draw_more(
    candidates: &[Candidate],
    already: &[String],
    n: usize,
    seed: u64,
    round: u32,
    weighting: Weighting,
) -> Result<Vec<String>, DrawError> {
    let already: HashSet<&str> = already.iter().map(String::as_str).collect();
    let pool = prepare(candidates, weighting)?
        .into_iter()
        .filter(|(id, _)| !already.contains(id))
        .collect();
    pick(pool, n, round_seed(seed, round), weighting)
}

/// Whether a recorded round is the replayed one: the same picks in the same draw order. A round
/// recorded before the draw order was kept (`ordered` false) can only be compared as a set.
pub fn same_round(recorded: &[String], ordered: bool, replayed: &[String]) -> bool {
    if ordered {
        return recorded == replayed;
    }
    let (mut a, mut b) = (recorded.to_vec(), replayed.to_vec());
    a.sort();
    b.sort();
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn c(id: &str, weight: Decimal) -> Candidate {
        Candidate {
            id: id.into(),
            weight,
        }
    }

    fn pool(n: usize) -> Vec<Candidate> {
        (0..n).map(|i| c(&format!("E{i:04}"), dec!(1))).collect()
    }

    #[test]
    fn splitmix64_matches_the_reference_outputs() {
        // splitmix64.c with seed 1234567 (the vector quoted with the reference code).
        let mut g = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..5).map(|_| g.next_u64()).collect();
        assert_eq!(
            got,
            vec![
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821,
            ]
        );
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn below_stays_in_range_and_rejects_the_biased_tail() {
        let mut g = SplitMix64::new(42);
        for n in [1u64, 2, 3, 7, 10, 1 << 32, (1 << 63) + 1, u64::MAX] {
            for _ in 0..200 {
                assert!(g.below(n) < n);
            }
        }
        assert_eq!(g.below(1), 0);
        // With n = 2⁶³ + 1, 2⁶⁴ mod n = 2⁶³ − 1 outputs are rejected: exactly those ≥ n. The
        // result is the first output below n, unchanged.
        let n = (1u64 << 63) + 1;
        // Seed 0's first output (0xE220…) is rejected.
        let mut a = SplitMix64::new(0);
        let mut b = SplitMix64::new(0);
        assert!(SplitMix64::new(0).next_u64() >= n);
        let expected = std::iter::repeat_with(|| b.next_u64())
            .find(|x| *x < n)
            .unwrap();
        assert_eq!(a.below(n), expected);
    }

    #[test]
    fn round_seeds_follow_the_generator() {
        let mut g = SplitMix64::new(99);
        assert_eq!(round_seed(99, 0), 99);
        for round in 1..=5 {
            assert_eq!(round_seed(99, round), g.next_u64());
        }
    }

    #[test]
    fn fingerprint_is_order_free_and_canonical() {
        let a = [c("B", dec!(80.50)), c("A", dec!(1))];
        let b = [c("A", dec!(1.0000)), c("B", dec!(80.5))];
        assert_eq!(fingerprint(&a), fingerprint(&b));
        // sha256("A\t1\nB\t80.5\n"), computed with coreutils' sha256sum.
        assert_eq!(
            fingerprint(&a),
            "1a83aa711fa0f89047749130d3844d4768f0c0ac468fd0ed9c6769aec4398fa5"
        );
        assert_ne!(
            fingerprint(&a),
            fingerprint(&[c("A", dec!(1)), c("B", dec!(80.6))])
        );
        assert_ne!(fingerprint(&a), fingerprint(&[c("A", dec!(1))]));
        // sha256 of the empty input.
        assert_eq!(
            fingerprint(&[]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn draws_are_pinned() {
        // Pinned results: if this fails, past draws no longer replay. Cross-checked with an
        // independent re-implementation of the algorithm described in the module docs.
        let candidates = pool(10);
        assert_eq!(
            draw(&candidates, 3, 20_260_630, Weighting::Uniform).unwrap(),
            vec!["E0003", "E0009", "E0007"]
        );
        let weighted: Vec<Candidate> = [
            ("A01", dec!(95.5)),
            ("A02", dec!(80)),
            ("A03", dec!(61.25)),
            ("A04", dec!(88.8888)),
        ]
        .iter()
        .map(|(id, w)| c(id, *w))
        .collect();
        assert_eq!(
            draw(&weighted, 2, 20_260_630, Weighting::ByWeight).unwrap(),
            vec!["A04", "A02"]
        );
        assert_eq!(
            draw_more(
                &candidates,
                &[
                    "E0003".to_string(),
                    "E0009".to_string(),
                    "E0007".to_string()
                ],
                2,
                20_260_630,
                1,
                Weighting::Uniform
            )
            .unwrap(),
            vec!["E0000", "E0001"]
        );
    }

    #[test]
    fn same_input_same_output_and_order_free() {
        let mut candidates = pool(50);
        let first = draw(&candidates, 5, 7, Weighting::Uniform).unwrap();
        assert_eq!(draw(&candidates, 5, 7, Weighting::Uniform).unwrap(), first);
        candidates.reverse();
        assert_eq!(draw(&candidates, 5, 7, Weighting::Uniform).unwrap(), first);
        assert_ne!(draw(&candidates, 5, 8, Weighting::Uniform).unwrap(), first);
    }

    #[test]
    fn too_few_is_an_explicit_error() {
        let err = draw(&pool(3), 5, 1, Weighting::Uniform).unwrap_err();
        assert_eq!(
            err,
            DrawError::TooFew {
                eligible: 3,
                needed: 5
            }
        );
        assert_eq!(err.reason(), "TOO_FEW_ELIGIBLE");
        assert_eq!(err.to_string(), "符合条件的候选只有 3 个，不足所需的 5 个");
        assert_eq!(draw(&pool(3), 3, 1, Weighting::Uniform).unwrap().len(), 3);
        assert_eq!(
            draw(&[], 0, 1, Weighting::ByWeight).unwrap(),
            Vec::<String>::new()
        );
        let already = vec![
            "E0000".to_string(),
            "E0001".to_string(),
            "NOT-A-CANDIDATE".to_string(),
        ];
        assert_eq!(
            draw_more(&pool(3), &already, 2, 1, 1, Weighting::Uniform).unwrap_err(),
            DrawError::TooFew {
                eligible: 1,
                needed: 2
            }
        );
        assert_eq!(
            draw_more(&pool(3), &already, 1, 1, 1, Weighting::Uniform).unwrap(),
            vec!["E0002"]
        );
    }

    #[test]
    fn bad_candidates_are_refused() {
        let dup = [c("A", dec!(1)), c("B", dec!(1)), c("A", dec!(2))];
        assert_eq!(
            draw(&dup, 1, 1, Weighting::Uniform).unwrap_err(),
            DrawError::DuplicateCandidate { id: "A".into() }
        );
        for bad in ["", "a\tb", "a\nb"] {
            let err = draw(&[c(bad, dec!(1))], 1, 1, Weighting::Uniform).unwrap_err();
            assert_eq!(err.reason(), "CANDIDATE_ID_INVALID");
        }
        for w in [dec!(0), dec!(-1), dec!(0.00001)] {
            let err = draw(&[c("A", w)], 1, 1, Weighting::ByWeight).unwrap_err();
            assert_eq!(
                err,
                DrawError::InvalidWeight {
                    id: "A".into(),
                    weight: w
                }
            );
        }
        // Weights are ignored by a uniform draw.
        assert!(draw(&[c("A", dec!(0))], 1, 1, Weighting::Uniform).is_ok());
        let huge = [c("A", Decimal::MAX), c("B", dec!(1))];
        assert_eq!(
            draw(&huge, 1, 1, Weighting::ByWeight).unwrap_err(),
            DrawError::WeightsTooLarge
        );
        let sum_overflows = [
            c("A", dec!(1000000000000000)),
            c("B", dec!(1000000000000000)),
        ];
        assert_eq!(
            draw(&sum_overflows, 1, 1, Weighting::ByWeight).unwrap_err(),
            DrawError::WeightsTooLarge
        );
    }

    #[test]
    fn higher_weights_are_picked_more_often() {
        let candidates = [
            c("D", dec!(8)),
            c("A", dec!(1)),
            c("C", dec!(4)),
            c("B", dec!(2)),
        ];
        let mut counts = [0usize; 4];
        for seed in 0..20_000u64 {
            let got = draw(&candidates, 1, seed, Weighting::ByWeight).unwrap();
            counts[(got[0].as_bytes()[0] - b'A') as usize] += 1;
        }
        assert!(
            counts[0] < counts[1] && counts[1] < counts[2] && counts[2] < counts[3],
            "{counts:?}"
        );
        // Roughly proportional (expected 1333, 2667, 5333, 10667).
        assert!((1100..1600).contains(&counts[0]), "{counts:?}");
        assert!((10_200..11_100).contains(&counts[3]), "{counts:?}");
    }

    #[test]
    fn uniform_draws_are_roughly_even() {
        let candidates = pool(4);
        let mut counts = [0usize; 4];
        for seed in 0..20_000u64 {
            for id in draw(&candidates, 2, seed, Weighting::Uniform).unwrap() {
                counts[id[1..].parse::<usize>().unwrap()] += 1;
            }
        }
        for n in counts {
            assert!((9_600..10_400).contains(&n), "{counts:?}");
        }
    }

    fn arb_candidates() -> impl Strategy<Value = Vec<Candidate>> {
        prop::collection::btree_map("[A-Z0-9]{1,6}", 1i64..=1_000_000, 1..40).prop_map(|m| {
            m.into_iter()
                .map(|(id, w)| Candidate {
                    id,
                    weight: Decimal::new(w, 4),
                })
                .collect()
        })
    }

    fn arb_weighting() -> impl Strategy<Value = Weighting> {
        prop_oneof![Just(Weighting::Uniform), Just(Weighting::ByWeight)]
    }

    proptest! {
        #[test]
        fn draws_are_exact_eligible_distinct_and_replayable(
            candidates in arb_candidates(),
            take in any::<prop::sample::Index>(),
            seed in any::<u64>(),
            weighting in arb_weighting(),
            rotate in any::<prop::sample::Index>(),
        ) {
            let n = take.index(candidates.len() + 1);
            let got = draw(&candidates, n, seed, weighting).unwrap();
            prop_assert_eq!(got.len(), n);
            let ids: HashSet<&str> = candidates.iter().map(|c| c.id.as_str()).collect();
            prop_assert!(got.iter().all(|id| ids.contains(id.as_str())));
            prop_assert_eq!(got.iter().collect::<HashSet<_>>().len(), n);
            // Replay, and replay from a differently ordered copy of the same set.
            prop_assert_eq!(&got, &draw(&candidates, n, seed, weighting).unwrap());
            let mut shuffled = candidates.clone();
            let k = rotate.index(shuffled.len());
            shuffled.rotate_left(k);
            shuffled.reverse();
            prop_assert_eq!(&got, &draw(&shuffled, n, seed, weighting).unwrap());
            prop_assert_eq!(fingerprint(&candidates), fingerprint(&shuffled));
            // Too many is an error, never fewer.
            let too_many = draw(&candidates, candidates.len() + 1, seed, weighting);
            prop_assert_eq!(too_many, Err(DrawError::TooFew { eligible: candidates.len(), needed: candidates.len() + 1 }));
        }

        #[test]
        fn replacement_rounds_never_repeat_anyone(
            candidates in arb_candidates(),
            seed in any::<u64>(),
            weighting in arb_weighting(),
            round in 1u32..5,
        ) {
            let first_n = candidates.len() / 2;
            let first = draw(&candidates, first_n, seed, weighting).unwrap();
            let rest = candidates.len() - first_n;
            let more = draw_more(&candidates, &first, rest, seed, round, weighting).unwrap();
            prop_assert_eq!(more.len(), rest);
            prop_assert!(more.iter().all(|id| !first.contains(id)));
            let mut all: Vec<String> = first.iter().chain(&more).cloned().collect();
            all.sort();
            let mut ids: Vec<String> = candidates.iter().map(|c| c.id.clone()).collect();
            ids.sort();
            prop_assert_eq!(all, ids);
            prop_assert_eq!(&more, &draw_more(&candidates, &first, rest, seed, round, weighting).unwrap());
        }
    }

    #[test]
    fn a_round_in_another_order_is_not_the_same_round() {
        let candidates: Vec<Candidate> = (1..=9)
            .map(|i| Candidate {
                id: i.to_string(),
                weight: Decimal::ONE,
            })
            .collect();
        let picked = draw(&candidates, 4, 7, Weighting::Uniform).unwrap();
        assert!(same_round(&picked, true, &picked));
        let mut reordered = picked.clone();
        reordered.swap(0, 3);
        assert!(!same_round(&reordered, true, &picked));
        // Recorded without its order: only the set can be checked.
        assert!(same_round(&reordered, false, &picked));
        let mut other = picked.clone();
        other[0] = "x".into();
        assert!(!same_round(&other, false, &picked));
    }
}
