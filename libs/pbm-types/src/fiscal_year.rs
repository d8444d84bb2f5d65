use std::fmt;

use crate::ParseError;

/// A budget year (预算年度), 2000–2100.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "i32", into = "i32")]
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

/// Deserialising checks the range too: a stored or received year is as valid as a typed one.
impl TryFrom<i32> for FiscalYear {
    type Error = String;

    fn try_from(year: i32) -> Result<Self, Self::Error> {
        Self::new(year).map_err(|e| e.message)
    }
}

impl From<FiscalYear> for i32 {
    fn from(year: FiscalYear) -> i32 {
        year.0
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

    #[test]
    fn serialises_as_a_number_and_checks_the_range_when_read() {
        let json = serde_json::to_string(&FiscalYear::new(2026).unwrap()).unwrap();
        assert_eq!(json, "2026");
        assert_eq!(
            serde_json::from_str::<FiscalYear>("2026").unwrap().get(),
            2026
        );
        assert!(serde_json::from_str::<FiscalYear>("1999").is_err());
    }
}
