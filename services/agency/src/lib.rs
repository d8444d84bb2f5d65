//! 第三方机构/专家库 (third-party agency and expert pool) with dynamic rating.
//!
//! # Layout
//! * [`domain`] – pure rules: identifiers, rule sets, eligibility, independence, rating, draws.
//! * [`access`] – who may read and manage the registry.
//! * [`store`] – diesel queries on this service's own database (the only SQL).
//! * [`grpc`] – translates `pbm.agency.v1` to and from the use cases in `ops`.

pub mod access;
pub mod domain;
mod draws;
pub(crate) mod engagements;
pub mod grpc;
mod ops;
mod ratings;
pub mod state;
pub mod store;

use pbm_proto::agency::v1::agency_registry_service_server::AgencyRegistryServiceServer;
use pbm_proto::agency::v1::draw_service_server::DrawServiceServer;
use pbm_proto::agency::v1::engagement_service_server::EngagementServiceServer;
use pbm_server::config::ServerArgs;
use tonic::service::Routes;

pub use ops::SERVICE;
pub use state::AppState;

/// Names reported by grpc.health.v1.
pub const HEALTH_NAME: &str = "pbm.agency.v1.AgencyRegistryService";
pub const ENGAGEMENT_HEALTH_NAME: &str = "pbm.agency.v1.EngagementService";
pub const DRAW_HEALTH_NAME: &str = "pbm.agency.v1.DrawService";

/// The agency service's routes, to serve alone or beside other services.
pub fn router(state: AppState) -> Routes {
    add_to(Routes::default(), state)
}

/// Adds the agency service's routes to other services' routes (`pbm serve`).
pub fn add_to(routes: Routes, state: AppState) -> Routes {
    routes
        .add_service(AgencyRegistryServiceServer::new(
            grpc::AgencyRegistryGrpc::new(state.clone()),
        ))
        .add_service(EngagementServiceServer::new(
            grpc::engagements::EngagementGrpc::new(state.clone()),
        ))
        .add_service(DrawServiceServer::new(grpc::draws::DrawGrpc::new(state)))
}

/// Connects to this service's database (migrating it) and prepares the state.
pub async fn open(args: &ServerArgs) -> anyhow::Result<AppState> {
    let db = args.database("agency")?;
    AppState::open(db, args.region()?, args.pii_cipher()?).await
}

/// Applies this service's migrations and returns.
pub async fn migrate(args: &ServerArgs) -> anyhow::Result<()> {
    let db = args.database("agency")?;
    db.migrate(&store::ALL_MIGRATIONS).await?;
    Ok(())
}
