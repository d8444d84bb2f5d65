//! Proto ⇄ domain, split by noun; enums matched exhaustively. This file holds what every noun's
//! parsing shares; `crate::convert::…` names every noun's conversions.

mod draws;
mod engagements;
mod experts;
pub mod limits;
mod ratings;
mod registry;
mod relations;
mod violations;

use chrono::NaiveDate;
pub use pbm_server::wire::decimal as dec;
pub use pbm_server::wire::stamp;
use pbm_server::{ApiError, FieldViolation};

pub use draws::{draw_to_proto, replayed_round_to_proto};
pub use engagements::{engagement_to_proto, kind_from, kind_to};
pub use experts::{expert_spec_from_proto, expert_status_from, expert_to_proto, title_from};
pub use ratings::{rated_subject_to_proto, rating_explanation_to_proto};
pub use registry::{
    action_from, agency_to_proto, agency_type_filter_from, batch_from_request, batch_to_proto,
    scope_filter_from, scope_from, spec_from_proto, status_change_to_proto, status_filter_from,
};
pub use violations::{severity_from, violation_to_proto};

/// One part of a request parsed, or what is wrong with it.
pub type Parsed<T> = Result<T, Vec<FieldViolation>>;

/// Both parts, or the violations of either (the first's before the second's): a request is
/// built from its parsed parts only once every part parsed, so nothing is left unchecked.
pub fn both<A, B>(a: Parsed<A>, b: Parsed<B>) -> Parsed<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(a.err().into_iter().chain(b.err()).flatten().collect()),
    }
}

/// A rule on a request: `Ok` when it holds, else its violation.
pub fn check(holds: bool, violation: impl FnOnce() -> FieldViolation) -> Parsed<()> {
    if holds {
        Ok(())
    } else {
        Err(vec![violation()])
    }
}

/// A credit code as typed in a request: trimmed, upper case (looked up as is; a code that is not
/// on file answers NOT_FOUND).
pub fn code(text: &str) -> String {
    text.trim().to_uppercase()
}

/// Parses `YYYY-MM-DD`; `field` names it in the violation.
pub fn date(text: &str, field: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::invalid_field(
            "DATE_INVALID",
            field,
            format!("日期「{text}」无效，格式应为 YYYY-MM-DD"),
        )
    })
}

pub(crate) fn opt_date(text: &str, field: &str) -> Result<Option<NaiveDate>, ApiError> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        date(text, field).map(Some)
    }
}
