//! Recorded latencies and their summary.

use std::time::Duration;

use crate::percentile::percentile_sorted;

/// Milliseconds of `d`, as the benches print them.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Latencies of individual operations, every sample kept (so percentiles are exact), in
/// nanoseconds (8 bytes a sample). Samples are sorted when first asked for an order statistic,
/// which is why those methods take `&mut self`.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    nanos: Vec<u64>,
    sorted: bool,
}

/// The summary of [`Latencies`]; percentiles by the nearest-rank definition
/// ([`crate::rank_index`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Arithmetic mean, to the nanosecond.
    pub mean: Duration,
    /// The wall time the samples were taken in, when throughput means something.
    pub wall: Option<Duration>,
}

impl Summary {
    /// Operations per second over [`Summary::wall`]; `None` without a wall time or when it is
    /// zero.
    pub fn throughput(&self) -> Option<f64> {
        let secs = self.wall?.as_secs_f64();
        (secs > 0.0).then(|| self.count as f64 / secs)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Latencies {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Self {
            nanos: Vec::with_capacity(n),
            sorted: false,
        }
    }

    /// Adds one sample.
    pub fn record(&mut self, d: Duration) {
        self.nanos.push(nanos(d));
        self.sorted = false;
    }

    /// Adds every sample of `other`.
    pub fn append(&mut self, mut other: Latencies) {
        self.nanos.append(&mut other.nanos);
        self.sorted = false;
    }

    pub fn len(&self) -> usize {
        self.nanos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nanos.is_empty()
    }

    fn sort(&mut self) {
        if !self.sorted {
            self.nanos.sort_unstable();
            self.sorted = true;
        }
    }

    /// The nearest-rank `p`-th percentile (`p` in percent); `None` without samples.
    ///
    /// # Panics
    /// When `p` is outside `0..=100`.
    pub fn percentile(&mut self, p: f64) -> Option<Duration> {
        self.sort();
        percentile_sorted(&self.nanos, p).map(Duration::from_nanos)
    }

    /// The largest sample; `None` without samples.
    pub fn max(&self) -> Option<Duration> {
        self.nanos.iter().max().copied().map(Duration::from_nanos)
    }

    /// The arithmetic mean; `None` without samples.
    pub fn mean(&self) -> Option<Duration> {
        if self.nanos.is_empty() {
            return None;
        }
        let sum: u128 = self.nanos.iter().map(|&n| u128::from(n)).sum();
        let mean = sum / self.nanos.len() as u128;
        Some(Duration::from_nanos(
            u64::try_from(mean).unwrap_or(u64::MAX),
        ))
    }

    /// Count, p50, p90, p99, max and mean, with the throughput over `wall` when given; `None`
    /// without samples.
    pub fn summary(&mut self, wall: Option<Duration>) -> Option<Summary> {
        Some(Summary {
            count: self.len(),
            p50: self.percentile(50.0)?,
            p90: self.percentile(90.0)?,
            p99: self.percentile(99.0)?,
            max: self.max()?,
            mean: self.mean()?,
            wall,
        })
    }
}

impl Extend<Duration> for Latencies {
    fn extend<I: IntoIterator<Item = Duration>>(&mut self, iter: I) {
        self.nanos.extend(iter.into_iter().map(nanos));
        self.sorted = false;
    }
}

impl FromIterator<Duration> for Latencies {
    fn from_iter<I: IntoIterator<Item = Duration>>(iter: I) -> Self {
        let mut l = Latencies::new();
        l.extend(iter);
        l
    }
}

impl From<Vec<Duration>> for Latencies {
    fn from(samples: Vec<Duration>) -> Self {
        samples.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms_(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn summary_of_1_to_100_ms() {
        // Recorded out of order.
        let mut l: Latencies = (1..=100).rev().map(ms_).collect();
        let s = l.summary(Some(Duration::from_secs(2))).unwrap();
        assert_eq!(s.count, 100);
        assert_eq!(s.p50, ms_(50));
        assert_eq!(s.p90, ms_(90));
        assert_eq!(s.p99, ms_(99));
        assert_eq!(s.max, ms_(100));
        assert_eq!(s.mean, Duration::from_micros(50_500));
        assert_eq!(s.throughput(), Some(50.0));
    }

    #[test]
    fn recording_after_a_percentile_resorts() {
        let mut l = Latencies::new();
        l.record(ms_(5));
        l.record(ms_(1));
        assert_eq!(l.percentile(100.0), Some(ms_(5)));
        l.record(ms_(3));
        assert_eq!(l.percentile(50.0), Some(ms_(3)));
        let mut other = Latencies::new();
        other.record(ms_(0));
        l.append(other);
        assert_eq!(l.percentile(0.0), Some(ms_(0)));
        assert_eq!(l.len(), 4);
    }

    #[test]
    fn no_samples_no_summary() {
        let mut l = Latencies::new();
        assert!(l.is_empty());
        assert_eq!(l.summary(None), None);
        assert_eq!(l.percentile(99.0), None);
        assert_eq!(l.max(), None);
        assert_eq!(l.mean(), None);
    }

    #[test]
    fn throughput_needs_a_wall_time() {
        let mut l = Latencies::from(vec![ms_(1)]);
        assert_eq!(l.summary(None).unwrap().throughput(), None);
        assert_eq!(l.summary(Some(Duration::ZERO)).unwrap().throughput(), None);
    }

    #[test]
    fn milliseconds() {
        assert!((ms(Duration::from_micros(11_140)) - 11.14).abs() < 1e-9);
    }
}
