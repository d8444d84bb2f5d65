//! Between the wire (`pbm.evaluation.v1`) and the domain: enums, decimals, dates, scores, and the
//! text maxima of every request ([`limits`]). One file per service of the contract.

pub mod campaigns;
pub mod limits;
pub mod region;
pub mod scores;
pub mod sheets;
pub mod spot_checks;
