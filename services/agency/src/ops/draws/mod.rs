//! Use cases of draws of experts and agencies (docs/DOMAIN.md "Random draws": drawn at random by
//! field with recusal; each draw keeps its seed, round and each answer; a decline triggers a
//! replacement round; too few eligible → an explicit error, never a silent fallback; agencies may
//! be weighted by rating, experts are drawn uniformly).
//!
//! Drawing here; answers in [`respond`], the replacement rounds of declines in [`replacement`]
//! (the consumer of `pbm.agency.draw_declined`); reading and replaying a draw from its record in
//! [`replay`]. The rounds are recomputed from the record by one function ([`replay_rounds`]) for
//! all of them.

pub mod replacement;
mod replay;
mod respond;

pub use replay::{get, replay};
pub use respond::respond;

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use pbm_db::AnyConnection;
use pbm_proto::agency::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};
use pbm_types::Decimal;
use rand::RngCore;

use super::ratings::{RatingBook, major_violations};
use super::{agency_facts_from, expert_facts, rules_in_force};
use crate::convert::{self, Parsed, both, check, kind_from};
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

fn weighting_of(draw: &Draw) -> Weighting {
    if draw.weighted {
        Weighting::ByWeight
    } else {
        Weighting::Uniform
    }
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
        response: convert::draw_to_proto(&draw, &members),
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
        shortfalls: Vec::new(),
    }
}

pub async fn draw_experts(
    state: &AppState,
    ctx: MutationContext,
    r: proto::DrawExpertsRequest,
) -> Result<proto::DrawExpertsResponse, ApiError> {
    crate::convert::limits::check(&r)?;
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
                        .map(|row| expert_facts(row, &st.pii))
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
    crate::convert::limits::check(&r)?;
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
