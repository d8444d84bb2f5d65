//! The scaffold every PBM service stands on.
//!
//! # Layout
//! * [`error`] – [`ApiError`]: the one exhaustive mapping to `tonic::Status`, with a stable reason
//!   code (`google.rpc.ErrorInfo`), field violations (`google.rpc.BadRequest`) and a message a
//!   finance clerk understands (Chinese, with the English reason code).
//! * [`mutation`] – runs a mutating RPC as one transaction with its audit row and idempotency
//!   record; retries with the same request id return the first result.
//! * [`serve`] – the standard tower stack, grpc.health.v1, reflection v1 and v1alpha, graceful
//!   shutdown on SIGINT/SIGTERM.
//! * [`paging`] – page tokens.

pub mod config;
pub mod error;
pub mod mutation;
pub mod paging;
pub mod pii;
mod serve;
pub mod wire;

pub use error::{ApiError, ErrorKind};
pub use mutation::{
    Effect, MutationContext, Records, audit_refusal, run_decided_mutation, run_mutation, settle,
};
pub use serve::{ServeOptions, serve, shutdown_signal};
