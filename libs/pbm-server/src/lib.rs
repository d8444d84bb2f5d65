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
//! * [`rpc`] – thin handlers ([`rpc::query`], [`rpc::mutate`]) and the one `ErrorInfo.domain`
//!   scheme (`pbm.<service>`).
//! * [`run`] – the one runner of every service binary (`serve` / `migrate`).
//! * [`paging`] – page tokens.
//! * [`audit`] – the audit trail's key, sealer, `pbm.audit.v1.AuditService` and `audit-verify`.
//! * [`tls`] – TLS of the listener and of calls to other services, from PEM files.

pub mod audit;
pub mod calls;
pub mod config;
pub mod error;
pub mod events;
pub mod limits;
pub mod mutation;
pub mod paging;
pub mod pii;
pub mod rpc;
pub mod run;
mod serve;
pub mod tls;
pub mod wire;

/// Every process that stands on this scaffold (each service's binary, `pbm serve`, the tests and
/// benches) allocates with mimalloc. A request allocates and frees many small buffers on
/// several threads (gRPC frames, decoded messages, rows). Under load glibc's allocator took
/// about a fifth of the goal service's CPU; with mimalloc the CPU per SubmitGoal fell by about
/// as much (docs/BENCHMARKS.md, "Session 7").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use error::{ApiError, ErrorKind, FieldViolation};
pub use mutation::{
    Effect, MutationContext, Records, audit_refusal, run_decided_mutation, run_mutation, settle,
};
pub use serve::{DRAIN_DEADLINE, ServeOptions, serve, shutdown_signal};
