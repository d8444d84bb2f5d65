use std::fmt;

use crate::ParseError;

/// Level of an administrative division, read from its 6-digit code (GB/T 2260):
/// `XX0000` province, `XXYY00` city, anything else county.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DivisionLevel {
    Province,
    City,
    County,
}

/// The 6-digit 财政区划 code (`MOF_DIV_CODE`) identifying a deployment's region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DivisionCode(String);

impl DivisionCode {
    pub fn parse(code: &str) -> Result<Self, ParseError> {
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(ParseError::new(
                "DIVISION_CODE_INVALID",
                format!("财政区划代码「{code}」无效，应为6位数字"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> DivisionLevel {
        if &self.0[2..] == "0000" {
            DivisionLevel::Province
        } else if &self.0[4..] == "00" {
            DivisionLevel::City
        } else {
            DivisionLevel::County
        }
    }

    /// True when `self` is `other` or one of its ancestors (市县联动: a city oversees its
    /// counties, a province its cities and counties).
    pub fn covers(&self, other: &DivisionCode) -> bool {
        match self.level() {
            DivisionLevel::Province => self.0[..2] == other.0[..2],
            DivisionLevel::City => self.0[..4] == other.0[..4],
            DivisionLevel::County => self.0 == other.0,
        }
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).unwrap()
    }

    #[test]
    fn reads_level_from_code() {
        assert_eq!(code("140000").level(), DivisionLevel::Province);
        assert_eq!(code("140500").level(), DivisionLevel::City);
        assert_eq!(code("140525").level(), DivisionLevel::County);
    }

    #[test]
    fn ancestors_cover_descendants_only() {
        assert!(code("140000").covers(&code("140525")));
        assert!(code("140500").covers(&code("140525")));
        assert!(code("140525").covers(&code("140525")));
        assert!(!code("140525").covers(&code("140500")));
        assert!(!code("140600").covers(&code("140525")));
        assert!(!code("360000").covers(&code("140525")));
    }

    #[test]
    fn rejects_malformed_codes() {
        for bad in ["", "14050", "1405000", "14050a"] {
            assert!(DivisionCode::parse(bad).is_err());
        }
    }
}
