//! 绩效运行监控 ("双监控"): during the year, is the money spent on time and are the goals being
//! reached? Rounds over the approved goals of a region, budget execution from the budget system,
//! the units' reports, traffic-light warnings on both axes, the deviation list (偏离清单) and the
//! corrective actions and decisions that close it. Rules: docs/MONITORING.md, docs/DOMAIN.md
//! "Monitoring (双监控)".
//!
//! # Layout
//! * [`domain`] – pure rules: warning bands, forecasts, completeness, deadlines, the report
//!   workflow, corrective actions and decisions, statistics, access.
//! * [`clients`] – the goal service (approved goals for a round's snapshot) and the agency and
//!   expert pool (key monitoring commissioned to an agency) over gRPC.
//! * [`store`] – diesel queries on this service's own database (the only SQL).
//! * `ops` – the use cases, one file per noun; `grpc` / `convert` – the transport.

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
use pbm_server::config::ServerArgs;
use tonic::service::Routes;

pub use state::AppState;

/// Name reported by grpc.health.v1 (and naming the audit trail): the service rounds are opened
/// on.
pub const HEALTH_NAME: &str = "pbm.monitoring.v1.RoundService";

/// The monitoring service, as the runner ([`pbm_server::run::main`]) sees it.
pub struct Monitoring;

impl pbm_server::run::Service for Monitoring {
    const BINARY: &'static str = "pbm-monitoring";
    const ABOUT: &'static str = "PBM 绩效运行监控 (performance monitoring, 双监控) service";
    type State = AppState;

    /// Requires `PBM_GOAL_URL` and `PBM_AGENCY_URL`: the monitoring service calls both.
    async fn open(args: &ServerArgs) -> anyhow::Result<AppState> {
        let goal_url = args.goal_url.clone().filter(|u| !u.is_empty()).context(
            "PBM_GOAL_URL is required: the monitoring service snapshots approved goals from the goal service",
        )?;
        let agency_url = args.agency_url.clone().filter(|u| !u.is_empty()).context(
            "PBM_AGENCY_URL is required: key monitoring is commissioned through the agency service",
        )?;
        tracing::info!(%goal_url, %agency_url, "pbm-monitoring calls");
        open(args, &goal_url, &agency_url).await
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

    fn consumers(state: &AppState) -> Vec<pbm_events::Consumer> {
        consumers(state)
    }

    fn health_names() -> Vec<&'static str> {
        grpc::health_names()
    }
}

/// The monitoring service's routes, to serve alone or beside other services.
pub fn router(state: AppState) -> Routes {
    add_to(Routes::default(), state)
}

/// Adds the monitoring service's routes to other services' routes (`pbm serve`).
pub fn add_to(routes: Routes, state: AppState) -> Routes {
    grpc::add_to(routes, state)
}

/// Connects to this service's database (migrating it) and prepares the state. The goal and
/// agency services are reached at their URLs (over TLS for https://: docs/SECURITY.md
/// "Encryption in transit").
pub async fn open(args: &ServerArgs, goal_url: &str, agency_url: &str) -> anyhow::Result<AppState> {
    let db = args.database("monitoring")?;
    let tls = args.tls.client();
    for url in [goal_url, agency_url] {
        args.tls.check_outbound(args.production, url)?;
    }
    AppState::open(
        db,
        args.region()?,
        clients::Goals::over_tls(goal_url, &tls)?,
        clients::Pool::over_tls(agency_url, &tls)?,
    )
    .await
}

/// The event consumers of this service (docs/ARCHITECTURE.md "Events"), applying to its
/// database: goals approved or adjusted after a round opened join its scope.
pub fn consumers(state: &AppState) -> Vec<pbm_events::Consumer> {
    vec![ops::goal_events::consumer(state.db.clone())]
}

/// Applies this service's migrations and returns.
pub async fn migrate(args: &ServerArgs) -> anyhow::Result<()> {
    let db = args.database("monitoring")?;
    db.migrate(&store::ALL_MIGRATIONS).await?;
    Ok(())
}
