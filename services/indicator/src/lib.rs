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
//! * [`mirror`] – following an upstream deployment's library (province → city → county):
//!   the follower's link; the upstream's `WatchLibrary` is in `ops::library`
//!   (docs/INDICATOR.md "Following an upstream library").
#![doc = include_str!("../README.md")]

#[macro_use]
extern crate pbm_types;

pub mod convert;
pub mod domain;
pub mod grpc;
pub mod mirror;
mod ops;
pub mod search;
pub mod state;
pub mod store;

use std::time::Duration;

use pbm_db::Db;
use pbm_proto::indicator::v1::indicator_service_server::IndicatorServiceServer;
use pbm_proto::indicator::v1::library_mirror_service_server::LibraryMirrorServiceServer;
use pbm_server::config::ServerArgs;
use tonic::server::NamedService;
use tonic::service::Routes;

pub use convert::excel;
pub use ops::SERVICE;
pub use state::AppState;

/// Name reported by grpc.health.v1: the generated service's own.
pub const HEALTH_NAME: &str = <IndicatorServiceServer<grpc::IndicatorGrpc> as NamedService>::NAME;

/// Largest request accepted (an .xlsx import of a large library).
pub(crate) const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

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
    routes
        .add_service(LibraryMirrorServiceServer::new(
            grpc::library::LibraryMirrorGrpc::new(state.clone()),
        ))
        .add_service(server(state))
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
    spawn_log_compaction(&state, library_log_keep()?);
    state.index.keep_answers(search_kept_answers()?);
    if let Some(url) = &args.upstream_library_url {
        let token_file = args.upstream_token_file.clone().ok_or_else(|| {
            anyhow::anyhow!("PBM_UPSTREAM_LIBRARY_URL needs PBM_UPSTREAM_TOKEN_FILE")
        })?;
        mirror::spawn(
            &state,
            mirror::Upstream {
                url: url.clone(),
                token_file,
                tls: args.tls.client(),
            },
        );
    }
    Ok(state)
}

/// Search answers kept until the library next changes (`PBM_SEARCH_KEPT_ANSWERS`, default
/// 4,096; 0: every search is computed; docs/INDICATOR.md "Search").
fn search_kept_answers() -> anyhow::Result<usize> {
    match std::env::var("PBM_SEARCH_KEPT_ANSWERS") {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("PBM_SEARCH_KEPT_ANSWERS must be a number, not {v:?}")),
        Err(_) => Ok(search::KEPT_ANSWERS),
    }
}

/// Rows of the library's change log kept for followers' cursors (`PBM_LIBRARY_LOG_KEEP`,
/// default 1,000,000): a follower further behind resyncs (docs/INDICATOR.md "Following an
/// upstream library").
fn library_log_keep() -> anyhow::Result<i64> {
    match std::env::var("PBM_LIBRARY_LOG_KEEP") {
        Ok(v) => Ok(v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| anyhow::anyhow!("PBM_LIBRARY_LOG_KEEP must be a positive number"))?),
        Err(_) => Ok(1_000_000),
    }
}

/// Compacts the change log every minute.
fn spawn_log_compaction(state: &AppState, keep: i64) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(60));
        loop {
            ticker.tick().await;
            if let Err(e) = state.compact_library_log(keep).await {
                tracing::warn!(error = %e, "library log compaction failed");
            }
        }
    });
}

/// Applies this service's migrations and returns.
pub async fn migrate(args: &ServerArgs) -> anyhow::Result<()> {
    let db = args.database("indicator")?;
    db.migrate(&store::ALL_MIGRATIONS).await?;
    Ok(())
}
