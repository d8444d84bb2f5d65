//! `pbmctl agency violation …` and `pbmctl expert violation …`: violations (违规记录) of an
//! agency or of an expert. One command and one code path for both: `RecordViolation` and
//! `ListViolations` name exactly one of `credit_code` and `expert_id`, and [`Party`] says which
//! (the positional argument of the noun: a credit code, or an expert id).

use clap::{Args, FromArgMatches, Subcommand};
use pbm_proto::agency::v1 as pb;
use serde_json::json;

use crate::client::{Ctx, Outcome, request_id_or_fresh, unsettled};
use crate::json;
use crate::names::{self, date_arg};
use crate::table::{Table, time};

/// Whose violations a command names: the positional argument of `agency violation …` or
/// `expert violation …`.
pub trait Party: Args + FromArgMatches + std::fmt::Debug {
    /// `(credit_code, expert_id)` as the requests take them: exactly one is set.
    fn key(&self) -> (String, i64);
}

/// An agency, by its credit code.
#[derive(Args, Debug)]
pub struct Agency {
    /// 统一社会信用代码 / Credit code.
    pub code: String,
}

impl Party for Agency {
    fn key(&self) -> (String, i64) {
        (self.code.trim().to_owned(), 0)
    }
}

/// An expert, by id.
#[derive(Args, Debug)]
pub struct Expert {
    /// 专家编号 / Expert id.
    pub id: i64,
}

impl Party for Expert {
    fn key(&self) -> (String, i64) {
        (String::new(), self.id)
    }
}

#[derive(Subcommand, Debug)]
pub enum Command<P: Party> {
    /// 记录违规（严重违规不得被抽取，并在动态评分中扣分）/ Record a violation (a major one
    /// bars draws; both lower the rating within the penalty window).
    Add {
        #[command(flatten)]
        party: P,
        #[command(flatten)]
        details: Details,
    },
    /// 列出违规记录 / List violations.
    List {
        #[command(flatten)]
        party: P,
    },
}

/// What a violation records.
#[derive(Args, Debug)]
pub struct Details {
    /// 发生日期（不能晚于今天）/ Date it happened, YYYY-MM-DD (not in the future).
    #[arg(long, value_parser = date_arg, value_name = "YYYY-MM-DD")]
    pub on: String,
    /// 严重程度 / Severity: minor (一般) or major (严重).
    #[arg(long, value_parser = names::severity_arg)]
    pub severity: i32,
    /// 违规情况描述 / Description.
    #[arg(long)]
    pub description: String,
    /// 请求编号（默认新生成；结果不确定时用同一编号重试，不会重复记录）/ Request id (default:
    /// a fresh one; retry with the same id when the outcome was unknown, nothing is recorded
    /// twice).
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
}

pub async fn run<P: Party>(ctx: &Ctx, command: Command<P>) -> Outcome {
    match command {
        Command::Add { party, details } => add(ctx, party.key(), details).await,
        Command::List { party } => list(ctx, party.key()).await,
    }
}

async fn add(ctx: &Ctx, (credit_code, expert_id): (String, i64), details: Details) -> Outcome {
    let request_id = request_id_or_fresh(details.request_id)?;
    let v = ctx
        .api()
        .record_violation(ctx.req(pb::RecordViolationRequest {
            request_id: request_id.clone(),
            credit_code,
            expert_id,
            occurred_on: details.on,
            severity: details.severity,
            description: details.description,
        }))
        .await
        .map_err(unsettled(&request_id))?
        .into_inner()
        .violation
        .unwrap_or_default();
    if ctx.json {
        json::print(&json::message(&v));
    } else {
        println!(
            "已记录违规 #{}：{} {} {}（{}）",
            v.id,
            violator_text(&v),
            v.occurred_on,
            names::SEVERITY.zh(v.severity),
            v.description
        );
    }
    Ok(())
}

async fn list(ctx: &Ctx, (credit_code, expert_id): (String, i64)) -> Outcome {
    let violations = ctx
        .api()
        .list_violations(ctx.req(pb::ListViolationsRequest {
            credit_code,
            expert_id,
        }))
        .await?
        .into_inner()
        .violations;
    if ctx.json {
        json::print(&json!({
            "violations": violations.iter().map(json::message).collect::<Vec<_>>()
        }));
    } else {
        print!("{}", table(&violations));
    }
    Ok(())
}

/// The agency's credit code, or `专家 7`.
fn violator_text(v: &pb::Violation) -> String {
    if v.credit_code.is_empty() {
        format!("专家 {}", v.expert_id)
    } else {
        v.credit_code.clone()
    }
}

fn table(violations: &[pb::Violation]) -> String {
    let mut t = Table::new(&["ID", "发生日期", "严重程度", "描述", "记录人", "记录时间"]);
    for v in violations {
        let stamp = v.recorded.clone().unwrap_or_default();
        t.row(vec![
            v.id.to_string(),
            v.occurred_on.clone(),
            names::SEVERITY.zh(v.severity),
            v.description.clone(),
            stamp.actor,
            time(&stamp.at),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Agencies {
        #[command(subcommand)]
        command: Command<Agency>,
    }

    #[derive(Parser, Debug)]
    struct Experts {
        #[command(subcommand)]
        command: Command<Expert>,
    }

    #[test]
    fn the_noun_decides_whose_violation_it_is() {
        let add = ["x", "add", " 91350100M000100Y43 ", "--on", "2026-02-01"];
        let rest = ["--severity", "major", "--description", "出具虚假报告"];
        let parsed = Agencies::try_parse_from(add.iter().chain(&rest)).unwrap();
        let Command::Add { party, details } = parsed.command else {
            panic!("{parsed:?}")
        };
        assert_eq!(party.key(), ("91350100M000100Y43".to_owned(), 0));
        assert_eq!(
            (details.severity, details.request_id),
            (pb::Severity::Major as i32, None)
        );

        let parsed = Experts::try_parse_from(["x", "list", "7"]).unwrap();
        let Command::List { party } = parsed.command else {
            panic!("{parsed:?}")
        };
        assert_eq!(party.key(), (String::new(), 7));
        // An expert is named by its id, not a credit code.
        assert!(Experts::try_parse_from(["x", "list", "91350100M000100Y43"]).is_err());
    }

    #[test]
    fn a_violation_names_the_agency_or_the_expert() {
        let mut v = pb::Violation {
            id: 3,
            expert_id: 7,
            occurred_on: "2026-02-01".into(),
            severity: pb::Severity::Major as i32,
            description: "评审中泄露评审信息".into(),
            ..Default::default()
        };
        assert_eq!(violator_text(&v), "专家 7");
        let text = table(std::slice::from_ref(&v));
        assert!(
            text.lines()
                .any(|l| l.starts_with("3 ") && l.contains("严重") && l.contains("泄露")),
            "{text}"
        );
        v.expert_id = 0;
        v.credit_code = "91350100M000100Y43".into();
        assert_eq!(violator_text(&v), "91350100M000100Y43");
    }
}
