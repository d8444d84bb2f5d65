//! The one percentile definition: nearest rank.
//!
//! The `p`-th percentile (`p` in percent, `0 ≤ p ≤ 100`) of `n` samples is the smallest sample
//! such that at least `p` % of the samples are less than or equal to it. On the samples sorted
//! ascending that is the one at index `ceil(p / 100 · n) − 1`, with `p = 0` taken as the
//! smallest sample (index 0). It is always one of the measured samples, never an
//! interpolation: p100 is the maximum, p0 the minimum, and with one sample every percentile is
//! that sample. The median is the 50th percentile: for an even count, the lower of the two
//! middle samples.

/// Index, in `n` samples sorted ascending, of their nearest-rank `p`-th percentile:
/// `max(ceil(p / 100 · n), 1) − 1`.
///
/// `p · n / 100` is computed exactly for a whole `p`; for a decimal `p` that a float cannot hold
/// exactly (99.9), a product within rounding error of a whole number counts as that number, so
/// p99.9 of 1,000 samples is the 999th, not the 1,000th.
///
/// # Panics
/// When `n` is 0, or `p` is outside `0..=100` (or NaN).
pub fn rank_index(n: usize, p: f64) -> usize {
    assert!(n > 0, "the percentile of no samples");
    assert!(
        (0.0..=100.0).contains(&p),
        "percentile p{p} is outside 0..=100"
    );
    let exact = p * n as f64 / 100.0;
    let nearest = exact.round();
    let rank = if (exact - nearest).abs() <= 1e-12 * nearest.max(1.0) {
        nearest
    } else {
        exact.ceil()
    };
    // `as` saturates; p ≤ 100 keeps the rank ≤ n anyway.
    (rank as usize).clamp(1, n) - 1
}

/// The nearest-rank `p`-th percentile ([`rank_index`]) of samples already sorted ascending;
/// `None` when there are none. Use [`percentile`] for samples in any order.
///
/// # Panics
/// When `p` is outside `0..=100`. In debug builds, when `sorted` is not sorted.
pub fn percentile_sorted<T: Copy + PartialOrd>(sorted: &[T], p: f64) -> Option<T> {
    debug_assert!(sorted.is_sorted(), "percentile_sorted of unsorted samples");
    if sorted.is_empty() {
        assert!(
            (0.0..=100.0).contains(&p),
            "percentile p{p} is outside 0..=100"
        );
        return None;
    }
    Some(sorted[rank_index(sorted.len(), p)])
}

/// The nearest-rank `p`-th percentile ([`rank_index`]) of samples in any order (a sorted copy
/// is made); `None` when there are none.
///
/// # Panics
/// When `p` is outside `0..=100`, or a sample is not comparable (a NaN).
pub fn percentile<T: Copy + PartialOrd>(samples: &[T], p: f64) -> Option<T> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| {
        a.partial_cmp(b)
            .expect("samples must be comparable (no NaN)")
    });
    percentile_sorted(&sorted, p)
}

/// The median of samples in any order, e.g. of a bench's rounds: their 50th percentile by the
/// same definition, so for an even count the lower of the two middle samples (always a
/// measured value, never an average). `None` when there are none.
///
/// # Panics
/// When a sample is not comparable (a NaN).
pub fn median<T: Copy + PartialOrd>(samples: &[T]) -> Option<T> {
    percentile(samples, 50.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_is_every_percentile() {
        for p in [0.0, 0.1, 50.0, 90.0, 99.0, 99.9, 100.0] {
            assert_eq!(percentile(&[7], p), Some(7), "p{p}");
        }
        assert_eq!(median(&[7]), Some(7));
    }

    #[test]
    fn p100_is_the_maximum_and_p0_the_minimum() {
        let samples = [5, 1, 9, 3, 7];
        assert_eq!(percentile(&samples, 100.0), Some(9));
        assert_eq!(percentile(&samples, 0.0), Some(1));
        // Just above 0 is already the first sample's rank.
        assert_eq!(percentile(&samples, 1e-9), Some(1));
    }

    #[test]
    fn nearest_rank_on_1_to_100() {
        let samples: Vec<u32> = (1..=100).collect();
        // With 1..=100, the p-th percentile is p itself.
        for p in 1..=100u32 {
            assert_eq!(percentile_sorted(&samples, f64::from(p)), Some(p), "p{p}");
        }
        assert_eq!(percentile_sorted(&samples, 99.5), Some(100));
        assert_eq!(percentile_sorted(&samples, 0.5), Some(1));
    }

    #[test]
    fn ceiling_not_rounding() {
        // 10 samples: p99 needs 9.9 of them, so the 10th; p50 needs 5, so the 5th; p91 needs
        // 9.1, so the 10th (rounding (n − 1) · p would give the 9th).
        let samples: Vec<u32> = (1..=10).collect();
        assert_eq!(percentile(&samples, 99.0), Some(10));
        assert_eq!(percentile(&samples, 50.0), Some(5));
        assert_eq!(percentile(&samples, 90.0), Some(9));
        assert_eq!(percentile(&samples, 91.0), Some(10));
        assert_eq!(percentile(&samples, 10.0), Some(1));
        assert_eq!(percentile(&samples, 11.0), Some(2));
    }

    #[test]
    fn whole_products_are_exact() {
        // 7 % of 100 is 7 (0.07 · 100 in floats is 7.000000000000001).
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&samples, 7.0), Some(7));
        assert_eq!(rank_index(1000, 99.9), 998);
        assert_eq!(rank_index(1000, 99.95), 999);
        assert_eq!(rank_index(300, 99.0), 296);
        assert_eq!(rank_index(4000, 99.0), 3959);
        assert_eq!(rank_index(10_000_000, 99.0), 9_899_999);
    }

    #[test]
    fn unsorted_input() {
        let samples = [30, 10, 50, 20, 40];
        assert_eq!(percentile(&samples, 50.0), Some(30));
        assert_eq!(percentile(&samples, 80.0), Some(40));
        assert_eq!(percentile(&samples, 81.0), Some(50));
        assert_eq!(median(&samples), Some(30));
        let floats = [0.31, 0.289, 0.306, 0.311];
        assert_eq!(median(&floats), Some(0.306));
    }

    #[test]
    fn median_of_an_even_count_is_the_lower_middle() {
        assert_eq!(median(&[4, 1, 3, 2]), Some(2));
        assert_eq!(median(&[2.5, 1.5]), Some(1.5));
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        let samples = [Duration::from_millis(3), Duration::from_millis(1)];
        assert_eq!(percentile(&samples, 99.0), Some(Duration::from_millis(3)));
    }

    #[test]
    fn no_samples() {
        assert_eq!(percentile::<u32>(&[], 50.0), None);
        assert_eq!(median::<f64>(&[]), None);
    }

    #[test]
    #[should_panic(expected = "outside 0..=100")]
    fn p_above_100_panics() {
        percentile(&[1, 2, 3], 101.0);
    }

    #[test]
    #[should_panic(expected = "outside 0..=100")]
    fn negative_p_panics() {
        percentile(&[1, 2, 3], -1.0);
    }

    #[test]
    #[should_panic(expected = "outside 0..=100")]
    fn nan_p_panics() {
        percentile(&[1, 2, 3], f64::NAN);
    }

    #[test]
    #[should_panic(expected = "outside 0..=100")]
    fn p_is_checked_on_no_samples_too() {
        percentile::<u32>(&[], 150.0);
    }
}
