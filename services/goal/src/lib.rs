//! 绩效目标管理 (performance goal management) with 事前绩效评估 (ex-ante assessment) and the
//! funding gate: a project without an approved performance goal gets no budget.
//!
//! # Layout
//! * [`domain`] – pure rules: projects, declarations, quality checks, the 二上二下 workflow,
//!   ex-ante assessment, the funding gate, statistics.
//! * [`clients`] – the indicator library ([`Library`], `ResolveIndicators`) and the agency and
//!   expert pool ([`Pool`]) over gRPC.
//! * [`store`] – diesel queries on this service's own database (the only SQL).
//! * `ops` – the use cases, one file per noun ([`steps`]: the batched workflow steps);
//!   `grpc` / `convert` – the transport.

#[macro_use]
extern crate pbm_types;

pub mod clients;
mod convert;
pub mod domain;
mod grpc;
mod ops;
pub mod state;
pub mod store;

use anyhow::Context;
use pbm_proto::goal::v1::goal_service_server::GoalServiceServer;
use pbm_server::config::ServerArgs;
use tonic::service::Routes;

pub use clients::library::{self, Library};
pub use clients::pool::{self, Pool};
pub use ops::export::COLUMNS as EXPORT_COLUMNS;
pub use ops::steps;
pub use state::AppState;

/// Name reported by grpc.health.v1.
pub const HEALTH_NAME: &str =
    <GoalServiceServer<grpc::GoalGrpc> as tonic::server::NamedService>::NAME;

/// The goal service, as the runner ([`pbm_server::run::main`]) sees it.
pub struct Goal;

impl pbm_server::run::Service for Goal {
    const BINARY: &'static str = "pbm-goal";
    const ABOUT: &'static str =
        "PBM 绩效目标管理 (performance goals, ex-ante assessment, funding gate) service";
    type State = AppState;

    /// Requires `PBM_INDICATOR_URL` and `PBM_AGENCY_URL`: the goal service calls both.
    async fn open(args: &ServerArgs) -> anyhow::Result<AppState> {
        let indicator_url = args
            .indicator_url
            .clone()
            .filter(|u| !u.is_empty())
            .context(
                "PBM_INDICATOR_URL is required: the goal service calls the indicator service",
            )?;
        let agency_url = args.agency_url.clone().filter(|u| !u.is_empty()).context(
            "PBM_AGENCY_URL is required: the goal service draws reviewers from the agency service",
        )?;
        tracing::info!(%indicator_url, %agency_url, "pbm-goal calls");
        open(args, &indicator_url, &agency_url).await
    }

    async fn migrate(args: &ServerArgs) -> anyhow::Result<()> {
        migrate(args).await
    }

    fn add_to(routes: Routes, state: AppState) -> Routes {
        add_to(routes, state)
    }

    fn outbox(state: &AppState) -> pbm_db::Db {
        state.db.clone()
    }

    fn health_names() -> Vec<&'static str> {
        vec![HEALTH_NAME]
    }
}

/// The goal service's routes, to serve alone or beside other services.
pub fn router(state: AppState) -> Routes {
    add_to(Routes::default(), state)
}

/// Adds the goal service's routes to other services' routes (`pbm serve`).
pub fn add_to(routes: Routes, state: AppState) -> Routes {
    routes.add_service(GoalServiceServer::new(grpc::GoalGrpc::new(state)))
}

/// Connects to this service's database (migrating it) and prepares the state. The indicator
/// and agency services are reached at their URLs (over TLS for https://, with `PBM_TLS_CA` and
/// this server's own certificate: docs/SECURITY.md "Encryption in transit").
pub async fn open(
    args: &ServerArgs,
    indicator_url: &str,
    agency_url: &str,
) -> anyhow::Result<AppState> {
    let db = args.database("goal")?;
    let tls = args.tls.client();
    for url in [indicator_url, agency_url] {
        args.tls.check_outbound(args.production, url)?;
    }
    AppState::open(
        db,
        args.region()?,
        Library::over_tls(indicator_url, &tls)?
            .with_cache_ttl(std::time::Duration::from_secs(args.library_cache_secs)),
        Pool::over_tls(agency_url, &tls)?,
    )
    .await
}

/// Applies this service's migrations and returns.
pub async fn migrate(args: &ServerArgs) -> anyhow::Result<()> {
    let db = args.database("goal")?;
    db.migrate(&store::ALL_MIGRATIONS).await?;
    Ok(())
}
