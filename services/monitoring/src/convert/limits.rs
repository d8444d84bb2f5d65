//! The longest text every string field of every `pbm.monitoring.v1` request may carry, as stated
//! on the field in proto/pbm/monitoring/v1/*.proto, checked where the request is parsed with the
//! one check: one `TEXT_TOO_LONG` violation per field over its maximum, every field at once,
//! before anything reads the texts. The `Bounded<Monitoring>` impls live beside each service's
//! conversions (`convert/<service>.rs`).

pub use pbm_server::limits::check;
pub use pbm_server::limits::{Bounded, Texts, each_nested, nested};
pub use pbm_server::limits::{CODE, LONG, NAME, SHORT};

/// The contract whose texts these maxima bound (`pbm.monitoring.v1`).
pub enum Monitoring {}
