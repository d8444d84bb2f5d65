//! 绩效目标管理 (performance goal management) with 事前绩效评估 (ex-ante assessment) and the
//! funding gate: a project without an approved performance goal gets no budget.
//!
//! # Layout
//! * [`domain`] – pure rules: projects, declarations, quality checks, the 二上二下 workflow,
//!   ex-ante assessment, the funding gate, statistics.
//! * [`library`] – the indicator library over gRPC (`ResolveIndicators`).
//! * [`store`] – diesel queries on this service's own database (the only SQL).
//! * `ops` – the use cases; `grpc` / `convert` – the transport.

mod bulk;
mod convert;
pub mod domain;
mod exante_ops;
mod export;
mod grpc;
pub mod library;
mod ops;
pub mod pool;
pub mod state;
pub mod steps;
pub mod store;

use pbm_proto::goal::v1::goal_service_server::GoalServiceServer;
use pbm_server::config::ServerArgs;
use tonic::service::Routes;

pub use export::COLUMNS as EXPORT_COLUMNS;
pub use library::Library;
pub use pool::Pool;
pub use state::AppState;

/// Name reported by grpc.health.v1.
pub const HEALTH_NAME: &str = "pbm.goal.v1.GoalService";

/// The goal service's routes, to serve alone or beside other services.
pub fn router(state: AppState) -> Routes {
    add_to(Routes::default(), state)
}

/// Adds the goal service's routes to other services' routes (`pbm serve`).
pub fn add_to(routes: Routes, state: AppState) -> Routes {
    routes.add_service(GoalServiceServer::new(grpc::GoalGrpc::new(state)))
}

/// Connects to this service's database (migrating it) and prepares the state. The indicator
/// and agency services are reached at their URLs.
pub async fn open(
    args: &ServerArgs,
    indicator_url: &str,
    agency_url: &str,
) -> anyhow::Result<AppState> {
    let db = args.database("goal")?;
    AppState::open(
        db,
        args.region()?,
        Library::new(indicator_url)?
            .with_cache_ttl(std::time::Duration::from_secs(args.library_cache_secs)),
        Pool::new(agency_url)?,
    )
    .await
}

/// Applies this service's migrations and returns.
pub async fn migrate(args: &ServerArgs) -> anyhow::Result<()> {
    let db = args.database("goal")?;
    db.migrate(&store::ALL_MIGRATIONS).await?;
    Ok(())
}
