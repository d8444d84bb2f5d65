//! Calls to the other services over gRPC: the indicator library ([`library`]) and the agency
//! and expert pool ([`pool`]).

pub mod library;
pub mod pool;
