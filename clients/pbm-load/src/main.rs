//! `pbm-load`: the load generator and data seeder behind `scripts/bench.sh` and
//! docs/BENCHMARKS.md.
//!
//! * `pbm-load echo-server --listen ADDR` – a bare tonic server for
//!   `pbm.bench.v1.EchoService/Echo` (no layers, TCP_NODELAY on): the baseline.
//! * `pbm-load run --target URL --rpc echo|get-indicator|search …` – N concurrent request loops
//!   over a few HTTP/2 connections, bounded by a duration and a request count; prints rps,
//!   latency percentiles and the count of every gRPC status code. Exit code 2 when any request
//!   did not end OK.
//! * `pbm-load seed --target URL --token T --count N` – generates a realistic library of N
//!   indicators (Chinese names and explanations) and imports it with `ImportIndicators`, in
//!   batches; `--write-xlsx PATH` only writes the workbook.
//! * `pbm-load import --target URL --token T --file PATH` – times one `ImportIndicators` call.

mod echo;
mod run;
mod seed;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "pbm-load",
    version,
    about = "Load generator and seeder for the PBM benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the bare echo baseline.
    EchoServer(echo::Args),
    /// Run a load test against one RPC.
    Run(run::Args),
    /// Generate a library of indicators and import it (or only write the .xlsx).
    Seed(seed::SeedArgs),
    /// Time one ImportIndicators call with an existing .xlsx file.
    Import(seed::ImportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pbm-load: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::EchoServer(args) => echo::serve(args).await.map(|()| true),
            Command::Run(args) => run::run(args).await,
            Command::Seed(args) => seed::seed(args).await,
            Command::Import(args) => seed::import(args).await,
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        // The command ran but saw non-OK gRPC statuses (already printed).
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("pbm-load: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
