//! Use cases of monitoring: authorise the caller first ([`crate::domain::access`]), then
//! validate, load, apply the pure rules ([`crate::domain`]) and save in one transaction with
//! audit and idempotency (`pbm_server::rpc::mutate`). One file per noun.

pub mod actions;
pub mod decisions;
pub mod deviations;
pub mod execution;
pub mod key;
pub mod recompute;
pub mod report_reads;
pub mod report_table;
pub mod reports;
pub mod round_reads;
pub mod rounds;
pub mod rules;
