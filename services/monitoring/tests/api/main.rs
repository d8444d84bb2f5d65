//! API tests of the monitoring service: real gRPC over TCP against the indicator, agency, goal
//! and monitoring services on one server (as `pbm serve` hosts them), every test on SQLite and on
//! PostgreSQL (`pbm_testkit::backend_tests!`).

mod actions;
mod common;
mod decisions;
mod deviations;
mod execution;
mod key;
mod report_table;
mod reports;
mod rounds;
mod summary;
