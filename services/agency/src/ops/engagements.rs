//! Use cases of engagements: commission with the independence rules, rate on the rubric of the
//! rules in force (the agency's rating recomputed at once; the grades act through the event
//! `pbm.agency.engagement_rated` and its consumer, [`super::rating_events`]), withdraw, read,
//! explain a rating.

use chrono::Datelike;
use pbm_auth::{Caller, Role};
use pbm_db::platform::{self, NewOutboxEvent};
use pbm_db::{AnyConnection, Money};
use pbm_events::topics;
use pbm_proto::agency::v1 as proto;
use pbm_proto::common::v1 as common;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};

use super::ratings::RatingBook;
use super::{SERVICE, agency_facts, expert_facts, major_violation_on, rules_in_force};
use crate::convert::{self, both, check, engagement_to_proto as to_proto};
use crate::domain::access;
use crate::domain::eligibility::ExpertFacts;
use crate::domain::engagement::check_commission;
use crate::domain::rating;
use crate::state::AppState;
use crate::store::engagements::{self as store_e, EngagementRow};
use crate::store::experts as store_x;
use crate::store::{self, Violator};

fn not_found(id: i64) -> ApiError {
    ApiError::not_found("ENGAGEMENT_NOT_FOUND", format!("委托 {id} 不存在"))
}

pub async fn create(
    state: &AppState,
    ctx: MutationContext,
    r: proto::CreateEngagementRequest,
) -> Result<proto::CreateEngagementResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("engagement", String::new()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let kind = convert::kind_from(r.kind)
                .ok_or_else(|| vec![FieldViolation::generic("kind", "请选择委托事项")]);
            let started = convert::date(&r.started_on, "started_on").map_err(|e| e.violations);
            let ended = convert::date(&r.ended_on, "ended_on").map_err(|e| e.violations);
            let period = both(started, ended).and_then(|(started, ended)| {
                check(ended >= started, || {
                    FieldViolation::generic("ended_on", "结束日期早于开始日期")
                })
                .map(|()| (started, ended))
            });
            let code = r.agency_credit_code.trim().to_uppercase();
            let party = check(!code.is_empty() || !r.expert_ids.is_empty(), || {
                FieldViolation::generic("agency_credit_code", "请指定受托的第三方机构或专家")
            });
            let (kind, ((started, ended), ())) =
                both(kind, both(period, party)).map_err(ApiError::validation)?;
            let today = st.today();
            let rules = rules_in_force(conn, started.year())?;
            let agency = if code.is_empty() {
                None
            } else {
                let a = store::agency(conn, &code)?.ok_or_else(|| {
                    ApiError::not_found("AGENCY_NOT_FOUND", format!("第三方机构「{code}」不存在"))
                })?;
                Some(agency_facts(conn, &a, today)?)
            };
            let mut experts = Vec::new();
            for id in &r.expert_ids {
                let row = store_x::expert(conn, *id)?.ok_or_else(|| {
                    ApiError::not_found("EXPERT_NOT_FOUND", format!("专家 {id} 不存在"))
                })?;
                let mut facts = expert_facts(&row.eligibility(), &st.pii)?;
                facts.major_violation_on = major_violation_on(conn, &Violator::Expert(row.id))?;
                experts.push(facts);
            }
            let expert_refs: Vec<&ExpertFacts> = experts.iter().collect();
            // docs/DOMAIN.md "Independence", docs/DOMAIN.md "What may be commissioned"
            // (财预〔2021〕6号): independence of the commissioner and the evaluated party; what
            // may be commissioned.
            check_commission(
                &r.commissioner,
                &r.evaluated_party,
                kind,
                agency.as_ref(),
                &expert_refs,
                &rules.rules,
                started,
            )
            .map_err(|violations| {
                let reason = violations
                    .first()
                    .map_or("NOT_COMMISSIONABLE", |v| v.reason);
                let message = violations
                    .iter()
                    .map(|v| v.message.as_str())
                    .collect::<Vec<_>>()
                    .join("；");
                let mut e = ApiError::failed_precondition(reason, format!("不能委托：{message}"));
                e.violations = violations;
                e
            })?;
            let mut row = EngagementRow {
                id: 0,
                commissioner: r.commissioner.trim().into(),
                evaluated_party: r.evaluated_party.trim().into(),
                kind: kind.as_db().into(),
                agency_credit_code: (!code.is_empty()).then_some(code),
                started_on: started,
                ended_on: ended,
                scores: "[]".into(),
                score: None,
                rules: String::new(),
                version: 1,
                created_by: ctx.caller.subject.clone(),
                created_at: pbm_db::now(),
                rated_by: None,
                rated_at: None,
                cancelled_by: None,
                cancelled_at: None,
                cancel_reason: String::new(),
            };
            row.id = store_e::insert(conn, &row, &r.expert_ids)?;
            let response = to_proto(&row, &r.expert_ids)?;
            Ok(Effect {
                response,
                entity_type: "engagement",
                entity_id: row.id.to_string(),
                detail: format!("{} for {}", kind.as_db(), row.evaluated_party),
            })
        },
    )
    .await
    .map(|engagement| proto::CreateEngagementResponse {
        engagement: Some(engagement),
    })
}

pub async fn rate(
    state: &AppState,
    ctx: MutationContext,
    r: proto::RateEngagementRequest,
) -> Result<proto::RateEngagementResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("engagement", r.engagement_id.to_string()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let (row, experts) = open_engagement(conn, r.engagement_id, r.expected_version)?;
            let today = st.today();
            if row.ended_on > today {
                return Err(ApiError::failed_precondition(
                    "ENGAGEMENT_NOT_ENDED",
                    format!("委托 {} 尚未结束（{}），结束后再评分", row.id, row.ended_on),
                ));
            }
            let mut v = Vec::new();
            let mut scores = Vec::new();
            for (i, s) in r.scores.iter().enumerate() {
                match s
                    .score
                    .as_ref()
                    .map(|d| pbm_types::decimal::parse(&d.value))
                {
                    Some(Ok(d)) => scores.push((s.criterion.trim().to_uppercase(), d)),
                    Some(Err(e)) => v.push(FieldViolation::generic(
                        format!("scores[{i}].score"),
                        e.message,
                    )),
                    None => v.push(FieldViolation::generic(
                        format!("scores[{i}].score"),
                        "缺少分数",
                    )),
                }
            }
            ApiError::check(v)?;
            // The rubric of the year the engagement ended in.
            let rules = rules_in_force(conn, row.ended_on.year())?;
            let score = rating::engagement_score(&rules.rules.rubric, &scores)
                .map_err(ApiError::validation)?;
            let rated = EngagementRow {
                scores: serde_json::to_string(&scores).map_err(ApiError::internal)?,
                score: Some(Money(score)),
                rules: rules.label(),
                version: row.version + 1,
                rated_by: Some(ctx.caller.subject.clone()),
                rated_at: Some(pbm_db::now()),
                ..row.clone()
            };
            if !store_e::update(conn, &rated, row.version)? {
                return Err(ApiError::stale_version(
                    &format!("委托 {}", row.id),
                    r.expected_version,
                    row.version + 1,
                ));
            }
            // The agency's rating after this engagement, for the response (a read); the grade
            // actions are the consumer's of this event (docs/AGENCY.md "Ratings").
            let agencies: Vec<String> = rated.agency_credit_code.iter().cloned().collect();
            let book = RatingBook::load_for(conn, today, &agencies, &[])?;
            let agency_rating = rated.agency_credit_code.as_ref().map(|code| {
                convert::rating_explanation_to_proto(&book.agency(code), book.rules.label())
            });
            let payload = topics::EngagementRated {
                engagement_id: row.id,
                agency_credit_code: rated.agency_credit_code.clone(),
                expert_ids: experts.clone(),
                rated_on: today.to_string(),
                rated_by: ctx.caller.subject.clone(),
            };
            platform::insert_outbox(
                conn,
                &NewOutboxEvent {
                    occurred_at: pbm_db::now(),
                    service: SERVICE.into(),
                    topic: topics::ENGAGEMENT_RATED.into(),
                    entity_id: row.id.to_string(),
                    payload: serde_json::to_string(&payload).map_err(ApiError::internal)?,
                },
            )?;
            let response = proto::RateEngagementResponse {
                engagement: Some(to_proto(&rated, &experts)?),
                agency_rating,
            };
            Ok(Effect {
                response,
                entity_type: "engagement",
                entity_id: row.id.to_string(),
                detail: format!("score {score} ({})", rules.label()),
            })
        },
    )
    .await
}

/// An engagement still open to a change (rating or withdrawal), with its experts: it exists,
/// is at the `expected` version, is neither rated nor withdrawn.
fn open_engagement(
    conn: &mut AnyConnection,
    id: i64,
    expected: i64,
) -> Result<store_e::WithExperts, ApiError> {
    let (row, experts) = store_e::get(conn, id)?.ok_or_else(|| not_found(id))?;
    if row.version != expected {
        return Err(ApiError::stale_version(
            &format!("委托 {}", row.id),
            expected,
            row.version,
        ));
    }
    if row.score.is_some() {
        return Err(ApiError::failed_precondition(
            "ENGAGEMENT_RATED",
            format!("委托 {} 已评分", row.id),
        ));
    }
    if let Some(at) = row.cancelled_at {
        return Err(ApiError::failed_precondition(
            "ENGAGEMENT_CANCELLED",
            format!("委托 {} 已于 {} 撤销", row.id, at.date()),
        ));
    }
    Ok((row, experts))
}

/// Longest reason for withdrawing an engagement, in characters.
const CANCEL_REASON_MAX: usize = 500;

/// CancelEngagement (撤销委托): finance withdraws an unrated engagement, with a reason.
pub async fn cancel(
    state: &AppState,
    ctx: MutationContext,
    r: proto::CancelEngagementRequest,
) -> Result<proto::CancelEngagementResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("engagement", r.engagement_id.to_string()),
        move |conn, ctx| {
            access::can_manage(&ctx.caller, &st.region)?;
            let reason = r.reason.trim().to_owned();
            if reason.is_empty() || reason.chars().count() > CANCEL_REASON_MAX {
                return Err(ApiError::invalid_field(
                    "CANCEL_REASON_INVALID",
                    "reason",
                    format!("请填写撤销委托的理由（1–{CANCEL_REASON_MAX} 字）"),
                ));
            }
            let (row, experts) = open_engagement(conn, r.engagement_id, r.expected_version)?;
            let cancelled = EngagementRow {
                version: row.version + 1,
                cancelled_by: Some(ctx.caller.subject.clone()),
                cancelled_at: Some(pbm_db::now()),
                cancel_reason: reason.clone(),
                ..row.clone()
            };
            if !store_e::cancel(conn, &cancelled, row.version)? {
                return Err(ApiError::stale_version(
                    &format!("委托 {}", row.id),
                    r.expected_version,
                    row.version + 1,
                ));
            }
            Ok(Effect {
                response: to_proto(&cancelled, &experts)?,
                entity_type: "engagement",
                entity_id: row.id.to_string(),
                detail: format!("cancelled: {reason}"),
            })
        },
    )
    .await
    .map(|engagement| proto::CancelEngagementResponse {
        engagement: Some(engagement),
    })
}

/// Who may read which engagements and ratings.
enum Scope {
    All,
    Agency(String),
    Expert(i64),
}

fn scope(caller: &Caller, state: &AppState) -> Result<Scope, ApiError> {
    if caller.role == Role::Expert {
        return match access::expert_scope(caller, &state.region)? {
            access::ExpertScope::Own(id) => Ok(Scope::Expert(id)),
            access::ExpertScope::All => Ok(Scope::All),
        };
    }
    match access::read_scope(caller, &state.region)? {
        access::ReadScope::All => Ok(Scope::All),
        access::ReadScope::OwnAgency(code) => Ok(Scope::Agency(code)),
    }
}

fn visible(scope: &Scope, row: &EngagementRow, experts: &[i64]) -> bool {
    match scope {
        Scope::All => true,
        Scope::Agency(code) => row.agency_credit_code.as_deref() == Some(code.as_str()),
        Scope::Expert(id) => experts.contains(id),
    }
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    r: proto::GetEngagementRequest,
) -> Result<proto::GetEngagementResponse, ApiError> {
    let id = r.engagement_id;
    let scope = scope(&caller, state)?;
    let found = state.db.read(move |conn| store_e::get(conn, id)).await?;
    match found {
        Some((row, experts)) if visible(&scope, &row, &experts) => {
            Ok(proto::GetEngagementResponse {
                engagement: Some(to_proto(&row, &experts)?),
            })
        }
        _ => Err(not_found(id)),
    }
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    r: proto::ListEngagementsRequest,
) -> Result<proto::ListEngagementsResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let p = r.page.unwrap_or_default();
    let page = pbm_server::paging::Page::parse(p.page_size, &p.page_token)?;
    let (agency, expert) = match scope(&caller, state)? {
        Scope::All => (
            Some(r.agency_credit_code.trim().to_uppercase()).filter(|c| !c.is_empty()),
            (r.expert_id > 0).then_some(r.expert_id),
        ),
        Scope::Agency(code) => (Some(code), None),
        Scope::Expert(id) => (None, Some(id)),
    };
    let (rows, total) = state
        .db
        .read(move |conn| store_e::list(conn, agency.as_deref(), expert, page.offset, page.limit))
        .await?;
    Ok(proto::ListEngagementsResponse {
        engagements: rows
            .iter()
            .map(|(row, experts)| to_proto(row, experts))
            .collect::<Result<_, _>>()?,
        page: Some(common::PageResponse {
            next_page_token: page.next_token(total),
            total_size: total,
        }),
    })
}

pub async fn explain(
    state: &AppState,
    caller: Caller,
    r: proto::ExplainRatingRequest,
) -> Result<proto::ExplainRatingResponse, ApiError> {
    crate::convert::limits::check(&r)?;
    let rating = explain_rating(state, &caller, r).await?;
    Ok(proto::ExplainRatingResponse {
        rating: Some(rating),
    })
}

async fn explain_rating(
    state: &AppState,
    caller: &Caller,
    r: proto::ExplainRatingRequest,
) -> Result<proto::RatingExplanation, ApiError> {
    crate::convert::limits::check(&r)?;
    let scope = scope(caller, state)?;
    let as_of = if r.as_of.trim().is_empty() {
        state.today()
    } else {
        convert::date(&r.as_of, "as_of")?
    };
    let code = r.agency_credit_code.trim().to_uppercase();
    match (code.is_empty(), r.expert_id) {
        (false, 0) => {
            if !matches!(&scope, Scope::All)
                && !matches!(&scope, Scope::Agency(own) if *own == code)
            {
                return Err(ApiError::not_found(
                    "AGENCY_NOT_FOUND",
                    format!("第三方机构「{code}」不存在"),
                ));
            }
            state
                .db
                .read(move |conn| -> Result<_, ApiError> {
                    store::agency(conn, &code)?.ok_or_else(|| {
                        ApiError::not_found(
                            "AGENCY_NOT_FOUND",
                            format!("第三方机构「{code}」不存在"),
                        )
                    })?;
                    let book = RatingBook::load_for(conn, as_of, std::slice::from_ref(&code), &[])?;
                    Ok(convert::rating_explanation_to_proto(
                        &book.agency(&code),
                        book.rules.label(),
                    ))
                })
                .await
        }
        (true, id) if id > 0 => {
            if !matches!(&scope, Scope::All) && !matches!(&scope, Scope::Expert(own) if *own == id)
            {
                return Err(ApiError::not_found(
                    "EXPERT_NOT_FOUND",
                    format!("专家 {id} 不存在"),
                ));
            }
            state
                .db
                .read(move |conn| -> Result<_, ApiError> {
                    store_x::expert(conn, id)?.ok_or_else(|| {
                        ApiError::not_found("EXPERT_NOT_FOUND", format!("专家 {id} 不存在"))
                    })?;
                    let book = RatingBook::load_for(conn, as_of, &[], &[id])?;
                    Ok(convert::rating_explanation_to_proto(
                        &book.expert(id),
                        book.rules.label(),
                    ))
                })
                .await
        }
        _ => Err(ApiError::invalid_field(
            "PARTY_REQUIRED",
            "agency_credit_code",
            "请指定一个机构（统一社会信用代码）或一位专家（编号），二者选一",
        )),
    }
}
