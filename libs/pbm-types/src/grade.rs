use rust_decimal::Decimal;

/// 评价等级.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grade {
    /// 差
    Poor,
    /// 中
    Fair,
    /// 良
    Good,
    /// 优
    Excellent,
}

impl Grade {
    pub fn chinese(self) -> &'static str {
        match self {
            Grade::Excellent => "优",
            Grade::Good => "良",
            Grade::Fair => "中",
            Grade::Poor => "差",
        }
    }
}

/// Lower bounds of 优, 良 and 中. Configuration per region and fiscal year (docs/DOMAIN.md
/// "Grades and vetoes", 财预〔2020〕10号: default 90/80/60; one province uses 80/70/60).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradeBands {
    pub excellent: Decimal,
    pub good: Decimal,
    pub fair: Decimal,
}

impl Default for GradeBands {
    fn default() -> Self {
        Self {
            excellent: Decimal::from(90),
            good: Decimal::from(80),
            fair: Decimal::from(60),
        }
    }
}

impl GradeBands {
    /// Returns the grade of a score: 优 ≥ excellent, 良 ≥ good, 中 ≥ fair, else 差.
    pub fn grade(&self, score: Decimal) -> Grade {
        if score >= self.excellent {
            Grade::Excellent
        } else if score >= self.good {
            Grade::Good
        } else if score >= self.fair {
            Grade::Fair
        } else {
            Grade::Poor
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn default_bands_follow_national_practice() {
        let bands = GradeBands::default();
        assert_eq!(bands.grade(dec!(90)), Grade::Excellent);
        assert_eq!(bands.grade(dec!(89.99)), Grade::Good);
        assert_eq!(bands.grade(dec!(60)), Grade::Fair);
        assert_eq!(bands.grade(dec!(59.99)), Grade::Poor);
    }

    proptest! {
        #[test]
        fn grade_is_monotone_in_score(a in 0i64..10_000, b in 0i64..10_000) {
            let bands = GradeBands::default();
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(bands.grade(Decimal::new(lo, 2)) <= bands.grade(Decimal::new(hi, 2)));
        }
    }
}
