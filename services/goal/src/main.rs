//! `pbm-goal`: goal management as its own process (one container per service). It calls the
//! indicator service at `PBM_INDICATOR_URL` and the agency service at `PBM_AGENCY_URL`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use pbm_server::config::ServerArgs;

#[derive(Parser)]
#[command(
    name = "pbm-goal",
    version,
    about = "PBM 绩效目标管理 (performance goals, ex-ante assessment, funding gate) service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the goal service.
    Serve(ServerArgs),
    /// Apply database migrations and exit.
    Migrate(ServerArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let _telemetry = pbm_telemetry::init("pbm-goal", args.otlp_endpoint.as_deref())?;
            let indicator_url = args
                .indicator_url
                .clone()
                .filter(|u| !u.is_empty())
                .context(
                    "PBM_INDICATOR_URL is required: the goal service calls the indicator service",
                )?;
            let agency_url = args
                .agency_url
                .clone()
                .filter(|u| !u.is_empty())
                .context("PBM_AGENCY_URL is required: the goal service draws reviewers from the agency service")?;
            let state = pbm_goal::open(&args, &indicator_url, &agency_url).await?;
            let bus = pbm_events::InProcessBus::default();
            pbm_events::spawn_relay(state.db.clone(), args.redis_url.as_deref(), &bus).await?;
            let listener = tokio::net::TcpListener::bind(args.listen).await?;
            tracing::info!(listen = %args.listen, %indicator_url, "pbm-goal serving");
            let options = args.serve_options(vec![pbm_goal::HEALTH_NAME])?;
            pbm_server::serve(
                listener,
                pbm_goal::router(state),
                options,
                pbm_server::shutdown_signal(),
            )
            .await
        }
        Command::Migrate(args) => {
            let _telemetry = pbm_telemetry::init("pbm-goal", None)?;
            pbm_goal::migrate(&args).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
    }
}
