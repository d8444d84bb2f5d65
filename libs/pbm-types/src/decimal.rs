//! Exact decimals for money (元), scores and ratios.
//!
//! docs/DOMAIN.md "Exact numbers and rounding": money is exact decimal, 元 with two places;
//! scores are exact decimals with two places, rounded half-up. Never floating point.

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::ParseError;

/// Most fractional digits accepted on input (the database columns keep 4).
pub const MAX_SCALE: u32 = 4;

/// Parses a decimal written as plain digits (`"1234.50"`, `"-3"`), rejecting exponents,
/// thousands separators, NaN and more than [`MAX_SCALE`] fractional digits.
pub fn parse(text: &str) -> Result<Decimal, ParseError> {
    let text = text.trim();
    let plain = !text.is_empty()
        && text
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+')))
        && text.chars().filter(|c| *c == '.').count() <= 1
        && text.chars().any(|c| c.is_ascii_digit());
    if !plain {
        return Err(ParseError::new(
            "DECIMAL_INVALID",
            format!("「{text}」不是有效的数字"),
        ));
    }
    let value = Decimal::from_str(text)
        .map_err(|_| ParseError::new("DECIMAL_INVALID", format!("「{text}」不是有效的数字")))?;
    if value.scale() > MAX_SCALE {
        return Err(ParseError::new(
            "DECIMAL_TOO_PRECISE",
            format!("「{text}」最多保留{MAX_SCALE}位小数"),
        ));
    }
    Ok(value)
}

/// Rounds money to 分 (two places), half-up (四舍五入).
pub fn round_money(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Rounds a score to two places, half-up.
pub fn round_score(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Canonical text of a decimal for the wire: no trailing zeros beyond the value's meaning
/// (`6.6000` from PostgreSQL and `6.6` from SQLite both become `"6.6"`).
pub fn to_wire(value: Decimal) -> String {
    value.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn parses_plain_decimals() {
        assert_eq!(parse("1234.50").unwrap(), dec!(1234.50));
        assert_eq!(parse(" -3 ").unwrap(), dec!(-3));
        assert_eq!(parse("0.0001").unwrap(), dec!(0.0001));
    }

    #[test]
    fn rejects_floats_and_garbage() {
        for bad in [
            "", "abc", "1e5", "1,000", "NaN", "1.2.3", "-", ".", "0.00001",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn rounds_half_up() {
        assert_eq!(round_money(dec!(0.125)), dec!(0.13));
        assert_eq!(round_score(dec!(89.995)), dec!(90.00));
        assert_eq!(round_score(dec!(-0.005)), dec!(-0.01));
    }

    #[test]
    fn wire_form_is_canonical() {
        assert_eq!(to_wire(dec!(6.6000)), "6.6");
        assert_eq!(to_wire(dec!(100)), "100");
    }
}
