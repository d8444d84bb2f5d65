//! Monitoring rounds as finance runs them (docs/drafts/MONITORING.md §1 "Round", §4): OpenRound
//! (the goal snapshot), SetRoundRules, CloseRound and ReopenUnit.
//!
//! **Opening.** The caller is authorised and the request checked; a request id already answered
//! is replayed without calling the goal service again. Then the snapshot is read from the goal
//! service (StreamApprovedGoals with `include_unapproved`, the caller's token forwarded), and
//! only then is one transaction opened that writes the round (OPEN), its subjects and
//! indicators (multi-row inserts of 500), its units, the subjects that only the year's
//! execution figures name (`origin = execution`, NO_GOAL), every warning
//! ([`crate::ops::recompute`]), the audit line and the idempotency record. The project's
//! choice: the draft's OPENING state (a snapshot written piecemeal and resumed) is not needed —
//! a failure anywhere (the goal service unreachable: UNAVAILABLE `GOAL_SERVICE_UNAVAILABLE`)
//! leaves nothing behind, and a retry with the same request id is simply a new attempt. No
//! stored round is ever OPENING.
//!
//! **Rules.** A round keeps the rules version it pinned at opening; SetRoundRules re-pins it
//! to the version in force and recomputes every warning (audited). A CLOSED round is frozen:
//! not re-pinned, not reopened, never recomputed.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use pbm_auth::Role as AuthRole;
use pbm_db::{AnyConnection, Money};
use pbm_proto::goal::v1 as pb;
use pbm_proto::monitoring::v1 as mon;
use pbm_server::{
    ApiError, Effect, ErrorKind, FieldViolation, MutationContext, run_mutation, settle,
};
use pbm_types::FiscalYear;

use super::{authorise, round_of};
use crate::convert::rounds::{Scope, round_to, snapshot_item};
use crate::ops::recompute;
use crate::state::AppState;
use crate::store::{self, RoundRow, SubjectRow, UnitRow};

/// At most this many departments and PRO_CODEs in a round's scope.
const MAX_DEPARTMENTS: usize = 1_000;
const MAX_PROJECTS: usize = 10_000;
/// The longest round name and reopen reason (docs/drafts/MONITORING.md §3 "Limits").
const NAME_MAX: usize = 100;
const REASON_MAX: usize = 2_000;

/// The round `id` if it is OPEN, else FAILED_PRECONDITION `ROUND_CLOSED`.
fn open_round_of(conn: &mut AnyConnection, id: i64) -> Result<RoundRow, ApiError> {
    let round = round_of(conn, id)?;
    if round.status != "open" {
        return Err(ApiError::failed_precondition(
            "ROUND_CLOSED",
            format!(
                "监控轮次「{}」已关闭，不能再修改（ROUND_CLOSED）",
                round.name
            ),
        ));
    }
    Ok(round)
}

/// ABORTED `STALE_REVISION` unless the round is still at `expected`.
fn check_revision(round: &RoundRow, expected: i64) -> Result<(), ApiError> {
    if round.revision == expected {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorKind::Aborted,
        "STALE_REVISION",
        format!(
            "监控轮次「{}」已被他人修改（您读取的版本 {expected}，当前版本 {}），请刷新后重试（STALE_REVISION）",
            round.name, round.revision
        ),
    )
    .with_violation(
        "expected_revision",
        format!("expected {expected}, current {}", round.revision),
    ))
}

/// A round as the response carries it, with its snapshot's counts.
pub(crate) fn round_message(
    conn: &mut AnyConnection,
    r: &RoundRow,
) -> Result<mon::Round, ApiError> {
    let counts = store::round_counts(conn, &[r.id])?;
    Ok(round_to(r, counts.get(&r.id).copied().unwrap_or_default()))
}

/// A date typed `YYYY-MM-DD` in the years 2000–2100.
pub(crate) fn parse_date(
    text: &str,
    field: &str,
    v: &mut Vec<FieldViolation>,
) -> Option<NaiveDate> {
    let d = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| FiscalYear::new(chrono::Datelike::year(d)).is_ok());
    if d.is_none() {
        v.push(FieldViolation::new(
            field,
            "DATE_INVALID",
            format!("日期「{text}」无效：应为 2000–2100 年间的 YYYY-MM-DD（DATE_INVALID）"),
        ));
    }
    d
}

/// An OpenRound request, checked.
struct Plan {
    year: i32,
    name: String,
    months_to: i32,
    starts_on: NaiveDate,
    deadline: NaiveDate,
    lead_days: i32,
    scope: Scope,
}

fn codes(
    list: &[String],
    max: usize,
    field: &str,
    what: &str,
    v: &mut Vec<FieldViolation>,
) -> Vec<String> {
    let mut out: Vec<String> = list.iter().map(|c| c.trim().to_owned()).collect();
    if out.len() > max || out.iter().any(String::is_empty) {
        v.push(FieldViolation::new(
            field,
            "SCOPE_INVALID",
            format!("范围最多 {max} 个非空{what}（SCOPE_INVALID）"),
        ));
    }
    out.sort();
    out.dedup();
    out
}

/// Every violation of an OpenRound request at once.
fn plan(m: &mon::OpenRoundRequest) -> Result<Plan, ApiError> {
    let mut v = Vec::new();
    if let Err(e) = FiscalYear::new(m.fiscal_year) {
        v.push(FieldViolation::new("fiscal_year", e.reason, e.message));
    }
    let name = m.name.trim().to_owned();
    if name.is_empty() {
        v.push(FieldViolation::new(
            "name",
            "NAME_REQUIRED",
            "请填写监控轮次名称（NAME_REQUIRED）",
        ));
    } else if name.chars().count() > NAME_MAX {
        v.push(FieldViolation::new(
            "name",
            "NAME_TOO_LONG",
            format!("监控轮次名称最多 {NAME_MAX} 个字符（NAME_TOO_LONG）"),
        ));
    }
    if !(1..=12).contains(&m.months_to) {
        v.push(FieldViolation::new(
            "months_to",
            "MONTH_INVALID",
            format!("监控月份 {} 无效：应为 1–12（MONTH_INVALID）", m.months_to),
        ));
    }
    let starts_on = parse_date(&m.starts_on, "starts_on", &mut v);
    let deadline = parse_date(&m.deadline, "deadline", &mut v);
    if let (Some(s), Some(d)) = (starts_on, deadline)
        && d < s
    {
        v.push(FieldViolation::new(
            "deadline",
            "DEADLINE_BEFORE_START",
            format!("截止日期 {d} 早于开始日期 {s}（DEADLINE_BEFORE_START）"),
        ));
    }
    if !(0..=60).contains(&m.lead_days) {
        v.push(FieldViolation::new(
            "lead_days",
            "LEAD_DAYS_INVALID",
            format!(
                "提前预警天数 {} 无效：应为 0–60（LEAD_DAYS_INVALID）",
                m.lead_days
            ),
        ));
    }
    let scope = m.scope.clone().unwrap_or_default();
    let scope = Scope {
        department_codes: codes(
            &scope.department_codes,
            MAX_DEPARTMENTS,
            "scope.department_codes",
            "部门编码",
            &mut v,
        ),
        pro_codes: codes(
            &scope.pro_codes,
            MAX_PROJECTS,
            "scope.pro_codes",
            "项目编码",
            &mut v,
        ),
    };
    ApiError::check(v)?;
    let (Some(starts_on), Some(deadline)) = (starts_on, deadline) else {
        return Err(ApiError::internal("dates checked above"));
    };
    Ok(Plan {
        year: m.fiscal_year,
        name,
        months_to: m.months_to,
        starts_on,
        deadline,
        lead_days: m.lead_days,
        scope,
    })
}

/// OpenRound (see the module doc).
pub async fn open(
    state: &AppState,
    ctx: MutationContext,
    authorization: &str,
    m: mon::OpenRoundRequest,
) -> Result<mon::OpenRoundResponse, ApiError> {
    let entity = ("round", m.name.chars().take(100).collect::<String>());
    let checked = authorise(&ctx.caller, state, &[AuthRole::FinanceAdmin], true)
        .and_then(|_| crate::convert::limits::check(&m))
        .and_then(|_| plan(&m));
    let plan = match checked {
        Ok(plan) => plan,
        Err(e) => return settle(&state.db, ctx, entity, Err(e)).await,
    };
    // Answered before: replayed (or refused as a reuse) without a second snapshot.
    let (service, request_id) = (ctx.service().to_owned(), ctx.request_id.clone());
    let answered = state
        .db
        .read(move |c| pbm_db::platform::find_idempotency(c, &service, &request_id))
        .await?;
    if answered.is_some() {
        let again = ApiError::new(ErrorKind::Aborted, "ALREADY_ANSWERED", "重复提交");
        return settle(&state.db, ctx, entity, Err(again)).await;
    }
    let request = pb::StreamApprovedGoalsRequest {
        fiscal_year: plan.year,
        department_codes: plan.scope.department_codes.clone(),
        pro_codes: plan.scope.pro_codes.clone(),
        include_unapproved: true,
    };
    let items = match state.goals.approved_goals(authorization, request).await {
        Ok(items) => items,
        Err(e) => return settle(&state.db, ctx, entity, Err(e)).await,
    };
    let st = state.clone();
    run_mutation(&state.db, ctx, entity, move |conn, ctx| {
        authorise(&ctx.caller, &st, &[AuthRole::FinanceAdmin], true)?;
        let now = pbm_db::now();
        let (version, label, ..) = super::rules::in_force(conn, plan.year)?;
        let mut round = RoundRow {
            id: 0,
            fiscal_year: plan.year,
            name: plan.name.clone(),
            months_to: plan.months_to,
            starts_on: plan.starts_on,
            deadline: plan.deadline,
            lead_days: plan.lead_days,
            scope: serde_json::to_string(&plan.scope).map_err(ApiError::internal)?,
            status: "open".to_owned(),
            rules_version: version,
            rules_label: label,
            revision: 1,
            opened_by: ctx.caller.subject.clone(),
            opened_at: now,
            changed_by: ctx.caller.subject.clone(),
            changed_at: now,
        };
        round.id = store::insert_round(conn, &round)?;
        let written = snapshot(conn, &round, &plan.scope, &items, now)?;
        recompute::subjects(conn, round.id, None, now)?;
        Ok(Effect {
            response: mon::OpenRoundResponse {
                round: Some(round_message(conn, &round)?),
            },
            entity_type: "round",
            entity_id: round.id.to_string(),
            detail: format!(
                "{}（{}年1–{}月，截止 {}，{}）：{written} 个监控对象",
                round.name, round.fiscal_year, round.months_to, round.deadline, round.rules_label
            ),
        })
    })
    .await
}

/// Writes a new round's subjects, indicators and units from the goal service's items and the
/// year's execution figures; returns how many subjects.
fn snapshot(
    conn: &mut AnyConnection,
    round: &RoundRow,
    scope: &Scope,
    items: &[pb::ApprovedGoalItem],
    now: chrono::NaiveDateTime,
) -> Result<usize, ApiError> {
    let mut subjects = Vec::with_capacity(items.len());
    let mut indicators = Vec::new();
    let mut seen = HashSet::new();
    for item in items {
        if let Some((s, inds)) = snapshot_item(round.id, item, now)
            && seen.insert(s.subject_key.clone())
        {
            subjects.push(s);
            indicators.extend(inds);
        }
    }
    // PRO_CODEs that only the budget system's figures name (docs/drafts/MONITORING.md §1):
    // listed too, without a goal.
    let execution = store::execution_until(conn, round.fiscal_year, round.months_to, None)?;
    let mut extra: Vec<&String> = execution.keys().filter(|c| !seen.contains(*c)).collect();
    extra.sort();
    for code in extra {
        let Some(last) = execution[code].last() else {
            continue;
        };
        if !scope.keeps(&last.department_code, code) {
            continue;
        }
        subjects.push(SubjectRow {
            round_id: round.id,
            subject_key: code.clone(),
            pro_code: code.clone(),
            department_code: last.department_code.clone(),
            agency_code: last.agency_code.clone(),
            name: last.name.clone(),
            fund_source: String::new(),
            special_field: String::new(),
            amount: Money(last.adjusted_budget.unwrap_or(last.initial_budget).0),
            goal_state: "no_goal".to_owned(),
            goal_id: 0,
            goal_version: 0,
            year_goal: String::new(),
            origin: "execution".to_owned(),
            is_key: false,
            budget_colour: "none".to_owned(),
            goal_colour: "none".to_owned(),
            forecast_colour: "none".to_owned(),
            execution_forecast_colour: "none".to_owned(),
            deviated: false,
            report_status: "none".to_owned(),
            snapshot_at: now,
        });
    }
    let units: BTreeMap<&str, &str> = subjects
        .iter()
        .map(|s| (s.agency_code.as_str(), s.department_code.as_str()))
        .collect();
    let units: Vec<UnitRow> = units
        .into_iter()
        .map(|(agency, dept)| UnitRow {
            round_id: round.id,
            agency_code: agency.to_owned(),
            department_code: dept.to_owned(),
            deadline_override: None,
            reopened: 0,
            revision: 1,
        })
        .collect();
    store::insert_subjects(conn, &subjects)?;
    store::insert_indicators(conn, &indicators)?;
    store::insert_units(conn, &units)?;
    Ok(subjects.len())
}

/// Writes a changed round at the next revision, guarded by the one it was read at (ABORTED
/// `STALE_REVISION` when another writer got there first).
fn save_round(
    conn: &mut AnyConnection,
    round: &mut RoundRow,
    by: &str,
    now: chrono::NaiveDateTime,
    expected: i64,
) -> Result<(), ApiError> {
    round.revision += 1;
    round.changed_by = by.to_owned();
    round.changed_at = now;
    if store::update_round(conn, round, expected)? {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorKind::Aborted,
        "STALE_REVISION",
        "监控轮次已被他人修改，请刷新后重试（STALE_REVISION）",
    ))
}

/// SetRoundRules: re-pins an OPEN round to the rules version in force and recomputes every
/// warning.
pub async fn set_rules(
    state: &AppState,
    ctx: MutationContext,
    m: mon::SetRoundRulesRequest,
) -> Result<mon::SetRoundRulesResponse, ApiError> {
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("round", m.round_id.to_string()),
        move |conn, ctx| {
            authorise(&ctx.caller, &st, &[AuthRole::FinanceAdmin], true)?;
            let mut round = open_round_of(conn, m.round_id)?;
            check_revision(&round, m.expected_revision)?;
            let (version, label, ..) = super::rules::in_force(conn, round.fiscal_year)?;
            let detail = format!("{} → {label}", round.rules_label);
            let now = pbm_db::now();
            round.rules_version = version;
            round.rules_label = label;
            save_round(
                conn,
                &mut round,
                &ctx.caller.subject,
                now,
                m.expected_revision,
            )?;
            recompute::subjects(conn, round.id, None, now)?;
            Ok(Effect {
                response: mon::SetRoundRulesResponse {
                    round: Some(round_message(conn, &round)?),
                },
                entity_type: "round",
                entity_id: round.id.to_string(),
                detail,
            })
        },
    )
    .await
}

/// CloseRound: OPEN → CLOSED; reports and warnings freeze.
pub async fn close(
    state: &AppState,
    ctx: MutationContext,
    m: mon::CloseRoundRequest,
) -> Result<mon::CloseRoundResponse, ApiError> {
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("round", m.round_id.to_string()),
        move |conn, ctx| {
            authorise(&ctx.caller, &st, &[AuthRole::FinanceAdmin], true)?;
            let mut round = open_round_of(conn, m.round_id)?;
            check_revision(&round, m.expected_revision)?;
            round.status = "closed".to_owned();
            save_round(
                conn,
                &mut round,
                &ctx.caller.subject,
                pbm_db::now(),
                m.expected_revision,
            )?;
            Ok(Effect {
                response: mon::CloseRoundResponse {
                    round: Some(round_message(conn, &round)?),
                },
                entity_type: "round",
                entity_id: round.id.to_string(),
                detail: format!("关闭监控轮次「{}」", round.name),
            })
        },
    )
    .await
}

/// ReopenUnit: finance reopens one unit of an OPEN round until `new_deadline` (today or
/// later), with a reason (at most 2,000 characters); the unit's reports get a "reopen" event.
pub async fn reopen_unit(
    state: &AppState,
    ctx: MutationContext,
    m: mon::ReopenUnitRequest,
) -> Result<mon::ReopenUnitResponse, ApiError> {
    let st = state.clone();
    let entity = (
        "round_unit",
        format!(
            "{}/{}",
            m.round_id,
            m.agency_code.chars().take(64).collect::<String>()
        ),
    );
    run_mutation(&state.db, ctx, entity, move |conn, ctx| {
        authorise(&ctx.caller, &st, &[AuthRole::FinanceAdmin], true)?;
        crate::convert::limits::check(&m)?;
        let today = st.today();
        let mut v = Vec::new();
        let agency = m.agency_code.trim().to_owned();
        if agency.is_empty() {
            v.push(FieldViolation::new(
                "agency_code",
                "AGENCY_CODE_REQUIRED",
                "请填写单位编码（AGENCY_CODE_REQUIRED）",
            ));
        }
        let new_deadline = parse_date(&m.new_deadline, "new_deadline", &mut v);
        if let Some(d) = new_deadline
            && d < today
        {
            v.push(FieldViolation::new(
                "new_deadline",
                "DEADLINE_IN_PAST",
                format!("新截止日期 {d} 早于今天 {today}（DEADLINE_IN_PAST）"),
            ));
        }
        let reason = m.reason.trim().to_owned();
        if reason.is_empty() {
            v.push(FieldViolation::new(
                "reason",
                "REASON_REQUIRED",
                "请填写重新开放的原因（REASON_REQUIRED）",
            ));
        } else if reason.chars().count() > REASON_MAX {
            v.push(FieldViolation::new(
                "reason",
                "REASON_TOO_LONG",
                format!("原因最多 {REASON_MAX} 个字符（REASON_TOO_LONG）"),
            ));
        }
        ApiError::check(v)?;
        let Some(new_deadline) = new_deadline else {
            return Err(ApiError::internal("date checked above"));
        };
        let round = open_round_of(conn, m.round_id)?;
        let Some(unit) = store::reopen_unit(conn, round.id, &agency, new_deadline)? else {
            return Err(ApiError::not_found(
                "UNIT_NOT_FOUND",
                format!(
                    "监控轮次「{}」中没有单位「{agency}」（UNIT_NOT_FOUND）",
                    round.name
                ),
            ));
        };
        let now = pbm_db::now();
        let comments = format!("重新开放至 {new_deadline}：{reason}");
        store::reopen_events(conn, round.id, &agency, &comments, &ctx.caller.subject, now)?;
        let deadlines = super::round_reads::unit_deadlines(conn, &round, today, Some(&agency))?;
        let unit_message = deadlines
            .into_iter()
            .next()
            .unwrap_or_else(|| mon::UnitDeadline {
                agency_code: unit.agency_code.clone(),
                department_code: unit.department_code.clone(),
                deadline: crate::convert::rounds::date(new_deadline),
                reopened: unit.reopened,
                ..Default::default()
            });
        Ok(Effect {
            response: mon::ReopenUnitResponse {
                unit: Some(unit_message),
            },
            entity_type: "round_unit",
            entity_id: format!("{}/{agency}", round.id),
            detail: format!(
                "重新开放至 {new_deadline}（第{}次）：{reason}",
                unit.reopened
            ),
        })
    })
    .await
}
