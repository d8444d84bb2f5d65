//! `pbm`: one binary hosting every PBM service on one port.
//!
//! * `pbm serve` – embedded by default: SQLite files under `--data-dir`, created and migrated on
//!   first start; `--database-url postgres://…` runs the same code on PostgreSQL.
//! * `pbm migrate` – apply every service's migrations and exit (run before a rollout).
//! * `pbm audit-verify` – seal and verify every service's audit trail (docs/SECURITY.md).
//! * `pbm reencrypt-pii` – re-encrypt personal data under the configured cipher and key
//!   (docs/SECURITY.md "Key rotation").
//! * `pbm events dead-letters list|replay <consumer> <id>|replay-all` – the event consumers'
//!   dead letters (docs/OPERATIONS.md "Dead letters").
//! * `pbm token` – print a development token signed with the local development key, or with an
//!   SM2 key given by file (`--sm2-key`).
//!
//! The command-line interface is relied on by provincial platforms and scripts: keep it stable.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pbm_auth::{Claims, Role, dev};
use pbm_events::embedded::Source;
use pbm_server::audit::Trail;
use pbm_server::config::{DEFAULT_REGION, ServerArgs};
use pbm_server::run::{EventsCommand, Service, dead_letters, serve_hosted};

#[derive(Parser)]
#[command(
    name = "pbm",
    version,
    about = "PBM 预算绩效管理 (budget performance management) services"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every service on one port.
    Serve(ServerArgs),
    /// Apply every service's database migrations and exit.
    Migrate(ServerArgs),
    /// Re-encrypt every service's personal data under PBM_PII_CIPHER and PBM_PII_KEY (reading
    /// values under PBM_PII_KEY_PREVIOUS too), recompute blind indexes, print the counts and exit.
    ReencryptPii(ServerArgs),
    /// Seal and verify every service's audit trail; print the first broken sequence number of
    /// each and exit non-zero when one is broken (docs/SECURITY.md "Audit log").
    AuditVerify(ServerArgs),
    /// The event consumers' dead letters: list them, replay one or all (docs/OPERATIONS.md
    /// "Dead letters").
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Print a development token (signed with the data directory's development key, or with the
    /// SM2 key of `--sm2-key`).
    Token(TokenArgs),
}

#[derive(clap::Args)]
struct TokenArgs {
    /// finance_admin, department, budget_unit, agency, expert, auditor, province or public.
    #[arg(long)]
    role: Role,
    /// Budget unit code (AGENCY_CODE), required for budget_unit.
    #[arg(long)]
    unit: Option<String>,
    /// Department code, required for department.
    #[arg(long)]
    department: Option<String>,
    /// Agency id (统一社会信用代码), required for agency.
    #[arg(long)]
    agency: Option<String>,
    /// Expert id, required for expert.
    #[arg(long)]
    expert: Option<String>,
    /// Token subject (user name); defaults to dev-<role>.
    #[arg(long)]
    subject: Option<String>,
    /// Region of the caller (defaults to the deployment's).
    #[arg(long, env = "PBM_MOF_DIV_CODE", default_value = DEFAULT_REGION)]
    mof_div_code: String,
    /// Data directory holding the development key (the same as `pbm serve --data-dir`).
    #[arg(long, env = "PBM_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Lifetime in hours.
    #[arg(long, default_value_t = 24 * 30)]
    ttl_hours: i64,
    /// Sign an SM2 token (`alg = SM2`) with the secret key in this file (hex or base64 of 32
    /// bytes) instead of the development key; needs `--kid`.
    #[arg(long, requires = "kid")]
    sm2_key: Option<PathBuf>,
    /// Key id of the `--sm2-key` token: the servers trust it with a `kid=sm2:<public key>` line
    /// in PBM_AUTH_PUBLIC_KEYS.
    #[arg(long, requires = "sm2_key")]
    kid: Option<String>,
    /// With `--sm2-key`: print the key-file line trusting the key (`kid=sm2:<base64>`) instead of
    /// a token.
    #[arg(long, requires = "sm2_key")]
    public_key_line: bool,
}

/// The SM2 signer of `--sm2-key` and `--kid`.
fn sm2_signer(path: &std::path::Path, kid: &str) -> anyhow::Result<pbm_auth::Sm2TokenSigner> {
    use base64::Engine;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --sm2-key {}", path.display()))?;
    let text = text.trim();
    let secret = hex::decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
        .map_err(|_| anyhow::anyhow!("{}: expected hex or base64 of 32 bytes", path.display()))?;
    pbm_auth::Sm2TokenSigner::from_secret(kid, &secret)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn token(args: TokenArgs) -> anyhow::Result<String> {
    pbm_types::DivisionCode::parse(&args.mof_div_code)
        .map_err(|e| anyhow::anyhow!("--mof-div-code: {e}"))?;
    let required = match args.role {
        Role::BudgetUnit => Some(("--unit", &args.unit)),
        Role::Department => Some(("--department", &args.department)),
        Role::Agency => Some(("--agency", &args.agency)),
        Role::Expert => Some(("--expert", &args.expert)),
        _ => None,
    };
    if let Some((flag, None)) = required {
        anyhow::bail!("role {} needs {flag}", args.role);
    }
    if args.ttl_hours <= 0 || args.ttl_hours * 3600 > pbm_auth::token::MAX_LIFETIME_SECS {
        anyhow::bail!(
            "--ttl-hours must be between 1 and {} (the longest a token is accepted)",
            pbm_auth::token::MAX_LIFETIME_SECS / 3600
        );
    }
    let sm2 = match (&args.sm2_key, &args.kid) {
        (Some(path), Some(kid)) => Some(sm2_signer(path, kid)?),
        _ => None,
    };
    if let Some(signer) = &sm2
        && args.public_key_line
    {
        return Ok(signer.key_file_line());
    }
    let sub = args
        .subject
        .clone()
        .unwrap_or_else(|| format!("dev-{}", args.role));
    let claims = Claims::new(sub, args.role, &args.mof_div_code, args.ttl_hours * 3600)
        .with_unit(args.unit.as_deref())
        .with_department(args.department.as_deref())
        .with_agency(args.agency.as_deref())
        .with_expert(args.expert.as_deref());
    if let Some(signer) = sm2 {
        return Ok(signer.sign(&claims));
    }
    let signer = dev::load_or_create(&args.data_dir)
        .with_context(|| format!("development key in {}", args.data_dir.display()))?;
    Ok(signer.sign(&claims))
}

/// Each hosted service's audit trail: its name and its database.
fn trails(
    indicator: &pbm_indicator::AppState,
    agency: &pbm_agency::AppState,
    goal: &pbm_goal::AppState,
    monitoring: &pbm_monitoring::AppState,
    evaluation: &pbm_evaluation::AppState,
) -> Vec<Trail> {
    vec![
        Trail::of(pbm_indicator::HEALTH_NAME, indicator.db.clone()),
        Trail::of(pbm_agency::HEALTH_NAME, agency.db.clone()),
        Trail::of(pbm_goal::HEALTH_NAME, goal.db.clone()),
        Trail::of(pbm_monitoring::HEALTH_NAME, monitoring.db.clone()),
        Trail::of(pbm_evaluation::HEALTH_NAME, evaluation.db.clone()),
    ]
}

/// Every hosted service's event consumers, and the outboxes they read when embedded: each
/// service's database by its name (docs/ARCHITECTURE.md "Events"), or the one shared database.
fn events(
    args: &ServerArgs,
    indicator: &pbm_indicator::AppState,
    agency: &pbm_agency::AppState,
    goal: &pbm_goal::AppState,
    monitoring: &pbm_monitoring::AppState,
    evaluation: &pbm_evaluation::AppState,
) -> (Vec<pbm_events::Consumer>, Vec<Source>) {
    let consumers = [
        pbm_agency::consumers(agency),
        pbm_monitoring::consumers(monitoring),
        pbm_evaluation::consumers(evaluation),
    ]
    .concat();
    let databases = if args.shares_one_database() {
        vec![("shared", &indicator.db)]
    } else {
        vec![
            ("indicator", &indicator.db),
            ("agency", &agency.db),
            ("goal", &goal.db),
            ("monitoring", &monitoring.db),
            ("evaluation", &evaluation.db),
        ]
    };
    let sources = databases
        .into_iter()
        .map(|(name, db)| Source {
            name: name.to_owned(),
            db: db.clone(),
        })
        .collect();
    (consumers, sources)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let _telemetry = pbm_telemetry::init("pbm", args.otlp_endpoint.as_deref())?;
            let indicator = pbm_indicator::open(&args).await?;
            let agency = pbm_agency::open(&args).await?;
            let goal = pbm_goal::open(
                &args,
                &args.indicator_url_or_self(),
                &args.agency_url_or_self(),
            )
            .await?;
            let monitoring =
                pbm_monitoring::open(&args, &args.goal_url_or_self(), &args.agency_url_or_self())
                    .await?;
            let evaluation = pbm_evaluation::open(
                &args,
                &args.goal_url_or_self(),
                &args.monitoring_url_or_self(),
                &args.agency_url_or_self(),
            )
            .await?;
            // One relay per database: with --database-url every service writes one outbox.
            let outboxes = if args.shares_one_database() {
                vec![indicator.db.clone()]
            } else {
                vec![
                    indicator.db.clone(),
                    agency.db.clone(),
                    goal.db.clone(),
                    monitoring.db.clone(),
                    evaluation.db.clone(),
                ]
            };
            let events = events(&args, &indicator, &agency, &goal, &monitoring, &evaluation);
            let trails = trails(&indicator, &agency, &goal, &monitoring, &evaluation);
            let routes = pbm_evaluation::add_to(
                pbm_monitoring::add_to(
                    pbm_goal::add_to(
                        pbm_agency::add_to(pbm_indicator::router(indicator), agency),
                        goal,
                    ),
                    monitoring,
                ),
                evaluation,
            );
            let health = [
                pbm_indicator::Indicator::health_names(),
                pbm_agency::Agency::health_names(),
                pbm_goal::Goal::health_names(),
                pbm_monitoring::Monitoring::health_names(),
                pbm_evaluation::Evaluation::health_names(),
            ]
            .concat();
            serve_hosted(&args, "pbm", routes, health, &outboxes, trails, events).await
        }
        Command::AuditVerify(args) => {
            let _telemetry = pbm_telemetry::init("pbm", None)?;
            let indicator = pbm_indicator::open(&args).await?;
            let agency = pbm_agency::open(&args).await?;
            let goal = pbm_goal::open(
                &args,
                &args.indicator_url_or_self(),
                &args.agency_url_or_self(),
            )
            .await?;
            let monitoring =
                pbm_monitoring::open(&args, &args.goal_url_or_self(), &args.agency_url_or_self())
                    .await?;
            let evaluation = pbm_evaluation::open(
                &args,
                &args.goal_url_or_self(),
                &args.monitoring_url_or_self(),
                &args.agency_url_or_self(),
            )
            .await?;
            let key = args.audit.key(&args.data_dir, args.production)?;
            pbm_server::audit::verify_command(
                &trails(&indicator, &agency, &goal, &monitoring, &evaluation),
                args.shares_one_database(),
                key,
            )
            .await
        }
        Command::Migrate(args) => {
            let _telemetry = pbm_telemetry::init("pbm", None)?;
            pbm_indicator::migrate(&args).await?;
            pbm_agency::migrate(&args).await?;
            pbm_goal::migrate(&args).await?;
            pbm_monitoring::migrate(&args).await?;
            pbm_evaluation::migrate(&args).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::ReencryptPii(args) => {
            let _telemetry = pbm_telemetry::init("pbm", None)?;
            // The agency service is the one that keeps personal data.
            println!("agency: {}", pbm_agency::reencrypt_pii(&args).await?);
            Ok(())
        }
        Command::Events {
            command: EventsCommand::DeadLetters(action),
        } => {
            let args = action.args();
            let _telemetry = pbm_telemetry::init("pbm", None)?;
            let agency = pbm_agency::open(args).await?;
            let monitoring =
                pbm_monitoring::open(args, &args.goal_url_or_self(), &args.agency_url_or_self())
                    .await?;
            let evaluation = pbm_evaluation::open(
                args,
                &args.goal_url_or_self(),
                &args.monitoring_url_or_self(),
                &args.agency_url_or_self(),
            )
            .await?;
            let consumers = [
                pbm_agency::consumers(&agency),
                pbm_monitoring::consumers(&monitoring),
                pbm_evaluation::consumers(&evaluation),
            ]
            .concat();
            dead_letters(&consumers, &action).await
        }
        Command::Token(args) => {
            println!("{}", token(args)?);
            Ok(())
        }
    }
}
