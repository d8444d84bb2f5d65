//! The longest text a request's string field may carry. Every service states the maximum of
//! each of its contract's string fields on the field in its `.proto` files and checks them where
//! the request is parsed, collecting one `TEXT_TOO_LONG` violation ([`pbm_types::check_len`])
//! per field over its maximum, every field at once, before anything reads the texts. The
//! classes of maxima are the same for every service.

use pbm_proto::common::v1 as common;
use pbm_types::{FieldViolation, check_len};

use crate::ApiError;

/// Codes (project, unit, department, library, credit codes), the words of an enumeration,
/// field codes and dates.
pub const CODE: usize = 64;
/// Names (a project's, an indicator's, a frame node's) and units.
pub const NAME: usize = 200;
/// Short texts: a target value, a change note, a rules label, a status change's reason.
pub const SHORT: usize = 500;
/// Narrative texts: goals, explanations, formulas, comments, reasons, opinions, summaries.
pub const LONG: usize = 4000;
/// The text of a decimal (an amount, a weight, a score).
pub const NUMBER: usize = 64;

/// The texts of a request over their maxima.
#[derive(Debug, Default)]
pub struct Texts(Vec<FieldViolation>);

impl Texts {
    /// `value` of field `at` + `field` (「`label`」) within `max` characters.
    pub fn text(&mut self, at: &str, field: &str, label: &str, value: &str, max: usize) {
        // The path is only built for a text that may be over (its bytes are).
        if value.len() > max {
            self.0
                .extend(check_len(&format!("{at}{field}"), label, value, max));
        }
    }

    /// Each of `values` within `max` characters (`field[i]`).
    pub fn each(&mut self, at: &str, field: &str, label: &str, values: &[String], max: usize) {
        for (i, v) in values.iter().enumerate() {
            if v.len() > max {
                self.text(at, &format!("{field}[{i}]"), label, v, max);
            }
        }
    }

    /// A decimal's text within [`NUMBER`] characters.
    pub fn number(&mut self, at: &str, field: &str, label: &str, value: Option<&common::Decimal>) {
        if let Some(d) = value {
            self.text(at, field, label, &d.value, NUMBER);
        }
    }

    /// The violations found.
    pub fn violations(self) -> Vec<FieldViolation> {
        self.0
    }

    /// Every violation found, as the API's refusal (`INVALID_ARGUMENT TEXT_TOO_LONG`).
    pub fn check(self) -> Result<(), ApiError> {
        ApiError::check(self.0)
    }
}

/// A request message (or a message inside one) of contract `C` whose texts have stated maxima.
/// `C` is a type of the service that states them (e.g. `pbm_goal::convert::limits::Goal`), so
/// each service implements this for its own contract's generated messages.
pub trait Bounded<C> {
    /// Adds a violation for every text over its maximum, field paths under `at`.
    fn bound(&self, t: &mut Texts, at: &str);
}

impl<C, T: Bounded<C>> Bounded<C> for Option<T> {
    fn bound(&self, t: &mut Texts, at: &str) {
        if let Some(m) = self {
            m.bound(t, at);
        }
    }
}

/// `m`'s texts within their maxima, or `INVALID_ARGUMENT TEXT_TOO_LONG` with one violation per
/// field over.
pub fn check<C>(m: &impl Bounded<C>) -> Result<(), ApiError> {
    check_under(m, "")
}

/// [`check`] of a message inside a request, field paths under `at` (`declaration.`).
pub fn check_under<C>(m: &impl Bounded<C>, at: &str) -> Result<(), ApiError> {
    ApiError::check(violations(m, at))
}

/// The violations of `m`'s texts over their maxima, field paths under `at`.
pub fn violations<C>(m: &impl Bounded<C>, at: &str) -> Vec<FieldViolation> {
    let mut texts = Texts::default();
    m.bound(&mut texts, at);
    texts.violations()
}

/// A message inside a request, under `at` + `field` + `.`.
pub fn nested<C>(t: &mut Texts, at: &str, field: &str, m: &impl Bounded<C>) {
    m.bound(t, &format!("{at}{field}."));
}

/// Repeated messages, under `at` + `field[i].`.
pub fn each_nested<C, M: Bounded<C>>(t: &mut Texts, at: &str, field: &str, list: &[M]) {
    for (i, m) in list.iter().enumerate() {
        m.bound(t, &format!("{at}{field}[{i}]."));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Test {}

    struct Spec {
        name: String,
        tags: Vec<String>,
    }

    impl Bounded<Test> for Spec {
        fn bound(&self, t: &mut Texts, at: &str) {
            t.text(at, "name", "名称", &self.name, NAME);
            t.each(at, "tags", "标签", &self.tags, CODE);
        }
    }

    #[test]
    fn every_text_over_its_maximum_is_one_violation() {
        let spec = Spec {
            name: "名".repeat(NAME + 1),
            tags: vec!["a".into(), "b".repeat(CODE + 1)],
        };
        let refused = check_under(&Some(spec), "spec.").unwrap_err();
        let fields: Vec<_> = refused
            .violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["spec.name", "spec.tags[1]"]);
        let short = Spec {
            name: "短".into(),
            tags: vec![],
        };
        assert!(check(&short).is_ok());
    }
}
