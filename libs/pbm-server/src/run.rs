//! The one runner of every PBM binary. A service's `main.rs` is
//! `pbm_server::run::main::<pbm_goal::Goal>()`; `pbm serve` hosts several services through
//! [`serve_hosted`].

use std::future::Future;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use pbm_db::Db;
use tonic::service::Routes;

use crate::audit::Trail;
use crate::config::ServerArgs;

/// What a service crate tells the runner about itself.
pub trait Service {
    /// The binary's name, e.g. `pbm-goal` (also the tracing service name).
    const BINARY: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    /// The service's state (database, caches, clients of other services).
    type State;

    /// Connects to the service's database (migrating it) and to the services it calls, as its
    /// own process (one container per service).
    fn open(args: &ServerArgs) -> impl Future<Output = anyhow::Result<Self::State>>;
    /// Applies the service's migrations.
    fn migrate(args: &ServerArgs) -> impl Future<Output = anyhow::Result<()>>;
    /// Adds the service's gRPC services to `routes`.
    fn add_to(routes: Routes, state: Self::State) -> Routes;
    /// The database whose outbox the relay publishes.
    fn outbox(state: &Self::State) -> Db;
    /// The gRPC services grpc.health.v1 reports (the generated services' names).
    fn health_names() -> Vec<&'static str>;
    /// Re-encrypts the service's personal data under the configured cipher and current key and
    /// recomputes its blind indexes (`reencrypt-pii`, docs/SECURITY.md "Key rotation"); returns
    /// the counts, for the operator. A service that keeps no personal data keeps this default.
    fn reencrypt_pii(args: &ServerArgs) -> impl Future<Output = anyhow::Result<String>> {
        let _ = args;
        async { Ok(format!("{}: no personal data to re-encrypt", Self::BINARY)) }
    }
}

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the service.
    Serve(ServerArgs),
    /// Apply database migrations and exit.
    Migrate(ServerArgs),
    /// Re-encrypt personal data under PBM_PII_CIPHER and PBM_PII_KEY (reading values under
    /// PBM_PII_KEY_PREVIOUS too), recompute blind indexes, print the counts and exit.
    ReencryptPii(ServerArgs),
    /// Seal and verify the audit trail's chain; print the first broken sequence number and
    /// exit non-zero when it is broken (docs/SECURITY.md "Audit log").
    AuditVerify(ServerArgs),
}

/// The `main` of a service binary: `serve` and `migrate`, every flag with its environment
/// variable (README "Configuration").
pub fn main<S: Service>() -> anyhow::Result<()> {
    let matches = Cli::command()
        .name(S::BINARY)
        .about(S::ABOUT)
        .version(env!("CARGO_PKG_VERSION"))
        .get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            match cli.command {
                Command::Serve(args) => {
                    let _telemetry = pbm_telemetry::init(S::BINARY, args.otlp_endpoint.as_deref())?;
                    let state = S::open(&args).await?;
                    let outbox = S::outbox(&state);
                    let trail = Trail::of(S::health_names()[0], outbox.clone());
                    let routes = S::add_to(Routes::default(), state);
                    serve_hosted(
                        &args,
                        S::BINARY,
                        routes,
                        S::health_names(),
                        &[outbox],
                        vec![trail],
                    )
                    .await
                }
                Command::AuditVerify(args) => {
                    let _telemetry = pbm_telemetry::init(S::BINARY, None)?;
                    let state = S::open(&args).await?;
                    let trail = Trail::of(S::health_names()[0], S::outbox(&state));
                    let key = args.audit.key(&args.data_dir, args.production)?;
                    crate::audit::verify_command(&[trail], false, key).await
                }
                Command::ReencryptPii(args) => {
                    let _telemetry = pbm_telemetry::init(S::BINARY, None)?;
                    println!("{}", S::reencrypt_pii(&args).await?);
                    Ok(())
                }
                Command::Migrate(args) => {
                    let _telemetry = pbm_telemetry::init(S::BINARY, None)?;
                    S::migrate(&args).await?;
                    tracing::info!("migrations applied");
                    Ok(())
                }
            }
        })
}

/// Serves `routes` as `args` configure until SIGINT/SIGTERM, with a relay publishing each of
/// `outboxes` (Redis Streams with `PBM_REDIS_URL`, else one in-process bus) and a sealer of
/// each one's audit trail, and `pbm.audit.v1.AuditService` over every hosted service's `trails`.
pub async fn serve_hosted(
    args: &ServerArgs,
    name: &str,
    routes: Routes,
    health_names: Vec<&'static str>,
    outboxes: &[Db],
    trails: Vec<Trail>,
) -> anyhow::Result<()> {
    let bus = pbm_events::InProcessBus::default();
    let (routes, health_names) = host(args, routes, health_names, outboxes, trails, &bus).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let backend = if args.database_url.as_deref().is_some_and(|u| !u.is_empty()) {
        "postgres"
    } else {
        "sqlite"
    };
    tracing::info!(listen = %args.listen, backend, region = %args.mof_div_code, "{name} serving");
    let options = args.serve_options(health_names)?;
    let served = crate::serve(listener, routes, options, crate::shutdown_signal()).await;
    crate::audit::seal_now(outboxes).await;
    served
}

/// What a server runs beside the services' routes, as `args` configure it: the keys of the
/// requests' fingerprints and of the audit trail installed; for each of `outboxes` a relay
/// publishing it (Redis Streams with `PBM_REDIS_URL`, else `bus`), the idempotency sweeper and
/// the audit sealer; and `pbm.audit.v1.AuditService` over `trails`. Returns the routes and the
/// health names with the audit service added. `serve_hosted` and the tests' deployments call it.
pub async fn host(
    args: &ServerArgs,
    routes: Routes,
    mut health_names: Vec<&'static str>,
    outboxes: &[Db],
    trails: Vec<Trail>,
    bus: &pbm_events::InProcessBus,
) -> anyhow::Result<(Routes, Vec<&'static str>)> {
    crate::mutation::install_fingerprint_key(args.pii_cipher()?.fingerprint_key());
    pbm_db::platform::chain::install_key(args.audit.key(&args.data_dir, args.production)?);
    for db in outboxes {
        pbm_events::spawn_relay(db.clone(), args.redis_url.as_deref(), bus).await?;
        tokio::spawn(sweep_idempotency(db.clone()));
        tokio::spawn(crate::audit::run_sealer(db.clone()));
    }
    let routes = crate::audit::add_to(routes, args.region()?, trails);
    health_names.push(crate::audit::HEALTH_NAME);
    Ok((routes, health_names))
}

/// Deletes expired idempotency records of `db` now and then, for as long as the process runs.
async fn sweep_idempotency(db: Db) {
    let mut every = tokio::time::interval(crate::mutation::IDEMPOTENCY_SWEEP_EVERY);
    loop {
        every.tick().await;
        match crate::mutation::expire_idempotency(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "expired idempotency records deleted"),
            Err(e) => tracing::warn!(error = %e, "could not delete expired idempotency records"),
        }
    }
}

/// The name grpc.health.v1 reports for a generated service (`GoalServiceServer<_>` →
/// `pbm.goal.v1.GoalService`).
pub fn health_name<S: tonic::server::NamedService>() -> &'static str {
    S::NAME
}
