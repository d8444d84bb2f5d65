//! `pbmctl agency …`: third-party agencies (第三方机构): list, show, add, update, status
//! changes, history, violations, and .xlsx import/export (`transfer.rs`).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use pbm_proto::agency::v1 as pb;
use pbm_proto::common::v1::PageRequest;
use serde_json::json;

use crate::client::{Ctx, Outcome, all_pages, fail, request_id};
use crate::names::{self, date_arg};
use crate::table::{Table, fields, time};
use crate::{json, transfer, violation};

const AGENCY_FILE_HELP: &str = "\
JSON 文件格式 / file format (an AgencySpec; `agency show CODE --json` prints one in its \"spec\"):
  {
    \"credit_code\": \"91350100M000100Y43\",          统一社会信用代码 (required)
    \"name\": \"晋城某会计师事务所有限公司\",          机构名称 (required)
    \"type\": \"accounting_firm\",                    机构类型: accounting_firm 会计师事务所,
                                                  asset_appraisal 资产评估机构, law_firm 律师事务所,
                                                  consulting 咨询机构, research_institute 科研院所,
                                                  university 高等院校
    \"legal_representative\": \"王某\",                法定代表人 (required)
    \"lead_evaluators\": [{\"name\": \"赵某\", \"qualifications\": [\"注册会计师\"]}],  主评人
    \"branches\": [{\"name\": \"阳城分所\", \"credit_code\": \"\", \"is_legal_person\": false}],
    \"cooperating_experts\": [{\"name\": \"孙某\", \"role\": \"造价\", \"phone\": \"\", \"email\": \"\"}],
    \"other_staff\": [ …Person… ],
    \"contacts\": [{\"name\": \"李某\", \"role\": \"项目经理\", \"phone\": \"13812345678\"}],
    \"scopes\": [\"evaluation\", \"ex_ante_and_goal_review\"],  服务范围 (at least one):
                                                  ex_ante_and_goal_review, evaluation,
                                                  indicator_system, research
    \"admission_batch_id\": 1,                        入库批次 (`pbmctl batch list`)
    \"relations\": [{\"party_code\": \"DEPT-WATER\", \"kind\": \"worked_for\",
                   \"from\": \"2020-01-01\", \"to\": \"\", \"note\": \"\"}]
  }
Enum values may also be given in Chinese (\"会计师事务所\", \"绩效评价或评价结果复核\").
Unknown fields are errors. See docs/PBMCTL.md.";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// 列出机构（可筛选）/ List agencies (filtered).
    List(ListArgs),
    /// 查看一家机构 / Show one agency.
    Show {
        /// 统一社会信用代码 / Credit code.
        code: String,
    },
    /// 登记机构（JSON 文件）/ Register an agency from a JSON file.
    #[command(after_long_help = AGENCY_FILE_HELP)]
    Add {
        /// AgencySpec 的 JSON 文件（格式见 --help）/ JSON file with the AgencySpec (see --help).
        #[arg(long)]
        file: PathBuf,
    },
    /// 修改机构信息（JSON 文件，格式同 add；先读取当前版本）/ Update an agency from a JSON
    /// file (as for add; reads the current version first).
    #[command(after_long_help = AGENCY_FILE_HELP)]
    Update {
        /// AgencySpec 的 JSON 文件 / JSON file with the AgencySpec.
        #[arg(long)]
        file: PathBuf,
    },
    /// 警告 / Warn an agency.
    Warn(ChangeArgs),
    /// 暂停至某日 / Suspend an agency until a date.
    Suspend(SuspendArgs),
    /// 恢复（撤销警告或暂停）/ Reinstate a warned or suspended agency.
    Reinstate(ChangeArgs),
    /// 清退（不可撤销）/ Remove an agency (final).
    Remove(ChangeArgs),
    /// 状态变更记录 / Status history.
    History {
        /// 统一社会信用代码 / Credit code.
        code: String,
    },
    /// 违规记录 / Violations.
    #[command(subcommand)]
    Violation(violation::Command<violation::Agency>),
    /// 从 .xlsx 导入机构（先在本地校验全部行）/ Import agencies from .xlsx (every row is
    /// checked locally first; re-running is safe).
    #[command(after_long_help = transfer::agency::IMPORT_HELP)]
    Import {
        /// .xlsx 文件 / The workbook.
        file: PathBuf,
    },
    /// 导出机构到 .xlsx（可再导入）/ Export agencies to .xlsx (re-importable).
    #[command(after_long_help = transfer::agency::IMPORT_HELP)]
    Export {
        /// 输出的 .xlsx 文件 / Output workbook.
        file: PathBuf,
        /// 联系电话写完整号码（逐家读取，仅财政可见；文件须妥善保管）/ Write contacts' phones
        /// in full (reads each agency; finance only; keep the file safe). Default: masked, as
        /// lists show them.
        #[arg(long)]
        full_phones: bool,
    },
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// 机构类型 / Agency type: accounting_firm, asset_appraisal, law_firm, consulting,
    /// research_institute, university (or the Chinese name).
    #[arg(long = "type", value_parser = names::agency_type_arg, value_name = "TYPE")]
    pub agency_type: Option<i32>,
    /// 状态 / Status: admitted, warned, suspended, removed (入库/警告/暂停/清退).
    #[arg(long, value_parser = names::agency_status_arg)]
    pub status: Option<i32>,
    /// 服务范围 / Service scope: ex_ante_and_goal_review, evaluation, indicator_system,
    /// research.
    #[arg(long, value_parser = names::scope_arg)]
    pub scope: Option<i32>,
    /// 入库批次 ID / Admission batch id.
    #[arg(long, value_name = "ID")]
    pub batch: Option<i64>,
    /// 每页条数（默认 50，最多 500）/ Page size (server default 50, at most 500).
    #[arg(long, value_name = "N")]
    pub page_size: Option<i32>,
    /// 从该页开始（上一页返回的 next_page_token）/ Start at this page token.
    #[arg(long, value_name = "TOKEN")]
    pub page_token: Option<String>,
    /// 列出全部（自动翻页）/ List every page.
    #[arg(long)]
    pub all: bool,
}

#[derive(Args, Debug)]
pub struct ChangeArgs {
    /// 统一社会信用代码 / Credit code.
    pub code: String,
    /// 原因（记入状态变更记录）/ Reason (kept in the history).
    #[arg(long)]
    pub reason: String,
}

#[derive(Args, Debug)]
pub struct SuspendArgs {
    /// 统一社会信用代码 / Credit code.
    pub code: String,
    /// 原因（记入状态变更记录）/ Reason (kept in the history).
    #[arg(long)]
    pub reason: String,
    /// 暂停至（须晚于今天）/ Suspended until, YYYY-MM-DD (after today).
    #[arg(long, value_parser = date_arg, value_name = "YYYY-MM-DD")]
    pub until: String,
}

pub async fn run(ctx: &Ctx, command: Command) -> Outcome {
    match command {
        Command::List(args) => list_command(ctx, args).await,
        Command::Show { code } => {
            let agency = get(ctx, &code).await?;
            if ctx.json {
                json::print(&json::message(&agency));
            } else {
                print!("{}", details(&agency));
            }
            Ok(())
        }
        Command::Add { file } => {
            let spec = read_spec(&file)?;
            let agency = ctx
                .api()
                .register_agency(ctx.req(pb::RegisterAgencyRequest {
                    request_id: request_id(),
                    spec: Some(spec),
                }))
                .await?
                .into_inner()
                .agency
                .unwrap_or_default();
            done(ctx, &agency, "已登记");
            Ok(())
        }
        Command::Update { file } => {
            let spec = read_spec(&file)?;
            let current = get(ctx, &spec.credit_code).await?;
            let agency = ctx
                .api()
                .update_agency(ctx.req(pb::UpdateAgencyRequest {
                    request_id: request_id(),
                    expected_version: current.version,
                    spec: Some(spec),
                }))
                .await?
                .into_inner()
                .agency
                .unwrap_or_default();
            done(ctx, &agency, "已修改");
            Ok(())
        }
        Command::Warn(a) => change(ctx, a.code, pb::AgencyAction::Warn, a.reason, "").await,
        Command::Suspend(a) => {
            change(ctx, a.code, pb::AgencyAction::Suspend, a.reason, &a.until).await
        }
        Command::Reinstate(a) => {
            change(ctx, a.code, pb::AgencyAction::Reinstate, a.reason, "").await
        }
        Command::Remove(a) => change(ctx, a.code, pb::AgencyAction::Remove, a.reason, "").await,
        Command::History { code } => {
            let changes = ctx
                .api()
                .list_status_history(ctx.req(pb::ListStatusHistoryRequest { credit_code: code }))
                .await?
                .into_inner()
                .changes;
            print_history(ctx, &changes, &names::AGENCY_STATUS);
            Ok(())
        }
        Command::Violation(v) => violation::run(ctx, v).await,
        Command::Import { file } => transfer::agency::import(ctx, &file).await,
        Command::Export { file, full_phones } => {
            transfer::agency::export(ctx, &file, full_phones).await
        }
    }
}

fn read_spec(file: &std::path::Path) -> Outcome<pb::AgencySpec> {
    let value = crate::read_json(file)?;
    json::spec_from::<pb::AgencySpec>(&value).map_err(|errors| crate::file_errors(file, errors))
}

/// Prints the agency a mutation returned.
fn done(ctx: &Ctx, agency: &pb::Agency, verb: &str) {
    if ctx.json {
        json::print(&json::message(agency));
    } else {
        let spec = agency.spec.clone().unwrap_or_default();
        println!(
            "{verb}机构 {}「{}」，状态 {}，版本 {}",
            spec.credit_code,
            spec.name,
            status_text(agency),
            agency.version
        );
    }
}

pub async fn get(ctx: &Ctx, code: &str) -> Outcome<pb::Agency> {
    let agency = ctx
        .api()
        .get_agency(ctx.req(pb::GetAgencyRequest {
            credit_code: code.trim().to_owned(),
        }))
        .await?
        .into_inner()
        .agency;
    match agency {
        Some(a) => Ok(a),
        None => fail(format!("服务器未返回机构 {code}")),
    }
}

/// Reads the current version, then changes the status with it.
async fn change(
    ctx: &Ctx,
    code: String,
    action: pb::AgencyAction,
    reason: String,
    until: &str,
) -> Outcome {
    let current = get(ctx, &code).await?;
    let agency = ctx
        .api()
        .change_agency_status(ctx.req(pb::ChangeAgencyStatusRequest {
            request_id: request_id(),
            credit_code: code,
            expected_version: current.version,
            action: action as i32,
            reason,
            until: until.to_owned(),
        }))
        .await?
        .into_inner()
        .agency
        .unwrap_or_default();
    done(ctx, &agency, "已变更");
    Ok(())
}

pub struct Filter {
    pub agency_type: i32,
    pub status: i32,
    pub scope: i32,
    pub batch: i64,
}

/// One page of agencies.
pub async fn page(
    ctx: &Ctx,
    filter: &Filter,
    page_size: i32,
    page_token: String,
) -> Outcome<pb::ListAgenciesResponse> {
    Ok(ctx
        .api()
        .list_agencies(ctx.req(pb::ListAgenciesRequest {
            r#type: filter.agency_type,
            status: filter.status,
            scope: filter.scope,
            admission_batch_id: filter.batch,
            page: Some(PageRequest {
                page_size,
                page_token,
            }),
        }))
        .await?
        .into_inner())
}

/// Every agency matching `filter`, following `next_page_token`.
pub async fn list_all(ctx: &Ctx, filter: &Filter, page_size: i32) -> Outcome<Vec<pb::Agency>> {
    all_pages(String::new(), move |token| async move {
        let response = page(ctx, filter, page_size, token).await?;
        Ok((
            response.agencies,
            response.page.unwrap_or_default().next_page_token,
        ))
    })
    .await
}

async fn list_command(ctx: &Ctx, args: ListArgs) -> Outcome {
    let filter = Filter {
        agency_type: args.agency_type.unwrap_or_default(),
        status: args.status.unwrap_or_default(),
        scope: args.scope.unwrap_or_default(),
        batch: args.batch.unwrap_or_default(),
    };
    let page_size = args.page_size.unwrap_or_default();
    let (agencies, next, total) = if args.all {
        let all = list_all(ctx, &filter, if page_size > 0 { page_size } else { 500 }).await?;
        let total = all.len() as i64;
        (all, String::new(), total)
    } else {
        let response = page(ctx, &filter, page_size, args.page_token.unwrap_or_default()).await?;
        let p = response.page.unwrap_or_default();
        (response.agencies, p.next_page_token, p.total_size)
    };
    if ctx.json {
        json::print(&json!({
            "agencies": agencies.iter().map(json::message).collect::<Vec<_>>(),
            "page": { "next_page_token": next, "total_size": total },
        }));
        return Ok(());
    }
    let mut t = Table::new(&[
        "统一社会信用代码",
        "机构名称",
        "机构类型",
        "状态",
        "资格期间",
        "服务范围",
        "版本",
    ]);
    for a in &agencies {
        let spec = a.spec.clone().unwrap_or_default();
        t.row(vec![
            spec.credit_code,
            spec.name,
            names::AGENCY_TYPE.zh(spec.r#type),
            status_text(a),
            format!("{} 至 {}", a.qualified_from, a.qualified_to),
            spec.scopes
                .iter()
                .map(|s| names::SCOPE.zh(*s))
                .collect::<Vec<_>>()
                .join("、"),
            a.version.to_string(),
        ]);
    }
    t.print();
    if next.is_empty() {
        println!("共 {total} 家");
    } else {
        println!(
            "共 {total} 家，本页 {} 家；下一页: --page-token {next}，或用 --all 列出全部",
            agencies.len()
        );
    }
    Ok(())
}

/// 入库 / 警告 / 暂停（至 2026-09-30）/ 清退 / 资格到期.
pub fn status_text(a: &pb::Agency) -> String {
    let status = names::AGENCY_STATUS.zh(a.status);
    if a.status == pb::AgencyStatus::Suspended as i32 && !a.suspended_until.is_empty() {
        format!("{status}（至 {}）", a.suspended_until)
    } else {
        status
    }
}

/// `赵某（注册会计师/资产评估师）`, or just the name.
pub fn lead_evaluator_text(e: &pb::LeadEvaluator) -> String {
    if e.qualifications.is_empty() {
        e.name.clone()
    } else {
        format!("{}（{}）", e.name, e.qualifications.join("/"))
    }
}

fn person_text(p: &pb::Person) -> String {
    [
        p.name.as_str(),
        p.role.as_str(),
        p.phone.as_str(),
        p.email.as_str(),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(" ")
}

fn people_text(people: &[pb::Person]) -> String {
    people
        .iter()
        .map(person_text)
        .collect::<Vec<_>>()
        .join("；")
}

pub fn relations_text(relations: &[pb::Relation]) -> String {
    relations
        .iter()
        .map(|r| {
            let to = if r.to.is_empty() { "至今" } else { &r.to };
            let mut text = format!(
                "{} {} {} 至 {}",
                r.party_code,
                names::RELATION.zh(r.kind),
                r.from,
                to
            );
            if !r.note.is_empty() {
                text.push_str(&format!("（{}）", r.note));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("；")
}

fn details(a: &pb::Agency) -> String {
    let spec = a.spec.clone().unwrap_or_default();
    let changed = a.changed.clone().unwrap_or_default();
    fields(&[
        ("统一社会信用代码", spec.credit_code.clone()),
        ("机构名称", spec.name.clone()),
        ("机构类型", names::AGENCY_TYPE.zh(spec.r#type)),
        ("法定代表人", spec.legal_representative.clone()),
        ("状态", status_text(a)),
        (
            "资格期间",
            format!("{} 至 {}", a.qualified_from, a.qualified_to),
        ),
        ("入库批次", spec.admission_batch_id.to_string()),
        (
            "服务范围",
            spec.scopes
                .iter()
                .map(|s| names::SCOPE.zh(*s))
                .collect::<Vec<_>>()
                .join("、"),
        ),
        (
            "主评人",
            spec.lead_evaluators
                .iter()
                .map(lead_evaluator_text)
                .collect::<Vec<_>>()
                .join("、"),
        ),
        (
            "分支机构",
            spec.branches
                .iter()
                .map(|b| {
                    let kind = if b.is_legal_person {
                        "独立法人"
                    } else {
                        "非独立法人"
                    };
                    if b.credit_code.is_empty() {
                        format!("{}（{kind}）", b.name)
                    } else {
                        format!("{}（{kind}，{}）", b.name, b.credit_code)
                    }
                })
                .collect::<Vec<_>>()
                .join("；"),
        ),
        ("合作专家", people_text(&spec.cooperating_experts)),
        ("其他人员", people_text(&spec.other_staff)),
        ("联系人", people_text(&spec.contacts)),
        ("关联关系", relations_text(&spec.relations)),
        ("财政区划", a.mof_div_code.clone()),
        ("版本", a.version.to_string()),
        (
            "最后修改",
            format!("{} {}", time(&changed.at), changed.actor)
                .trim()
                .to_owned(),
        ),
    ])
}

/// Prints a status history (agencies and experts share the message).
pub fn print_history(ctx: &Ctx, changes: &[pb::StatusChange], statuses: &names::Names) {
    if ctx.json {
        json::print(&json!({
            "changes": changes.iter().map(json::message).collect::<Vec<_>>()
        }));
        return;
    }
    let mut t = Table::new(&["时间", "操作人", "原状态", "新状态", "截止日期", "原因"]);
    for c in changes {
        let stamp = c.changed.clone().unwrap_or_default();
        t.row(vec![
            time(&stamp.at),
            stamp.actor,
            statuses.zh_of_key(&c.from_status),
            statuses.zh_of_key(&c.to_status),
            c.until.clone(),
            c.reason.clone(),
        ]);
    }
    t.print();
}
