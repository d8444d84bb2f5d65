//! 绩效评价, part 1: the scoring engine's service. Finance opens the self-evaluation (单位自评) of a
//! fiscal year over every approved goal; units fill their sheets, scored by the one engine
//! (`pbm_scoring`) on every save with the rule set of the region and year; departments review
//! and finance receives; finance then spot-checks a sample (抽查复核) chosen at random, by an
//! explainable risk score or stratified, reviewed by finance, jointly with the audit bureau or
//! by an agency commissioned through the pool. Rules: docs/EVALUATION.md, docs/DOMAIN.md
//! "Evaluation and scoring" and "Self-evaluation, spot checks, key evaluations".
//!
//! # Layout
//! * [`domain`] – pure rules: access, the sheet's workflow and completeness, deadlines,
//!   sampling and the risk score, statistics. Scores come only from `pbm_scoring`.
//! * [`clients`] – the goal service (approved goals), the monitoring service (execution figures
//!   and warnings) and the agency and expert pool (reviews commissioned to an agency), over gRPC.
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

/// Name reported by grpc.health.v1 (and naming the audit trail): the service self-evaluations
/// are opened on.
pub const HEALTH_NAME: &str = "pbm.evaluation.v1.CampaignService";

/// The evaluation service, as the runner ([`pbm_server::run::main`]) sees it.
pub struct Evaluation;

impl pbm_server::run::Service for Evaluation {
    const BINARY: &'static str = "pbm-evaluation";
    const ABOUT: &'static str =
        "PBM 绩效评价 (performance evaluation: self-evaluation, spot checks) service";
    type State = AppState;

    /// Requires `PBM_GOAL_URL`, `PBM_MONITORING_URL` and `PBM_AGENCY_URL`: the evaluation
    /// service calls all three.
    async fn open(args: &ServerArgs) -> anyhow::Result<AppState> {
        let goal_url = args.goal_url.clone().filter(|u| !u.is_empty()).context(
            "PBM_GOAL_URL is required: the evaluation service snapshots approved goals from the goal service",
        )?;
        let monitoring_url = args.monitoring_url.clone().filter(|u| !u.is_empty()).context(
            "PBM_MONITORING_URL is required: the evaluation service reads execution figures from the monitoring service",
        )?;
        let agency_url = args.agency_url.clone().filter(|u| !u.is_empty()).context(
            "PBM_AGENCY_URL is required: reviews are commissioned through the agency service",
        )?;
        tracing::info!(%goal_url, %monitoring_url, %agency_url, "pbm-evaluation calls");
        open(args, &goal_url, &monitoring_url, &agency_url).await
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

/// The evaluation service's routes, to serve alone or beside other services.
pub fn router(state: AppState) -> Routes {
    add_to(Routes::default(), state)
}

/// Adds the evaluation service's routes to other services' routes (`pbm serve`).
pub fn add_to(routes: Routes, state: AppState) -> Routes {
    grpc::add_to(routes, state)
}

/// Connects to this service's database (migrating it) and prepares the state. The goal,
/// monitoring and agency services are reached at their URLs (over TLS for https://:
/// docs/SECURITY.md "Encryption in transit").
pub async fn open(
    args: &ServerArgs,
    goal_url: &str,
    monitoring_url: &str,
    agency_url: &str,
) -> anyhow::Result<AppState> {
    let db = args.database("evaluation")?;
    let tls = args.tls.client();
    for url in [goal_url, monitoring_url, agency_url] {
        args.tls.check_outbound(args.production, url)?;
    }
    AppState::open(
        db,
        args.region()?,
        clients::Goals::over_tls(goal_url, &tls)?,
        clients::Monitoring::over_tls(monitoring_url, &tls)?,
        clients::Pool::over_tls(agency_url, &tls)?,
    )
    .await
}

/// The event consumers of this service (docs/ARCHITECTURE.md "Events"), applying to its
/// database: goals approved or adjusted after the year's campaign opened join it.
pub fn consumers(state: &AppState) -> Vec<pbm_events::Consumer> {
    vec![ops::goal_events::consumer(state.db.clone())]
}

/// Applies this service's migrations and returns.
pub async fn migrate(args: &ServerArgs) -> anyhow::Result<()> {
    let db = args.database("evaluation")?;
    db.migrate(&store::ALL_MIGRATIONS).await?;
    Ok(())
}
