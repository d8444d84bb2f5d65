//! 绩效指标库 (performance indicator library) service.
//!
//! # Layout
//! * [`domain`] – pure rules: the frame, third-level indicators, and who may do what
//!   ([`domain::access`]); unit-tested, no transport, no database.
//! * [`store`] – diesel queries on this service's own database (the only SQL).
//! * [`search`] – the in-memory Chinese search index over current indicators, kept in
//!   [`AppState`] and refreshed from the database.
//! * [`convert`] – `pbm.indicator.v1` ⇄ domain, and [`excel`] (.xlsx rows ⇄ domain, Chinese
//!   headers); parsing collects field violations.
//! * `ops` – the use cases, split by noun (frames, indicators, resolve, proposals, excel):
//!   authorise → load → domain rules → one transaction.
//! * [`grpc`] – transport only: each RPC one call to `pbm_server::rpc::{query, mutate}`.
//! * [`state`] – [`AppState`]: the database, the region, the frame cache, the search index.
#![doc = include_str!("../README.md")]

#[macro_use]
extern crate pbm_types;

pub mod convert;
pub mod domain;
pub mod grpc;
mod ops;
pub mod search;
pub mod state;
pub mod store;

use std::time::Duration;

use pbm_db::Db;
use pbm_proto::indicator::v1::indicator_service_server::IndicatorServiceServer;
use pbm_server::config::ServerArgs;
use tonic::server::NamedService;
use tonic::service::Routes;

pub use convert::excel;
pub use ops::SERVICE;
pub use state::AppState;

/// Name reported by grpc.health.v1: the generated service's own.
pub const HEALTH_NAME: &str = <IndicatorServiceServer<grpc::IndicatorGrpc> as NamedService>::NAME;

/// Largest request accepted (an .xlsx import of a large library).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The indicator service, for `pbm_server::run::main`.
pub struct Indicator;

impl pbm_server::run::Service for Indicator {
    const BINARY: &'static str = "pbm-indicator";
    const ABOUT: &'static str = "PBM 绩效指标库 (indicator library) service";
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

    fn health_names() -> Vec<&'static str> {
        vec![HEALTH_NAME]
    }
}

/// The indicator service's routes, ready to be served alone or beside other services.
pub fn router(state: AppState) -> Routes {
    add_to(Routes::default(), state)
}

/// Adds the indicator service's routes to other services' routes (`pbm serve`).
pub fn add_to(routes: Routes, state: AppState) -> Routes {
    routes.add_service(server(state))
}

fn server(state: AppState) -> IndicatorServiceServer<grpc::IndicatorGrpc> {
    IndicatorServiceServer::new(grpc::IndicatorGrpc::new(state))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
}

/// Connects to this service's database (migrating it) and prepares the state.
pub async fn open(args: &ServerArgs) -> anyhow::Result<AppState> {
    let db = args.database("indicator")?;
    let backend = db.backend();
    let state = AppState::open(db, args.region()?, args.seed_year()?).await?;
    if backend == pbm_db::Backend::Postgres {
        // Other replicas write to the same database: follow their changes.
        state.spawn_index_refresher(Duration::from_secs(2));
    }
    Ok(state)
}

/// Applies this service's migrations and returns.
pub async fn migrate(args: &ServerArgs) -> anyhow::Result<()> {
    let db = args.database("indicator")?;
    db.migrate(&store::ALL_MIGRATIONS).await?;
    Ok(())
}
