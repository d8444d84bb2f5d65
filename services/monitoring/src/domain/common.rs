//! Primitives shared by the monitoring rules: the month of a round, how numbers are shown in a
//! warning's explanation, and the text form of decimals in the rules' JSON.
//!
//! docs/DOMAIN.md "Exact numbers and rounding": money is an exact decimal in 元 with two places,
//! shown values are rounded half-up to two places, and nothing is computed in floating point.

use pbm_types::Decimal;
use pbm_types::decimal::{round_money, round_score};
use serde::{Deserialize, Deserializer, Serializer};

/// One refused field (path, stable reason code, Chinese message): the platform's one
/// field-violation type.
pub use pbm_types::FieldViolation;

/// A month of the fiscal year, 1–12: the round's months `1..M` end at `M`.
pub fn month_valid(month: u8) -> bool {
    (1..=12).contains(&month)
}

/// A displayed value: rounded half-up to two places and always shown with two (`60.00`).
pub fn round2(value: Decimal) -> Decimal {
    let mut v = round_score(value);
    v.rescale(2);
    v
}

/// Money in 元 as a finance clerk reads it: two places, half-up, thousands separated
/// (`3,000,000.00`).
pub fn money(value: Decimal) -> String {
    let mut v = round_money(value);
    v.rescale(2);
    let text = v.abs().to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3 + 4);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v.is_sign_negative() && !v.is_zero() {
        "-"
    } else {
        ""
    };
    format!("{sign}{grouped}.{frac}")
}

/// A value or a band as typed, without insignificant zeros (`80`, `62.5`).
pub fn plain(value: Decimal) -> String {
    value.normalize().to_string()
}

/// A displayed value with two places (`60.00`).
pub fn two_places(value: Decimal) -> String {
    round2(value).to_string()
}

/// Serde for a decimal kept as JSON text (`"60"`), never as a JSON number, so that no value of
/// the rules passes through a binary floating-point number on the way in.
pub mod decimal_text {
    use super::*;

    /// Writes the canonical text (`pbm_types::decimal::to_wire`).
    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&pbm_types::decimal::to_wire(*value))
    }

    /// Reads plain decimal text (`pbm_types::decimal::parse`); a JSON number is refused.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(d)?;
        pbm_types::decimal::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn money_is_grouped_with_two_places() {
        assert_eq!(money(dec!(3000000)), "3,000,000.00");
        assert_eq!(money(dec!(10000000.005)), "10,000,000.01");
        assert_eq!(money(dec!(999.994)), "999.99");
        assert_eq!(money(dec!(0)), "0.00");
        assert_eq!(money(dec!(-1234.5)), "-1,234.50");
        assert_eq!(money(dec!(100000)), "100,000.00");
    }

    #[test]
    fn displayed_values_round_half_up() {
        assert_eq!(two_places(dec!(60)), "60.00");
        assert_eq!(two_places(dec!(57.335)), "57.34");
        assert_eq!(two_places(dec!(57.3349)), "57.33");
        assert_eq!(plain(dec!(80.00)), "80");
        assert!(month_valid(1) && month_valid(12));
        assert!(!month_valid(0) && !month_valid(13));
    }
}
