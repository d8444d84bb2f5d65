//! Between the wire (`pbm.monitoring.v1`) and the domain: enums, decimals, dates, and the text
//! maxima of every request ([`limits`]). One file per service of the contract.

pub mod deviations;
pub mod execution;
pub mod key;
pub mod limits;
pub mod reports;
pub mod rounds;
