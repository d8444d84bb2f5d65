//! API tests of the evaluation service: real gRPC over TCP against the indicator, agency, goal,
//! monitoring and evaluation services on one server (as `pbm serve` hosts them), every test on
//! SQLite and on PostgreSQL (`pbm_testkit::backend_tests!`).

mod campaign_access;
mod campaigns;
mod common;
mod concurrent_saves;
mod region;
mod sheet_table;
mod sheets;
mod spot_checks;
