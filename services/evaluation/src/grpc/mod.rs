//! Transport only: each unary RPC is one call to `pbm_server::rpc::{query, mutate}` with its use
//! case in `ops`; the caller, the RPC's name and the `ErrorInfo.domain` (`pbm.evaluation`) come
//! from the routed request. One file per service of the contract.

use tonic::Request;
use tonic::service::Routes;

use crate::state::AppState;

// One module per service of the contract; each adds its server in `add_to` below.
pub mod campaigns;
pub mod region;
pub mod self_evaluations;
pub mod spot_checks;

/// The caller's `authorization` header, forwarded to the goal, monitoring and agency services.
pub(crate) fn authorization<M>(request: &Request<M>) -> String {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Every service of `pbm.evaluation.v1`, on `routes`.
pub fn add_to(routes: Routes, state: AppState) -> Routes {
    routes
        .add_service(campaigns::server(state.clone()))
        .add_service(self_evaluations::server(state.clone()))
        .add_service(spot_checks::server(state.clone()))
        .add_service(region::server(state.clone()))
}

/// The names grpc.health.v1 reports: every service of the contract.
pub fn health_names() -> Vec<&'static str> {
    fn name<S: tonic::server::NamedService>(_: fn(AppState) -> S) -> &'static str {
        S::NAME
    }
    vec![
        name(campaigns::server),
        name(self_evaluations::server),
        name(spot_checks::server),
        name(region::server),
    ]
}
