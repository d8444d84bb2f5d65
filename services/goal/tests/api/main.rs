//! API tests of the goal service: real gRPC over TCP against the indicator, agency and goal
//! services on one server (as `pbm serve` hosts them), every test on SQLite and on PostgreSQL
//! (`pbm_testkit::backend_tests!`).

mod common;

mod bulk;
mod commission;
mod concurrency;
mod declarations;
mod exante;
mod funding;
mod library;
mod limits;
mod projects;
mod reviewers;
mod roles;
mod rules;
mod snapshot;
mod workflow;
