//! `pbmctl`: the administrators' command line for the agency and expert pool
//! (第三方机构/专家库), over gRPC (`pbm.agency.v1.AgencyRegistryService`, `EngagementService`
//! and `DrawService`).
//!
//! ```text
//! pbmctl [--server URL] [--token T | --dev-role ROLE] [--json] <noun> <verb> …
//!   batch       add | list
//!   agency      list | show | add | update | warn | suspend | reinstate | remove | history
//!               | violation add|list | import | export
//!   expert      list | show | add | update | status | history | reveal
//!               | violation add|list | fields | import | export
//!   rules       show | set
//!   engagement  add | show | list | rate | explain | recompute
//!   draw        experts | agencies | respond | show | replay
//!   stats
//!   audit       verify | export
//! ```
//!
//! Violations are one command for both parties (`violation.rs`: an agency by credit code, an
//! expert by id). Draws of experts and of agencies (uniform or weighted by rating) share the
//! task options, `respond` (`--expert` or `--agency`), `show` and `replay`. `engagement
//! recompute` rates every agency and expert as of a date, applies the grade actions and prints
//! the ranking.
//!
//! Agencies and experts are imported from and exported to .xlsx with Chinese headers by one
//! code path (`transfer.rs`: reading, per-cell problems as sheet row + column header + message,
//! writing, the summary): every row is checked locally first and nothing is sent if any cell is
//! wrong; rows are then registered with request ids derived from the file's content, so
//! re-running an import is safe; each row is reported as created, already existing (with the server's reason,
//! e.g. `EXPERT_EXISTS`) or refused (exit 1). Expert exports are masked (身份证号, 手机号): they
//! never call `RevealExpertContact`.
//!
//! Tables by default, `--json` for scripts. Exit codes: 0 success, 1 refused or failed (the
//! message, reason code and field violations on stderr; also a draw whose replay does not
//! match), 2 usage. Mutating calls whose outcome may be unknown take `--request-id` to retry
//! safely. See docs/PBMCTL.md.

mod agency;
mod audit;
mod batch;
mod client;
mod draw;
mod engagement;
mod expert;
mod json;
mod names;
mod rules;
mod stats;
mod table;
mod transfer;
mod violation;

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::client::{Ctx, Failure, GlobalArgs, Outcome};

#[derive(Parser, Debug)]
#[command(
    name = "pbmctl",
    version,
    about = "PBM 第三方机构/专家库管理命令行 / admin CLI for the agency and expert pool",
    long_about = "PBM 第三方机构/专家库管理命令行 / admin CLI for the agency and expert pool \
                  (pbm.agency.v1 AgencyRegistryService, EngagementService and DrawService \
                  over gRPC).\n\n\
                  Every call needs a token: --token (PBM_TOKEN) from `pbm token`, or --dev-role \
                  ROLE to mint one with the development key in --data-dir (as `pbm token` does). \
                  Tables by default, --json for scripts. Exit codes: 0 ok, 1 refused/failed, \
                  2 usage. See docs/PBMCTL.md.",
    after_help = "例 / Example:\n  pbmctl --dev-role finance_admin agency list --status admitted"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// 入库批次 / Admission batches.
    #[command(subcommand)]
    Batch(batch::Command),
    /// 第三方机构 / Third-party agencies.
    #[command(subcommand)]
    Agency(agency::Command),
    /// 专家 / Experts.
    #[command(subcommand)]
    Expert(expert::Command),
    /// 年度规则 / Pool rules per fiscal year.
    #[command(subcommand)]
    Rules(rules::Command),
    /// 委托、评分、动态评分说明与重算排名 / Engagements, their rating, explained ratings and
    /// the recompute of every rating (EngagementService).
    #[command(subcommand)]
    Engagement(engagement::Command),
    /// 随机抽取专家或机构（可复现、可核对）/ Random draws of experts or agencies, reproducible
    /// and auditable (DrawService).
    #[command(subcommand)]
    Draw(draw::Command),
    /// 入库统计（供省级平台）/ Pool statistics (as the provincial platform reads them).
    Stats,
    /// 审计日志核验与导出（审计、本级财政）/ Verify and export a service's audit trail
    /// (AuditService; auditors and the region's finance bureau).
    #[command(subcommand)]
    Audit(audit::Command),
}

/// Reads a JSON file (for `--file`).
pub fn read_json(file: &Path) -> Outcome<serde_json::Value> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::Message(format!("无法读取 {}: {e}", file.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::Message(format!("{} 不是有效的 JSON: {e}", file.display())))
}

/// Prints every problem found in a `--file` and gives up (nothing was sent).
pub fn file_errors(file: &Path, errors: Vec<String>) -> Failure {
    for e in &errors {
        eprintln!("{}: {e}", file.display());
    }
    eprintln!(
        "错误: {} 有 {} 处问题，未发送（nothing was sent）",
        file.display(),
        errors.len()
    );
    Failure::Reported
}

async fn run(cli: Cli) -> Outcome {
    let ctx = Ctx::connect(&cli.global).await?;
    match cli.command {
        Command::Batch(c) => batch::run(&ctx, c).await,
        Command::Agency(c) => agency::run(&ctx, c).await,
        Command::Expert(c) => expert::run(&ctx, c).await,
        Command::Rules(c) => rules::run(&ctx, c).await,
        Command::Engagement(c) => engagement::run(&ctx, c).await,
        Command::Draw(c) => draw::run(&ctx, c).await,
        Command::Stats => stats::run(&ctx).await,
        Command::Audit(c) => audit::run(&ctx, c).await,
    }
}

fn main() -> ExitCode {
    // clap exits with 2 on usage errors (0 for --help / --version).
    let cli = Cli::parse();
    let server = cli.global.server.clone();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("错误: 无法启动运行时: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report(&server);
            ExitCode::from(failure.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_tree_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
