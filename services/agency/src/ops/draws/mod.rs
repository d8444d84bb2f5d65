//! Use cases of draws of experts and agencies (DOMAIN.md: drawn at random by field with recusal;
//! each draw keeps its seed, round and each answer; a decline triggers a replacement round; too
//! few eligible → an explicit error, never a silent fallback; issue 3: "Agencies may be weighted
//! by rating; experts uniformly").

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use pbm_auth::{Caller, Role};
use pbm_db::AnyConnection;
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};
use pbm_types::Decimal;
use rand::RngCore;

use super::ratings::{RatingBook, major_violations};
use super::{agency_facts_from, expert_facts, rules_in_force};
use crate::convert::{self, Parsed, both, check, kind_from, kind_to};
use crate::domain::access;
use crate::domain::draw::{self as rules_draw, Candidate, Weighting};
use crate::domain::eligibility::{
    self, DrawTask, ExpertStatus, agency_exclusions, expert_exclusions,
};
use crate::domain::engagement::EngagementKind;
use crate::state::AppState;
use crate::store::draws::{self as store_d, Draw, MemberRow};
use crate::store::experts as store_x;
use crate::store::{self, Violator};

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

fn weighting_of(draw: &Draw) -> Weighting {
    if draw.weighted {
        Weighting::ByWeight
    } else {
        Weighting::Uniform
    }
}

fn is_agencies(draw: &Draw) -> bool {
    draw.subject == store_d::AGENCIES
}

/// Picks of each round, recomputed from the record: round 0 draws `count`, every later round one
/// replacement among those not drawn before.
fn replay_rounds(row: &Draw, rounds: u32) -> Result<Vec<Vec<String>>, ApiError> {
    let (candidates, seed) = (&row.candidates, row.seed);
    let weighting = weighting_of(row);
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut already: Vec<String> = Vec::new();
    for round in 0..=rounds {
        let picked = if round == 0 {
            rules_draw::draw(
                candidates,
                usize::try_from(row.count).unwrap_or(0),
                seed,
                weighting,
            )
        } else {
            rules_draw::draw_more(candidates, &already, 1, seed, round, weighting)
        }
        .map_err(|e| ApiError::failed_precondition(e.reason(), format!("{e:?}")))?;
        already.extend(picked.iter().cloned());
        out.push(picked);
    }
    Ok(out)
}

/// The draw as callers see it: every round's picks in draw order (`members` come from the store
/// in that order).
fn to_proto(row: &Draw, members: &[MemberRow]) -> proto::Draw {
    let (seed, candidates) = (row.seed, &row.candidates);
    let agencies = is_agencies(row);
    let max_round = members.iter().map(|m| m.round).max().unwrap_or(0);
    let expert_id = |m: &MemberRow| m.key.parse::<i64>().unwrap_or_default();
    let rounds = (0..=max_round)
        .map(|r| {
            let picked = members.iter().filter(|m| m.round == r);
            proto::DrawRound {
                round: r,
                seed: rules_draw::round_seed(seed, u32::try_from(r).unwrap_or(0)).to_string(),
                picked: if agencies {
                    Vec::new()
                } else {
                    picked.clone().map(expert_id).collect()
                },
                picked_agencies: if agencies {
                    picked.map(|m| m.key.clone()).collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let weight = |key: &str| {
        candidates
            .iter()
            .find(|c| c.id == key)
            .and_then(|c| convert::dec(c.weight))
    };
    proto::Draw {
        id: row.id,
        task_ref: row.task_ref.clone(),
        field: row.field.clone(),
        count: row.count,
        evaluated_party: row.evaluated_party.clone(),
        kind: crate::domain::engagement::EngagementKind::from_db(&row.kind)
            .map_or(0, |k| kind_to(k) as i32),
        on_date: row.on_date.to_string(),
        seed: seed.to_string(),
        candidates_fingerprint: row.fingerprint.clone(),
        eligible: i32::try_from(candidates.len()).unwrap_or(i32::MAX),
        rounds,
        drawn: if agencies {
            Vec::new()
        } else {
            members
                .iter()
                .map(|m| proto::DrawnExpert {
                    expert_id: expert_id(m),
                    round: m.round,
                    answer: answer_to(&m.answer) as i32,
                    reason: m.reason.clone(),
                })
                .collect()
        },
        drawn_agencies: if agencies {
            members
                .iter()
                .map(|m| proto::DrawnAgency {
                    credit_code: m.key.clone(),
                    round: m.round,
                    answer: answer_to(&m.answer) as i32,
                    reason: m.reason.clone(),
                    weight: weight(&m.key),
                })
                .collect()
        } else {
            Vec::new()
        },
        subject: if agencies {
            proto::DrawSubject::Agencies
        } else {
            proto::DrawSubject::Experts
        } as i32,
        weighted_by_rating: row.weighted,
        rules: row.rules.clone(),
        version: row.version,
        created: Some(convert::stamp(&row.created_by, row.created_at)),
    }
}

/// The common fields of a draw request.
struct DrawAsk<'a> {
    task_ref: &'a str,
    count: i32,
    evaluated_party: &'a str,
    kind: i32,
    max_count: i32,
}

/// Checks the common fields; every problem is a field violation.
fn check_ask(ask: &DrawAsk<'_>) -> Parsed<EngagementKind> {
    let task = check(!ask.task_ref.trim().is_empty(), || {
        FieldViolation::generic("task_ref", "请填写任务编号")
    });
    let count = check((1..=ask.max_count).contains(&ask.count), || {
        FieldViolation::generic("count", format!("抽取数量应在 1–{} 之间", ask.max_count))
    });
    let party = check(!ask.evaluated_party.trim().is_empty(), || {
        FieldViolation::generic("evaluated_party", "请填写被评价对象，用于回避")
    });
    let kind =
        kind_from(ask.kind).ok_or_else(|| vec![FieldViolation::generic("kind", "请选择委托事项")]);
    both(both(task, count), both(party, kind)).map(|(_, ((), kind))| kind)
}

/// Why a draw found too few eligible: who was drawn from and why the others were left out.
struct Shortfall<'a> {
    /// What was drawn from: `专业领域「财政（CZ）」的专家` or `机构`.
    pool: String,
    unit: &'a str,
    /// Why each excluded candidate of that pool was left out.
    exclusions: &'a [Vec<eligibility::Exclusion>],
}

/// Records a draw of `count` among `candidates` (sorted by id, fingerprinted) and its round 0
/// in draw order, or refuses with TOO_FEW_ELIGIBLE saying how many were eligible and, counted
/// by reason, why the others of the pool were not.
fn record_draw(
    conn: &mut AnyConnection,
    ctx: &MutationContext,
    mut draw: Draw,
    shortfall: Shortfall<'_>,
) -> Result<Effect<proto::Draw>, ApiError> {
    let needed = usize::try_from(draw.count).unwrap_or(0);
    let eligible = draw.candidates.len();
    if eligible < needed {
        let Shortfall {
            pool,
            unit,
            exclusions,
        } = shortfall;
        let why = if exclusions.is_empty() {
            String::new()
        } else {
            format!(
                "；其余 {} {unit}被排除：{}",
                exclusions.len(),
                eligibility::tally_chinese(exclusions.iter().map(Vec::as_slice), unit)
            )
        };
        return Err(ApiError::failed_precondition(
            "TOO_FEW_ELIGIBLE",
            format!("{pool}中符合条件的只有 {eligible} {unit}，需要 {needed} {unit}{why}"),
        )
        .with_violation("count", format!("eligible {eligible}, needed {needed}")));
    }
    draw.candidates.sort_by(|a, b| a.id.cmp(&b.id));
    draw.fingerprint = rules_draw::fingerprint(&draw.candidates);
    draw.created_by = ctx.caller.subject.clone();
    draw.created_at = pbm_db::now();
    let picked = replay_rounds(&draw, 0)?.remove(0);
    draw.id = store_d::insert(conn, &draw)?;
    let members = new_members(draw.id, 0, picked);
    store_d::insert_members(conn, &draw.subject, &members)?;
    Ok(Effect {
        response: to_proto(&draw, &members),
        entity_type: "draw",
        entity_id: draw.id.to_string(),
        detail: format!(
            "{} seed {} fingerprint {}",
            draw.subject, draw.seed, draw.fingerprint
        ),
    })
}

/// The members a round drew, pending, in draw order.
fn new_members(draw_id: i64, round: i32, picked: Vec<String>) -> Vec<MemberRow> {
    picked
        .into_iter()
        .enumerate()
        .map(|(position, key)| MemberRow {
            draw_id,
            key,
            round,
            position: Some(i32::try_from(position).unwrap_or(i32::MAX)),
            answer: "pending".into(),
            reason: String::new(),
            answered_at: None,
        })
        .collect()
}

/// What a draw request asks for, before candidates are found.
struct NewDraw<'a> {
    task_ref: &'a str,
    field: String,
    count: i32,
    party: &'a str,
    kind: EngagementKind,
    on: NaiveDate,
    seed: u64,
    rules: String,
}

fn new_draw(n: NewDraw<'_>, candidates: Vec<Candidate>) -> Draw {
    Draw {
        id: 0,
        task_ref: n.task_ref.trim().into(),
        field: n.field,
        count: n.count,
        evaluated_party: n.party.trim().into(),
        kind: n.kind.as_db().into(),
        on_date: n.on,
        seed: n.seed,
        candidates,
        fingerprint: String::new(),
        rules: n.rules,
        version: 1,
        created_by: String::new(),
        created_at: NaiveDateTime::MIN,
        subject: store_d::EXPERTS.into(),
        weighted: false,
    }
}

pub async fn draw_experts(
    state: &AppState,
    ctx: MutationContext,
    r: proto::DrawExpertsRequest,
) -> Result<proto::DrawExpertsResponse, ApiError> {
    let st = state.clone();
    // A fresh seed; retries of the same request replay the first draw through idempotency.
    let seed = rand::rngs::OsRng.next_u64();
    run_mutation(
        &state.db,
        ctx,
        ("draw", r.task_ref.clone()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let kind = check_ask(&DrawAsk {
                task_ref: &r.task_ref,
                count: r.count,
                evaluated_party: &r.evaluated_party,
                kind: r.kind,
                max_count: 50,
            });
            let field = r.field.trim().to_uppercase();
            let known = check(st.taxonomy.validate(&[field.as_str()]).is_ok(), || {
                FieldViolation::generic("field", format!("未知的专业领域「{}」", r.field))
            });
            let (kind, ()) = both(kind, known).map_err(ApiError::validation)?;
            let on = st.today();
            let rules = rules_in_force(conn, on.year())?;
            let majors = major_violations(conn, on)?;
            let task = DrawTask {
                field: Some(field.clone()),
                evaluated_party: r.evaluated_party.trim().into(),
                on,
                kind,
            };
            let drawn: HashSet<i64> = store_d::drawn_for_task(conn, r.task_ref.trim())?
                .into_iter()
                .collect();
            let mut workload: HashMap<i64, u32> = HashMap::new();
            for id in store_d::workload(conn, on.year())? {
                *workload.entry(id).or_default() += 1;
            }
            // Every expert's standing facts, reloaded only when the registry changed.
            let stamp = store_x::pool_stamp(conn)?;
            let pool = st
                .expert_pool
                .get_or_load(&stamp, || -> Result<_, ApiError> {
                    store_x::eligibility_rows(conn, None)?
                        .iter()
                        .map(expert_facts)
                        .collect::<Result<Vec<_>, _>>()
                })?;
            // Experts who are not active or not in the field are ineligible whatever else
            // holds, so the common case skips them; only a refusal examines every expert of the
            // field, to say why each was excluded. The candidate set is the same either way.
            let assess = |everyone_in_field: bool| {
                let mut candidates = Vec::new();
                let mut exclusions = Vec::new();
                for base in pool.iter() {
                    if !base.fields.contains(&field)
                        || (!everyone_in_field && base.status != ExpertStatus::Active)
                    {
                        continue;
                    }
                    let id: i64 = base.id.parse().unwrap_or_default();
                    let mut facts = base.clone();
                    facts.drawn_for_task = drawn.contains(&id);
                    facts.engagements_this_year = workload.get(&id).copied().unwrap_or(0);
                    facts.major_violation_on = majors.get(&Violator::Expert(id)).copied();
                    let excluded = expert_exclusions(&facts, &task, &rules.rules);
                    if excluded.is_empty() {
                        candidates.push(Candidate {
                            id: facts.id,
                            weight: Decimal::ONE,
                        });
                    } else {
                        exclusions.push(excluded);
                    }
                }
                (candidates, exclusions)
            };
            let (candidates, mut exclusions) = assess(false);
            if candidates.len() < usize::try_from(r.count).unwrap_or(0) {
                exclusions = assess(true).1;
            }
            let pool = match st.taxonomy.name(&field) {
                Some(name) => format!("专业领域「{name}（{field}）」的专家"),
                None => format!("专业领域「{field}」的专家"),
            };
            let draw = new_draw(
                NewDraw {
                    task_ref: &r.task_ref,
                    field,
                    count: r.count,
                    party: &r.evaluated_party,
                    kind,
                    on,
                    seed,
                    rules: rules.label(),
                },
                candidates,
            );
            let shortfall = Shortfall {
                pool,
                unit: "人",
                exclusions: &exclusions,
            };
            record_draw(conn, ctx, draw, shortfall)
        },
    )
    .await
    .map(|draw| proto::DrawExpertsResponse { draw: Some(draw) })
}

/// Weight of an agency in a draw by rating: its final score (0–100, two decimals), at least 1
/// so that an eligible agency with a very low score keeps a (small) chance — eligibility, not
/// weight, decides who may be drawn.
fn rating_weight(score: Decimal) -> Decimal {
    score.max(Decimal::ONE)
}

pub async fn draw_agencies(
    state: &AppState,
    ctx: MutationContext,
    r: proto::DrawAgenciesRequest,
) -> Result<proto::DrawAgenciesResponse, ApiError> {
    let st = state.clone();
    let seed = rand::rngs::OsRng.next_u64();
    run_mutation(
        &state.db,
        ctx,
        ("draw", r.task_ref.clone()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let kind = check_ask(&DrawAsk {
                task_ref: &r.task_ref,
                count: r.count,
                evaluated_party: &r.evaluated_party,
                kind: r.kind,
                max_count: 20,
            })
            .map_err(ApiError::validation)?;
            if kind.scope().is_none() {
                return Err(ApiError::failed_precondition(
                    "KIND_NOT_COMMISSIONABLE",
                    format!("「{}」不能委托第三方机构，不能抽取机构", kind.chinese()),
                )
                .with_violation("kind", "not commissionable"));
            }
            let on = st.today();
            let rules = rules_in_force(conn, on.year())?;
            let majors = major_violations(conn, on)?;
            // Ratings are loaded only when they weigh the picks.
            let book = if r.weighted_by_rating {
                Some(RatingBook::load(conn, on)?)
            } else {
                None
            };
            let task = DrawTask {
                field: None,
                evaluated_party: r.evaluated_party.trim().into(),
                on,
                kind,
            };
            let drawn: HashSet<String> = store_d::agencies_drawn_for_task(conn, r.task_ref.trim())?
                .into_iter()
                .collect();
            let batches = store::batches(conn)?;
            let mut candidates = Vec::new();
            let mut exclusions = Vec::new();
            for agency in store::all_agencies(conn)? {
                let code = agency.spec.credit_code.as_str().to_owned();
                let batch = batches
                    .iter()
                    .find(|b| b.id == agency.spec.admission_batch_id)
                    .ok_or_else(|| ApiError::internal("agency without batch"))?;
                let major = majors.get(&Violator::Agency(code.clone())).copied();
                let mut facts = agency_facts_from(&agency, batch, major, on);
                facts.drawn_for_task = drawn.contains(&code);
                let excluded = agency_exclusions(&facts, &task, &rules.rules);
                if excluded.is_empty() {
                    let weight = book
                        .as_ref()
                        .map_or(Decimal::ONE, |b| rating_weight(b.agency(&code).final_score));
                    candidates.push(Candidate { id: code, weight });
                } else {
                    exclusions.push(excluded);
                }
            }
            let mut draw = new_draw(
                NewDraw {
                    task_ref: &r.task_ref,
                    field: String::new(),
                    count: r.count,
                    party: &r.evaluated_party,
                    kind,
                    on,
                    seed,
                    rules: rules.label(),
                },
                candidates,
            );
            draw.subject = store_d::AGENCIES.into();
            draw.weighted = r.weighted_by_rating;
            let shortfall = Shortfall {
                pool: "机构库".into(),
                unit: "家",
                exclusions: &exclusions,
            };
            record_draw(conn, ctx, draw, shortfall)
        },
    )
    .await
    .map(|draw| proto::DrawAgenciesResponse { draw: Some(draw) })
}

pub async fn respond(
    state: &AppState,
    ctx: MutationContext,
    r: proto::RespondToDrawRequest,
) -> Result<proto::RespondToDrawResponse, ApiError> {
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
            let (key, who) = if is_agencies(&row) {
                let code = r.agency_credit_code.trim().to_uppercase();
                if code.is_empty() {
                    return Err(ApiError::invalid_field(
                        "AGENCY_REQUIRED",
                        "agency_credit_code",
                        "这是机构抽取记录，请指定答复的机构（统一社会信用代码）",
                    ));
                }
                (code.clone(), format!("机构「{code}」"))
            } else {
                if r.expert_id <= 0 {
                    return Err(ApiError::invalid_field(
                        "EXPERT_REQUIRED",
                        "expert_id",
                        "这是专家抽取记录，请指定答复的专家编号",
                    ));
                }
                (r.expert_id.to_string(), format!("专家 {}", r.expert_id))
            };
            let Some(member) = members.iter().find(|m| m.key == key) else {
                return Err(ApiError::failed_precondition(
                    "NOT_DRAWN",
                    format!("{who} 不在抽取记录 {} 中", row.id),
                ));
            };
            if member.answer != "pending" {
                return Err(ApiError::failed_precondition(
                    "ALREADY_ANSWERED",
                    format!("{who} 已答复"),
                ));
            }
            if !r.accept && r.reason.trim().is_empty() {
                return Err(ApiError::invalid_field(
                    "REASON_REQUIRED",
                    "reason",
                    "不参加时请记录原因",
                ));
            }
            let answer = if r.accept { "accepted" } else { "declined" };
            if !store_d::answer(
                conn,
                row.id,
                row.version,
                &row.subject,
                &key,
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
                // A decline triggers a replacement round on the same record (same candidates,
                // derived seed).
                let next_round = members.iter().map(|m| m.round).max().unwrap_or(0) + 1;
                let rounds =
                    replay_rounds(&row, u32::try_from(next_round).unwrap_or(0)).map_err(|e| {
                        if e.reason == "TOO_FEW_ELIGIBLE" {
                            ApiError::failed_precondition(
                                "TOO_FEW_ELIGIBLE",
                                "符合条件的候选已全部抽出，无法补抽；请扩大范围或重新抽取",
                            )
                        } else {
                            e
                        }
                    })?;
                let added = new_members(
                    row.id,
                    next_round,
                    rounds.last().cloned().unwrap_or_default(),
                );
                store_d::insert_members(conn, &row.subject, &added)?;
            }
            let (row, members) = store_d::get(conn, row.id)?.ok_or_else(|| not_found(r.draw_id))?;
            let response = to_proto(&row, &members);
            Ok(Effect {
                response,
                entity_type: "draw",
                entity_id: row.id.to_string(),
                detail: format!("{key} {answer}"),
            })
        },
    )
    .await
    .map(|draw| proto::RespondToDrawResponse { draw: Some(draw) })
}

/// Who may read a draw: finance, auditors and the province every draw; an expert or an agency
/// the draws it was drawn in (others answer NOT_FOUND, so their existence does not leak).
enum Reader {
    All,
    Expert(String),
    Agency(String),
}

async fn load_visible(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<(Draw, Vec<MemberRow>), ApiError> {
    let reader = match caller.role {
        Role::Expert => match access::expert_scope(caller, &state.region)? {
            access::ExpertScope::Own(e) => Reader::Expert(e.to_string()),
            access::ExpertScope::All => Reader::All,
        },
        _ => match access::read_scope(caller, &state.region)? {
            access::ReadScope::All => Reader::All,
            access::ReadScope::OwnAgency(code) => Reader::Agency(code),
        },
    };
    let (row, members) = state
        .db
        .read(move |conn| store_d::get(conn, id))
        .await?
        .ok_or_else(|| not_found(id))?;
    let own = |key: &str| members.iter().any(|m| m.key == key);
    let visible = match &reader {
        Reader::All => true,
        Reader::Expert(e) => !is_agencies(&row) && own(e),
        Reader::Agency(code) => is_agencies(&row) && own(code),
    };
    if !visible {
        return Err(not_found(id));
    }
    Ok((row, members))
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    r: proto::GetDrawRequest,
) -> Result<proto::GetDrawResponse, ApiError> {
    let (row, members) = load_visible(state, &caller, r.draw_id).await?;
    Ok(proto::GetDrawResponse {
        draw: Some(to_proto(&row, &members)),
    })
}

pub async fn replay(
    state: &AppState,
    caller: Caller,
    r: proto::ReplayDrawRequest,
) -> Result<proto::ReplayDrawResponse, ApiError> {
    let (row, members) = load_visible(state, &caller, r.draw_id).await?;
    let fingerprint = rules_draw::fingerprint(&row.candidates);
    let max_round = u32::try_from(members.iter().map(|m| m.round).max().unwrap_or(0)).unwrap_or(0);
    let replayed = replay_rounds(&row, max_round)?;
    let seed = row.seed;
    let mut matches = fingerprint == row.fingerprint;
    let mut rounds = Vec::new();
    for (r, picked) in replayed.iter().enumerate() {
        // The store gives each round's members in draw order: the replay must draw the same
        // ones in the same order.
        let recorded: Vec<&MemberRow> = members
            .iter()
            .filter(|m| usize::try_from(m.round).ok() == Some(r))
            .collect();
        let ordered = recorded.iter().all(|m| m.position.is_some());
        let recorded: Vec<String> = recorded.into_iter().map(|m| m.key.clone()).collect();
        matches &= rules_draw::same_round(&recorded, ordered, picked);
        let agencies = is_agencies(&row);
        rounds.push(proto::DrawRound {
            round: i32::try_from(r).unwrap_or(i32::MAX),
            seed: rules_draw::round_seed(seed, u32::try_from(r).unwrap_or(0)).to_string(),
            picked: if agencies {
                Vec::new()
            } else {
                picked.iter().filter_map(|p| p.parse().ok()).collect()
            },
            picked_agencies: if agencies { picked.clone() } else { Vec::new() },
        });
    }
    Ok(proto::ReplayDrawResponse {
        matches,
        candidates_fingerprint: fingerprint,
        replayed: rounds,
        draw: Some(to_proto(&row, &members)),
    })
}
