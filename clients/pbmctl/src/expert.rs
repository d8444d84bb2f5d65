//! `pbmctl expert …`: the expert pool (专家库), experts' violations (shared with agencies,
//! `violation.rs`), and .xlsx import/export (`transfer/expert.rs`).

use std::path::PathBuf;

use clap::Subcommand;
use pbm_proto::agency::v1 as pb;
use pbm_proto::common::v1::PageRequest;
use serde_json::json;

use crate::agency::{print_history, relations_text};
use crate::client::{Ctx, Outcome, all_pages, fail, request_id};
use crate::names::{self, EXPERT_STATUS, TITLE};
use crate::table::{Table, fields, time};
use crate::{json, transfer, violation};

const EXPERT_FILE_HELP: &str = "\
JSON 文件格式 / file format (an ExpertSpec; `expert show ID --json` prints one in its \"spec\"):
  {
    \"name\": \"张专家\",
    \"id_number\": \"140502197003151234\",   身份证号 (GB 11643 check digit; stored encrypted)
    \"phone\": \"13900001111\",              手机号 (stored encrypted)
    \"title\": \"senior\",                   职称: junior 初级, intermediate 中级, senior 副高级,
                                           full_senior 正高级
    \"years_in_field\": 15,                  从业年限
    \"fields\": [\"LAW\", \"ACCT\"],            专业领域代码 (`pbmctl expert fields`)
    \"affiliation\": \"山西某大学\",           工作单位
    \"employment\": [{\"organization\": \"山西某大学\", \"position\": \"教授\",
                    \"from\": \"2005-09-01\", \"to\": \"\"}],
    \"relations\": [{\"party_code\": \"DEPT-WATER\", \"kind\": \"worked_for\",
                   \"from\": \"2018-01-01\", \"to\": \"2020-12-31\", \"note\": \"\"}]
  }
Entry rules (中级 + 8 years, or 高级; age ≤ 70) are checked by the server. For update, an empty
id_number or phone keeps the stored one. Unknown fields are errors. See docs/PBMCTL.md.";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// 列出专家（身份证号、手机号脱敏）/ List experts (ID numbers and phones masked).
    List {
        /// 专业领域代码 / Field code (`pbmctl expert fields`).
        #[arg(long)]
        field: Option<String>,
        /// 状态 / Status: active, under-review, exited (入库/考评/退出).
        #[arg(long, value_parser = names::expert_status_arg)]
        status: Option<i32>,
        /// 最低职称 / At least this title: junior, intermediate, senior, full-senior.
        #[arg(long, value_parser = names::title_arg, value_name = "TITLE")]
        min_title: Option<i32>,
        /// 每页条数（默认 50，最多 500）/ Page size (server default 50, at most 500).
        #[arg(long, value_name = "N")]
        page_size: Option<i32>,
        /// 从该页开始 / Start at this page token.
        #[arg(long, value_name = "TOKEN")]
        page_token: Option<String>,
        /// 列出全部（自动翻页）/ List every page.
        #[arg(long)]
        all: bool,
    },
    /// 查看一位专家 / Show one expert.
    Show {
        /// 专家编号 / Expert id.
        id: i64,
    },
    /// 登记专家（JSON 文件）/ Register an expert from a JSON file.
    #[command(after_long_help = EXPERT_FILE_HELP)]
    Add {
        /// ExpertSpec 的 JSON 文件 / JSON file with the ExpertSpec.
        #[arg(long)]
        file: PathBuf,
    },
    /// 修改专家信息（JSON 文件；先读取当前版本）/ Update an expert from a JSON file (reads
    /// the current version first).
    #[command(after_long_help = EXPERT_FILE_HELP)]
    Update {
        /// 专家编号 / Expert id.
        id: i64,
        /// ExpertSpec 的 JSON 文件 / JSON file with the ExpertSpec.
        #[arg(long)]
        file: PathBuf,
    },
    /// 变更专家状态 / Change an expert's status.
    Status {
        /// 专家编号 / Expert id.
        id: i64,
        /// 新状态 / New status: active (入库), under-review (考评), exited (退出，不可撤销).
        #[arg(value_parser = names::expert_status_arg)]
        status: i32,
        /// 原因（记入状态变更记录）/ Reason (kept in the history).
        #[arg(long)]
        reason: String,
    },
    /// 状态变更记录 / Status history.
    History {
        /// 专家编号 / Expert id.
        id: i64,
    },
    /// 查看完整身份证号和手机号（仅财政；每次查看都记入审计）/ Reveal the full ID number and
    /// phone (finance only; every reveal is audited).
    Reveal {
        /// 专家编号 / Expert id.
        id: i64,
        /// 查看用途（记入审计日志）/ Why (recorded in the audit trail).
        #[arg(long)]
        reason: String,
    },
    /// 违规记录（严重违规的专家不得被抽取）/ Violations (a major one bars the expert from
    /// draws).
    #[command(subcommand)]
    Violation(violation::Command<violation::Expert>),
    /// 专业领域分类 / The field taxonomy.
    Fields,
    /// 从 .xlsx 导入专家（先在本地校验全部行；可安全重跑）/ Import experts from .xlsx (every
    /// row is checked locally first; re-running is safe).
    #[command(after_long_help = transfer::expert::IMPORT_HELP)]
    Import {
        /// .xlsx 文件 / The workbook.
        file: PathBuf,
    },
    /// 导出全部专家到 .xlsx（身份证号、手机号脱敏）/ Export every expert to .xlsx (ID numbers
    /// and phones masked).
    #[command(after_long_help = transfer::expert::IMPORT_HELP)]
    Export {
        /// 输出的 .xlsx 文件 / Output workbook.
        file: PathBuf,
    },
}

pub async fn run(ctx: &Ctx, command: Command) -> Outcome {
    match command {
        Command::List {
            field,
            status,
            min_title,
            page_size,
            page_token,
            all,
        } => {
            let filter = pb::ListExpertsRequest {
                field: field.unwrap_or_default(),
                status: status.unwrap_or_default(),
                min_title: min_title.unwrap_or_default(),
                page: None,
            };
            list(
                ctx,
                filter,
                page_size.unwrap_or_default(),
                page_token.unwrap_or_default(),
                all,
            )
            .await
        }
        Command::Show { id } => {
            let expert = get(ctx, id).await?;
            if ctx.json {
                json::print(&json::message(&expert));
            } else {
                print!("{}", details(&expert));
            }
            Ok(())
        }
        Command::Add { file } => {
            let spec = read_spec(&file)?;
            let expert = ctx
                .api()
                .register_expert(ctx.req(pb::RegisterExpertRequest {
                    request_id: request_id(),
                    spec: Some(spec),
                }))
                .await?
                .into_inner()
                .expert
                .unwrap_or_default();
            done(ctx, &expert, "已登记");
            Ok(())
        }
        Command::Update { id, file } => {
            let spec = read_spec(&file)?;
            let current = get(ctx, id).await?;
            let expert = ctx
                .api()
                .update_expert(ctx.req(pb::UpdateExpertRequest {
                    request_id: request_id(),
                    expert_id: id,
                    expected_version: current.version,
                    spec: Some(spec),
                }))
                .await?
                .into_inner()
                .expert
                .unwrap_or_default();
            done(ctx, &expert, "已修改");
            Ok(())
        }
        Command::Status { id, status, reason } => {
            let current = get(ctx, id).await?;
            let expert = ctx
                .api()
                .change_expert_status(ctx.req(pb::ChangeExpertStatusRequest {
                    request_id: request_id(),
                    expert_id: id,
                    expected_version: current.version,
                    status,
                    reason,
                }))
                .await?
                .into_inner()
                .expert
                .unwrap_or_default();
            done(ctx, &expert, "已变更");
            Ok(())
        }
        Command::History { id } => {
            let changes = ctx
                .api()
                .list_expert_status_history(
                    ctx.req(pb::ListExpertStatusHistoryRequest { expert_id: id }),
                )
                .await?
                .into_inner()
                .changes;
            print_history(ctx, &changes, &EXPERT_STATUS);
            Ok(())
        }
        Command::Reveal { id, reason } => {
            eprintln!(
                "注意: 查看完整身份证号和手机号会记入审计日志（操作人、时间、用途）/ \
                 this access is audited"
            );
            let full = ctx
                .api()
                .reveal_expert_contact(ctx.req(pb::RevealExpertContactRequest {
                    expert_id: id,
                    reason,
                }))
                .await?
                .into_inner();
            if ctx.json {
                json::print(&json!({
                    "expert_id": id,
                    "id_number": full.id_number,
                    "phone": full.phone,
                }));
            } else {
                print!(
                    "{}",
                    fields(&[
                        ("专家编号", id.to_string()),
                        ("身份证号", full.id_number),
                        ("手机号", full.phone),
                    ])
                );
            }
            Ok(())
        }
        Command::Violation(v) => violation::run(ctx, v).await,
        Command::Import { file } => transfer::expert::import(ctx, &file).await,
        Command::Export { file } => transfer::expert::export(ctx, &file).await,
        Command::Fields => {
            let fields = taxonomy(ctx).await?;
            if ctx.json {
                json::print(&json!({
                    "fields": fields.iter().map(json::message).collect::<Vec<_>>()
                }));
            } else {
                let mut t = Table::new(&["代码", "领域"]);
                for f in fields {
                    t.row(vec![f.code, f.name]);
                }
                t.print();
            }
            Ok(())
        }
    }
}

/// The field taxonomy (codes and Chinese names), in display order.
pub async fn taxonomy(ctx: &Ctx) -> Outcome<Vec<pb::Field>> {
    Ok(ctx
        .api()
        .get_field_taxonomy(ctx.req(pb::GetFieldTaxonomyRequest {}))
        .await?
        .into_inner()
        .fields)
}

fn read_spec(file: &std::path::Path) -> Outcome<pb::ExpertSpec> {
    let value = crate::read_json(file)?;
    json::spec_from::<pb::ExpertSpec>(&value).map_err(|errors| crate::file_errors(file, errors))
}

async fn get(ctx: &Ctx, id: i64) -> Outcome<pb::Expert> {
    match ctx
        .api()
        .get_expert(ctx.req(pb::GetExpertRequest { expert_id: id }))
        .await?
        .into_inner()
        .expert
    {
        Some(e) => Ok(e),
        None => fail(format!("服务器未返回专家 {id}")),
    }
}

fn done(ctx: &Ctx, expert: &pb::Expert, verb: &str) {
    if ctx.json {
        json::print(&json::message(expert));
    } else {
        let spec = expert.spec.clone().unwrap_or_default();
        println!(
            "{verb}专家 {}「{}」，状态 {}，版本 {}",
            expert.id,
            spec.name,
            EXPERT_STATUS.zh(expert.status),
            expert.version
        );
    }
}

/// One page of experts.
async fn page(
    ctx: &Ctx,
    filter: &pb::ListExpertsRequest,
    page_size: i32,
    page_token: String,
) -> Outcome<pb::ListExpertsResponse> {
    Ok(ctx
        .api()
        .list_experts(ctx.req(pb::ListExpertsRequest {
            page: Some(PageRequest {
                page_size,
                page_token,
            }),
            ..filter.clone()
        }))
        .await?
        .into_inner())
}

/// Every expert matching `filter` (personal data masked, as lists show it), from the page
/// `start` on.
pub async fn list_all(
    ctx: &Ctx,
    filter: &pb::ListExpertsRequest,
    page_size: i32,
    start: String,
) -> Outcome<Vec<pb::Expert>> {
    all_pages(start, move |token| async move {
        let response = page(ctx, filter, page_size, token).await?;
        Ok((
            response.experts,
            response.page.unwrap_or_default().next_page_token,
        ))
    })
    .await
}

async fn list(
    ctx: &Ctx,
    filter: pb::ListExpertsRequest,
    page_size: i32,
    page_token: String,
    all: bool,
) -> Outcome {
    let (experts, token, total) = if all {
        let size = if page_size > 0 { page_size } else { 500 };
        let experts = list_all(ctx, &filter, size, page_token).await?;
        let total = experts.len() as i64;
        (experts, String::new(), total)
    } else {
        let response = page(ctx, &filter, page_size, page_token).await?;
        let p = response.page.unwrap_or_default();
        (response.experts, p.next_page_token, p.total_size)
    };
    if ctx.json {
        json::print(&json!({
            "experts": experts.iter().map(json::message).collect::<Vec<_>>(),
            "page": { "next_page_token": token, "total_size": total },
        }));
        return Ok(());
    }
    let mut t = Table::new(&[
        "ID",
        "姓名",
        "身份证号",
        "手机号",
        "职称",
        "从业年限",
        "专业领域",
        "工作单位",
        "状态",
    ]);
    for e in &experts {
        let spec = e.spec.clone().unwrap_or_default();
        t.row(vec![
            e.id.to_string(),
            spec.name,
            spec.id_number,
            spec.phone,
            TITLE.zh(spec.title),
            spec.years_in_field.to_string(),
            spec.fields.join("、"),
            spec.affiliation,
            EXPERT_STATUS.zh(e.status),
        ]);
    }
    t.print();
    if token.is_empty() {
        println!("共 {total} 位");
    } else {
        println!(
            "共 {total} 位，本页 {} 位；下一页: --page-token {token}，或用 --all 列出全部",
            experts.len()
        );
    }
    Ok(())
}

fn details(e: &pb::Expert) -> String {
    let spec = e.spec.clone().unwrap_or_default();
    let changed = e.changed.clone().unwrap_or_default();
    fields(&[
        ("专家编号", e.id.to_string()),
        ("姓名", spec.name.clone()),
        ("身份证号", spec.id_number.clone()),
        ("手机号", spec.phone.clone()),
        ("职称", TITLE.zh(spec.title)),
        ("从业年限", spec.years_in_field.to_string()),
        ("专业领域", spec.fields.join("、")),
        ("工作单位", spec.affiliation.clone()),
        (
            "工作经历",
            spec.employment
                .iter()
                .map(|r| {
                    let to = if r.to.is_empty() { "至今" } else { &r.to };
                    format!("{} 至 {} {} {}", r.from, to, r.organization, r.position)
                        .trim()
                        .to_owned()
                })
                .collect::<Vec<_>>()
                .join("；"),
        ),
        ("关联关系", relations_text(&spec.relations)),
        ("状态", EXPERT_STATUS.zh(e.status)),
        ("财政区划", e.mof_div_code.clone()),
        ("版本", e.version.to_string()),
        (
            "最后修改",
            format!("{} {}", time(&changed.at), changed.actor)
                .trim()
                .to_owned(),
        ),
    ])
}
