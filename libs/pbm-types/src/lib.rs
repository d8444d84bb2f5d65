//! Domain primitives shared by every PBM service. Pure: no IO, no transport, no database.
//!
//! # Layout
//! * [`decimal`] – exact decimal parsing for money (元), scores and ratios; never floats.
//! * [`draw`] – the one generator (SplitMix64) and candidate fingerprint of reproducible
//!   random draws: the pool's and the spot checks'.
//! * [`FiscalYear`] – a budget year (预算年度).
//! * [`DivisionCode`] – the 6-digit 财政区划 code (`MOF_DIV_CODE`) and its hierarchy.
//! * [`FieldViolation`] – the one type of a refused field (path, reason code, Chinese message);
//!   [`check_len`] – the one check of a text's stated maximum length (`TEXT_TOO_LONG`).

pub mod decimal;
mod division;
pub mod draw;
mod fiscal_year;
mod violation;

pub use division::{DivisionCode, DivisionLevel};
pub use fiscal_year::FiscalYear;
pub use rust_decimal::Decimal;
pub use violation::{FieldViolation, TEXT_TOO_LONG, check_len, common_reason};

/// Why a primitive value could not be parsed. The message is for a finance clerk (Chinese)
/// and the `reason` is a stable machine code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub reason: &'static str,
    pub message: String,
}

impl ParseError {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}
