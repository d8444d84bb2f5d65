use std::fmt;

use crate::ParseError;

/// A budget year (预算年度), 2000–2100.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct FiscalYear(i32);

impl FiscalYear {
    pub const MIN: i32 = 2000;
    pub const MAX: i32 = 2100;

    pub fn new(year: i32) -> Result<Self, ParseError> {
        if (Self::MIN..=Self::MAX).contains(&year) {
            Ok(Self(year))
        } else {
            Err(ParseError::new(
                "FISCAL_YEAR_INVALID",
                format!(
                    "预算年度 {year} 无效，应在 {}–{} 之间",
                    Self::MIN,
                    Self::MAX
                ),
            ))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

impl fmt::Display for FiscalYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_supported_range_only() {
        assert_eq!(FiscalYear::new(2026).unwrap().get(), 2026);
        assert!(FiscalYear::new(0).is_err());
        assert!(FiscalYear::new(1999).is_err());
        assert!(FiscalYear::new(2101).is_err());
    }
}
