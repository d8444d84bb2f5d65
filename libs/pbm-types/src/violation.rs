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
    fn under_prefixes_the_path() {
        let v = FieldViolation::generic("unit", "m").under("spec.");
        assert_eq!(v.field, "spec.unit");
        assert_eq!(v.to_string(), "spec.unit: m (VALIDATION_FAILED)");
    }
}
