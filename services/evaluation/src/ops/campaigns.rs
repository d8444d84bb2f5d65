//! The self-evaluation of a fiscal year as finance runs it (docs/EVALUATION.md "Campaigns"):
//! OpenCampaign, RefreshExecution, CloseCampaign, ReopenUnit, and the reads GetCampaign and
//! ListCampaigns.
//!
//! **Opening.** The caller is authorised and the request checked; a request id already answered
//! is replayed without calling the other services again, and a year already opened is refused
//! (`CAMPAIGN_EXISTS`) before them too. Then the snapshot is read: every project with an approved
//! goal and every approved 部门整体 goal (goal service, StreamApprovedGoals without the
//! unapproved), and the year's execution figures and warnings (monitoring service,
//! StreamExecutionSummary), both with the caller's token. Only then one transaction writes the
//! campaign (pinning the rules version in force), every sheet and its indicators (multi-row
//! inserts of 500), each sheet scored by the engine (all entries missing: the execution points
//! only), the audit line and the idempotency record. Either service unreachable: UNAVAILABLE,
//! nothing written.
//!
//! **Figures** (docs/EVALUATION.md "Sheets"): a project's budget is the summary's base (adjusted,
//! else initial) and its executed amount, with the latest month; a project without figures keeps
//! its requested amount with nothing executed (month 0). A 部门整体 sheet's budget and executed are
//! the sums of its department's project sheets (the project's choice), its month their latest,
//! and it carries no warnings of its own. RefreshExecution reads the figures again into every
//! sheet not yet submitted (not started, draft, returned), rescored under the campaign's rules.
//!
//! A sheet the engine cannot score at opening (a first-level name the rules do not map, a
//! target that is not a number) is opened unscored (empty grade, total 0) and counted in the
//! audit line; the unit's save names the problem, and new rules plus RefreshExecution score it.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use pbm_auth::{Caller, Role as AuthRole};
use pbm_db::{AnyConnection, Money};
use pbm_proto::evaluation::v1 as ev;
use pbm_proto::goal::v1 as pb;
use pbm_proto::monitoring::v1 as mon;
use pbm_server::{
    ApiError, Effect, ErrorKind, FieldViolation, MutationContext, run_mutation, settle,
};
use pbm_types::{Decimal, FiscalYear};

use super::scoring::{Rules, current_rules, rules_of, score_sheet};
use super::{authorise, page_of};
use crate::convert::campaigns::{Figures, department_key, figures_of, snapshot_item};
use crate::convert::scores::{campaign_to, date};
use crate::domain::access::can_read_campaigns;
use crate::state::AppState;
use crate::store::{self, CampaignRow, NewSheet, SheetEventRow, SheetIndicatorRow};

/// The longest campaign name and reopen reason (proto/pbm/evaluation/v1/campaign_service.proto).
const NAME_MAX: usize = 100;
const REASON_MAX: usize = 2_000;
/// The statuses of a sheet not yet submitted: RefreshExecution rewrites their figures.
pub(crate) const NOT_SUBMITTED: [&str; 3] = ["not_started", "draft", "returned"];
/// Who reads campaigns (tests/tests/authorization_matrix.rs).
const READERS: [AuthRole; 5] = [
    AuthRole::FinanceAdmin,
    AuthRole::Department,
    AuthRole::BudgetUnit,
    AuthRole::Auditor,
    AuthRole::Province,
];

pub(crate) fn campaign_not_found(id: i64) -> ApiError {
    ApiError::not_found("CAMPAIGN_NOT_FOUND", format!("自评任务 {id} 不存在"))
}

/// Campaign `id` (NOT_FOUND otherwise).
pub(crate) fn campaign_of(conn: &mut AnyConnection, id: i64) -> Result<CampaignRow, ApiError> {
    store::campaign(conn, id)?.ok_or_else(|| campaign_not_found(id))
}

/// Campaign `id` if it is OPEN, else FAILED_PRECONDITION `CAMPAIGN_CLOSED`.
fn open_campaign_of(conn: &mut AnyConnection, id: i64) -> Result<CampaignRow, ApiError> {
    let c = campaign_of(conn, id)?;
    if c.status != "open" {
        return Err(ApiError::failed_precondition(
            "CAMPAIGN_CLOSED",
            format!("自评任务「{}」已关闭，不能再修改", c.name),
        ));
    }
    Ok(c)
}

fn campaign_exists(year: i32) -> ApiError {
    ApiError::already_exists(
        "CAMPAIGN_EXISTS",
        format!("{year}年度的绩效自评已开启（每个年度一次）"),
    )
}

/// Writes a changed campaign at the next revision, guarded by the one it was read at (ABORTED
/// `STALE_REVISION` when another writer got there first).
pub(crate) fn save_campaign(
    conn: &mut AnyConnection,
    c: &mut CampaignRow,
    by: &str,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let expected = c.revision;
    c.revision += 1;
    c.changed_by = by.to_owned();
    c.changed_at = now;
    if store::update_campaign(conn, c, expected)? {
        return Ok(());
    }
    Err(stale(c, expected))
}

fn stale(c: &CampaignRow, expected: i64) -> ApiError {
    ApiError::new(
        ErrorKind::Aborted,
        "STALE_REVISION",
        format!(
            "自评任务「{}」已被他人修改（您读取的版本 {expected}），请刷新后重试",
            c.name
        ),
    )
    .with_violation("expected_revision", format!("expected {expected}"))
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
            format!("日期「{text}」无效：应为 2000–2100 年间的 YYYY-MM-DD"),
        ));
    }
    d
}

/// A date not before `today` (`DEADLINE_IN_PAST` otherwise).
fn not_before_today(
    d: Option<NaiveDate>,
    today: NaiveDate,
    field: &str,
    v: &mut Vec<FieldViolation>,
) {
    if let Some(d) = d
        && d < today
    {
        v.push(FieldViolation::new(
            field,
            "DEADLINE_IN_PAST",
            format!("截止日期 {d} 早于今天 {today}"),
        ));
    }
}

/// An OpenCampaign request, checked.
struct Plan {
    year: i32,
    name: String,
    deadline: NaiveDate,
    lead_days: i32,
}

/// Every violation of an OpenCampaign request at once.
fn plan(m: &ev::OpenCampaignRequest, today: NaiveDate) -> Result<Plan, ApiError> {
    let mut v = Vec::new();
    if let Err(e) = FiscalYear::new(m.fiscal_year) {
        v.push(FieldViolation::new("fiscal_year", e.reason, e.message));
    }
    let name = m.name.trim().to_owned();
    if name.is_empty() {
        v.push(FieldViolation::new(
            "name",
            "NAME_REQUIRED",
            "请填写自评任务名称",
        ));
    } else if name.chars().count() > NAME_MAX {
        v.push(FieldViolation::new(
            "name",
            "NAME_TOO_LONG",
            format!("自评任务名称最多 {NAME_MAX} 个字符"),
        ));
    }
    let deadline = parse_date(&m.deadline, "deadline", &mut v);
    not_before_today(deadline, today, "deadline", &mut v);
    if !(0..=60).contains(&m.lead_days) {
        v.push(FieldViolation::new(
            "lead_days",
            "LEAD_DAYS_INVALID",
            format!("提前提醒天数 {} 无效：应为 0–60", m.lead_days),
        ));
    }
    ApiError::check(v)?;
    let deadline = deadline.ok_or_else(|| ApiError::internal("date checked above"))?;
    Ok(Plan {
        year: m.fiscal_year,
        name,
        deadline,
        lead_days: m.lead_days,
    })
}

/// The year's execution summaries by PRO_CODE.
/// The monitoring service's execution summary of every project of `year`, by project code.
async fn year_summaries(
    state: &AppState,
    authorization: &str,
    year: i32,
) -> Result<HashMap<String, mon::ExecutionSummary>, ApiError> {
    let request = mon::StreamExecutionSummaryRequest {
        fiscal_year: year,
        pro_codes: Vec::new(),
    };
    Ok(state
        .monitoring
        .execution_summary(authorization, request)
        .await?
        .into_iter()
        .map(|s| (s.pro_code.clone(), s))
        .collect())
}

/// Sets a sheet's figures.
fn set_figures(s: &mut NewSheet, f: &Figures) {
    s.budget = Money(f.budget);
    s.executed = Money(f.executed);
    s.execution_month = f.month;
    s.red_warnings = f.red_warnings;
    s.yellow_warnings = f.yellow_warnings;
    s.deviated = f.deviated;
}

/// The figures of 部门整体 sheets: per department, Σ budget, Σ executed and the latest month of
/// its project sheets (`projects`: department, budget, executed, month).
pub(crate) fn department_sums<'a>(
    projects: impl IntoIterator<Item = (&'a str, Decimal, Decimal, i32)>,
) -> HashMap<String, Figures> {
    let mut sums: HashMap<String, Figures> = HashMap::new();
    for (dept, budget, executed, month) in projects {
        let f = sums.entry(department_key(dept)).or_default();
        f.budget += budget;
        f.executed += executed;
        f.month = f.month.max(month);
    }
    sums
}

/// Scores a sheet's figures and indicators: total, grade, rate and score (an unscorable sheet:
/// empty grade and score, total 0; `false`).
pub(crate) fn score_into(
    rules: &Rules,
    budget: Money,
    executed: Money,
    indicators: &mut [SheetIndicatorRow],
) -> (Money, String, Money, String, bool) {
    match score_sheet(rules, &budget, &executed, indicators) {
        Ok(s) => (s.total, s.grade, s.execution_rate, s.json, true),
        Err(e) => {
            tracing::warn!(reason = e.reason, message = %e.message, "sheet not scorable");
            let zero = Money(Decimal::ZERO);
            (zero, String::new(), zero, String::new(), false)
        }
    }
}

/// OpenCampaign (see the module doc).
pub async fn open(
    state: &AppState,
    ctx: MutationContext,
    authorization: &str,
    m: ev::OpenCampaignRequest,
) -> Result<ev::OpenCampaignResponse, ApiError> {
    let entity = ("campaign", m.fiscal_year.to_string());
    let checked = authorise(&ctx.caller, state, &[AuthRole::FinanceAdmin], true)
        .and_then(|_| crate::convert::limits::check(&m))
        .and_then(|_| plan(&m, state.today()));
    let plan = match checked {
        Ok(plan) => plan,
        Err(e) => return settle(&state.db, ctx, entity, Err(e)).await,
    };
    // Answered before: replayed (or refused as a reuse) without a second snapshot; a year
    // already opened is refused before the other services are called.
    let (service, request_id, year) = (ctx.service().to_owned(), ctx.request_id.clone(), plan.year);
    let (answered, exists) = state
        .db
        .read(move |c| -> Result<(bool, bool), ApiError> {
            Ok((
                pbm_db::platform::find_idempotency(c, &service, &request_id)?.is_some(),
                store::campaign_of_year(c, year)?.is_some(),
            ))
        })
        .await?;
    if answered {
        let again = ApiError::new(ErrorKind::Aborted, "ALREADY_ANSWERED", "重复提交");
        return settle(&state.db, ctx, entity, Err(again)).await;
    }
    if exists {
        return settle(&state.db, ctx, entity, Err(campaign_exists(year))).await;
    }
    let goals = pb::StreamApprovedGoalsRequest {
        fiscal_year: plan.year,
        department_codes: Vec::new(),
        pro_codes: Vec::new(),
        include_unapproved: false,
    };
    let items = match state.goals.approved_goals(authorization, goals).await {
        Ok(items) => items,
        Err(e) => return settle(&state.db, ctx, entity, Err(e)).await,
    };
    let summaries = match year_summaries(state, authorization, plan.year).await {
        Ok(s) => s,
        Err(e) => return settle(&state.db, ctx, entity, Err(e)).await,
    };
    let st = state.clone();
    run_mutation(&state.db, ctx, entity, move |conn, ctx| {
        authorise(&ctx.caller, &st, &[AuthRole::FinanceAdmin], true)?;
        if store::campaign_of_year(conn, plan.year)?.is_some() {
            return Err(campaign_exists(plan.year));
        }
        let now = pbm_db::now();
        let by = ctx.caller.subject.clone();
        let rules = current_rules(conn, plan.year)?;
        let mut campaign = CampaignRow {
            id: 0,
            fiscal_year: plan.year,
            name: plan.name.clone(),
            deadline: plan.deadline,
            lead_days: plan.lead_days,
            status: "open".to_owned(),
            rules_version: rules.version,
            rules_label: rules.label.clone(),
            revision: 1,
            sheets: 0,
            execution_month: 0,
            opened_by: by.clone(),
            opened_at: now,
            changed_by: by.clone(),
            changed_at: now,
        };
        campaign.id = store::insert_campaign(conn, &campaign).map_err(|e| match e {
            pbm_db::StoreError::UniqueViolation(_) => campaign_exists(plan.year),
            other => other.into(),
        })?;
        let (unscored, month) = snapshot(conn, &campaign, &rules, &items, &summaries, &by, now)?;
        campaign.sheets = i64::try_from(store::sheet_ids(conn, campaign.id)?.len()).unwrap_or(0);
        campaign.execution_month = month;
        let expected = campaign.revision;
        if !store::update_campaign(conn, &campaign, expected)? {
            return Err(stale(&campaign, expected));
        }
        Ok(Effect {
            response: ev::OpenCampaignResponse {
                campaign: Some(campaign_to(&st.region.to_string(), &campaign)),
            },
            entity_type: "campaign",
            entity_id: campaign.id.to_string(),
            detail: format!(
                "{}（截止 {}，{}）：{} 张自评表，执行数据截至{}月，{unscored} 张未能评分",
                campaign.name,
                campaign.deadline,
                campaign.rules_label,
                campaign.sheets,
                campaign.execution_month
            ),
        })
    })
    .await
}

/// Writes a new campaign's sheets and indicators, each scored; returns how many sheets could
/// not be scored and the latest month of the figures.
fn snapshot(
    conn: &mut AnyConnection,
    campaign: &CampaignRow,
    rules: &Rules,
    items: &[pb::ApprovedGoalItem],
    summaries: &HashMap<String, mon::ExecutionSummary>,
    by: &str,
    now: NaiveDateTime,
) -> Result<(usize, i32), ApiError> {
    let mut sheets: Vec<(NewSheet, Vec<SheetIndicatorRow>)> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    for item in items {
        if let Some((mut s, inds)) = snapshot_item(campaign.id, item, by, now)
            && seen.insert(s.subject_key.clone())
        {
            if !s.pro_code.is_empty()
                && let Some(summary) = summaries.get(&s.pro_code)
            {
                let f = figures_of(summary, s.budget.0);
                set_figures(&mut s, &f);
            }
            sheets.push((s, inds));
        }
    }
    let sums = department_sums(sheets.iter().filter(|(s, _)| !s.pro_code.is_empty()).map(
        |(s, _)| {
            (
                s.department_code.as_str(),
                s.budget.0,
                s.executed.0,
                s.execution_month,
            )
        },
    ));
    let mut unscored = 0;
    let mut month = 0;
    for (s, inds) in &mut sheets {
        if s.pro_code.is_empty() {
            let f = sums.get(&s.subject_key).copied().unwrap_or_default();
            s.budget = Money(f.budget);
            s.executed = Money(f.executed);
            s.execution_month = f.month;
        }
        month = month.max(s.execution_month);
        let (total, grade, rate, json, ok) = score_into(rules, s.budget, s.executed, inds);
        (s.total, s.grade, s.execution_rate, s.score) = (total, grade, rate, json);
        unscored += usize::from(!ok);
    }
    let rows: Vec<NewSheet> = sheets.iter().map(|(s, _)| s.clone()).collect();
    store::insert_sheets(conn, &rows)?;
    let ids = store::sheet_ids(conn, campaign.id)?;
    let mut indicators = Vec::new();
    for (s, inds) in sheets {
        let id = *ids
            .get(&s.subject_key)
            .ok_or_else(|| ApiError::internal("a sheet just inserted"))?;
        indicators.extend(inds.into_iter().map(|mut i| {
            i.sheet_id = id;
            i
        }));
    }
    store::insert_sheet_indicators(conn, &indicators)?;
    Ok((unscored, month))
}

/// RefreshExecution (see the module doc): finance, on an OPEN campaign.
pub async fn refresh(
    state: &AppState,
    ctx: MutationContext,
    authorization: &str,
    m: ev::RefreshExecutionRequest,
) -> Result<ev::RefreshExecutionResponse, ApiError> {
    let entity = ("campaign", m.campaign_id.to_string());
    if let Err(e) = authorise(&ctx.caller, state, &[AuthRole::FinanceAdmin], true) {
        return settle(&state.db, ctx, entity, Err(e)).await;
    }
    let (service, request_id, id) = (
        ctx.service().to_owned(),
        ctx.request_id.clone(),
        m.campaign_id,
    );
    let looked = state
        .db
        .read(
            move |c| -> Result<(bool, Result<CampaignRow, ApiError>), ApiError> {
                Ok((
                    pbm_db::platform::find_idempotency(c, &service, &request_id)?.is_some(),
                    open_campaign_of(c, id),
                ))
            },
        )
        .await;
    let campaign = match looked {
        Ok((true, _)) => {
            let again = ApiError::new(ErrorKind::Aborted, "ALREADY_ANSWERED", "重复提交");
            return settle(&state.db, ctx, entity, Err(again)).await;
        }
        Ok((false, Ok(c))) => c,
        Ok((false, Err(e))) | Err(e) => return settle(&state.db, ctx, entity, Err(e)).await,
    };
    let summaries = match year_summaries(state, authorization, campaign.fiscal_year).await {
        Ok(s) => s,
        Err(e) => return settle(&state.db, ctx, entity, Err(e)).await,
    };
    let st = state.clone();
    run_mutation(&state.db, ctx, entity, move |conn, ctx| {
        authorise(&ctx.caller, &st, &[AuthRole::FinanceAdmin], true)?;
        let mut campaign = open_campaign_of(conn, m.campaign_id)?;
        let rules = rules_of(conn, campaign.fiscal_year, campaign.rules_version)?;
        let now = pbm_db::now();
        let by = ctx.caller.subject.clone();
        let updated = refresh_sheets(conn, &campaign, &rules, &summaries, &by, now)?;
        let all = store::sheet_figures(conn, campaign.id)?;
        campaign.execution_month = all.iter().map(|s| s.execution_month).max().unwrap_or(0);
        save_campaign(conn, &mut campaign, &by, now)?;
        Ok(Effect {
            response: ev::RefreshExecutionResponse {
                campaign: Some(campaign_to(&st.region.to_string(), &campaign)),
                sheets_updated: updated,
            },
            entity_type: "campaign",
            entity_id: campaign.id.to_string(),
            detail: format!(
                "重新读取执行数据（截至{}月）：更新 {updated} 张自评表",
                campaign.execution_month
            ),
        })
    })
    .await
}

/// Rewrites the figures of the campaign's sheets not yet submitted whose figures changed,
/// rescored, at their next revision with a `refreshed` event; returns how many.
fn refresh_sheets(
    conn: &mut AnyConnection,
    campaign: &CampaignRow,
    rules: &Rules,
    summaries: &HashMap<String, mon::ExecutionSummary>,
    by: &str,
    now: NaiveDateTime,
) -> Result<i64, ApiError> {
    let open = store::sheets_with_indicators(conn, campaign.id, &NOT_SUBMITTED, None)?;
    let all = store::sheet_figures(conn, campaign.id)?;
    // Every project's figures after the refresh: new for the open sheets, as stored otherwise.
    let mut projects: HashMap<&str, (&str, Figures)> = HashMap::new();
    for s in all.iter().filter(|s| !s.pro_code.is_empty()) {
        let stored = Figures {
            budget: s.budget.0,
            executed: s.executed.0,
            month: s.execution_month,
            ..Figures::default()
        };
        projects.insert(&s.subject_key, (&s.department_code, stored));
    }
    let mut fresh: HashMap<i64, Figures> = HashMap::new();
    for (s, _) in open.iter().filter(|(s, _)| !s.pro_code.is_empty()) {
        let f = match summaries.get(&s.pro_code) {
            Some(summary) => figures_of(summary, s.budget.0),
            None => Figures {
                budget: s.budget.0,
                executed: s.executed.0,
                month: s.execution_month,
                red_warnings: s.red_warnings,
                yellow_warnings: s.yellow_warnings,
                deviated: s.deviated,
            },
        };
        if let Some(p) = projects.get_mut(s.subject_key.as_str()) {
            p.1 = f;
        }
        fresh.insert(s.id, f);
    }
    let sums = department_sums(
        projects
            .values()
            .map(|(dept, f)| (*dept, f.budget, f.executed, f.month)),
    );
    let mut updated = 0;
    let mut events = Vec::new();
    for (mut s, mut inds) in open {
        let f = if s.pro_code.is_empty() {
            sums.get(&s.subject_key).copied().unwrap_or_default()
        } else {
            fresh.get(&s.id).copied().unwrap_or_default()
        };
        let before = (
            s.budget,
            s.executed,
            s.execution_month,
            s.red_warnings,
            s.yellow_warnings,
            s.deviated,
        );
        s.budget = Money(f.budget);
        s.executed = Money(f.executed);
        s.execution_month = f.month;
        if !s.pro_code.is_empty() {
            (s.red_warnings, s.yellow_warnings, s.deviated) =
                (f.red_warnings, f.yellow_warnings, f.deviated);
        }
        let after = (
            s.budget,
            s.executed,
            s.execution_month,
            s.red_warnings,
            s.yellow_warnings,
            s.deviated,
        );
        if before == after && !s.score.is_empty() {
            continue;
        }
        let (total, grade, rate, json, _) = score_into(rules, s.budget, s.executed, &mut inds);
        (s.total, s.grade, s.execution_rate, s.score) = (total, grade, rate, json);
        s.revision += 1;
        s.changed_by = by.to_owned();
        s.changed_at = now;
        if !store::refresh_sheet(conn, &s)? {
            return Err(ApiError::new(
                ErrorKind::Aborted,
                "CONCURRENT_UPDATE",
                "自评表正被他人修改，请稍后重试",
            ));
        }
        events.push(SheetEventRow {
            sheet_id: s.id,
            revision: s.revision,
            action: "refreshed".to_owned(),
            from_status: s.status.clone(),
            to_status: s.status.clone(),
            reason: format!(
                "执行数据更新：预算数{}元，执行数{}元（截至{}月）",
                s.budget.0, s.executed.0, s.execution_month
            ),
            total: s.total,
            grade: s.grade.clone(),
            at_by: by.to_owned(),
            at: now,
        });
        updated += 1;
    }
    store::insert_sheet_events(conn, &events)?;
    Ok(updated)
}

/// CloseCampaign: OPEN → CLOSED, guarded by `expected_revision`; sheets freeze.
pub async fn close(
    state: &AppState,
    ctx: MutationContext,
    m: ev::CloseCampaignRequest,
) -> Result<ev::CloseCampaignResponse, ApiError> {
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("campaign", m.campaign_id.to_string()),
        move |conn, ctx| {
            authorise(&ctx.caller, &st, &[AuthRole::FinanceAdmin], true)?;
            let mut campaign = open_campaign_of(conn, m.campaign_id)?;
            if campaign.revision != m.expected_revision {
                let mut e = stale(&campaign, m.expected_revision);
                e.message = format!("{}（当前版本 {}）", e.message, campaign.revision);
                return Err(e);
            }
            campaign.status = "closed".to_owned();
            save_campaign(conn, &mut campaign, &ctx.caller.subject, pbm_db::now())?;
            Ok(Effect {
                response: ev::CloseCampaignResponse {
                    campaign: Some(campaign_to(&st.region.to_string(), &campaign)),
                },
                entity_type: "campaign",
                entity_id: campaign.id.to_string(),
                detail: format!("关闭自评任务「{}」", campaign.name),
            })
        },
    )
    .await
}

/// ReopenUnit: finance reopens one unit of an OPEN campaign until `new_deadline` (today or
/// later), with a reason (at most 2,000 characters); each of the unit's sheets gets a
/// `reopened` event. Reopened again, the new deadline replaces the last and the count grows.
pub async fn reopen_unit(
    state: &AppState,
    ctx: MutationContext,
    m: ev::ReopenUnitRequest,
) -> Result<ev::ReopenUnitResponse, ApiError> {
    let st = state.clone();
    let entity = (
        "campaign_unit",
        format!(
            "{}/{}",
            m.campaign_id,
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
                "请填写单位编码",
            ));
        }
        let new_deadline = parse_date(&m.new_deadline, "new_deadline", &mut v);
        not_before_today(new_deadline, today, "new_deadline", &mut v);
        let reason = m.reason.trim().to_owned();
        if reason.is_empty() {
            v.push(FieldViolation::new(
                "reason",
                "REASON_REQUIRED",
                "请填写重新开放的原因",
            ));
        } else if reason.chars().count() > REASON_MAX {
            v.push(FieldViolation::new(
                "reason",
                "REASON_TOO_LONG",
                format!("原因最多 {REASON_MAX} 个字符"),
            ));
        }
        ApiError::check(v)?;
        let new_deadline = new_deadline.ok_or_else(|| ApiError::internal("date checked above"))?;
        let campaign = open_campaign_of(conn, m.campaign_id)?;
        if !store::unit_has_sheets(conn, campaign.id, &agency)? {
            return Err(ApiError::not_found(
                "UNIT_NOT_FOUND",
                format!(
                    "自评任务「{}」中没有单位「{agency}」的自评表",
                    campaign.name
                ),
            ));
        }
        let now = pbm_db::now();
        let by = ctx.caller.subject.clone();
        let unit = store::reopen_unit_deadline(
            conn,
            campaign.id,
            &agency,
            new_deadline,
            &reason,
            &by,
            now,
        )?;
        let all = [
            "not_started",
            "draft",
            "submitted",
            "reviewed",
            "received",
            "returned",
        ];
        let sheets = store::sheets_with_indicators(conn, campaign.id, &all, Some(&agency))?;
        let events: Vec<SheetEventRow> = sheets
            .iter()
            .map(|(s, _)| SheetEventRow {
                sheet_id: s.id,
                revision: s.revision,
                action: "reopened".to_owned(),
                from_status: s.status.clone(),
                to_status: s.status.clone(),
                reason: format!("重新开放至 {new_deadline}：{reason}"),
                total: s.total,
                grade: s.grade.clone(),
                at_by: by.clone(),
                at: now,
            })
            .collect();
        store::insert_sheet_events(conn, &events)?;
        Ok(Effect {
            response: ev::ReopenUnitResponse {
                agency_code: unit.agency_code.clone(),
                deadline: date(unit.deadline),
                reopened: unit.reopened,
            },
            entity_type: "campaign_unit",
            entity_id: format!("{}/{agency}", campaign.id),
            detail: format!(
                "重新开放至 {new_deadline}（第{}次）：{reason}",
                unit.reopened
            ),
        })
    })
    .await
}

/// GetCampaign: finance, departments, units, auditors and the province.
pub async fn get(
    state: &AppState,
    caller: Caller,
    m: ev::GetCampaignRequest,
) -> Result<ev::GetCampaignResponse, ApiError> {
    let viewer = authorise(&caller, state, &READERS, false)?;
    if !can_read_campaigns(&viewer) {
        return Err(campaign_not_found(m.campaign_id));
    }
    let campaign = state
        .db
        .read(move |c| campaign_of(c, m.campaign_id))
        .await?;
    Ok(ev::GetCampaignResponse {
        campaign: Some(campaign_to(&state.region.to_string(), &campaign)),
    })
}

/// ListCampaigns: as GetCampaign; newest year first, one fiscal year when given (0: all).
pub async fn list(
    state: &AppState,
    caller: Caller,
    m: ev::ListCampaignsRequest,
) -> Result<ev::ListCampaignsResponse, ApiError> {
    let viewer = authorise(&caller, state, &READERS, false)?;
    let page = page_of(m.page.as_ref())?;
    let year = match m.fiscal_year {
        0 => None,
        y => Some(super::rules::year_of(y, "fiscal_year")?),
    };
    if !can_read_campaigns(&viewer) {
        return Ok(ev::ListCampaignsResponse::default());
    }
    let (rows, total) = state
        .db
        .read(move |c| store::list_campaigns(c, year, page.offset, page.limit))
        .await?;
    let region = state.region.to_string();
    Ok(ev::ListCampaignsResponse {
        campaigns: rows.iter().map(|c| campaign_to(&region, c)).collect(),
        page: Some(pbm_proto::common::v1::PageResponse {
            next_page_token: page.next_token(total),
            total_size: total,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_departments_figures_are_its_projects_sums() {
        let sums = department_sums([
            ("101", dec!(100), dec!(80), 12),
            ("101", dec!(50), dec!(50), 11),
            ("102", dec!(10), dec!(0), 0),
        ]);
        let d = sums["DEPT:101"];
        assert_eq!((d.budget, d.executed, d.month), (dec!(150), dec!(130), 12));
        assert_eq!(sums["DEPT:102"].budget, dec!(10));
        assert!(!sums.contains_key("DEPT:103"));
    }

    #[test]
    fn open_requests_are_checked_at_once() {
        let today = NaiveDate::from_ymd_opt(2027, 3, 5).unwrap();
        let bad = ev::OpenCampaignRequest {
            request_id: "r".into(),
            fiscal_year: 1999,
            name: " ".into(),
            deadline: "2027-03-04".into(),
            lead_days: 61,
        };
        let e = plan(&bad, today).err().unwrap();
        let fields: Vec<_> = e.violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["fiscal_year", "name", "deadline", "lead_days"]);
        let good = ev::OpenCampaignRequest {
            fiscal_year: 2026,
            name: "2026年度项目支出绩效自评".into(),
            deadline: "2027-03-05".into(),
            lead_days: 5,
            ..bad
        };
        assert_eq!(plan(&good, today).unwrap().deadline, today);
    }
}
