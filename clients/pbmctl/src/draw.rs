//! `pbmctl draw …`: random draws (随机抽取), reproducible and auditable
//! (`pbm.agency.v1.DrawService`): draw experts or agencies for a task, record their answers (a
//! decline is followed by a replacement in a new round, which `respond` waits for and shows),
//! show a draw, and replay it from its record.
//!
//! What is drawn varies, the rest does not: every draw takes the task options ([`TaskArgs`]:
//! task, count, evaluated party, kind, request id), and `respond`, `show` and `replay` work on
//! any draw. The drawn parties (expert ids, or agency credit codes with the weight each was
//! drawn with) are read through [`members`] and [`round_picks`], whatever the subject.

use clap::{ArgGroup, Args, Subcommand};
use pbm_proto::agency::v1 as pb;
use pbm_proto::common::v1::Decimal;

use crate::client::{Ctx, Failure, Outcome, fail, request_id_or_fresh, unsettled};
use crate::engagement::decimal_text;
use crate::json;
use crate::names::{self, DRAW_ANSWER, ENGAGEMENT_KIND};
use crate::table::{Table, fields, time};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// 按专业领域随机抽取专家（只在符合条件者中抽取；人数不足时说明原因）/ Draw experts by
    /// field, among the eligible only (too few eligible → refused, saying why).
    #[command(after_long_help = "\
Eligible: 入库 status, age cap, title and years, the field, the yearly workload cap, no major
violation, no tie to the evaluated party (回避), not already drawn for the task. The seed and a
fingerprint of the eligible set are recorded, so `draw replay` can recompute the draw.
Example:
  pbmctl draw experts --task GR-2026-001 --field LAW --count 3 --evaluated-party U0101 \\
         --kind goal-review")]
    Experts(ExpertsArgs),
    /// 随机抽取第三方机构（服务范围覆盖委托事项且符合条件者；可按动态评分加权）/ Draw
    /// agencies whose scopes cover the kind, among the eligible only, uniformly or weighted by
    /// rating.
    #[command(after_long_help = "\
Eligible: status (入库 or 警告; not suspended, removed or out of its qualification period), the
scopes cover the kind, a 主评人 for evaluations, no major violation, no tie to the evaluated
party (回避), not already drawn for the task. With --weighted each eligible agency's chance is
proportional to its rating (final score, at least 1) as of the draw date; without it every
eligible agency has the same chance (weight 1). Each drawn agency's weight is recorded with the
seed and a fingerprint of the eligible set, so `draw replay` can recompute the draw.
Example:
  pbmctl draw agencies --task EV-2026-01 --count 1 --evaluated-party D07 --kind evaluation \\
         --weighted")]
    Agencies(AgenciesArgs),
    /// 记录被抽中专家或机构的答复（不参加时自动补抽一轮）/ Record a drawn expert's or
    /// agency's answer (a decline draws a replacement in a new round).
    #[command(after_long_help = "\
--expert for a draw of experts, --agency for a draw of agencies (exactly one). Examples:
  pbmctl draw respond 1 --expected-version 1 --expert 4 --accept
  pbmctl draw respond 2 --expected-version 1 --agency 91350100M000100Y43 --decline \\
         --reason 人手不足")]
    Respond(RespondArgs),
    /// 查看抽取记录 / Show a draw.
    Show {
        /// 抽取编号 / Draw id.
        draw_id: i64,
    },
    /// 按记录重新计算抽取结果并核对（不一致时退出码 1）/ Recompute a draw from its record
    /// and check it (exit 1 if it does not match).
    Replay {
        /// 抽取编号 / Draw id.
        draw_id: i64,
    },
}

/// The options every draw takes: what the draw is for.
#[derive(Args, Debug)]
pub struct TaskArgs {
    /// 任务编号（同一任务不会重复抽中同一专家或机构）/ The task drawn for (no expert or agency
    /// is drawn twice for a task), e.g. a goal review batch.
    #[arg(long = "task", value_name = "TASK_REF")]
    pub task_ref: String,
    /// 抽取数量（1–50）/ How many to draw (1–50).
    #[arg(long, value_name = "N")]
    pub count: i32,
    /// 被评价对象代码（用于回避）/ The evaluated party (for recusal).
    #[arg(long, value_name = "CODE")]
    pub evaluated_party: String,
    /// 委托事项 / Kind: ex-ante, goal-review, evaluation, evaluation-review, indicator-system,
    /// research.
    #[arg(long, value_parser = names::engagement_kind_arg, value_name = "KIND")]
    pub kind: i32,
    /// 请求编号（默认新生成；结果不确定时用同一编号重试，得到同一次抽取）/ Request id
    /// (default: a fresh one; retrying with the same id returns the same draw).
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
}

#[derive(Args, Debug)]
pub struct ExpertsArgs {
    #[command(flatten)]
    pub task: TaskArgs,
    /// 专业领域代码（`pbmctl expert fields`）/ Field code (`pbmctl expert fields`).
    #[arg(long, value_name = "CODE")]
    pub field: String,
}

#[derive(Args, Debug)]
pub struct AgenciesArgs {
    #[command(flatten)]
    pub task: TaskArgs,
    /// 按动态评分加权（默认等概率）/ Weight each agency's chance by its rating (default:
    /// uniform).
    #[arg(long)]
    pub weighted: bool,
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("answer").required(true).args(["accept", "decline"])))]
#[command(group(ArgGroup::new("respondent").required(true).args(["expert", "agency"])))]
pub struct RespondArgs {
    /// 抽取编号 / Draw id.
    pub draw_id: i64,
    /// 读取到的版本（`draw show`）/ The version read (`draw show`).
    #[arg(long, value_name = "N")]
    pub expected_version: i64,
    /// 答复的专家编号（专家抽取）/ The expert answering (a draw of experts).
    #[arg(long, value_name = "ID")]
    pub expert: Option<i64>,
    /// 答复的机构统一社会信用代码（机构抽取）/ The agency answering (a draw of agencies), by
    /// credit code.
    #[arg(long, value_name = "CREDIT_CODE")]
    pub agency: Option<String>,
    /// 参加 / Takes part.
    #[arg(long)]
    pub accept: bool,
    /// 不参加（需 --reason；随后补抽一人）/ Declines (needs --reason; a replacement is drawn).
    #[arg(long, requires = "reason")]
    pub decline: bool,
    /// 原因（不参加时必填）/ Why (required with --decline).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// 请求编号（默认新生成；结果不确定时用同一编号重试，不会重复记录）/ Request id (default:
    /// a fresh one; retry with the same id when the outcome was unknown).
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
}

pub async fn run(ctx: &Ctx, command: Command) -> Outcome {
    match command {
        Command::Experts(args) => {
            let request_id = request_id_or_fresh(args.task.request_id)?;
            let draw = ctx
                .draws()
                .draw_experts(ctx.req(pb::DrawExpertsRequest {
                    request_id: request_id.clone(),
                    task_ref: args.task.task_ref.trim().to_owned(),
                    field: args.field.trim().to_owned(),
                    count: args.task.count,
                    evaluated_party: args.task.evaluated_party.trim().to_owned(),
                    kind: args.task.kind,
                }))
                .await
                .map_err(unsettled(&request_id))?
                .into_inner()
                .draw;
            drawn(ctx, returned(draw)?);
            Ok(())
        }
        Command::Agencies(args) => {
            let request_id = request_id_or_fresh(args.task.request_id)?;
            let draw = ctx
                .draws()
                .draw_agencies(ctx.req(pb::DrawAgenciesRequest {
                    request_id: request_id.clone(),
                    task_ref: args.task.task_ref.trim().to_owned(),
                    count: args.task.count,
                    evaluated_party: args.task.evaluated_party.trim().to_owned(),
                    kind: args.task.kind,
                    weighted_by_rating: args.weighted,
                }))
                .await
                .map_err(unsettled(&request_id))?
                .into_inner()
                .draw;
            drawn(ctx, returned(draw)?);
            Ok(())
        }
        Command::Respond(args) => respond(ctx, args).await,
        Command::Show { draw_id } => {
            let draw = get(ctx, draw_id).await?;
            if ctx.json {
                json::print(&json::message(&draw));
            } else {
                print!("{}", details(&draw, true));
            }
            Ok(())
        }
        Command::Replay { draw_id } => {
            let replay = ctx
                .draws()
                .replay_draw(ctx.req(pb::ReplayDrawRequest { draw_id }))
                .await?
                .into_inner();
            if ctx.json {
                json::print(&json::message(&replay));
            } else {
                print!("{}", replay_text(&replay));
            }
            if replay.matches {
                Ok(())
            } else {
                Err(Failure::Message(format!(
                    "抽取记录 {draw_id} 重放结果与记录不一致（候选指纹或某轮抽中名单不同），\
                     记录可能被改动，请核查 / the replay does not match the record"
                )))
            }
        }
    }
}

/// Prints a new draw: how many of what were drawn, then the record.
fn drawn(ctx: &Ctx, draw: pb::Draw) {
    if ctx.json {
        json::print(&json::message(&draw));
    } else {
        println!(
            "已抽取 {} {} {}（抽取编号 {}）",
            subject_label(&draw),
            members(&draw).len(),
            count_unit(&draw),
            draw.id
        );
        print!("{}", details(&draw, false));
    }
}

async fn respond(ctx: &Ctx, args: RespondArgs) -> Outcome {
    let request_id = request_id_or_fresh(args.request_id)?;
    let reason = args.reason.unwrap_or_default().trim().to_owned();
    let (who, expert_id, agency_credit_code) = match (args.expert, args.agency) {
        (Some(id), None) => (format!("专家 {id}"), id, String::new()),
        (None, Some(code)) => {
            let code = code.trim().to_owned();
            (format!("机构 {code}"), 0, code)
        }
        _ => {
            return Err(Failure::Usage(
                "请用 --expert 或 --agency 指定答复者（二者选一）".into(),
            ));
        }
    };
    let draw = ctx
        .draws()
        .respond_to_draw(ctx.req(pb::RespondToDrawRequest {
            request_id: request_id.clone(),
            draw_id: args.draw_id,
            expected_version: args.expected_version,
            expert_id,
            accept: args.accept,
            reason,
            agency_credit_code,
        }))
        .await
        .map_err(unsettled(&request_id))?
        .into_inner()
        .draw;
    let draw = returned(draw)?;
    if ctx.json {
        json::print(&json::message(&draw));
        return Ok(());
    }
    let answer = if args.accept { "参加" } else { "不参加" };
    println!(
        "已记录{who} 的答复：{answer}，抽取记录 {} 版本 {}",
        draw.id, draw.version
    );
    let mut draw = draw;
    if args.decline {
        // The service draws the replacement just after the answer (docs/AGENCY.md "Draws"):
        // one round per decline, this one's numbered by the declines so far.
        let declined = members(&draw)
            .iter()
            .filter(|m| m.answer == pb::DrawAnswer::Declined as i32)
            .count();
        let round = i32::try_from(declined).unwrap_or(i32::MAX);
        match replacement(ctx, draw.id, round).await? {
            Some(later) => {
                let replacements: Vec<String> = members(&later)
                    .into_iter()
                    .filter(|m| m.round == round)
                    .map(|m| m.who)
                    .collect();
                if replacements.is_empty() {
                    for s in later
                        .replacement_shortfalls
                        .iter()
                        .filter(|s| s.round == round)
                    {
                        println!("第 {round} 轮未能补抽: {}", s.message);
                    }
                } else {
                    println!(
                        "第 {round} 轮补抽: {} {}",
                        subject_label(&later),
                        replacements.join("、")
                    );
                }
                draw = later;
            }
            None => println!(
                "第 {round} 轮补抽尚未完成，稍后用 `pbmctl draw show {}` 查看",
                draw.id
            ),
        }
    }
    print!("{}", details(&draw, false));
    Ok(())
}

/// Draw `draw_id` once its replacement round `round` is drawn or found short (GetDraw), waiting
/// up to 10 s; `None` when it is not there by then.
async fn replacement(ctx: &Ctx, draw_id: i64, round: i32) -> Outcome<Option<pb::Draw>> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let draw = get(ctx, draw_id).await?;
        let there = draw.rounds.iter().any(|r| r.round == round)
            || draw.replacement_shortfalls.iter().any(|s| s.round == round);
        if there {
            return Ok(Some(draw));
        }
        if std::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// GetDraw.
async fn get(ctx: &Ctx, draw_id: i64) -> Outcome<pb::Draw> {
    let draw = ctx
        .draws()
        .get_draw(ctx.req(pb::GetDrawRequest { draw_id }))
        .await?
        .into_inner()
        .draw;
    returned(draw)
}

fn returned(draw: Option<pb::Draw>) -> Outcome<pb::Draw> {
    match draw {
        Some(d) => Ok(d),
        None => fail("服务器未返回抽取记录"),
    }
}

/// One drawn party of a draw, whatever was drawn.
#[derive(Debug, PartialEq)]
pub struct Member {
    /// Expert id, or for agency draws the credit code.
    pub who: String,
    pub round: i32,
    pub answer: i32,
    pub reason: String,
    /// Agency draws: the weight it was drawn with (its rating when weighted, 1 when uniform).
    pub weight: Option<Decimal>,
}

/// The drawn parties of a draw, in round order: its experts, or its agencies.
pub fn members(d: &pb::Draw) -> Vec<Member> {
    let experts = d.drawn.iter().map(|m| Member {
        who: m.expert_id.to_string(),
        round: m.round,
        answer: m.answer,
        reason: m.reason.clone(),
        weight: None,
    });
    let agencies = d.drawn_agencies.iter().map(|m| Member {
        who: m.credit_code.clone(),
        round: m.round,
        answer: m.answer,
        reason: m.reason.clone(),
        weight: m.weight.clone(),
    });
    let mut out: Vec<Member> = experts.chain(agencies).collect();
    out.sort_by_key(|m| m.round);
    out
}

/// The parties a round picked, as text: expert ids, or agency credit codes.
pub fn round_picks(r: &pb::DrawRound) -> Vec<String> {
    r.picked
        .iter()
        .map(ToString::to_string)
        .chain(r.picked_agencies.iter().cloned())
        .collect()
}

fn is_agencies(d: &pb::Draw) -> bool {
    d.subject == pb::DrawSubject::Agencies as i32
}

/// What the draw drew, for messages and headers (a draw recorded before agency draws existed
/// has no subject: experts).
fn subject_label(d: &pb::Draw) -> &'static str {
    if is_agencies(d) { "机构" } else { "专家" }
}

/// The measure word of the count: 专家 2 人, 机构 1 家.
fn count_unit(d: &pb::Draw) -> &'static str {
    if is_agencies(d) { "家" } else { "人" }
}

/// `抽取对象 subject` and, for agency draws, `按评分加权 weighted`: the header lines saying
/// what was drawn and how.
fn subject_fields(d: &pb::Draw) -> Vec<(&'static str, String)> {
    if !is_agencies(d) {
        return vec![("抽取对象 subject", "专家 experts".into())];
    }
    vec![
        ("抽取对象 subject", "机构 agencies".into()),
        (
            "按评分加权 weighted",
            if d.weighted_by_rating {
                "是 yes（按动态评分）".into()
            } else {
                "否 no（等概率）".into()
            },
        ),
    ]
}

/// The draw's record; with `rounds`, each round's seed and picks too.
fn details(d: &pb::Draw, rounds: bool) -> String {
    let created = d.created.clone().unwrap_or_default();
    let mut header = vec![("抽取编号 draw", d.id.to_string())];
    header.extend(subject_fields(d));
    header.extend([
        ("任务 task", d.task_ref.clone()),
        ("专业领域 field", d.field.clone()),
        ("委托事项 kind", ENGAGEMENT_KIND.zh(d.kind)),
        ("被评价对象 evaluated", d.evaluated_party.clone()),
        ("抽取数量 count", d.count.to_string()),
        ("抽取日期 on", d.on_date.clone()),
        ("随机种子 seed", d.seed.clone()),
        ("候选指纹 fingerprint", d.candidates_fingerprint.clone()),
        ("符合条件 eligible", d.eligible.to_string()),
        ("规则 rules", d.rules.clone()),
        ("版本 version", d.version.to_string()),
        (
            "抽取人 by",
            format!("{} {}", time(&created.at), created.actor)
                .trim()
                .to_owned(),
        ),
    ]);
    let mut out = fields(&header);
    let agencies = is_agencies(d);
    let mut t = if agencies {
        Table::new(&["统一社会信用代码", "轮次", "答复", "权重", "原因"])
    } else {
        Table::new(&["专家编号", "轮次", "答复", "原因"])
    };
    for m in members(d) {
        let mut row = vec![m.who, m.round.to_string(), DRAW_ANSWER.zh(m.answer)];
        if agencies {
            row.push(decimal_text(m.weight.as_ref()));
        }
        row.push(m.reason);
        t.row(row);
    }
    out.push_str(&t.render());
    if rounds {
        let mut t = Table::new(&["轮次", "种子", "抽中"]);
        for r in &d.rounds {
            t.row(vec![
                r.round.to_string(),
                r.seed.clone(),
                round_picks(r).join("、"),
            ]);
        }
        out.push_str(&t.render());
    }
    out
}

/// The replay beside the record: round by round, replayed and recorded picks.
fn replay_text(r: &pb::ReplayDrawResponse) -> String {
    let draw = r.draw.clone().unwrap_or_default();
    let fingerprint_same = r.candidates_fingerprint == draw.candidates_fingerprint;
    let mut header = vec![("抽取编号 draw", draw.id.to_string())];
    header.extend(subject_fields(&draw));
    header.extend([
        (
            "核对结果 matches",
            if r.matches {
                "一致 yes".into()
            } else {
                "不一致 no".into()
            },
        ),
        ("重算指纹 fingerprint", r.candidates_fingerprint.clone()),
        (
            "记录指纹 recorded",
            if fingerprint_same {
                "相同 same".into()
            } else {
                draw.candidates_fingerprint.clone()
            },
        ),
        ("随机种子 seed", draw.seed.clone()),
    ]);
    let mut out = fields(&header);
    let mut t = Table::new(&["轮次", "种子", "重放抽中", "记录抽中", "一致"]);
    for round in &r.replayed {
        let mut again = round_picks(round);
        let mut recorded: Vec<String> = draw
            .rounds
            .iter()
            .find(|x| x.round == round.round)
            .map(round_picks)
            .unwrap_or_default();
        let text = (again.join("、"), recorded.join("、"));
        again.sort();
        recorded.sort();
        t.row(vec![
            round.round.to_string(),
            round.seed.clone(),
            text.0,
            text.1,
            if again == recorded { "是" } else { "否" }.into(),
        ]);
    }
    out.push_str(&t.render());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw() -> pb::Draw {
        pb::Draw {
            id: 4,
            seed: "123".into(),
            candidates_fingerprint: "ab".repeat(32),
            rounds: vec![
                pb::DrawRound {
                    round: 0,
                    seed: "123".into(),
                    picked: vec![5, 3],
                    ..Default::default()
                },
                pb::DrawRound {
                    round: 1,
                    seed: "456".into(),
                    picked: vec![6],
                    ..Default::default()
                },
            ],
            drawn: vec![
                pb::DrawnExpert {
                    expert_id: 6,
                    round: 1,
                    answer: pb::DrawAnswer::Pending as i32,
                    reason: String::new(),
                },
                pb::DrawnExpert {
                    expert_id: 3,
                    round: 0,
                    answer: pb::DrawAnswer::Declined as i32,
                    reason: "时间冲突".into(),
                },
            ],
            ..Default::default()
        }
    }

    fn agency_draw() -> pb::Draw {
        let d = |v: &str| Some(Decimal { value: v.into() });
        pb::Draw {
            id: 5,
            subject: pb::DrawSubject::Agencies as i32,
            weighted_by_rating: true,
            seed: "77".into(),
            rounds: vec![
                pb::DrawRound {
                    round: 0,
                    seed: "77".into(),
                    picked_agencies: vec!["A1".into()],
                    ..Default::default()
                },
                pb::DrawRound {
                    round: 1,
                    seed: "88".into(),
                    picked_agencies: vec!["B2".into()],
                    ..Default::default()
                },
            ],
            drawn_agencies: vec![
                pb::DrawnAgency {
                    credit_code: "B2".into(),
                    round: 1,
                    answer: pb::DrawAnswer::Pending as i32,
                    reason: String::new(),
                    weight: d("70.5"),
                },
                pb::DrawnAgency {
                    credit_code: "A1".into(),
                    round: 0,
                    answer: pb::DrawAnswer::Declined as i32,
                    reason: "人手不足".into(),
                    weight: d("95"),
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn agency_draws_list_credit_codes_with_their_weights() {
        let d = agency_draw();
        let m = members(&d);
        assert_eq!(
            m.iter()
                .map(|m| (
                    m.who.as_str(),
                    m.round,
                    m.weight.as_ref().map(|w| w.value.as_str())
                ))
                .collect::<Vec<_>>(),
            [("A1", 0, Some("95")), ("B2", 1, Some("70.5"))]
        );
        assert_eq!(round_picks(&d.rounds[1]), ["B2"]);
        assert_eq!((subject_label(&d), count_unit(&d)), ("机构", "家"));
        let text = details(&d, true);
        let line = |start: &str| {
            text.lines()
                .find(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("{start} in\n{text}"))
                .to_owned()
        };
        assert!(
            line("抽取对象 subject").ends_with("机构 agencies"),
            "{text}"
        );
        assert!(line("按评分加权 weighted").contains("是 yes"), "{text}");
        assert!(line("统一社会信用代码").contains("权重"), "{text}");
        let a1 = line("A1 ");
        for cell in ["不参加", "95", "人手不足"] {
            assert!(a1.contains(cell), "{cell} in {a1}");
        }
        assert!(line("B2 ").contains("70.5"), "{text}");
        assert!(line("1 ").ends_with("B2"), "round 1 picked B2: {text}");

        let uniform = pb::Draw {
            weighted_by_rating: false,
            ..agency_draw()
        };
        assert!(details(&uniform, false).contains("否 no（等概率）"));
        let replay = replay_text(&pb::ReplayDrawResponse {
            matches: true,
            candidates_fingerprint: String::new(),
            replayed: d.rounds.clone(),
            draw: Some(d),
        });
        assert!(
            replay.contains("机构 agencies")
                && replay
                    .lines()
                    .any(|l| l.starts_with('1') && l.contains("B2  ") && l.ends_with('是')),
            "{replay}"
        );
    }

    #[test]
    fn an_expert_draw_says_so_and_has_no_weights() {
        let text = details(&draw(), false);
        assert!(
            text.lines()
                .any(|l| l.starts_with("抽取对象 subject") && l.ends_with("专家 experts")),
            "{text}"
        );
        assert!(
            !text.contains("按评分加权") && !text.contains("权重"),
            "{text}"
        );
        assert_eq!(count_unit(&draw()), "人");
    }

    #[test]
    fn exactly_one_respondent() {
        use clap::Parser;
        #[derive(Parser, Debug)]
        struct Draw {
            #[command(subcommand)]
            command: Command,
        }
        let respond = |extra: &[&str]| {
            let mut args = vec!["x", "respond", "3", "--expected-version", "1", "--accept"];
            args.extend(extra);
            Draw::try_parse_from(args)
        };
        let both = respond(&["--expert", "1", "--agency", "A1"]).unwrap_err();
        assert_eq!(both.kind(), clap::error::ErrorKind::ArgumentConflict);
        let neither = respond(&[]).unwrap_err();
        assert_eq!(
            neither.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        let Draw {
            command: Command::Respond(args),
        } = respond(&["--agency", "A1"]).unwrap()
        else {
            panic!("respond")
        };
        assert_eq!((args.agency.as_deref(), args.expert), (Some("A1"), None));
    }

    #[test]
    fn members_come_in_round_order() {
        let m = members(&draw());
        assert_eq!(
            m.iter()
                .map(|m| (m.who.as_str(), m.round))
                .collect::<Vec<_>>(),
            [("3", 0), ("6", 1)]
        );
        let text = details(&draw(), true);
        assert!(
            text.contains("不参加") && text.contains("时间冲突"),
            "{text}"
        );
        assert!(text.contains("5、3"), "{text}");
    }

    #[test]
    fn a_replay_is_compared_round_by_round() {
        let mut replay = pb::ReplayDrawResponse {
            matches: true,
            candidates_fingerprint: "ab".repeat(32),
            replayed: draw().rounds,
            draw: Some(draw()),
        };
        let text = replay_text(&replay);
        assert!(
            text.contains("一致 yes") && text.contains("相同 same"),
            "{text}"
        );
        assert!(!text.contains(" 否"), "{text}");
        replay.matches = false;
        replay.candidates_fingerprint = "cd".repeat(32);
        replay.replayed[1].picked = vec![7];
        let text = replay_text(&replay);
        assert!(text.contains("不一致 no"), "{text}");
        assert!(
            text.contains(&"ab".repeat(32)),
            "recorded fingerprint shown"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with('1') && l.ends_with('否')),
            "{text}"
        );
    }
}
