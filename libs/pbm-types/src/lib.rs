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

/// Text forms of a plain enum for the database (`as_db`/`from_db`) and for people
/// (`chinese`/`from_chinese`), one table per enum so that both directions stay in step. Every
/// service's domain uses it (`#[macro_use] extern crate pbm_types;` in the service's lib.rs):
///
/// ```
/// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// enum Colour { Red, Green }
/// pbm_types::text_enum!(Colour { Red => "red", "红色"; Green => "green", "绿色"; });
/// assert_eq!(Colour::from_db("green"), Some(Colour::Green));
/// assert_eq!(Colour::Red.chinese(), "红色");
/// assert_eq!(Colour::from_chinese(" 绿色 "), Some(Colour::Green));
/// assert_eq!(Colour::ALL.len(), 2);
/// ```
#[macro_export]
macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $db:literal, $zh:literal;)* }) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),*];

            /// The stable text stored in the database and sent on the wire.
            pub fn as_db(self) -> &'static str {
                match self { $(<$ty>::$variant => $db,)* }
            }

            /// Parses the database text; `None` for unknown text.
            pub fn from_db(s: &str) -> Option<Self> {
                match s { $($db => Some(<$ty>::$variant),)* _ => None }
            }

            /// The Chinese name a finance clerk reads (and types in Excel).
            pub fn chinese(self) -> &'static str {
                match self { $(<$ty>::$variant => $zh,)* }
            }

            /// Parses the Chinese name (surrounding whitespace ignored).
            pub fn from_chinese(s: &str) -> Option<Self> {
                match s.trim() { $($zh => Some(<$ty>::$variant),)* _ => None }
            }
        }
    };
}
