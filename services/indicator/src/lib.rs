//! 绩效指标库 (performance indicator library) service.
//!
//! # Layout
//! * [`domain`] – the frame, third-level indicators, access rules; pure and unit-tested.
//! * [`store`] – diesel queries on this service's own database (the only SQL).
//! * [`search`] – in-memory Chinese search over current indicators.
//! * [`excel`] – .xlsx import and export with Chinese headers.
//! * [`grpc`] – translates `pbm.indicator.v1` to and from the use cases in `ops`.
#![doc = include_str!("../README.md")]

pub mod domain;
pub mod excel;
pub mod grpc;
mod ops;
pub mod search;
pub mod state;
pub mod store;

use std::time::Duration;

use pbm_proto::indicator::v1::indicator_service_server::IndicatorServiceServer;
use pbm_server::config::ServerArgs;
use tonic::service::Routes;

pub use ops::SERVICE;
pub use state::AppState;

/// Name reported by grpc.health.v1.
pub const HEALTH_NAME: &str = "pbm.indicator.v1.IndicatorService";

/// Largest request accepted (an .xlsx import of a large library).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The indicator service's routes, ready to be served alone or beside other services.
pub fn router(state: AppState) -> Routes {
    Routes::new(
        IndicatorServiceServer::new(grpc::IndicatorGrpc::new(state))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES),
    )
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
