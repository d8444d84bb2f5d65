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
    /// The event consumers the service runs, applying to its database (docs/ARCHITECTURE.md
    /// "Events"). None by default.
    fn consumers(state: &Self::State) -> Vec<pbm_events::Consumer> {
        let _ = state;
        Vec::new()
    }
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
    /// The event consumers' dead letters: list them, replay one or all (docs/OPERATIONS.md
    /// "Events and dead letters").
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
}

/// `events …` of `pbm` and of every service binary.
#[derive(Subcommand)]
pub enum EventsCommand {
    /// The events a consumer gave up on (failed permanently or too often).
    #[command(subcommand)]
    DeadLetters(DeadLetters),
}

/// `events dead-letters …`.
#[derive(Subcommand)]
pub enum DeadLetters {
    /// List the dead letters not replayed yet, of every consumer.
    List {
        /// Replayed ones too.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        args: ServerArgs,
    },
    /// Replay one dead letter through its consumer (one transaction, idempotent).
    Replay {
        /// The consumer (as `list` shows it).
        consumer: String,
        /// The dead letter's id (as `list` shows it).
        id: i64,
        #[command(flatten)]
        args: ServerArgs,
    },
    /// Replay every dead letter not replayed yet, consumer by consumer.
    ReplayAll {
        #[command(flatten)]
        args: ServerArgs,
    },
}

impl DeadLetters {
    /// The server's configuration the command opens the databases with.
    pub fn args(&self) -> &ServerArgs {
        match self {
            DeadLetters::List { args, .. }
            | DeadLetters::Replay { args, .. }
            | DeadLetters::ReplayAll { args } => args,
        }
    }
}

/// `events dead-letters …` over `consumers` (docs/OPERATIONS.md "Events and dead letters").
pub async fn dead_letters(
    consumers: &[pbm_events::Consumer],
    action: &DeadLetters,
) -> anyhow::Result<()> {
    use pbm_events::dead_letters::{list, replay, replay_all};
    match action {
        DeadLetters::List { all, .. } => {
            println!(
                "consumer\tid\tevent\ttopic\tattempts\tfirst failed\tlast failed\treplayed\treason"
            );
            for consumer in consumers {
                for l in list(consumer, *all).await? {
                    let replayed = l.replayed_at.map(|t| t.to_string()).unwrap_or_default();
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{replayed}\t{}",
                        l.consumer,
                        l.id,
                        l.event_id,
                        l.topic,
                        l.attempts,
                        l.first_failed_at,
                        l.last_failed_at,
                        l.reason
                    );
                }
            }
            Ok(())
        }
        DeadLetters::Replay { consumer, id, .. } => {
            let Some(c) = consumers.iter().find(|c| c.name() == consumer) else {
                let names: Vec<&str> = consumers.iter().map(|c| c.name()).collect();
                anyhow::bail!(
                    "no consumer {consumer}; the consumers are {}",
                    names.join(", ")
                );
            };
            let applied = replay(c, *id).await?;
            println!("{consumer} dead letter {id}: {applied:?}");
            Ok(())
        }
        DeadLetters::ReplayAll { .. } => {
            let mut failures = 0;
            for consumer in consumers {
                let (applied, failed) = replay_all(consumer).await?;
                println!(
                    "{}: {applied} replayed, {} failed",
                    consumer.name(),
                    failed.len()
                );
                for e in &failed {
                    println!("  {e}");
                }
                failures += failed.len();
            }
            if failures > 0 {
                anyhow::bail!("{failures} dead letters failed again");
            }
            Ok(())
        }
    }
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
                    let consumers = S::consumers(&state);
                    let routes = S::add_to(Routes::default(), state);
                    // Embedded (no Redis), its consumers read the outbox of its own database:
                    // the events of services sharing that database (docs/ARCHITECTURE.md).
                    let sources = vec![pbm_events::embedded::Source {
                        name: S::BINARY.to_owned(),
                        db: outbox.clone(),
                    }];
                    serve_hosted(
                        &args,
                        S::BINARY,
                        routes,
                        S::health_names(),
                        &[outbox],
                        vec![trail],
                        (consumers, sources),
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
                Command::Events {
                    command: EventsCommand::DeadLetters(action),
                } => {
                    let _telemetry = pbm_telemetry::init(S::BINARY, None)?;
                    let state = S::open(action.args()).await?;
                    dead_letters(&S::consumers(&state), &action).await
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
/// each one's audit trail, `pbm.audit.v1.AuditService` over every hosted service's `trails`,
/// and the hosted services' event consumers reading the embedded `sources` ([`spawn_consumers`]).
pub async fn serve_hosted(
    args: &ServerArgs,
    name: &str,
    routes: Routes,
    health_names: Vec<&'static str>,
    outboxes: &[Db],
    trails: Vec<Trail>,
    (consumers, sources): (Vec<pbm_events::Consumer>, Vec<pbm_events::embedded::Source>),
) -> anyhow::Result<()> {
    let bus = pbm_events::InProcessBus::default();
    let (routes, health_names) = host(args, routes, health_names, outboxes, trails, &bus).await?;
    spawn_consumers(args, consumers, sources, &bus).await?;
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
    // Outbox rows carry the writing request's trace; consumers continue it.
    pbm_db::platform::install_trace_context(pbm_telemetry::current_traceparent);
    let redis = event_streams(args).await?;
    for db in outboxes {
        pbm_events::spawn_relay(db.clone(), redis.as_ref(), bus);
        tokio::spawn(sweep_idempotency(db.clone()));
        tokio::spawn(crate::audit::run_sealer(db.clone()));
    }
    let routes = crate::audit::add_to(routes, args.region()?, trails);
    health_names.push(crate::audit::HEALTH_NAME);
    Ok((routes, health_names))
}

/// Starts `consumers` (docs/ARCHITECTURE.md "Events"): with `PBM_REDIS_URL` each reads its
/// consumer group of Redis Streams; else each reads the outboxes of `sources` (every database
/// of this process) from its cursor, woken by `bus`. Either way it applies each event once in
/// its own database and keeps what it gives up on as dead letters (`pbm events dead-letters`).
pub async fn spawn_consumers(
    args: &ServerArgs,
    consumers: Vec<pbm_events::Consumer>,
    sources: Vec<pbm_events::embedded::Source>,
    bus: &pbm_events::InProcessBus,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let redis = event_streams(args).await?;
    let mut tasks = Vec::with_capacity(consumers.len());
    for consumer in consumers {
        tracing::info!(consumer = %consumer.name(), topics = ?consumer.topics(), "event consumer");
        tasks.push(match &redis {
            Some(streams) => streams.spawn_consumer(consumer, Default::default()),
            None => pbm_events::embedded::spawn(consumer, sources.clone(), bus, Default::default()),
        });
    }
    Ok(tasks)
}

/// This deployment's Redis Streams with `PBM_REDIS_URL`: keys `pbm:<region>:events:<topic>`,
/// so that deployments (regions) may share one Redis (docs/ARCHITECTURE.md "Events"). The
/// relays ([`host`]) and the consumers ([`spawn_consumers`]) both take it from here.
pub async fn event_streams(args: &ServerArgs) -> anyhow::Result<Option<pbm_events::RedisStreams>> {
    let Some(url) = args.redis_url.as_deref().filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let region = args.region()?.to_string();
    let streams = pbm_events::RedisStreams::connect(url, &region)
        .await
        .context("PBM_REDIS_URL")?;
    Ok(Some(streams))
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
