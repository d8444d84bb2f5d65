//! The units' monitoring reports (docs/drafts/MONITORING.md §1 "Unit report"): SaveReport,
//! SubmitReport, CheckReport, AcceptReport, ReturnReport. Every step is decided by
//! [`crate::domain::report_workflow::apply`] on one read of the report, its round, its subject
//! and the unit's reopened deadline, and written with one revision-guarded update, its history
//! row and the subject's `report_status`, in the transaction of `run_mutation` (audited,
//! idempotent by request id).
//!
//! The project's choices:
//! * The caller's role is checked before anything of the request is read (PERMISSION_DENIED);
//!   a report or subject outside the caller's scope answers NOT_FOUND, as one that does not
//!   exist.
//! * Only a subject with an approved goal has a report (`NO_APPROVED_GOAL`): the report answers
//!   the goal's snapshotted indicators, and a project without one has none to answer.
//! * A save replaces the report's values as a whole (every indicator the request names; an
//!   indicator it omits is not reported), recomputes the subject's warnings in the same
//!   transaction (`crate::ops::recompute`) and answers with them.
//! * A round still OPENING answers `ROUND_NOT_OPEN`; a CLOSED one `ROUND_CLOSED`.
//! * A return after the deadline reopens the unit until `resubmit_by` (the round service's
//!   `store::reopen_unit`) and writes a "reopen" row in the history of each of the unit's
//!   reports, as ReopenUnit does.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use pbm_auth::Caller;
use pbm_db::{AnyConnection, Money};
use pbm_proto::monitoring::v1 as proto;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};
use pbm_types::{Decimal, DivisionCode, FieldViolation, check_len};

use super::{sees, subject_not_found, subject_ref};
use crate::convert::deviations::warning_to;
use crate::convert::limits;
use crate::convert::reports::{
    NARRATIVE_MAX, cause_from, likelihood_from, parse_date, parse_number, report_to, stored_value,
};
use crate::convert::rounds::deadline_to;
use crate::domain::access::{Viewer, can_write_report, ensure_local, list_filter, viewer};
use crate::domain::bands::{Axis, Colour, Direction, Likelihood};
use crate::domain::completeness::{Cause, IndicatorReportFacts, REPORT_INCOMPLETE, check_report};
use crate::domain::deadline::{self, effective_deadline};
use crate::domain::report_workflow::{
    CheckOutcome, ReportAction, ReportActionKind, ReportState, ReportStatus, StepContext,
    Transition, WorkflowError, apply,
};
use crate::domain::subject::SubjectKey;
use crate::state::AppState;
use crate::store::{
    self, IndicatorRow, ReportEventRow, ReportIndicatorRow, ReportRow, RoundRow, SubjectRow,
};

pub(crate) fn report_not_found(id: i64) -> ApiError {
    ApiError::not_found("REPORT_NOT_FOUND", format!("监控报告 {id} 不存在"))
}

pub(crate) fn no_approved_goal(key: &str) -> ApiError {
    ApiError::failed_precondition(
        "NO_APPROVED_GOAL",
        format!("「{key}」在本轮监控开始时没有已批复的绩效目标，无需填报监控报告"),
    )
}

fn round_not_open(round_id: i64) -> ApiError {
    ApiError::failed_precondition(
        "ROUND_NOT_OPEN",
        format!("监控轮次 {round_id} 尚未开放填报"),
    )
}

/// The caller as a taker of `kind`: a role the step allows, of this very region. Checked before
/// the request is looked at (authorise first, then validate).
pub(crate) fn writer(
    caller: &Caller,
    region: &DivisionCode,
    kind: ReportActionKind,
) -> Result<Viewer, ApiError> {
    let v = viewer(caller, region)?;
    if !kind.roles().contains(&v.role) {
        return Err(ApiError::from(WorkflowError::RoleNotAllowed {
            role: v.role,
            action: kind.chinese(),
        }));
    }
    ensure_local(caller, region)?;
    Ok(v)
}

/// Whether `v` may read `s`; an agency is checked against the key monitoring commissioned to it.
pub(crate) fn readable(
    conn: &mut AnyConnection,
    v: &Viewer,
    s: &SubjectRow,
) -> Result<bool, ApiError> {
    sees(conn, &list_filter(v), s)
}

/// A report with its round, subject and the unit's reopened deadline, if `v` may see it
/// (NOT_FOUND otherwise, as if it did not exist).
pub(crate) fn visible_report(
    conn: &mut AnyConnection,
    v: &Viewer,
    id: i64,
) -> Result<(ReportRow, RoundRow, SubjectRow, Option<NaiveDate>), ApiError> {
    let row = store::report(conn, id)?.ok_or_else(|| report_not_found(id))?;
    let (round, subject, unit_deadline) =
        store::report_context(conn, row.round_id, &row.subject_key)?
            .ok_or_else(|| report_not_found(id))?;
    if !readable(conn, v, &subject)? {
        return Err(report_not_found(id));
    }
    Ok((row, round, subject, unit_deadline))
}

/// What a step depends on besides the report.
pub(crate) fn step_context(
    round: &RoundRow,
    subject: &SubjectRow,
    unit_deadline: Option<NaiveDate>,
    today: NaiveDate,
) -> StepContext {
    StepContext {
        today,
        eff_deadline: effective_deadline(round.deadline, unit_deadline),
        round_closed: round.status == "closed",
        department_whole: SubjectKey::parse(&subject.subject_key).is_department_whole(),
    }
}

pub(crate) fn ensure_open(round: &RoundRow) -> Result<(), ApiError> {
    if round.status == "opening" {
        return Err(round_not_open(round.id));
    }
    Ok(())
}

pub(crate) fn state_of(row: &ReportRow) -> Result<ReportState, ApiError> {
    Ok(ReportState {
        status: ReportStatus::from_db(&row.status)
            .ok_or_else(|| ApiError::internal(format!("report status {}", row.status)))?,
        revision: u64::try_from(row.revision).unwrap_or(0),
    })
}

fn revision(expected: i64) -> u64 {
    // A negative revision is never current: it answers STALE_REVISION.
    u64::try_from(expected).unwrap_or(u64::MAX)
}

/// The report's deadline status as of `today`, and whether its submission was late.
pub(crate) fn deadline_of(
    row: &ReportRow,
    round: &RoundRow,
    unit_deadline: Option<NaiveDate>,
    today: NaiveDate,
) -> (proto::DeadlineStatus, bool) {
    let submitted = ReportStatus::from_db(&row.status).is_some_and(ReportStatus::is_submitted);
    deadline_to(deadline::status(
        today,
        effective_deadline(round.deadline, unit_deadline),
        u32::try_from(round.lead_days).unwrap_or(0),
        if submitted { row.submitted_on } else { None },
    ))
}

/// Every axis's stored word, to read a subject's warnings whole.
fn all_axes() -> Vec<&'static str> {
    Axis::ALL.iter().map(|a| a.as_db()).collect()
}

/// The report as a message, with its stored warnings.
pub(crate) fn report_message(
    conn: &mut AnyConnection,
    row: &ReportRow,
    indicators: &[ReportIndicatorRow],
    round: &RoundRow,
    unit_deadline: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<proto::Report, ApiError> {
    let warnings = store::warnings_of(
        conn,
        row.round_id,
        std::slice::from_ref(&row.subject_key),
        &all_axes(),
    )?
    .iter()
    .map(warning_to)
    .collect();
    let (status, late) = deadline_of(row, round, unit_deadline, today);
    Ok(report_to(row, indicators, warnings, status, late))
}

/// The values a save writes: per indicator of the snapshot that the request names, and the
/// project's narrative and expected year-end execution.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Draft {
    pub indicators: Vec<ReportIndicatorRow>,
    pub narrative: String,
    pub expected_year_end: Option<Decimal>,
}

/// One indicator's values as typed, before they are checked against the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct TypedIndicator {
    pub seq: i32,
    pub achieved: String,
    pub forecast: String,
    pub likelihood: i32,
    pub causes: Vec<i32>,
    pub other_text: String,
    pub remark: String,
}

/// Checks typed values against the subject's snapshot: every `seq` one of its indicators, once;
/// achieved and forecast a number for `≥ ≤ =` and a tier for 定性; likelihood and causes known
/// values; the narrative within its rule; the expected year-end execution an amount ≥ 0 in 元
/// with at most two places. Every violation at once, under `indicators[i]` of the request.
pub(crate) fn check_draft(
    typed: &[TypedIndicator],
    narrative: &str,
    expected_year_end: &str,
    snapshot: &[IndicatorRow],
) -> Result<Draft, Vec<FieldViolation>> {
    let mut v = Vec::new();
    let mut seen = BTreeSet::new();
    let mut rows = Vec::with_capacity(typed.len());
    for (i, t) in typed.iter().enumerate() {
        let at = |f: &str| format!("indicators[{i}].{f}");
        let Some(ind) = snapshot.iter().find(|s| s.seq == t.seq) else {
            v.push(FieldViolation::new(
                at("seq"),
                "INDICATOR_NOT_FOUND",
                format!("绩效目标中没有序号为 {} 的指标", t.seq),
            ));
            continue;
        };
        if !seen.insert(t.seq) {
            v.push(FieldViolation::new(
                at("seq"),
                "INDICATOR_DUPLICATE",
                format!("指标 {} 填报了不止一次", t.seq),
            ));
            continue;
        }
        let direction = Direction::from_db(&ind.direction).unwrap_or(Direction::Qualitative);
        let mut value = |field: &str, label: &str, text: &str| {
            stored_value(direction, text, &at(field), label).unwrap_or_else(|e| {
                v.push(e);
                String::new()
            })
        };
        let achieved = value("achieved", "实际完成值", &t.achieved);
        let forecast = value("forecast", "全年预计完成值", &t.forecast);
        let likelihood = match likelihood_from(t.likelihood) {
            Ok(l) => l.map_or("", |l| l.as_db()).to_owned(),
            Err(()) => {
                v.push(FieldViolation::new(
                    at("likelihood"),
                    "LIKELIHOOD_INVALID",
                    "完成目标可能性应为「确定能」「有可能」「完全不可能」之一",
                ));
                String::new()
            }
        };
        let mut causes: Vec<&str> = Vec::new();
        for c in &t.causes {
            match cause_from(*c).map(Cause::as_db) {
                Some(w) if !causes.contains(&w) => causes.push(w),
                Some(_) => {}
                None => v.push(FieldViolation::new(
                    at("causes"),
                    "CAUSE_INVALID",
                    "偏差原因应为经费保障、制度保障、人员保障、硬件条件保障或其他",
                )),
            }
        }
        rows.push(ReportIndicatorRow {
            report_id: 0,
            seq: t.seq,
            achieved,
            forecast,
            likelihood,
            causes: causes.join(","),
            other_text: t.other_text.trim().to_owned(),
            remark: t.remark.trim().to_owned(),
        });
    }
    v.extend(check_len(
        "execution_narrative",
        "预算执行情况说明",
        narrative,
        NARRATIVE_MAX,
    ));
    let expected_year_end = match expected_year_end.trim() {
        "" => None,
        text => match parse_number(text) {
            Ok(d) if d >= Decimal::ZERO && d.scale() <= 2 => Some(d),
            _ => {
                v.push(FieldViolation::new(
                    "expected_year_end_execution",
                    "AMOUNT_INVALID",
                    "预计年底执行数应为不小于0、最多两位小数的金额（元）",
                ));
                None
            }
        },
    };
    if !v.is_empty() {
        return Err(v);
    }
    rows.sort_by_key(|r| r.seq);
    Ok(Draft {
        indicators: rows,
        narrative: narrative.trim().to_owned(),
        expected_year_end,
    })
}

/// The completeness check before a submission (docs/drafts/MONITORING.md §2 item 9): one
/// fact per snapshot indicator (in `seq` order, so `indicators[i]` is the i-th of the goal), its
/// colour the stored value-to-date warning, and the budget axis's stored colour; every gap at
/// once as `INVALID_ARGUMENT REPORT_INCOMPLETE`.
fn complete(
    conn: &mut AnyConnection,
    row: &ReportRow,
    indicators: &[ReportIndicatorRow],
    snapshot: &[IndicatorRow],
) -> Result<(), ApiError> {
    let warnings = store::warnings_of(
        conn,
        row.round_id,
        std::slice::from_ref(&row.subject_key),
        &[Axis::Indicator.as_db(), Axis::Budget.as_db()],
    )?;
    let colour = |axis: Axis, seq: i32| {
        warnings
            .iter()
            .find(|w| w.axis == axis.as_db() && w.seq == seq)
            .and_then(|w| Colour::from_db(&w.colour))
    };
    let causes: Vec<Vec<Cause>> = snapshot
        .iter()
        .map(|s| {
            indicators
                .iter()
                .find(|i| i.seq == s.seq)
                .map(|i| i.causes.split(',').filter_map(Cause::from_db).collect())
                .unwrap_or_default()
        })
        .collect();
    let facts: Vec<IndicatorReportFacts<'_>> = snapshot
        .iter()
        .zip(&causes)
        .map(|(s, causes)| {
            let reported = indicators.iter().find(|i| i.seq == s.seq);
            IndicatorReportFacts {
                name: &s.name,
                colour: colour(Axis::Indicator, s.seq),
                achieved: reported.is_some_and(|i| !i.achieved.is_empty()),
                forecast: reported.is_some_and(|i| !i.forecast.is_empty()),
                likelihood: reported.and_then(|i| Likelihood::from_db(&i.likelihood)),
                causes,
                other_text: reported.map_or("", |i| i.other_text.as_str()),
            }
        })
        .collect();
    let gaps = check_report(&facts, colour(Axis::Budget, 0), &row.execution_narrative);
    if gaps.is_empty() {
        return Ok(());
    }
    let mut e = ApiError::invalid(
        REPORT_INCOMPLETE,
        format!(
            "监控报告尚不完整，有 {} 处需要补充：{}",
            gaps.len(),
            gaps.iter()
                .map(|v| v.message.as_str())
                .collect::<Vec<_>>()
                .join("；")
        ),
    );
    e.violations = gaps;
    Err(e)
}

/// A stale revision on a write that lost a race (the row changed, or another first save
/// created the report, after it was read).
fn lost_race(expected: u64) -> ApiError {
    ApiError::from(WorkflowError::StaleRevision {
        expected,
        actual: expected.saturating_add(1),
    })
}

/// Writes step `t` on the report `row` as it will be (its id 0 for a first save): the guarded
/// insert or update, the history row (`comments`) and the subject's `report_status`.
pub(crate) fn commit(
    conn: &mut AnyConnection,
    row: &mut ReportRow,
    t: &Transition,
    comments: &str,
    by: &str,
) -> Result<(), ApiError> {
    let expected = i64::try_from(t.to.revision.saturating_sub(1)).unwrap_or(i64::MAX);
    row.status = t.to.status.as_db().to_owned();
    row.revision = i64::try_from(t.to.revision).unwrap_or(i64::MAX);
    row.changed_by = by.to_owned();
    row.changed_at = pbm_db::now();
    if t.from.is_none() {
        row.id = store::insert_report(conn, row).map_err(|e| match e {
            pbm_db::StoreError::UniqueViolation(_) => lost_race(0),
            other => other.into(),
        })?;
    } else if !store::update_report(conn, row, expected)? {
        return Err(lost_race(revision(expected)));
    }
    store::append_report_event(
        conn,
        ReportEventRow {
            report_id: row.id,
            seq: 0,
            action: t.action.as_db().to_owned(),
            from_status: t.from.map_or("", ReportStatus::as_db).to_owned(),
            to_status: t.to.status.as_db().to_owned(),
            comments: comments.to_owned(),
            actor: by.to_owned(),
            at: row.changed_at,
        },
    )?;
    store::set_subject_report_status(conn, row.round_id, &row.subject_key, &row.status)?;
    Ok(())
}

/// Saves `draft` as the subject's report in step `t` (a save), replacing its values, and
/// recomputes the subject's warnings. Shared by SaveReport and ImportReports.
pub(crate) fn save_draft(
    conn: &mut AnyConnection,
    existing: Option<ReportRow>,
    subject: &SubjectRow,
    t: &Transition,
    draft: Draft,
    by: &str,
) -> Result<(ReportRow, Vec<ReportIndicatorRow>), ApiError> {
    let mut row = existing.unwrap_or_else(|| ReportRow {
        id: 0,
        round_id: subject.round_id,
        subject_key: subject.subject_key.clone(),
        agency_code: subject.agency_code.clone(),
        department_code: subject.department_code.clone(),
        status: String::new(),
        execution_narrative: String::new(),
        expected_year_end: None,
        revision: 0,
        submitted_on: None,
        changed_by: String::new(),
        changed_at: pbm_db::now(),
    });
    row.execution_narrative = draft.narrative;
    row.expected_year_end = draft.expected_year_end.map(Money);
    commit(conn, &mut row, t, "", by)?;
    let mut indicators = draft.indicators;
    for i in &mut indicators {
        i.report_id = row.id;
    }
    store::replace_report_indicators(conn, row.id, &indicators)?;
    crate::ops::recompute::subjects(
        conn,
        row.round_id,
        Some(std::slice::from_ref(&row.subject_key)),
        row.changed_at,
    )?;
    Ok((row, indicators))
}

fn typed(indicators: &[proto::IndicatorReport]) -> Vec<TypedIndicator> {
    indicators
        .iter()
        .map(|i| TypedIndicator {
            seq: i.seq,
            achieved: i.achieved.clone(),
            forecast: i.forecast.clone(),
            likelihood: i.likelihood,
            causes: i.causes.clone(),
            other_text: i.other_text.clone(),
            remark: i.remark.clone(),
        })
        .collect()
}

/// SaveReport: a unit for its own subjects, a department for its units' and its own 部门整体;
/// the first save (expected revision 0) creates the report.
pub async fn save(
    state: &AppState,
    ctx: MutationContext,
    m: proto::SaveReportRequest,
) -> Result<proto::SaveReportResponse, ApiError> {
    let st = state.clone();
    let key = m.subject_key.trim().to_owned();
    let entity = ("monitoring_report", format!("{}/{key}", m.round_id));
    run_mutation(&state.db, ctx, entity, move |conn, ctx| {
        let v = writer(&ctx.caller, &st.region, ReportActionKind::Save)?;
        limits::check(&m)?;
        let today = st.today();
        let (round, subject, unit_deadline) = store::report_context(conn, m.round_id, &key)?
            .ok_or_else(|| subject_not_found(m.round_id, &key))?;
        if !can_write_report(&v, &subject_ref(&subject, None)) {
            return Err(subject_not_found(m.round_id, &key));
        }
        ensure_open(&round)?;
        if subject.goal_state != "approved" {
            return Err(no_approved_goal(&key));
        }
        let existing = store::report_of_subject(conn, round.id, &key)?;
        let state = existing.as_ref().map(state_of).transpose()?;
        let t = apply(
            state.as_ref(),
            &ReportAction::Save,
            v.role,
            revision(m.expected_revision),
            &step_context(&round, &subject, unit_deadline, today),
        )
        .map_err(ApiError::from)?;
        let snapshot = store::indicators_of(conn, round.id, Some(std::slice::from_ref(&key)))?
            .remove(&key)
            .unwrap_or_default();
        let expected_year_end = m
            .expected_year_end_execution
            .as_ref()
            .map_or("", |d| d.value.as_str());
        let draft = check_draft(
            &typed(&m.indicators),
            &m.execution_narrative,
            expected_year_end,
            &snapshot,
        )
        .map_err(ApiError::validation)?;
        let (row, indicators) =
            save_draft(conn, existing, &subject, &t, draft, &ctx.caller.subject)?;
        let report = report_message(conn, &row, &indicators, &round, unit_deadline, today)?;
        Ok(Effect {
            response: proto::SaveReportResponse {
                report: Some(report),
            },
            entity_type: "monitoring_report",
            entity_id: row.id.to_string(),
            detail: format!("save: {} ({} indicators)", key, indicators.len()),
        })
    })
    .await
}

/// What a step other than a save asks for.
struct Step {
    report_id: i64,
    expected_revision: i64,
    action: ReportAction,
    comments: String,
}

/// SubmitReport, CheckReport, AcceptReport, ReturnReport: decided on one read, written with one
/// guarded update. A submission is checked for completeness first and stamped with today; a
/// return after the deadline reopens the unit.
async fn step(
    state: &AppState,
    ctx: MutationContext,
    step: Step,
    bounds: Result<(), ApiError>,
) -> Result<proto::Report, ApiError> {
    let st = state.clone();
    let entity = ("monitoring_report", step.report_id.to_string());
    run_mutation(&state.db, ctx, entity, move |conn, ctx| {
        let kind = step.action.kind();
        let v = writer(&ctx.caller, &st.region, kind)?;
        bounds?;
        let today = st.today();
        let (mut row, round, subject, unit_deadline) = visible_report(conn, &v, step.report_id)?;
        if !can_write_report(&v, &subject_ref(&subject, None)) {
            return Err(report_not_found(step.report_id));
        }
        ensure_open(&round)?;
        let t = apply(
            Some(&state_of(&row)?),
            &step.action,
            v.role,
            revision(step.expected_revision),
            &step_context(&round, &subject, unit_deadline, today),
        )
        .map_err(ApiError::from)?;
        let indicators = store::report_indicators(conn, row.id)?;
        if kind == ReportActionKind::Submit {
            let snapshot =
                store::indicators_of(conn, round.id, Some(std::slice::from_ref(&row.subject_key)))?
                    .remove(&row.subject_key)
                    .unwrap_or_default();
            complete(conn, &row, &indicators, &snapshot)?;
            row.submitted_on = Some(today);
        }
        commit(conn, &mut row, &t, &step.comments, &ctx.caller.subject)?;
        let mut detail = format!(
            "{}: {} → {}",
            t.action.as_db(),
            t.from.map_or("", ReportStatus::as_db),
            t.to.status.as_db()
        );
        let mut unit_deadline = unit_deadline;
        if let Some(until) = t.reopen_until {
            reopen(
                conn,
                &round,
                &row.agency_code,
                until,
                &ctx.caller.subject,
                &step.comments,
            )?;
            unit_deadline = Some(until);
            detail.push_str(&format!("; reopened {} until {until}", row.agency_code));
        }
        let report = report_message(conn, &row, &indicators, &round, unit_deadline, today)?;
        Ok(Effect {
            response: report,
            entity_type: "monitoring_report",
            entity_id: row.id.to_string(),
            detail,
        })
    })
    .await
}

/// Reopens the unit `agency` of `round` until `until` and writes a "reopen" row in the history
/// of each of its reports, as ReopenUnit does (the round service's store).
fn reopen(
    conn: &mut AnyConnection,
    round: &RoundRow,
    agency: &str,
    until: NaiveDate,
    by: &str,
    comments: &str,
) -> Result<(), ApiError> {
    store::reopen_unit(conn, round.id, agency, until)?.ok_or_else(|| {
        ApiError::internal(format!("unit {agency} missing from round {}", round.id))
    })?;
    let note = format!("重新开放填报至 {until}：{comments}");
    store::reopen_events(conn, round.id, agency, &note, by, pbm_db::now())?;
    Ok(())
}

pub async fn submit(
    state: &AppState,
    ctx: MutationContext,
    m: proto::SubmitReportRequest,
) -> Result<proto::SubmitReportResponse, ApiError> {
    let s = Step {
        report_id: m.report_id,
        expected_revision: m.expected_revision,
        action: ReportAction::Submit,
        comments: String::new(),
    };
    let report = step(state, ctx, s, Ok(())).await?;
    Ok(proto::SubmitReportResponse {
        report: Some(report),
    })
}

pub async fn check(
    state: &AppState,
    ctx: MutationContext,
    m: proto::CheckReportRequest,
) -> Result<proto::CheckReportResponse, ApiError> {
    let bounds = limits::check(&m);
    let outcome = if m.pass {
        CheckOutcome::Pass
    } else {
        CheckOutcome::Return
    };
    let s = Step {
        report_id: m.report_id,
        expected_revision: m.expected_revision,
        action: ReportAction::Check {
            outcome,
            comments: m.comments.clone(),
        },
        comments: m.comments.trim().to_owned(),
    };
    let report = step(state, ctx, s, bounds).await?;
    Ok(proto::CheckReportResponse {
        report: Some(report),
    })
}

pub async fn accept(
    state: &AppState,
    ctx: MutationContext,
    m: proto::AcceptReportRequest,
) -> Result<proto::AcceptReportResponse, ApiError> {
    let s = Step {
        report_id: m.report_id,
        expected_revision: m.expected_revision,
        action: ReportAction::Accept,
        comments: String::new(),
    };
    let report = step(state, ctx, s, Ok(())).await?;
    Ok(proto::AcceptReportResponse {
        report: Some(report),
    })
}

pub async fn return_report(
    state: &AppState,
    ctx: MutationContext,
    m: proto::ReturnReportRequest,
) -> Result<proto::ReturnReportResponse, ApiError> {
    let resubmit_by = match m.resubmit_by.trim() {
        "" => Ok(None),
        text => parse_date(text).map(Some).ok_or_else(|| {
            ApiError::invalid_field(
                "RESUBMIT_BY_INVALID",
                "resubmit_by",
                format!("重新提交截止日期「{text}」应为 YYYY-MM-DD 格式的日期"),
            )
        }),
    };
    // Authorise first: the bounds and the date are checked after the caller's role.
    let bounds = limits::check(&m).and(resubmit_by.clone().map(|_| ()));
    let s = Step {
        report_id: m.report_id,
        expected_revision: m.expected_revision,
        action: ReportAction::Return {
            comments: m.comments.clone(),
            resubmit_by: resubmit_by.ok().flatten(),
        },
        comments: m.comments.trim().to_owned(),
    };
    let report = step(state, ctx, s, bounds).await?;
    Ok(proto::ReturnReportResponse {
        report: Some(report),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(seq: i32, direction: &str) -> IndicatorRow {
        IndicatorRow {
            round_id: 1,
            subject_key: "P-1".into(),
            seq,
            level1_name: "产出指标".into(),
            level2_name: "数量指标".into(),
            name: format!("指标{seq}"),
            direction: direction.into(),
            unit: "处".into(),
            target_value: "12".into(),
            target_num: None,
            library_code: String::new(),
            library_version: 0,
        }
    }

    fn typed(seq: i32, achieved: &str, causes: &[proto::Cause]) -> TypedIndicator {
        TypedIndicator {
            seq,
            achieved: achieved.into(),
            likelihood: proto::Likelihood::Possible as i32,
            causes: causes.iter().map(|c| *c as i32).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_draft_is_checked_against_its_snapshot_all_at_once() {
        let goal = [snapshot(1, "ge"), snapshot(2, "qualitative")];
        let draft = check_draft(
            &[
                typed(2, "部分达成并具有一定效果", &[]),
                typed(
                    1,
                    "６",
                    &[
                        proto::Cause::Funding,
                        proto::Cause::Other,
                        proto::Cause::Funding,
                    ],
                ),
            ],
            " 进度正常 ",
            "1200000.50",
            &goal,
        )
        .unwrap();
        let values: Vec<(i32, &str, &str, &str)> = draft
            .indicators
            .iter()
            .map(|i| {
                (
                    i.seq,
                    i.achieved.as_str(),
                    i.likelihood.as_str(),
                    i.causes.as_str(),
                )
            })
            .collect();
        assert_eq!(
            values,
            [
                (1, "6", "possible", "funding,other"),
                (2, "部分达成并具有一定效果", "possible", "")
            ]
        );
        assert_eq!(draft.narrative, "进度正常");
        assert_eq!(draft.expected_year_end, Some(Decimal::new(120_000_050, 2)));

        let mut unknown_likelihood = typed(1, "达成", &[]);
        unknown_likelihood.likelihood = 9;
        let refused = check_draft(
            &[
                unknown_likelihood,
                typed(2, "12", &[proto::Cause::Unspecified]),
                typed(2, "达成", &[]),
                typed(7, "1", &[]),
            ],
            &"说".repeat(2001),
            "-1",
            &goal,
        )
        .unwrap_err();
        let found: Vec<(&str, &str)> = refused
            .iter()
            .map(|v| (v.field.as_str(), v.reason))
            .collect();
        assert_eq!(
            found,
            [
                ("indicators[0].achieved", "VALUE_INVALID"),
                ("indicators[0].likelihood", "LIKELIHOOD_INVALID"),
                ("indicators[1].achieved", "TIER_INVALID"),
                ("indicators[1].causes", "CAUSE_INVALID"),
                ("indicators[2].seq", "INDICATOR_DUPLICATE"),
                ("indicators[3].seq", "INDICATOR_NOT_FOUND"),
                ("execution_narrative", "TEXT_TOO_LONG"),
                ("expected_year_end_execution", "AMOUNT_INVALID"),
            ]
        );
        let too_precise = check_draft(&[], "", "1.005", &goal).unwrap_err();
        assert_eq!(too_precise[0].reason, "AMOUNT_INVALID");
    }
}
