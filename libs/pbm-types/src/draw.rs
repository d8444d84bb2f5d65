//! The one generator and fingerprint of every reproducible random draw in PBM (docs/DOMAIN.md
//! "Random draws"): the agency and expert pool's draws (services/agency/src/domain/draw.rs) and
//! the evaluation service's spot-check samples use these, so that an auditor replays either
//! from its record (seed, candidate fingerprint) years later, on any machine. The generator and
//! every step below are part of the record format: **changing any of them changes past
//! results**. That is why the generator is implemented here instead of taken from a crate whose
//! algorithm may change between versions.
//!
//! * Generator: SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
//!   generators", OOPSLA 2014; the `splitmix64.c` reference by Vigna).
//! * Uniform picks: a partial Fisher–Yates shuffle ([`shuffle_prefix`]) with the unbiased
//!   [`SplitMix64::below`].
//! * Fingerprint: SHA-256 of the sorted candidates ([`fingerprint`]).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// SplitMix64: a 64-bit state advanced by [`SplitMix64::GAMMA`]; each output is the state
/// passed through Stafford's "Mix13" finalizer (`>> 30`, `× MUL1`, `>> 27`, `× MUL2`, `>> 31`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The increment: 2⁶⁴ / φ, odd (the golden-ratio "Weyl" constant).
    pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    /// First multiplier of the finalizer (Stafford's Mix13).
    pub const MUL1: u64 = 0xBF58_476D_1CE4_E5B9;
    /// Second multiplier of the finalizer (Stafford's Mix13).
    pub const MUL2: u64 = 0x94D0_49BB_1331_11EB;

    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(Self::GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(Self::MUL1);
        z = (z ^ (z >> 27)).wrapping_mul(Self::MUL2);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..n`, without modulo bias: outputs at or above the largest
    /// multiple of `n` that fits in 2⁶⁴ are rejected and redrawn, then the remainder by `n`
    /// is taken.
    ///
    /// # Panics
    /// When `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SplitMix64::below(0)");
        // 2⁶⁴ mod n, computed without 128-bit arithmetic.
        let rejected = (u64::MAX % n + 1) % n;
        loop {
            let x = self.next_u64();
            if x <= u64::MAX - rejected {
                return x % n;
            }
        }
    }
}

/// Seed of replacement round `round` of a draw seeded with `seed`: `seed` itself for round
/// 0 (the original draw), otherwise the `round`-th output of `SplitMix64::new(seed)`
/// (computed directly: the state after `round` steps is `seed + round × GAMMA`).
pub fn round_seed(seed: u64, round: u32) -> u64 {
    if round == 0 {
        return seed;
    }
    let steps = u64::from(round - 1);
    SplitMix64::new(seed.wrapping_add(SplitMix64::GAMMA.wrapping_mul(steps))).next_u64()
}

/// Partial Fisher–Yates: for `i` in `0..n`, position `i` receives a uniform pick of positions
/// `i..len` (`rng.below(len − i)`), so the first `n` items are a uniform sample in draw order.
///
/// # Panics
/// When `n` exceeds the number of items.
pub fn shuffle_prefix<T>(items: &mut [T], n: usize, rng: &mut SplitMix64) {
    assert!(n <= items.len(), "shuffle_prefix: {n} of {}", items.len());
    let len = items.len() as u64;
    for i in 0..n {
        let j = i + rng.below(len - i as u64) as usize;
        items.swap(i, j);
    }
}

/// One eligible candidate: its id and a weight (a pool's weighted draws use it; a uniform
/// draw's candidates weigh 1). The weight is always part of the fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: String,
    pub weight: Decimal,
}

/// Canonical text of a weight (`80.50` → `80.5`, `100.0000` → `100`).
fn weight_text(weight: Decimal) -> String {
    weight.normalize().to_string()
}

/// Fingerprint of a candidate set: lower-case hex SHA-256 of the candidates sorted by id
/// (then weight), each as `id`, a tab, the normalized weight, a newline. Input order does not
/// matter; any change of id or weight does.
pub fn fingerprint(candidates: &[Candidate]) -> String {
    let mut lines: Vec<(&str, String)> = candidates
        .iter()
        .map(|c| (c.id.as_str(), weight_text(c.weight)))
        .collect();
    lines.sort();
    let mut hasher = Sha256::new();
    for (id, weight) in lines {
        hasher.update(id.as_bytes());
        hasher.update(b"\t");
        hasher.update(weight.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_outputs() {
        // splitmix64.c with seed 1234567 (the vector quoted with the reference code).
        let mut g = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..3).map(|_| g.next_u64()).collect();
        assert_eq!(
            got,
            vec![
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
            ]
        );
    }

    #[test]
    fn shuffle_prefix_picks_distinct_items_reproducibly() {
        let mut a: Vec<u32> = (0..10).collect();
        let mut b = a.clone();
        shuffle_prefix(&mut a, 3, &mut SplitMix64::new(20_260_630));
        shuffle_prefix(&mut b, 3, &mut SplitMix64::new(20_260_630));
        // The pool's pinned uniform draw of E0000..E0009 with this seed: E0003, E0009, E0007.
        assert_eq!(&a[..3], &[3, 9, 7]);
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn fingerprint_of_unit_weights() {
        let one = Decimal::ONE;
        let c = |id: &str| Candidate {
            id: id.into(),
            weight: one,
        };
        assert_eq!(
            fingerprint(&[c("B"), c("A")]),
            fingerprint(&[c("A"), c("B")])
        );
        assert_ne!(fingerprint(&[c("A")]), fingerprint(&[c("A"), c("B")]));
    }
}
