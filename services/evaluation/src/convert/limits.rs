//! The longest text every string field of every `pbm.evaluation.v1` request may carry, as stated
//! on the field in proto/pbm/evaluation/v1/*.proto, checked where the request is parsed with the
//! one check: one `TEXT_TOO_LONG` violation per field over its maximum, every field at once,
//! before anything reads the texts. The `Bounded<Evaluation>` impls live beside each service's
//! conversions (`convert/<service>.rs`).

pub use pbm_server::limits::check;
pub use pbm_server::limits::{Bounded, Texts, each_nested, nested};
pub use pbm_server::limits::{CODE, LONG, NAME, SHORT};

/// The contract whose texts these maxima bound (`pbm.evaluation.v1`).
pub enum Evaluation {}
