//! Transport only: each unary RPC is one call to `pbm_server::rpc::{query, mutate}` with its use
//! case in `ops`; the caller, the RPC's name and the `ErrorInfo.domain` (`pbm.monitoring`) come
//! from the routed request. One file per service of the contract.

use tonic::Request;
use tonic::service::Routes;

use crate::state::AppState;

// One module per service of the contract; each adds its server in `add_to` below.
pub mod deviations;
pub mod execution;
pub mod key;
pub mod reports;
pub mod rounds;

/// The caller's `authorization` header, forwarded to the goal and agency services.
pub(crate) fn authorization<M>(request: &Request<M>) -> String {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Every service of `pbm.monitoring.v1`, on `routes`.
pub fn add_to(routes: Routes, state: AppState) -> Routes {
    routes
        .add_service(rounds::server(state.clone()))
        .add_service(execution::server(state.clone()))
        .add_service(reports::server(state.clone()))
        .add_service(deviations::server(state.clone()))
        .add_service(key::server(state))
}

/// The names grpc.health.v1 reports: every service of the contract.
pub fn health_names() -> Vec<&'static str> {
    fn name<S: tonic::server::NamedService>(_: fn(AppState) -> S) -> &'static str {
        S::NAME
    }
    vec![
        name(rounds::server),
        name(execution::server),
        name(reports::server),
        name(deviations::server),
        name(key::server),
    ]
}
