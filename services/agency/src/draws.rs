//! Use cases of expert draws (DOMAIN.md: drawn at random by field with recusal; each draw keeps
//! its seed, round and each expert's answer; a decline triggers a replacement round; too few
//! eligible → an explicit error, never a silent fallback).

use std::collections::HashMap;

use chrono::Datelike;
use pbm_auth::{Caller, Role};
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};
use pbm_types::Decimal;
use rand::RngCore;

use crate::access;
use crate::domain::draw::{self as rules_draw, Candidate, Weighting};
use crate::domain::eligibility::{self, DrawTask, expert_exclusions};
use crate::engagements::{expert_facts, kind_from, kind_to};
use crate::grpc::convert;
use crate::ops::{SERVICE, rules_in_force};
use crate::state::AppState;
use crate::store::draws::{self as store_d, DrawRow, MemberRow};
use crate::store::experts as store_x;

fn not_found(id: i64) -> ApiError {
    ApiError::not_found("DRAW_NOT_FOUND", format!("抽取记录 {id} 不存在"))
}

fn answer_to(a: &str) -> proto::DrawAnswer {
    match a {
        "accepted" => proto::DrawAnswer::Accepted,
        "declined" => proto::DrawAnswer::Declined,
        _ => proto::DrawAnswer::Pending,
    }
}

fn candidates_of(row: &DrawRow) -> Result<Vec<Candidate>, ApiError> {
    let pairs: Vec<(String, Decimal)> =
        serde_json::from_str(&row.candidates).map_err(ApiError::internal)?;
    Ok(pairs
        .into_iter()
        .map(|(id, weight)| Candidate { id, weight })
        .collect())
}

fn seed_of(row: &DrawRow) -> Result<u64, ApiError> {
    row.seed.parse().map_err(ApiError::internal)
}

/// Picks of each round, recomputed from the record: round 0 draws `count`, every later round one
/// replacement among those not drawn before.
fn replay_rounds(row: &DrawRow, rounds: u32) -> Result<Vec<Vec<String>>, ApiError> {
    let candidates = candidates_of(row)?;
    let seed = seed_of(row)?;
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut already: Vec<String> = Vec::new();
    for round in 0..=rounds {
        let picked = if round == 0 {
            rules_draw::draw(
                &candidates,
                usize::try_from(row.count).unwrap_or(0),
                seed,
                Weighting::Uniform,
            )
        } else {
            rules_draw::draw_more(&candidates, &already, 1, seed, round, Weighting::Uniform)
        }
        .map_err(|e| ApiError::failed_precondition(e.reason(), format!("{e:?}")))?;
        already.extend(picked.iter().cloned());
        out.push(picked);
    }
    Ok(out)
}

fn to_proto(row: &DrawRow, members: &[MemberRow]) -> Result<proto::Draw, ApiError> {
    let seed = seed_of(row)?;
    let mut members = members.to_vec();
    members.sort_by_key(|m| (m.round, m.expert_id));
    let max_round = members.iter().map(|m| m.round).max().unwrap_or(0);
    let rounds = (0..=max_round)
        .map(|r| proto::DrawRound {
            round: r,
            seed: rules_draw::round_seed(seed, u32::try_from(r).unwrap_or(0)).to_string(),
            picked: members
                .iter()
                .filter(|m| m.round == r)
                .map(|m| m.expert_id)
                .collect(),
        })
        .collect();
    Ok(proto::Draw {
        id: row.id,
        task_ref: row.task_ref.clone(),
        field: row.field.clone(),
        count: row.count,
        evaluated_party: row.evaluated_party.clone(),
        kind: crate::domain::engagement::EngagementKind::from_db(&row.kind)
            .map_or(0, |k| kind_to(k) as i32),
        on_date: row.on_date.to_string(),
        seed: row.seed.clone(),
        candidates_fingerprint: row.fingerprint.clone(),
        eligible: i32::try_from(candidates_of(row)?.len()).unwrap_or(i32::MAX),
        rounds,
        drawn: members
            .iter()
            .map(|m| proto::DrawnExpert {
                expert_id: m.expert_id,
                round: m.round,
                answer: answer_to(&m.answer) as i32,
                reason: m.reason.clone(),
            })
            .collect(),
        rules: row.rules.clone(),
        version: row.version,
        created: Some(convert::stamp(&row.created_by, row.created_at)),
    })
}

pub async fn draw_experts(
    state: &AppState,
    ctx: MutationContext,
    r: proto::DrawExpertsRequest,
) -> Result<proto::Draw, ApiError> {
    let st = state.clone();
    // A fresh seed; retries of the same request replay the first draw through idempotency.
    let seed = rand::rngs::OsRng.next_u64();
    run_mutation(
        &state.db,
        ctx,
        ("draw", r.task_ref.clone()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let mut v = Vec::new();
            if r.task_ref.trim().is_empty() {
                v.push(("task_ref".to_string(), "请填写任务编号".to_string()));
            }
            if !(1..=50).contains(&r.count) {
                v.push(("count".into(), "抽取人数应在 1–50 之间".into()));
            }
            let field = r.field.trim().to_uppercase();
            if st.taxonomy.validate(&[field.as_str()]).is_err() {
                v.push(("field".into(), format!("未知的专业领域「{}」", r.field)));
            }
            if r.evaluated_party.trim().is_empty() {
                v.push((
                    "evaluated_party".into(),
                    "请填写被评价对象，用于回避".into(),
                ));
            }
            let kind = kind_from(r.kind);
            if kind.is_none() {
                v.push(("kind".into(), "请选择委托事项".into()));
            }
            ApiError::check(v)?;
            let Some(kind) = kind else {
                return Err(ApiError::internal("unreachable"));
            };
            let on = st.today();
            let rules = rules_in_force(conn, on.year())?;
            let task = DrawTask {
                field: Some(field.clone()),
                evaluated_party: r.evaluated_party.trim().into(),
                on,
                kind,
            };
            let drawn: std::collections::HashSet<i64> =
                store_d::drawn_for_task(conn, r.task_ref.trim())?
                    .into_iter()
                    .collect();
            let mut workload: HashMap<i64, u32> = HashMap::new();
            for id in store_d::workload(conn, on.year())? {
                *workload.entry(id).or_default() += 1;
            }
            let (rows, _) = store_x::list_experts(conn, &Default::default(), 0, i64::MAX)?;
            let mut candidates = Vec::new();
            let mut exclusions = Vec::new();
            for row in &rows {
                let mut facts = expert_facts(row)?;
                facts.drawn_for_task = drawn.contains(&row.id);
                facts.engagements_this_year = workload.get(&row.id).copied().unwrap_or(0);
                let excluded = expert_exclusions(&facts, &task, &rules.rules);
                if excluded.is_empty() {
                    candidates.push(Candidate {
                        id: row.id.to_string(),
                        weight: Decimal::ONE,
                    });
                } else {
                    exclusions.push(excluded);
                }
            }
            let needed = usize::try_from(r.count).unwrap_or(0);
            if candidates.len() < needed {
                let why = eligibility::tally(exclusions.iter().map(Vec::as_slice))
                    .into_iter()
                    .map(|(code, n)| format!("{code} {n}人"))
                    .collect::<Vec<_>>()
                    .join("，");
                return Err(ApiError::failed_precondition(
                    "TOO_FEW_ELIGIBLE",
                    format!(
                        "符合条件的专家只有 {} 人，需要 {needed} 人；其余 {} 人被排除：{why}",
                        candidates.len(),
                        exclusions.len()
                    ),
                )
                .with_violation(
                    "count",
                    format!("eligible {}, needed {needed}", candidates.len()),
                ));
            }
            candidates.sort_by(|a, b| a.id.cmp(&b.id));
            let fingerprint = rules_draw::fingerprint(&candidates);
            let mut row = DrawRow {
                id: 0,
                task_ref: r.task_ref.trim().into(),
                field,
                count: r.count,
                evaluated_party: task.evaluated_party.clone(),
                kind: kind.as_db().into(),
                on_date: on,
                seed: seed.to_string(),
                candidates: serde_json::to_string(
                    &candidates
                        .iter()
                        .map(|c| (c.id.clone(), c.weight))
                        .collect::<Vec<_>>(),
                )
                .map_err(ApiError::internal)?,
                fingerprint,
                rules: rules.label(),
                version: 1,
                created_by: ctx.caller.subject.clone(),
                created_at: pbm_db::now(),
            };
            let picked = replay_rounds(&row, 0)?.remove(0);
            row.id = store_d::insert(conn, &row)?;
            let mut members = Vec::new();
            for id in picked {
                let m = MemberRow {
                    draw_id: row.id,
                    expert_id: id.parse().map_err(ApiError::internal)?,
                    round: 0,
                    answer: "pending".into(),
                    reason: String::new(),
                    answered_at: None,
                };
                store_d::insert_member(conn, &m)?;
                members.push(m);
            }
            let response = to_proto(&row, &members)?;
            Ok(Effect {
                response,
                entity_type: "draw",
                entity_id: row.id.to_string(),
                detail: format!("seed {} fingerprint {}", row.seed, row.fingerprint),
            })
        },
    )
    .await
}

pub async fn respond(
    state: &AppState,
    ctx: MutationContext,
    r: proto::RespondToDrawRequest,
) -> Result<proto::Draw, ApiError> {
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("draw", r.draw_id.to_string()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let (row, members) =
                store_d::get(conn, r.draw_id)?.ok_or_else(|| not_found(r.draw_id))?;
            if row.version != r.expected_version {
                return Err(ApiError::stale_version(
                    &format!("抽取记录 {}", row.id),
                    r.expected_version,
                    row.version,
                ));
            }
            let Some(member) = members.iter().find(|m| m.expert_id == r.expert_id) else {
                return Err(ApiError::failed_precondition(
                    "NOT_DRAWN",
                    format!("专家 {} 不在抽取记录 {} 中", r.expert_id, row.id),
                ));
            };
            if member.answer != "pending" {
                return Err(ApiError::failed_precondition(
                    "ALREADY_ANSWERED",
                    format!("专家 {} 已答复", r.expert_id),
                ));
            }
            if !r.accept && r.reason.trim().is_empty() {
                return Err(ApiError::invalid_field(
                    "REASON_REQUIRED",
                    "reason",
                    "专家不参加时请记录原因",
                ));
            }
            let answer = if r.accept { "accepted" } else { "declined" };
            if !store_d::answer(
                conn,
                row.id,
                row.version,
                r.expert_id,
                answer,
                r.reason.trim(),
                pbm_db::now(),
            )? {
                return Err(ApiError::stale_version(
                    &format!("抽取记录 {}", row.id),
                    r.expected_version,
                    row.version + 1,
                ));
            }
            if !r.accept {
                // A decline triggers a replacement round on the same record (same candidates, derived seed).
                let next_round = members.iter().map(|m| m.round).max().unwrap_or(0) + 1;
                let rounds =
                    replay_rounds(&row, u32::try_from(next_round).unwrap_or(0)).map_err(|e| {
                        if e.reason == "TOO_FEW_ELIGIBLE" {
                            ApiError::failed_precondition(
                                "TOO_FEW_ELIGIBLE",
                                "候选专家已全部抽出，无法补抽；请扩大领域或重新抽取",
                            )
                        } else {
                            e
                        }
                    })?;
                for id in rounds.last().cloned().unwrap_or_default() {
                    store_d::insert_member(
                        conn,
                        &MemberRow {
                            draw_id: row.id,
                            expert_id: id.parse().map_err(ApiError::internal)?,
                            round: next_round,
                            answer: "pending".into(),
                            reason: String::new(),
                            answered_at: None,
                        },
                    )?;
                }
            }
            let (row, members) = store_d::get(conn, row.id)?.ok_or_else(|| not_found(r.draw_id))?;
            let response = to_proto(&row, &members)?;
            Ok(Effect {
                response,
                entity_type: "draw",
                entity_id: row.id.to_string(),
                detail: format!("expert {} {answer}", r.expert_id),
            })
        },
    )
    .await
}

/// Finance, auditors and the province see every draw; an expert the draws it is in.
async fn load_visible(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<(DrawRow, Vec<MemberRow>), ApiError> {
    let own = match caller.role {
        Role::Expert => match access::expert_scope(caller, &state.region)? {
            access::ExpertScope::Own(e) => Some(e),
            access::ExpertScope::All => None,
        },
        _ => {
            if access::read_scope(caller, &state.region)? != access::ReadScope::All {
                return Err(ApiError::permission_denied(
                    "ROLE_NOT_ALLOWED",
                    "当前角色不能查看专家抽取记录",
                ));
            }
            None
        }
    };
    let (row, members) = state
        .db
        .read(move |conn| store_d::get(conn, id))
        .await?
        .ok_or_else(|| not_found(id))?;
    if own.is_some_and(|e| !members.iter().any(|m| m.expert_id == e)) {
        return Err(not_found(id));
    }
    Ok((row, members))
}

pub async fn get(state: &AppState, caller: &Caller, id: i64) -> Result<proto::Draw, ApiError> {
    let (row, members) = load_visible(state, caller, id).await?;
    to_proto(&row, &members)
}

pub async fn replay(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<proto::ReplayDrawResponse, ApiError> {
    let (row, members) = load_visible(state, caller, id).await?;
    let candidates = candidates_of(&row)?;
    let fingerprint = rules_draw::fingerprint(&candidates);
    let max_round = u32::try_from(members.iter().map(|m| m.round).max().unwrap_or(0)).unwrap_or(0);
    let replayed = replay_rounds(&row, max_round)?;
    let seed = seed_of(&row)?;
    let mut matches = fingerprint == row.fingerprint;
    let mut rounds = Vec::new();
    for (r, picked) in replayed.iter().enumerate() {
        let mut recorded: Vec<String> = members
            .iter()
            .filter(|m| m.round as usize == r)
            .map(|m| m.expert_id.to_string())
            .collect();
        let mut again = picked.clone();
        recorded.sort();
        again.sort();
        matches &= recorded == again;
        rounds.push(proto::DrawRound {
            round: i32::try_from(r).unwrap_or(i32::MAX),
            seed: rules_draw::round_seed(seed, u32::try_from(r).unwrap_or(0)).to_string(),
            picked: picked.iter().filter_map(|p| p.parse().ok()).collect(),
        });
    }
    Ok(proto::ReplayDrawResponse {
        matches,
        candidates_fingerprint: fingerprint,
        replayed: rounds,
        draw: Some(to_proto(&row, &members)?),
    })
}

pub const DRAW_SERVICE: &str = SERVICE;
