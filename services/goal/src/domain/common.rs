//! Primitives shared by the goal rules: the budget year, field violations, and exact parsing
//! of the numbers a budget unit types into a goal table.
//!
//! docs/DOMAIN.md "Exact numbers and rounding": money is exact decimal (元, two places), scores
//! are exact decimals; never floating point. Numbers typed by people are parsed here once, into
//! a `Decimal`, at the edge ("parse, don't validate"), so every other module works on
//! `Decimal`.

use std::str::FromStr;

use rust_decimal::Decimal;

/// A budget year (预算年度, `FISCAL_YEAR`), 2000–2100: the platform's own type.
pub use pbm_types::FiscalYear;

/// A budget year typed into a form: an out-of-range one is a `FISCAL_YEAR_INVALID` violation
/// on field `fiscal_year`.
pub fn fiscal_year(year: i32) -> Result<FiscalYear, FieldViolation> {
    FiscalYear::new(year).map_err(|e| FieldViolation::new("fiscal_year", e.reason, e.message))
}

/// Reason code of an out-of-range fiscal year (as `pbm_types::FiscalYear` reports it).
pub const FISCAL_YEAR_INVALID: &str = "FISCAL_YEAR_INVALID";

/// One refused field: where (`indicators[3].target_value`), why as a stable machine code
/// (`MISSING_OUTPUT_INDICATOR`), and a Chinese message a finance clerk understands: the
/// platform's one field-violation type.
pub use pbm_types::FieldViolation;

/// Most fractional digits accepted in a declared target value (the database keeps 4, as in
/// `pbm_types::decimal::MAX_SCALE`).
pub const MAX_TARGET_SCALE: u32 = 4;

/// Why a declared text is not a plain number. Each variant carries what the Chinese hint
/// needs, so the clerk learns how to fix the cell, not only that it is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberProblem {
    /// Nothing was typed.
    Empty,
    /// The text starts with a comparison sign (`≥95`): the direction has its own column.
    StartsWithDirection,
    /// A number followed by a unit (`95%`, `3万元`): the unit has its own column.
    HasUnit {
        /// The number before the unit.
        number: Decimal,
        /// What followed the number.
        suffix: String,
    },
    /// Thousands separators (`1,000`).
    ThousandsSeparator,
    /// More than [`MAX_TARGET_SCALE`] fractional digits.
    TooPrecise,
    /// Anything else (`很多`, `1e5`, `1.2.3`).
    NotANumber,
}

impl NumberProblem {
    /// A Chinese hint for the clerk.
    pub fn chinese(&self) -> String {
        match self {
            NumberProblem::Empty => "未填写".into(),
            NumberProblem::StartsWithDirection => {
                "不要在指标值中填写“≥、≤、=”等符号，请在“指标方向”中选择，指标值只填数字".into()
            }
            NumberProblem::HasUnit { number, suffix } => {
                format!("指标值应只填数字，“{suffix}”请填入计量单位（例如指标值填 {number}）")
            }
            NumberProblem::ThousandsSeparator => "不要使用千位分隔符“,”".into(),
            NumberProblem::TooPrecise => format!("最多保留{MAX_TARGET_SCALE}位小数"),
            NumberProblem::NotANumber => "不是有效的数字".into(),
        }
    }
}

/// Maps full-width digits, point and signs (common when typing in a Chinese IME or pasting
/// from Word) to ASCII; other characters are kept.
fn to_half_width(c: char) -> char {
    match c {
        '０'..='９' => {
            char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c)
        }
        '．' | '。' => '.',
        '－' | '−' => '-',
        '＋' => '+',
        '，' => ',',
        other => other,
    }
}

fn is_plain_number(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit())
}

/// Parses a number typed into a goal table: optional sign, digits, at most one decimal point,
/// at most [`MAX_TARGET_SCALE`] fractional digits. Full-width digits are accepted; exponents,
/// thousands separators, units and comparison signs are refused with a hint.
pub fn parse_declared_number(text: &str) -> Result<Decimal, NumberProblem> {
    let normalized: String = text.trim().chars().map(to_half_width).collect();
    let s = normalized.trim();
    if s.is_empty() {
        return Err(NumberProblem::Empty);
    }
    if s.starts_with(['≥', '≤', '=', '>', '<', '＞', '＜', '＝']) {
        return Err(NumberProblem::StartsWithDirection);
    }
    if s.contains(',') {
        return Err(NumberProblem::ThousandsSeparator);
    }
    if !is_plain_number(s) {
        // "95%" or "3万元": the longest plain-number prefix followed by a non-numeric suffix.
        let split = s
            .char_indices()
            .find(|(i, c)| {
                !(c.is_ascii_digit() || *c == '.' || (*i == 0 && matches!(c, '-' | '+')))
            })
            .map(|(i, _)| i);
        if let Some(at) = split {
            let (number, suffix) = s.split_at(at);
            let suffix = suffix.trim();
            let looks_like_unit = !suffix.is_empty() && !suffix.starts_with(['e', 'E', '.']);
            if is_plain_number(number)
                && looks_like_unit
                && let Ok(number) = Decimal::from_str(number)
            {
                return Err(NumberProblem::HasUnit {
                    number,
                    suffix: suffix.to_owned(),
                });
            }
        }
        return Err(NumberProblem::NotANumber);
    }
    let value = Decimal::from_str(s).map_err(|_| NumberProblem::NotANumber)?;
    if value.scale() > MAX_TARGET_SCALE {
        return Err(NumberProblem::TooPrecise);
    }
    Ok(value)
}

/// True when `value` needs at most `places` fractional digits (`1.50` and `1.5000` both need
/// one).
pub fn has_at_most_places(value: Decimal, places: u32) -> bool {
    value.normalize().scale() <= places
}

/// Number of characters (not bytes): limits in the rules are in characters (字), and one
/// Chinese character is three bytes in UTF-8.
pub fn char_count(text: &str) -> usize {
    text.chars().count()
}

/// Reason code of a date outside the years PBM serves.
pub const DATE_OUT_OF_RANGE: &str = "DATE_OUT_OF_RANGE";

/// A date typed into a request (a deadline, the day a report was completed) within the budget
/// years PBM serves, [`FiscalYear::MIN`]–[`FiscalYear::MAX`]: a year 0000 or 9999 is a typing
/// mistake, not a date, and is a `DATE_OUT_OF_RANGE` violation on `field` (「`label`」 in the
/// message).
pub fn date_in_range(
    field: &str,
    label: &str,
    date: chrono::NaiveDate,
) -> Result<chrono::NaiveDate, FieldViolation> {
    use chrono::Datelike;
    if (FiscalYear::MIN..=FiscalYear::MAX).contains(&date.year()) {
        Ok(date)
    } else {
        Err(FieldViolation::new(
            field,
            DATE_OUT_OF_RANGE,
            format!(
                "「{label}」{date} 无效：年份应在 {}–{} 之间",
                FiscalYear::MIN,
                FiscalYear::MAX
            ),
        ))
    }
}

/// Shows a decimal without insignificant trailing zeros (`6.6000` → `6.6`).
pub fn show(value: Decimal) -> String {
    value.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_lie_in_the_years_pbm_serves() {
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap();
        for ok in [d(2000, 1, 1), d(2026, 3, 31), d(2100, 12, 31)] {
            assert_eq!(date_in_range("due_on", "截止日期", ok), Ok(ok));
        }
        for bad in [d(0, 1, 1), d(1999, 12, 31), d(2101, 1, 1), d(9999, 12, 31)] {
            let v = date_in_range("due_on", "截止日期", bad).unwrap_err();
            assert_eq!((v.field.as_str(), v.reason), ("due_on", DATE_OUT_OF_RANGE));
        }
        assert_eq!(
            date_in_range("due_on", "截止日期", d(0, 1, 1))
                .unwrap_err()
                .message,
            "「截止日期」0000-01-01 无效：年份应在 2000–2100 之间"
        );
    }
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn fiscal_year_accepts_the_supported_range_only() {
        assert_eq!(FiscalYear::new(2026).unwrap().get(), 2026);
        for bad in [0, 1999, 2101] {
            let v = fiscal_year(bad).unwrap_err();
            assert_eq!(
                (v.field.as_str(), v.reason),
                ("fiscal_year", FISCAL_YEAR_INVALID)
            );
        }
        let json = serde_json::to_string(&FiscalYear::new(2026).unwrap()).unwrap();
        assert_eq!(json, "2026");
        assert!(serde_json::from_str::<FiscalYear>("1999").is_err());
    }

    #[test]
    fn parses_plain_and_full_width_numbers() {
        assert_eq!(parse_declared_number(" 95 "), Ok(dec!(95)));
        assert_eq!(parse_declared_number("-3.5"), Ok(dec!(-3.5)));
        assert_eq!(parse_declared_number("０．５"), Ok(dec!(0.5)));
        assert_eq!(parse_declared_number("１２００"), Ok(dec!(1200)));
        assert_eq!(parse_declared_number("0.0001"), Ok(dec!(0.0001)));
    }

    #[test]
    fn refuses_non_numbers_with_a_hint() {
        assert_eq!(parse_declared_number("  "), Err(NumberProblem::Empty));
        assert_eq!(
            parse_declared_number("≥95"),
            Err(NumberProblem::StartsWithDirection)
        );
        assert_eq!(
            parse_declared_number("1,000"),
            Err(NumberProblem::ThousandsSeparator)
        );
        assert_eq!(
            parse_declared_number("1，000"),
            Err(NumberProblem::ThousandsSeparator)
        );
        assert_eq!(
            parse_declared_number("0.00001"),
            Err(NumberProblem::TooPrecise)
        );
        assert_eq!(
            parse_declared_number("95%"),
            Err(NumberProblem::HasUnit {
                number: dec!(95),
                suffix: "%".into()
            })
        );
        let hint = parse_declared_number("3 万元").unwrap_err().chinese();
        assert!(hint.contains("“万元”请填入计量单位"), "{hint}");
        for bad in ["很多", "1e5", "1.2.3", "-", ".", "NaN", "e5"] {
            assert_eq!(
                parse_declared_number(bad),
                Err(NumberProblem::NotANumber),
                "{bad}"
            );
        }
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert_eq!(char_count("立项必要性"), 5);
        assert_eq!("立项必要性".len(), 15);
    }

    #[test]
    fn places_ignore_trailing_zeros() {
        assert!(has_at_most_places(dec!(1.5000), 2));
        assert!(has_at_most_places(dec!(100), 0));
        assert!(!has_at_most_places(dec!(0.001), 2));
        assert_eq!(show(dec!(6.6000)), "6.6");
    }

    proptest! {
        #[test]
        fn every_plain_decimal_round_trips(
            units in -1_000_000_000i64..1_000_000_000,
            scale in 0u32..=4
        ) {
            let value = Decimal::new(units, scale);
            prop_assert_eq!(parse_declared_number(&value.to_string()), Ok(value));
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,12}") {
            let _ = parse_declared_number(&text);
        }
    }
}
