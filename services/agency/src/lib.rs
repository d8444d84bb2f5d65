//! 第三方机构/专家库 (third-party agency and expert pool) with dynamic rating.
//!
//! # Layout
//! * [`domain`] – pure rules: identifiers, rule sets, eligibility, independence, rating, draws,
//!   and who may do what ([`domain::access`]).
//! * [`store`] – diesel queries on this service's own database (the only SQL).
//! * [`convert`] – `pbm.agency.v1` ⇄ domain; parsing collects field violations.
//! * `ops` – the use cases, split by noun: authorise → load → domain rules → one transaction.
//! * [`grpc`] – transport only: each RPC one call to `pbm_server::rpc::{query, mutate}`.
//! * [`state`] – [`AppState`]: the database, the region, the calendar, caches.

#[macro_use]
extern crate pbm_types;

pub mod convert;
pub mod domain;
pub mod grpc;
mod ops;
pub mod state;
pub mod store;

use pbm_db::Db;
use pbm_proto::agency::v1::agency_registry_service_server::AgencyRegistryServiceServer;
use pbm_proto::agency::v1::draw_service_server::DrawServiceServer;
use pbm_proto::agency::v1::engagement_service_server::EngagementServiceServer;
use pbm_server::config::ServerArgs;
use tonic::server::NamedService;
use tonic::service::Routes;

pub use ops::personal::{REENCRYPT_BATCH, Reencrypted, reencrypt};
pub use state::AppState;

/// Names reported by grpc.health.v1: the generated services' own.
pub const HEALTH_NAME: &str =
    <AgencyRegistryServiceServer<grpc::AgencyRegistryGrpc> as NamedService>::NAME;
pub const ENGAGEMENT_HEALTH_NAME: &str =
    <EngagementServiceServer<grpc::EngagementGrpc> as NamedService>::NAME;
pub const DRAW_HEALTH_NAME: &str = <DrawServiceServer<grpc::DrawGrpc> as NamedService>::NAME;

/// The agency service, for `pbm_server::run::main`.
pub struct Agency;

impl pbm_server::run::Service for Agency {
    const BINARY: &'static str = "pbm-agency";
    const ABOUT: &'static str = "PBM 第三方机构/专家库 (agency and expert pool) service";
    type State = AppState;

    async fn open(args: &ServerArgs) -> anyhow::Result<AppState> {
        open(args).await
    }

    async fn migrate(args: &ServerArgs) -> anyhow::Result<()> {
        migrate(args).await
    }

    fn add_to(routes: Routes, state: AppState) -> Routes {
        add_to(routes, state)
    }

    fn outbox(state: &AppState) -> Db {
        state.db.clone()
    }

    fn consumers(state: &AppState) -> Vec<pbm_events::Consumer> {
        consumers(state)
    }

    fn health_names() -> Vec<&'static str> {
        vec![HEALTH_NAME, ENGAGEMENT_HEALTH_NAME, DRAW_HEALTH_NAME]
    }

    async fn reencrypt_pii(args: &ServerArgs) -> anyhow::Result<String> {
        Ok(format!("pbm-agency: {}", reencrypt_pii(args).await?))
    }
}

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
        .add_service(EngagementServiceServer::new(grpc::EngagementGrpc::new(
            state.clone(),
        )))
        .add_service(DrawServiceServer::new(grpc::DrawGrpc::new(state)))
}

/// Connects to this service's database (migrating it) and prepares the state.
pub async fn open(args: &ServerArgs) -> anyhow::Result<AppState> {
    let db = args.database("agency")?;
    AppState::open(db, args.region()?, args.pii_cipher()?).await
}

/// The event consumers of this service (docs/ARCHITECTURE.md "Events"), applying to its own
/// database the events it writes: a rated engagement's grade actions (`pbm.agency.ratings`) and
/// a declined draw's replacement round (`pbm.agency.draw-replacement`).
pub fn consumers(state: &AppState) -> Vec<pbm_events::Consumer> {
    vec![
        ops::rating_events::consumer(state.db.clone()),
        ops::draws::replacement::consumer(state.db.clone()),
    ]
}

/// The consumers' effects, applied to a connection directly (tests, tools): what one delivery of
/// an event does, without recording its id.
pub mod events {
    pub use crate::ops::draws::replacement::{
        CONSUMER as REPLACEMENT_CONSUMER, Replacement, apply as apply_draw_declined,
    };
    pub use crate::ops::rating_events::{
        Actions, CONSUMER as RATINGS_CONSUMER, apply as apply_engagement_rated,
    };
}

/// Re-encrypts this service's personal data (experts' names, 身份证号, phones and birth dates,
/// the names, phones and emails of people on agency records) under the configured cipher and
/// current key, and recomputes the blind indexes of 身份证号 (docs/SECURITY.md "Key rotation").
pub async fn reencrypt_pii(args: &ServerArgs) -> anyhow::Result<Reencrypted> {
    let db = args.database("agency")?;
    db.migrate(&store::ALL_MIGRATIONS).await?;
    Ok(reencrypt(&db, &args.pii_cipher()?).await?)
}

/// Applies this service's migrations and returns.
pub async fn migrate(args: &ServerArgs) -> anyhow::Result<()> {
    let db = args.database("agency")?;
    db.migrate(&store::ALL_MIGRATIONS).await?;
    Ok(())
}
