//! Exact comparison of products of decimals: the one arithmetic behind every band.
//!
//! docs/drafts/MONITORING.md §2: "every comparison is exact: it multiplies out and never
//! divides" — "progress < r" is checked as `100·12·a < r·t·M`. A `Decimal` product can lose
//! digits (rust_decimal keeps 28–29 significant digits and rounds beyond them), so the products
//! are formed here over unbounded integers: each decimal is its integer mantissa over a power of
//! ten, and `Π l_i ⋚ Π r_j` is decided as `Π m(l_i) · 10^{Σ s(r_j)} ⋚ Π m(r_j) · 10^{Σ s(l_i)}`.
//! Nothing rounds, nothing overflows, nothing panics, whatever the magnitudes.

use std::cmp::Ordering;

use pbm_types::Decimal;

/// A non-negative integer of any size, as little-endian base-2³² limbs without high zero limbs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Natural(Vec<u32>);

impl Natural {
    fn from_u128(mut v: u128) -> Self {
        let mut limbs = Vec::with_capacity(4);
        while v > 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        Natural(limbs)
    }

    fn mul(&self, other: &Natural) -> Natural {
        if self.0.is_empty() || other.0.is_empty() {
            return Natural(Vec::new());
        }
        let mut out = vec![0u32; self.0.len() + other.0.len()];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &b) in other.0.iter().enumerate() {
                let t = u64::from(a) * u64::from(b) + u64::from(out[i + j]) + carry;
                out[i + j] = t as u32;
                carry = t >> 32;
            }
            let mut k = i + other.0.len();
            while carry > 0 {
                let t = u64::from(out[k]) + carry;
                out[k] = t as u32;
                carry = t >> 32;
                k += 1;
            }
        }
        while out.last() == Some(&0) {
            out.pop();
        }
        Natural(out)
    }

    fn times_pow10(&self, mut exp: u32) -> Natural {
        let mut n = self.clone();
        while exp > 0 {
            let step = exp.min(19);
            n = n.mul(&Natural::from_u128(10u128.pow(step)));
            exp -= step;
        }
        n
    }

    fn cmp(&self, other: &Natural) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

/// The sign (−1, 0, 1) and the magnitude (mantissa, scale) of a product of decimals.
fn product(factors: &[Decimal]) -> (i8, Natural, u32) {
    let mut sign = 1i8;
    let mut magnitude = Natural::from_u128(1);
    let mut scale = 0u32;
    for f in factors {
        if f.is_zero() {
            return (0, Natural(Vec::new()), 0);
        }
        if f.is_sign_negative() {
            sign = -sign;
        }
        magnitude = magnitude.mul(&Natural::from_u128(f.mantissa().unsigned_abs()));
        scale += f.scale();
    }
    (sign, magnitude, scale)
}

/// Compares `Π lhs` with `Π rhs` exactly (an empty product is 1).
pub fn cmp_products(lhs: &[Decimal], rhs: &[Decimal]) -> Ordering {
    let (ls, lm, lscale) = product(lhs);
    let (rs, rm, rscale) = product(rhs);
    if ls != rs {
        return ls.cmp(&rs);
    }
    if ls == 0 {
        return Ordering::Equal;
    }
    let magnitudes = lm.times_pow10(rscale).cmp(&rm.times_pow10(lscale));
    if ls > 0 {
        magnitudes
    } else {
        magnitudes.reverse()
    }
}

/// `Π lhs < Π rhs`, exactly.
pub fn lt(lhs: &[Decimal], rhs: &[Decimal]) -> bool {
    cmp_products(lhs, rhs) == Ordering::Less
}

/// `Π lhs ≤ Π rhs`, exactly.
pub fn le(lhs: &[Decimal], rhs: &[Decimal]) -> bool {
    cmp_products(lhs, rhs) != Ordering::Greater
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn compares_small_products() {
        assert_eq!(
            cmp_products(&[dec!(1200), dec!(3)], &[dec!(60), dec!(10), dec!(6)]),
            Ordering::Equal
        );
        assert_eq!(
            cmp_products(&[dec!(1200), dec!(3.01)], &[dec!(60), dec!(10), dec!(6)]),
            Ordering::Greater
        );
        assert!(lt(&[dec!(0.1), dec!(0.2)], &[dec!(0.03)]));
        assert!(!lt(&[dec!(0.1), dec!(0.2)], &[dec!(0.02)]));
        assert!(le(&[dec!(0.1), dec!(0.2)], &[dec!(0.02)]));
        assert!(lt(&[dec!(-5)], &[dec!(0)]));
        assert!(lt(&[dec!(-5), dec!(2)], &[dec!(-3), dec!(3)]));
        assert!(le(&[], &[dec!(1.000)]));
        assert_eq!(cmp_products(&[dec!(0)], &[dec!(-0)]), Ordering::Equal);
    }

    #[test]
    fn keeps_every_digit_where_decimal_products_would_round() {
        // Both sides are 10^56-ish; Decimal could not even hold them.
        let big = Decimal::MAX;
        assert!(lt(
            &[big, big, dec!(1)],
            &[big, big, dec!(1.0000000000000000000000000001)]
        ));
        let tiny = dec!(0.0000000000000000000000000001);
        assert!(lt(&[tiny, tiny], &[tiny, tiny, dec!(1.1)]));
        assert!(lt(&[tiny], &[big]));
    }

    /// A reference in decimal digits (big-endian base 10), independent of the limb code.
    fn digits_of(d: Decimal) -> (bool, Vec<u8>, u32) {
        let m = d.mantissa();
        let digits = m
            .unsigned_abs()
            .to_string()
            .bytes()
            .map(|b| b - b'0')
            .collect();
        (m < 0, digits, d.scale())
    }

    fn mul_digits(a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut out = vec![0u32; a.len() + b.len()];
        for (i, &x) in a.iter().rev().enumerate() {
            for (j, &y) in b.iter().rev().enumerate() {
                out[i + j] += u32::from(x) * u32::from(y);
            }
        }
        for k in 0..out.len() - 1 {
            out[k + 1] += out[k] / 10;
            out[k] %= 10;
        }
        let mut big_endian: Vec<u8> = out.iter().rev().map(|&d| d as u8).collect();
        while big_endian.len() > 1 && big_endian[0] == 0 {
            big_endian.remove(0);
        }
        big_endian
    }

    /// The product as a sign and a decimal string scaled to `scale` places.
    fn reference(factors: &[Decimal], scale: u32) -> (i8, Vec<u8>) {
        let mut digits = vec![1u8];
        let mut negative = false;
        let mut total_scale = 0;
        for f in factors {
            let (neg, d, s) = digits_of(*f);
            negative ^= neg;
            digits = mul_digits(&digits, &d);
            total_scale += s;
        }
        digits.extend(std::iter::repeat_n(0, (scale - total_scale) as usize));
        if digits.iter().all(|&d| d == 0) {
            return (0, vec![0]);
        }
        (if negative { -1 } else { 1 }, digits)
    }

    fn reference_cmp(lhs: &[Decimal], rhs: &[Decimal]) -> Ordering {
        let scale = |fs: &[Decimal]| fs.iter().map(|f| f.scale()).sum::<u32>();
        let s = scale(lhs).max(scale(rhs));
        let (ls, ld) = reference(lhs, s);
        let (rs, rd) = reference(rhs, s);
        if ls != rs {
            return ls.cmp(&rs);
        }
        let mag = ld.len().cmp(&rd.len()).then_with(|| ld.cmp(&rd));
        if ls < 0 { mag.reverse() } else { mag }
    }

    fn arb_decimal() -> impl Strategy<Value = Decimal> {
        (any::<i64>(), 0u32..=10).prop_map(|(m, s)| Decimal::new(m, s))
    }

    proptest! {
        /// Products of up to four factors of up to 19 digits: up to ~76 digits each side, and
        /// the limb arithmetic agrees with schoolbook decimal multiplication.
        #[test]
        fn agrees_with_a_decimal_digit_reference(
            lhs in prop::collection::vec(arb_decimal(), 0..4),
            rhs in prop::collection::vec(arb_decimal(), 0..4),
        ) {
            prop_assert_eq!(cmp_products(&lhs, &rhs), reference_cmp(&lhs, &rhs));
            prop_assert_eq!(cmp_products(&rhs, &lhs), reference_cmp(&lhs, &rhs).reverse());
        }
    }
}
