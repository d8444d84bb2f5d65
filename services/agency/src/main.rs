//! `pbm-agency`: the agency and expert pool as its own process (one container per service).

use clap::{Parser, Subcommand};
use pbm_server::config::ServerArgs;

#[derive(Parser)]
#[command(
    name = "pbm-agency",
    version,
    about = "PBM 第三方机构/专家库 (agency and expert pool) service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the agency service.
    Serve(ServerArgs),
    /// Apply database migrations and exit.
    Migrate(ServerArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let _telemetry = pbm_telemetry::init("pbm-agency", args.otlp_endpoint.as_deref())?;
            let state = pbm_agency::open(&args).await?;
            let bus = pbm_events::InProcessBus::default();
            pbm_events::spawn_relay(state.db.clone(), args.redis_url.as_deref(), &bus).await?;
            let listener = tokio::net::TcpListener::bind(args.listen).await?;
            tracing::info!(listen = %args.listen, "pbm-agency serving");
            let options = args.serve_options(vec![
                pbm_agency::HEALTH_NAME,
                pbm_agency::ENGAGEMENT_HEALTH_NAME,
                pbm_agency::DRAW_HEALTH_NAME,
            ])?;
            pbm_server::serve(
                listener,
                pbm_agency::router(state),
                options,
                pbm_server::shutdown_signal(),
            )
            .await
        }
        Command::Migrate(args) => {
            let _telemetry = pbm_telemetry::init("pbm-agency", None)?;
            pbm_agency::migrate(&args).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
    }
}
