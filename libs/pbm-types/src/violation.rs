//! The one field-violation type: what every layer (pure domain rules, conversions of requests,
//! use cases) reports about a refused field, and what `pbm-server` sends as a
//! `google.rpc.BadRequest` field violation.

use std::fmt;

use serde::Serialize;

/// One refused field: where (`indicators[3].target_value`), why as a stable machine code
/// (`MISSING_OUTPUT_INDICATOR`), and a Chinese message a finance clerk understands (sent as the
/// `BadRequest.FieldViolation` description).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldViolation {
    /// Path of the field, with 0-based indexes (`indicators[0].unit`).
    pub field: String,
    /// Stable reason code, SCREAMING_SNAKE_CASE; [`FieldViolation::GENERIC`] when the rule
    /// has no code of its own.
    pub reason: &'static str,
    /// Message for people, in Chinese; indicators are numbered from 1 (第1条指标).
    pub message: String,
}

impl FieldViolation {
    /// The reason of a violation whose rule has no specific code.
    pub const GENERIC: &'static str = "VALIDATION_FAILED";

    /// Builds a violation.
    pub fn new(field: impl Into<String>, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason,
            message: message.into(),
        }
    }

    /// A violation without a specific reason code ([`FieldViolation::GENERIC`]).
    pub fn generic(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(field, Self::GENERIC, message)
    }

    /// The same violation under `prefix` (`spec.` + `unit` → `spec.unit`).
    #[must_use]
    pub fn under(mut self, prefix: &str) -> Self {
        if !prefix.is_empty() {
            self.field = format!("{prefix}{}", self.field);
        }
        self
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.reason)
    }
}

/// Reason of a text longer than its field's stated maximum ([`check_len`]).
pub const TEXT_TOO_LONG: &str = "TEXT_TOO_LONG";

/// The one check of a text field's stated maximum length, in characters (Unicode scalar
/// values, as a clerk counts 汉字): `None` within it, else a [`TEXT_TOO_LONG`] violation on
/// `field` saying 「`label`」不能超过 `max` 个字符. Cheap on the common path: a text of at most
/// `max` bytes is within `max` characters, so only longer ones are counted.
pub fn check_len(field: &str, label: &str, value: &str, max: usize) -> Option<FieldViolation> {
    if value.len() <= max {
        return None;
    }
    let n = value.chars().count();
    (n > max).then(|| {
        FieldViolation::new(
            field,
            TEXT_TOO_LONG,
            format!("「{label}」不能超过 {max} 个字符（现有 {n} 个字符）"),
        )
    })
}

/// The reason a set of violations is reported under in `google.rpc.ErrorInfo`: their common
/// specific code when they all share one (a bad 统一社会信用代码 alone is `CREDIT_CODE_INVALID`),
/// else [`FieldViolation::GENERIC`].
pub fn common_reason(violations: &[FieldViolation]) -> &'static str {
    match violations.split_first() {
        Some((first, rest)) if rest.iter().all(|v| v.reason == first.reason) => first.reason,
        _ => FieldViolation::GENERIC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_specific_reason_is_the_reason_of_all() {
        let v = [
            FieldViolation::new("a", "CREDIT_CODE_INVALID", "x"),
            FieldViolation::new("b", "CREDIT_CODE_INVALID", "y"),
        ];
        assert_eq!(common_reason(&v), "CREDIT_CODE_INVALID");
    }

    #[test]
    fn mixed_or_no_reasons_are_generic() {
        let v = [
            FieldViolation::new("a", "CREDIT_CODE_INVALID", "x"),
            FieldViolation::generic("b", "y"),
        ];
        assert_eq!(common_reason(&v), FieldViolation::GENERIC);
        assert_eq!(common_reason(&[]), FieldViolation::GENERIC);
    }

    #[test]
    fn texts_are_measured_in_characters() {
        // 2,000 汉字 are 6,000 bytes and still within 2,000 characters.
        assert_eq!(
            check_len("year_goal", "年度目标", &"目".repeat(2000), 2000),
            None
        );
        assert_eq!(check_len("code", "编码", "", 0), None);
        let v = check_len("year_goal", "年度目标", &"目".repeat(2001), 2000).unwrap();
        assert_eq!(v.field, "year_goal");
        assert_eq!(v.reason, TEXT_TOO_LONG);
        assert_eq!(
            v.message,
            "「年度目标」不能超过 2000 个字符（现有 2001 个字符）"
        );
        // A mebibyte is refused, whatever it is made of.
        let huge = "x".repeat(1 << 20);
        assert_eq!(
            check_len("f", "f", &huge, 4000).map(|v| v.reason),
            Some(TEXT_TOO_LONG)
        );
    }

    #[test]
    fn under_prefixes_the_path() {
        let v = FieldViolation::generic("unit", "m").under("spec.");
        assert_eq!(v.field, "spec.unit");
        assert_eq!(v.to_string(), "spec.unit: m (VALIDATION_FAILED)");
    }
}
