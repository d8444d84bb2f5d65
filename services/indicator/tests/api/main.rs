//! API tests of the indicator library: real gRPC over TCP against `pbm_indicator::router`,
//! every test on SQLite and on PostgreSQL (`pbm_testkit::backend_tests!`).

mod common;

mod audit;
mod audit_chain;
mod excel;
mod frames;
mod health;
mod idempotency;
mod indicators;
mod limits;
mod mirror;
mod mirror_bench;
mod proposals;
mod replicas;
mod resolve;
mod roles;
mod search;
mod validation;
mod versions;
