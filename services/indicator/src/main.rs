//! `pbm-indicator`: the indicator library as its own process (one container per service).

use clap::{Parser, Subcommand};
use pbm_server::config::ServerArgs;

#[derive(Parser)]
#[command(
    name = "pbm-indicator",
    version,
    about = "PBM 绩效指标库 (indicator library) service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the indicator service.
    Serve(ServerArgs),
    /// Apply database migrations and exit.
    Migrate(ServerArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let _telemetry = pbm_telemetry::init("pbm-indicator", args.otlp_endpoint.as_deref())?;
            let state = pbm_indicator::open(&args).await?;
            let bus = pbm_events::InProcessBus::default();
            pbm_events::spawn_relay(state.db.clone(), args.redis_url.as_deref(), &bus).await?;
            let listener = tokio::net::TcpListener::bind(args.listen).await?;
            tracing::info!(listen = %args.listen, "pbm-indicator serving");
            let options = args.serve_options(vec![pbm_indicator::HEALTH_NAME])?;
            pbm_server::serve(
                listener,
                pbm_indicator::router(state),
                options,
                pbm_server::shutdown_signal(),
            )
            .await
        }
        Command::Migrate(args) => {
            let _telemetry = pbm_telemetry::init("pbm-indicator", None)?;
            pbm_indicator::migrate(&args).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
    }
}
