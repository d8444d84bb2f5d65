//! `pbmctl engagement …`: commissions (委托) of agencies and experts, their rating (评分), the
//! explained dynamic rating, and the recompute of every rating with its ranking
//! (`pbm.agency.v1.EngagementService`).

use clap::{ArgGroup, Args, Subcommand};
use pbm_proto::agency::v1 as pb;
use pbm_proto::common::v1::{Decimal, PageRequest};
use serde_json::json;

use crate::client::{Ctx, Outcome, fail, request_id, request_id_or_fresh, unsettled};
use crate::json;
use crate::names::{self, ENGAGEMENT_KIND, date_arg};
use crate::table::{Table, fields, time};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// 登记委托（检查独立性、服务范围、主评人）/ Record a commission (the server checks
    /// independence, scopes and the 主评人).
    #[command(after_long_help = "\
委托事项 / --kind: ex-ante (事前绩效评估), goal-review (绩效目标审核), evaluation (绩效评价),
evaluation-review (评价结果复核), indicator-system (指标体系建设), research (课题研究).
goal-setting (绩效目标设定), monitoring (绩效运行监控) and self-evaluation (单位自评) are the
spending unit's own duties: the server refuses them (KIND_NOT_COMMISSIONABLE).
Example:
  pbmctl engagement add --commissioner FIN --evaluated-party D01 --kind evaluation \\
         --agency 91350100M000100Y43 --expert 1 --expert 2 \\
         --started-on 2026-01-10 --ended-on 2026-03-31")]
    Add(AddArgs),
    /// 查看一项委托 / Show one engagement.
    Show {
        /// 委托编号 / Engagement id.
        id: i64,
    },
    /// 列出委托 / List engagements.
    List {
        /// 只列出该机构的委托 / Only this agency's engagements (credit code).
        #[arg(long, value_name = "CREDIT_CODE")]
        agency: Option<String>,
        /// 只列出该专家参与的委托 / Only engagements this expert took part in.
        #[arg(long, value_name = "ID")]
        expert: Option<i64>,
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
    /// 对已结束的委托评分（按当年评分细则）；随后重算机构信用等级 / Rate a finished
    /// engagement on the rubric of the rules in force; the agency's rating is recomputed.
    #[command(after_long_help = "\
Every criterion of the rubric needs a score, 0–100 with at most 2 decimals (national defaults:
QUALITY 报告质量 40%, TIMELINESS 及时性 20%, CONDUCT 执业规范 20%, SATISFACTION 委托方满意度
20%; `pbmctl rules show` prints the rubric in force). --expected-version is the version
`engagement show` printed. Example:
  pbmctl engagement rate 1 --expected-version 1 --score QUALITY=90.5 --score TIMELINESS=80 \\
         --score CONDUCT=80 --score SATISFACTION=80")]
    Rate {
        /// 委托编号 / Engagement id.
        id: i64,
        /// 读取到的版本（`engagement show`）/ The version read (`engagement show`).
        #[arg(long, value_name = "N")]
        expected_version: i64,
        /// 评分项得分，可重复 / A criterion's score, repeatable: CRITERION=VALUE, e.g.
        /// QUALITY=90.5.
        #[arg(long = "score", value_name = "CRITERION=VALUE", value_parser = score_arg, required = true)]
        scores: Vec<CriterionArg>,
    },
    /// 撤销未评分的委托（须写明理由）/ Withdraw an unrated engagement, with a reason.
    #[command(after_long_help = "\
A withdrawn engagement (撤销委托) stays readable with who withdrew it, when and why; it is never
rated, no longer counts toward its experts' workload and leaves the statistics. Only an unrated
engagement can be withdrawn. --expected-version is the version `engagement show` printed.
Example:
  pbmctl engagement cancel 7 --expected-version 1 --reason \"机构谢绝委托，已由替补机构承接\"")]
    Cancel {
        /// 委托编号 / Engagement id.
        id: i64,
        /// 读取到的版本（`engagement show`）/ The version read (`engagement show`).
        #[arg(long, value_name = "N")]
        expected_version: i64,
        /// 撤销理由（1–500 字）/ Why (1–500 characters).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// 请求编号（默认新生成；结果不确定时用同一编号重试）/ Request id (default: a fresh
        /// one; retry with the same id when the outcome was unknown).
        #[arg(long, value_name = "ID")]
        request_id: Option<String>,
    },
    /// 说明机构或专家的动态评分：每项委托的得分、时间衰减、收缩、扣分、等级 / Explain an
    /// agency's or expert's rating: every engagement, decay, shrinkage, penalties, grade.
    Explain(ExplainArgs),
    /// 重算全部机构和专家的动态评分，执行等级处理，输出排名 / Recompute every agency's and
    /// expert's rating as of a date, apply the grade actions, print the ranking.
    #[command(after_long_help = "\
Every agency and expert is rated as of the date (default today) under the rules in force, and
the grade actions are applied at once: agencies warning (警告), suspension (暂停) or removal
(清退); experts suspension → 考评, removal → 退出. It prints how many were rated and how many
statuses changed, then the ranking, best first: every agency, then the experts the server
lists (it may leave out experts without engagements, violations or a status change: they stand
at the pool mean and are only counted). Retrying with the same --request-id returns the first
result; a new recompute changes nothing more. Example:
  pbmctl engagement recompute --as-of 2026-06-01")]
    Recompute {
        /// 评分基准日（默认今天，不能晚于今天）/ Rate as of this date (default: today; not
        /// after today), YYYY-MM-DD.
        #[arg(long, value_parser = date_arg, value_name = "YYYY-MM-DD")]
        as_of: Option<String>,
        /// 请求编号（默认新生成；结果不确定时用同一编号重试，得到同一次重算）/ Request id
        /// (default: a fresh one; retrying with the same id returns the same recompute).
        #[arg(long, value_name = "ID")]
        request_id: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// 委托方代码（部门代码或财政局代码）/ Who commissions (department or finance bureau code).
    #[arg(long, value_name = "CODE")]
    pub commissioner: String,
    /// 被评价对象代码（单位、部门或政策主管部门）/ The evaluated unit, department or policy owner.
    #[arg(long, value_name = "CODE")]
    pub evaluated_party: String,
    /// 委托事项 / Kind: ex-ante, goal-review, evaluation, evaluation-review, indicator-system,
    /// research (goal-setting, monitoring, self-evaluation are refused by the server).
    #[arg(long, value_parser = names::engagement_kind_arg, value_name = "KIND")]
    pub kind: i32,
    /// 受托机构的统一社会信用代码 / The commissioned agency's credit code.
    #[arg(long, value_name = "CREDIT_CODE")]
    pub agency: Option<String>,
    /// 参与的专家编号，可重复 / An expert taking part, repeatable.
    #[arg(long = "expert", value_name = "ID")]
    pub experts: Vec<i64>,
    /// 开始日期 / Start date, YYYY-MM-DD.
    #[arg(long, value_parser = date_arg, value_name = "YYYY-MM-DD")]
    pub started_on: String,
    /// 结束日期 / End date, YYYY-MM-DD.
    #[arg(long, value_parser = date_arg, value_name = "YYYY-MM-DD")]
    pub ended_on: String,
    /// 请求编号（默认新生成；结果不确定时用同一编号重试，不会重复登记）/ Request id (default:
    /// a fresh one; retry with the same id when the outcome was unknown, nothing is recorded
    /// twice).
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("party").required(true).args(["agency", "expert"])))]
pub struct ExplainArgs {
    /// 机构的统一社会信用代码 / The agency's credit code.
    #[arg(long, value_name = "CREDIT_CODE")]
    pub agency: Option<String>,
    /// 专家编号 / The expert's id.
    #[arg(long, value_name = "ID")]
    pub expert: Option<i64>,
    /// 评分基准日（默认今天）/ Rate as of this date (default: today), YYYY-MM-DD.
    #[arg(long, value_parser = date_arg, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
}

/// One `--score CRITERION=VALUE`: the value is kept as the exact decimal text.
#[derive(Clone, Debug, PartialEq)]
pub struct CriterionArg {
    pub criterion: String,
    pub score: String,
}

/// Parses `CRITERION=VALUE`: a rubric code (letters, digits, `_`) and a plain decimal
/// (`90`, `90.5`); the range (0–100) and precision are checked by the server against the rubric.
fn score_arg(s: &str) -> Result<CriterionArg, String> {
    let Some((criterion, score)) = s.split_once('=') else {
        return Err(format!(
            "「{s}」应写作 评分项=得分，如 QUALITY=90.5 / expected CRITERION=VALUE"
        ));
    };
    let criterion = criterion.trim().to_ascii_uppercase();
    if criterion.is_empty()
        || !criterion
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(format!(
            "评分项「{criterion}」无效：应为评分细则中的代码，如 QUALITY"
        ));
    }
    let score = score.trim();
    let plain = score.chars().any(|c| c.is_ascii_digit())
        && score.chars().all(|c| c.is_ascii_digit() || c == '.')
        && score.matches('.').count() <= 1
        && !score.starts_with('.')
        && !score.ends_with('.');
    if !plain {
        return Err(format!(
            "得分「{score}」无效：应为 0–100 的数字，如 90 或 90.5"
        ));
    }
    Ok(CriterionArg {
        criterion,
        score: score.to_owned(),
    })
}

pub async fn run(ctx: &Ctx, command: Command) -> Outcome {
    match command {
        Command::Add(args) => add(ctx, args).await,
        Command::Show { id } => {
            let engagement = get(ctx, id).await?;
            if ctx.json {
                json::print(&json::message(&engagement));
            } else {
                print!("{}", details(&engagement));
            }
            Ok(())
        }
        Command::List {
            agency,
            expert,
            page_size,
            page_token,
            all,
        } => {
            let filter = pb::ListEngagementsRequest {
                agency_credit_code: agency.unwrap_or_default().trim().to_owned(),
                expert_id: expert.unwrap_or_default(),
                ..Default::default()
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
        Command::Rate {
            id,
            expected_version,
            scores,
        } => rate(ctx, id, expected_version, scores).await,
        Command::Cancel {
            id,
            expected_version,
            reason,
            request_id,
        } => {
            let request_id = request_id_or_fresh(request_id)?;
            let engagement = ctx
                .engagements()
                .cancel_engagement(ctx.req(pb::CancelEngagementRequest {
                    request_id: request_id.clone(),
                    engagement_id: id,
                    expected_version,
                    reason,
                }))
                .await
                .map_err(unsettled(&request_id))?
                .into_inner()
                .engagement
                .unwrap_or_default();
            if ctx.json {
                json::print(&json::message(&engagement));
            } else {
                println!(
                    "已撤销委托 {}：{}，版本 {}",
                    engagement.id, engagement.cancel_reason, engagement.version
                );
            }
            Ok(())
        }
        Command::Recompute { as_of, request_id } => recompute(ctx, as_of, request_id).await,
        Command::Explain(args) => {
            let rating = ctx
                .engagements()
                .explain_rating(ctx.req(pb::ExplainRatingRequest {
                    agency_credit_code: args.agency.clone().unwrap_or_default().trim().to_owned(),
                    expert_id: args.expert.unwrap_or_default(),
                    as_of: args.as_of.unwrap_or_default(),
                }))
                .await?
                .into_inner()
                .rating
                .unwrap_or_default();
            if ctx.json {
                json::print(&json::message(&rating));
            } else {
                let who = match (&args.agency, args.expert) {
                    (Some(code), _) => format!("机构 {}", code.trim()),
                    (None, Some(id)) => format!("专家 {id}"),
                    (None, None) => String::new(),
                };
                println!("{who} 截至 {} 的动态评分", rating.as_of);
                print!("{}", explanation(&rating));
            }
            Ok(())
        }
    }
}

async fn add(ctx: &Ctx, args: AddArgs) -> Outcome {
    let request_id = request_id_or_fresh(args.request_id)?;
    let engagement = ctx
        .engagements()
        .create_engagement(ctx.req(pb::CreateEngagementRequest {
            request_id: request_id.clone(),
            commissioner: args.commissioner.trim().to_owned(),
            evaluated_party: args.evaluated_party.trim().to_owned(),
            kind: args.kind,
            agency_credit_code: args.agency.unwrap_or_default().trim().to_owned(),
            expert_ids: args.experts,
            started_on: args.started_on,
            ended_on: args.ended_on,
        }))
        .await
        .map_err(unsettled(&request_id))?
        .into_inner()
        .engagement
        .unwrap_or_default();
    if ctx.json {
        json::print(&json::message(&engagement));
    } else {
        println!(
            "已登记委托 {}：{}，委托方 {}，被评价对象 {}，{}，{} 至 {}，版本 {}",
            engagement.id,
            ENGAGEMENT_KIND.zh(engagement.kind),
            engagement.commissioner,
            engagement.evaluated_party,
            parties_text(&engagement),
            engagement.started_on,
            engagement.ended_on,
            engagement.version
        );
    }
    Ok(())
}

async fn rate(ctx: &Ctx, id: i64, expected_version: i64, scores: Vec<CriterionArg>) -> Outcome {
    let request_id = request_id();
    let response = ctx
        .engagements()
        .rate_engagement(
            ctx.req(pb::RateEngagementRequest {
                request_id: request_id.clone(),
                engagement_id: id,
                expected_version,
                scores: scores
                    .into_iter()
                    .map(|s| pb::CriterionScore {
                        criterion: s.criterion,
                        score: Some(Decimal { value: s.score }),
                    })
                    .collect(),
            }),
        )
        .await
        .map_err(unsettled(&request_id))?
        .into_inner();
    let engagement = response.engagement.unwrap_or_default();
    if ctx.json {
        json::print(&json!({
            "engagement": json::message(&engagement),
            "agency_rating": response.agency_rating.as_ref().map_or(serde_json::Value::Null, json::message),
        }));
        return Ok(());
    }
    println!(
        "已评分委托 {}：得分 {}（{}），版本 {}",
        engagement.id,
        decimal_text(engagement.score.as_ref()),
        engagement.rules,
        engagement.version
    );
    print!("{}", scores_table(&engagement.scores));
    if let Some(r) = &response.agency_rating {
        println!(
            "机构 {} 评分后 / agency rating after it:",
            engagement.agency_credit_code
        );
        print!(
            "{}",
            fields(&[
                ("  信用等级 grade", r.grade.clone()),
                (
                    "  综合得分 final score",
                    decimal_text(r.final_score.as_ref())
                ),
                (
                    "  处理 action",
                    format!(
                        "{}（{}）",
                        names::rating_action_zh(&r.action, r.suspend_months),
                        r.action
                    )
                ),
                ("  可选用 selectable", yes_no(r.selectable).into()),
            ])
        );
    }
    Ok(())
}

async fn recompute(ctx: &Ctx, as_of: Option<String>, request_id: Option<String>) -> Outcome {
    let request_id = request_id_or_fresh(request_id)?;
    let response = ctx
        .engagements()
        .recompute_ratings(ctx.req(pb::RecomputeRatingsRequest {
            request_id: request_id.clone(),
            as_of: as_of.unwrap_or_default(),
        }))
        .await
        .map_err(unsettled(&request_id))?
        .into_inner();
    if ctx.json {
        json::print(&json::message(&response));
    } else {
        print!("{}", ranking(&response));
    }
    Ok(())
}

async fn get(ctx: &Ctx, id: i64) -> Outcome<pb::Engagement> {
    match ctx
        .engagements()
        .get_engagement(ctx.req(pb::GetEngagementRequest { engagement_id: id }))
        .await?
        .into_inner()
        .engagement
    {
        Some(e) => Ok(e),
        None => fail(format!("服务器未返回委托 {id}")),
    }
}

async fn list(
    ctx: &Ctx,
    filter: pb::ListEngagementsRequest,
    page_size: i32,
    page_token: String,
    all: bool,
) -> Outcome {
    let page_size = if all && page_size <= 0 {
        500
    } else {
        page_size
    };
    let mut engagements = Vec::new();
    let mut token = page_token;
    let mut total;
    loop {
        let response = ctx
            .engagements()
            .list_engagements(ctx.req(pb::ListEngagementsRequest {
                page: Some(PageRequest {
                    page_size,
                    page_token: token,
                }),
                ..filter.clone()
            }))
            .await?
            .into_inner();
        engagements.extend(response.engagements);
        let page = response.page.unwrap_or_default();
        token = page.next_page_token;
        total = page.total_size;
        if !all || token.is_empty() {
            break;
        }
    }
    if all {
        total = engagements.len() as i64;
    }
    if ctx.json {
        json::print(&json!({
            "engagements": engagements.iter().map(json::message).collect::<Vec<_>>(),
            "page": { "next_page_token": token, "total_size": total },
        }));
        return Ok(());
    }
    let mut t = Table::new(&[
        "ID",
        "委托事项",
        "委托方",
        "被评价对象",
        "机构",
        "专家",
        "起止日期",
        "得分",
        "版本",
    ]);
    for e in &engagements {
        t.row(vec![
            e.id.to_string(),
            ENGAGEMENT_KIND.zh(e.kind),
            e.commissioner.clone(),
            e.evaluated_party.clone(),
            e.agency_credit_code.clone(),
            experts_text(&e.expert_ids),
            format!("{} 至 {}", e.started_on, e.ended_on),
            if e.rated {
                decimal_text(e.score.as_ref())
            } else {
                "未评分".into()
            },
            e.version.to_string(),
        ]);
    }
    t.print();
    if token.is_empty() {
        println!("共 {total} 项");
    } else {
        println!(
            "共 {total} 项，本页 {} 项；下一页: --page-token {token}，或用 --all 列出全部",
            engagements.len()
        );
    }
    Ok(())
}

/// A decimal's exact text as the server sent it; `-` when absent.
pub fn decimal_text(d: Option<&Decimal>) -> String {
    match d {
        Some(d) if !d.value.is_empty() => d.value.clone(),
        _ => "-".into(),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "是 yes" } else { "否 no" }
}

fn experts_text(ids: &[i64]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("、")
}

/// `机构 X，专家 1、2` (whichever took part).
fn parties_text(e: &pb::Engagement) -> String {
    let mut parts = Vec::new();
    if !e.agency_credit_code.is_empty() {
        parts.push(format!("机构 {}", e.agency_credit_code));
    }
    if !e.expert_ids.is_empty() {
        parts.push(format!("专家 {}", experts_text(&e.expert_ids)));
    }
    parts.join("，")
}

fn scores_table(scores: &[pb::CriterionScore]) -> String {
    if scores.is_empty() {
        return String::new();
    }
    let mut t = Table::new(&["评分项", "得分"]);
    for s in scores {
        t.row(vec![s.criterion.clone(), decimal_text(s.score.as_ref())]);
    }
    t.render()
}

fn details(e: &pb::Engagement) -> String {
    let created = e.created.clone().unwrap_or_default();
    let rated_by = e.rated_by.clone().unwrap_or_default();
    let mut out = fields(&[
        ("委托编号", e.id.to_string()),
        ("委托事项", ENGAGEMENT_KIND.zh(e.kind)),
        ("委托方", e.commissioner.clone()),
        ("被评价对象", e.evaluated_party.clone()),
        ("受托机构", e.agency_credit_code.clone()),
        ("参与专家", experts_text(&e.expert_ids)),
        ("起止日期", format!("{} 至 {}", e.started_on, e.ended_on)),
        (
            "得分",
            if e.rated {
                decimal_text(e.score.as_ref())
            } else if e.cancelled {
                "已撤销，不评分".into()
            } else {
                "未评分".into()
            },
        ),
        ("评分规则", e.rules.clone()),
        ("版本", e.version.to_string()),
        (
            "登记",
            format!("{} {}", time(&created.at), created.actor)
                .trim()
                .to_owned(),
        ),
        (
            "评分",
            format!("{} {}", time(&rated_by.at), rated_by.actor)
                .trim()
                .to_owned(),
        ),
        (
            "撤销",
            match &e.cancelled_by {
                Some(by) if e.cancelled => {
                    format!("{} {}：{}", time(&by.at), by.actor, e.cancel_reason)
                }
                _ => String::new(),
            },
        ),
    ]);
    out.push_str(&scores_table(&e.scores));
    out
}

/// A recompute: the summary, then the agencies' and the experts' ranking, best first.
fn ranking(r: &pb::RecomputeRatingsResponse) -> String {
    let mut out = format!("已重算截至 {} 的动态评分（{}）\n", r.as_of, r.rules);
    out.push_str(&fields(&[
        ("机构 agencies rated", r.agencies_rated.to_string()),
        ("专家 experts rated", r.experts_rated.to_string()),
        ("状态变更 status changes", r.status_changes.to_string()),
    ]));
    out.push_str("机构排名 / agencies:\n");
    out.push_str(&ranking_table(
        "统一社会信用代码",
        &r.agencies,
        |s| s.agency_credit_code.clone(),
        &names::AGENCY_STATUS,
    ));
    out.push_str("专家排名 / experts:\n");
    out.push_str(&ranking_table(
        "专家编号",
        &r.experts,
        |s| s.expert_id.to_string(),
        &names::EXPERT_STATUS,
    ));
    let unlisted = i64::from(r.experts_rated) - r.experts.len() as i64;
    if unlisted > 0 {
        out.push_str(&format!(
            "（另有 {unlisted} 位专家无委托或违规记录，按库均值计，未列出 / {unlisted} more \
             without engagements or violations, not listed）\n"
        ));
    }
    out
}

fn ranking_table(
    party: &str,
    subjects: &[pb::RatedSubject],
    who: impl Fn(&pb::RatedSubject) -> String,
    statuses: &names::Names,
) -> String {
    let mut t = Table::new(&[
        "名次",
        party,
        "综合得分",
        "信用等级",
        "处理",
        "可选用",
        "委托数",
        "状态变更",
    ]);
    for (i, s) in subjects.iter().enumerate() {
        let change = if s.status_from.is_empty() && s.status_to.is_empty() {
            String::new()
        } else {
            format!(
                "{} → {}",
                statuses.zh_of_key(&s.status_from),
                statuses.zh_of_key(&s.status_to)
            )
        };
        t.row(vec![
            (i + 1).to_string(),
            who(s),
            decimal_text(s.final_score.as_ref()),
            s.grade.clone(),
            names::rating_action_zh(&s.action, 0),
            if s.selectable { "是" } else { "否" }.into(),
            s.engagements.to_string(),
            change,
        ]);
    }
    t.render()
}

/// Every number behind a rating: the contributions table, then the totals.
pub fn explanation(r: &pb::RatingExplanation) -> String {
    let mut out = String::new();
    if r.contributions.is_empty() {
        out.push_str("（尚无已评分的委托 / no rated engagements）\n");
    } else {
        let mut t = Table::new(&[
            "委托编号",
            "结束日期",
            "得分",
            "距今月数",
            "衰减权重",
            "加权得分",
        ]);
        for c in &r.contributions {
            t.row(vec![
                c.engagement_id.to_string(),
                c.ended_on.clone(),
                decimal_text(c.score.as_ref()),
                c.age_months.to_string(),
                decimal_text(c.decay_weight.as_ref()),
                decimal_text(c.weighted.as_ref()),
            ]);
        }
        out.push_str(&t.render());
    }
    if !r.penalties.is_empty() {
        out.push_str("扣分 penalties:\n");
        let mut t = Table::new(&["违规编号", "发生日期", "严重程度", "扣分"]);
        for p in &r.penalties {
            t.row(vec![
                p.violation_id.to_string(),
                p.occurred_on.clone(),
                names::SEVERITY.zh_of_key(&p.severity),
                decimal_text(p.points.as_ref()),
            ]);
        }
        out.push_str(&t.render());
    }
    out.push_str(&fields(&[
        (
            "加权合计 weighted sum",
            decimal_text(r.weighted_sum.as_ref()),
        ),
        (
            "权重合计 weight total",
            decimal_text(r.weight_total.as_ref()),
        ),
        ("库均值 pool mean", decimal_text(r.pool_mean.as_ref())),
        ("收缩系数 shrinkage k", decimal_text(r.shrinkage_k.as_ref())),
        ("收缩后 shrunk", decimal_text(r.shrunk.as_ref())),
        (
            "扣分 penalties",
            if r.penalties.is_empty() {
                "无".into()
            } else {
                format!("{} 项（见上表）", r.penalties.len())
            },
        ),
        ("综合得分 final score", decimal_text(r.final_score.as_ref())),
        ("信用等级 grade", r.grade.clone()),
        (
            "处理 action",
            format!(
                "{}（{}）",
                names::rating_action_zh(&r.action, r.suspend_months),
                r.action
            ),
        ),
        ("可选用 selectable", yes_no(r.selectable).into()),
        ("规则 rules", r.rules.clone()),
    ]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_parsed_as_exact_text() {
        assert_eq!(
            score_arg("quality=90.50"),
            Ok(CriterionArg {
                criterion: "QUALITY".into(),
                score: "90.50".into()
            })
        );
        assert_eq!(score_arg(" TIMELINESS = 80 ").unwrap().score, "80");
        for bad in [
            "QUALITY",
            "=90",
            "QUALITY=",
            "QUALITY=9e1",
            "QUALITY=-5",
            "QUALITY=1.2.3",
            "QUALITY=.5",
            "QUALITY=abc",
            "QU ALITY=9",
        ] {
            assert!(score_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_recompute_ranks_agencies_then_experts() {
        let d = |v: &str| Some(Decimal { value: v.into() });
        let r = pb::RecomputeRatingsResponse {
            as_of: "2026-06-01".into(),
            rules: "2026年度全国默认规则".into(),
            agencies_rated: 2,
            experts_rated: 3,
            status_changes: 1,
            agencies: vec![
                pb::RatedSubject {
                    agency_credit_code: "A1".into(),
                    final_score: d("95"),
                    grade: "A".into(),
                    action: "none".into(),
                    selectable: true,
                    engagements: 1,
                    ..Default::default()
                },
                pb::RatedSubject {
                    agency_credit_code: "B2".into(),
                    final_score: d("52.35"),
                    grade: "D".into(),
                    action: "suspend".into(),
                    selectable: false,
                    engagements: 1,
                    status_from: "warned".into(),
                    status_to: "suspended".into(),
                    ..Default::default()
                },
            ],
            experts: vec![pb::RatedSubject {
                expert_id: 7,
                final_score: d("64.2"),
                grade: "C".into(),
                action: "warning".into(),
                selectable: true,
                ..Default::default()
            }],
        };
        let text = ranking(&r);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "已重算截至 2026-06-01 的动态评分（2026年度全国默认规则）"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("状态变更 status changes") && l.ends_with(" 1")),
            "{text}"
        );
        let at = |start: &str| {
            lines
                .iter()
                .position(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("{start} in\n{text}"))
        };
        assert!(at("机构排名") < at("1     A1") && at("1     A1") < at("2     B2"));
        assert!(at("2     B2") < at("专家排名") && at("专家排名") < at("1     7"));
        let b2 = lines[at("2     B2")];
        for cell in ["52.35", "D", "暂停", "否", "警告 → 暂停"] {
            assert!(b2.contains(cell), "{cell} in {b2}");
        }
        assert!(lines[at("1     7")].contains("警告"), "{text}");
        assert!(text.contains("另有 2 位专家"), "{text}");
    }

    #[test]
    fn an_explanation_shows_every_number() {
        let d = |v: &str| Some(Decimal { value: v.into() });
        let r = pb::RatingExplanation {
            as_of: "2026-06-01".into(),
            contributions: vec![pb::RatingContribution {
                engagement_id: 7,
                ended_on: "2026-03-31".into(),
                score: d("84.2"),
                age_months: 2,
                decay_weight: d("1"),
                weighted: d("84.2"),
            }],
            weighted_sum: d("84.2"),
            weight_total: d("1"),
            pool_mean: d("84.2"),
            shrinkage_k: d("3"),
            shrunk: d("84.2"),
            penalties: vec![pb::RatingPenalty {
                violation_id: 3,
                occurred_on: "2026-02-01".into(),
                severity: "minor".into(),
                points: d("5"),
            }],
            final_score: d("79.2"),
            grade: "C".into(),
            action: "warning".into(),
            selectable: true,
            rules: "2026年度全国默认规则".into(),
            ..Default::default()
        };
        let text = explanation(&r);
        for expected in [
            "委托编号",
            "2026-03-31",
            "84.2",
            "一般",
            "警告（warning）",
            "是 yes",
            "2026年度全国默认规则",
        ] {
            assert!(text.contains(expected), "{expected} in\n{text}");
        }
        assert!(
            text.lines()
                .any(|l| l.starts_with("综合得分 final score") && l.ends_with(" 79.2")),
            "{text}"
        );
    }
}
