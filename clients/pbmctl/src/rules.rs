//! `pbmctl rules …`: the pool rules of a fiscal year (规则：入库条件、评分、衰减、处罚、信用等级、抽取).

use std::path::PathBuf;

use chrono::Datelike;
use clap::Subcommand;
use pbm_proto::agency::v1 as pb;

use crate::client::{Ctx, Failure, Outcome, request_id};
use crate::json;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// 查看某年度规则（未设置时为全国默认，版本 0）/ Show a year's rules (national defaults,
    /// version 0, until set).
    Show {
        /// 预算年度（默认今年）/ Fiscal year (default: this year).
        #[arg(long)]
        year: Option<i32>,
    },
    /// 设置某年度规则（JSON 文件；先读取当前版本）/ Set a year's rules from a JSON file (reads
    /// the current version first).
    #[command(after_long_help = "\
The file is the rule set as `rules show --year Y --json` prints it in \"rules\" (or the whole
output of that command): an object with expert_entry, rubric, decay, shrinkage, penalties,
credit and draw. Start from the current rules:
  pbmctl rules show --year 2026 --json > rules.json   # edit, then
  pbmctl rules set --year 2026 --file rules.json
The server validates it (weights total 100, bands descending, …). See docs/AGENCY.md.")]
    Set {
        /// 预算年度 / Fiscal year.
        #[arg(long)]
        year: i32,
        /// 规则 JSON 文件 / JSON file with the rule set.
        #[arg(long)]
        file: PathBuf,
    },
}

pub async fn run(ctx: &Ctx, command: Command) -> Outcome {
    match command {
        Command::Show { year } => {
            let year = year.unwrap_or_else(|| chrono::Local::now().year());
            let rules = get(ctx, year).await?;
            print(ctx, &rules);
        }
        Command::Set { year, file } => {
            let value = crate::read_json(&file)?;
            // The output of `rules show --json` is accepted as is.
            let value = match value.get("rules") {
                Some(rules) if rules.is_object() && value.get("fiscal_year").is_some() => {
                    rules.clone()
                }
                _ => value,
            };
            if !value.is_object() {
                return Err(Failure::Message(format!(
                    "{}: 规则应为 JSON 对象 {{…}}",
                    file.display()
                )));
            }
            let current = get(ctx, year).await?;
            let rules = ctx
                .api()
                .set_pool_rules(ctx.req(pb::SetPoolRulesRequest {
                    request_id: request_id(),
                    fiscal_year: year,
                    expected_version: current.version,
                    rules_json: value.to_string(),
                }))
                .await?
                .into_inner()
                .rules
                .unwrap_or_default();
            if ctx.json {
                json::print(&json::pool_rules(&rules));
            } else {
                println!(
                    "已设置 {} 年度规则，第 {} 版",
                    rules.fiscal_year, rules.version
                );
            }
        }
    }
    Ok(())
}

async fn get(ctx: &Ctx, year: i32) -> Outcome<pb::PoolRulesRecord> {
    Ok(ctx
        .api()
        .get_pool_rules(ctx.req(pb::GetPoolRulesRequest { fiscal_year: year }))
        .await?
        .into_inner()
        .rules
        .unwrap_or_default())
}

fn print(ctx: &Ctx, rules: &pb::PoolRulesRecord) {
    if ctx.json {
        json::print(&json::pool_rules(rules));
        return;
    }
    if rules.version == 0 {
        println!(
            "{} 年度规则：全国默认（版本 0，尚未设置）",
            rules.fiscal_year
        );
    } else {
        let changed = rules.changed.clone().unwrap_or_default();
        println!(
            "{} 年度规则：第 {} 版（{} {}）",
            rules.fiscal_year,
            rules.version,
            crate::table::time(&changed.at),
            changed.actor
        );
    }
    match serde_json::from_str::<serde_json::Value>(&rules.rules_json) {
        Ok(v) => json::print(&v),
        Err(_) => println!("{}", rules.rules_json),
    }
}
