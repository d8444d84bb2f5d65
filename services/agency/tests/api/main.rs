//! API tests of the agency and expert pool: real gRPC over TCP against `pbm_agency::router`
//! (the registry, engagement and draw services), every test on SQLite and on PostgreSQL
//! (`pbm_testkit::backend_tests!`).

mod common;

mod agencies;
mod draws;
mod engagements;
mod errors;
mod events;
mod experts;
mod limits;
mod personal;
mod ratings;
mod roles;
mod rules;
mod sealed;
mod statistics;
mod violations;
