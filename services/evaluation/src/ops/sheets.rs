//! The units' sheets (单位自评, docs/EVALUATION.md "Workflow"): SaveSelfEvaluation,
//! SubmitSelfEvaluation, ReviewSelfEvaluation, ReceiveSelfEvaluation. Every step is decided by
//! [`crate::domain::workflow::apply`] on one read of the sheet with its campaign and its unit's
//! reopened deadline, scored by the one engine (`ops::scoring::score_sheet`) and written with one
//! revision-guarded update of the sheet, an update of each indicator that changed and one row
//! of its history, in the transaction of `run_mutation` (audited, idempotent by request id).
//! SaveSelfEvaluation on PostgreSQL is decided the same way and written in a batch with the
//! saves arriving meanwhile ([`super::saves`], group commit).
//!
//! The project's choices:
//! * The caller's role is checked before anything of the request is read (PERMISSION_DENIED);
//!   a sheet outside the caller's scope answers NOT_FOUND `SHEET_NOT_FOUND`, as one that does
//!   not exist.
//! * **Save**: each entry replaces its indicator's earlier one (by `seq`; the others keep
//!   theirs); the execution reason and the summary replace the earlier texts. The engine scores
//!   the sheet on every save and the answer carries the score with its explanation. An entry's
//!   problems are INVALID_ARGUMENT on `entries[<seq>].<field>`, every one at once.
//! * **Submit** re-scores the saved entries (the campaign's pinned rules, the sheet's current
//!   figures) and refuses gaps with FAILED_PRECONDITION `SHEET_INCOMPLETE`
//!   ([`crate::domain::completeness`]).
//! * A return keeps the reason on the sheet (`return_reason`) until the next return.

use chrono::NaiveDate;
use pbm_auth::Role as AuthRole;
use pbm_db::{AnyConnection, Money};
use pbm_proto::evaluation::v1 as ev;
use pbm_server::{ApiError, Effect, ErrorKind, MutationContext, run_mutation};
use pbm_types::FieldViolation;

use super::authorise;
use super::scoring::{rules_of, score_sheet};
use crate::convert::limits;
use crate::convert::scores::tier_word;
use crate::convert::sheets::{ACHIEVED_NUMBER, DeadlineView, entries_from, sheet_to};
use crate::domain::access::{ListFilter, SheetRef, Viewer, list_filter};
use crate::domain::completeness::{IndicatorFacts, SHEET_INCOMPLETE, SheetFacts, gaps};
use crate::domain::deadline;
use crate::domain::table::EntryInput;
use crate::domain::workflow::{SheetStatus, Step, StepContext, Transition, WorkflowError, apply};
use crate::state::AppState;
use crate::store::{self, CampaignFacts, SheetEventRow, SheetIndicatorRow, SheetRow};

/// Who reads sheets (docs/EVALUATION.md "Roles").
pub(crate) const READERS: &[AuthRole] = &[
    AuthRole::FinanceAdmin,
    AuthRole::Department,
    AuthRole::BudgetUnit,
    AuthRole::Auditor,
    AuthRole::Agency,
];
/// Who fills sheets (save, submit, import).
pub(crate) const FILLERS: &[AuthRole] = &[AuthRole::BudgetUnit, AuthRole::Department];

impl From<WorkflowError> for ApiError {
    fn from(e: WorkflowError) -> Self {
        let message = e.to_string();
        let (kind, field) = match &e {
            WorkflowError::StaleRevision { .. } => (ErrorKind::Aborted, Some("expected_revision")),
            WorkflowError::RoleNotAllowed { .. } | WorkflowError::NotTheFiller { .. } => {
                (ErrorKind::PermissionDenied, None)
            }
            WorkflowError::CampaignClosed
            | WorkflowError::CampaignLocked { .. }
            | WorkflowError::IllegalTransition { .. } => (ErrorKind::FailedPrecondition, None),
            WorkflowError::ReasonRequired => (ErrorKind::InvalidArgument, Some("reason")),
        };
        let error = ApiError::new(kind, e.reason(), message.clone());
        match field {
            Some(f) => error.with_violation(f, message),
            None => error,
        }
    }
}

pub(crate) fn sheet_not_found(id: i64) -> ApiError {
    ApiError::not_found("SHEET_NOT_FOUND", format!("自评表 {id} 不存在"))
}

pub(crate) fn sheet_ref<'a>(row: &'a SheetRow, commissioned: Option<&'a str>) -> SheetRef<'a> {
    SheetRef {
        agency_code: &row.agency_code,
        department_code: &row.department_code,
        commissioned_agency: commissioned,
    }
}

/// Whether `v` may read `row`; an agency is checked against the spot checks commissioned to it.
pub(crate) fn readable(
    conn: &mut AnyConnection,
    v: &Viewer,
    row: &SheetRow,
) -> Result<bool, ApiError> {
    let scope = list_filter(v);
    let commissioned = match &scope {
        ListFilter::Agency(id) => store::commissioned_to(conn, row.id, id)?.then_some(id.as_str()),
        _ => None,
    };
    Ok(scope.matches(&sheet_ref(row, commissioned)))
}

/// Sheet `id` with its campaign and unit deadline if `v` may read it; NOT_FOUND otherwise.
pub(crate) fn visible_sheet(
    conn: &mut AnyConnection,
    v: &Viewer,
    id: i64,
) -> Result<(SheetRow, CampaignFacts, Option<NaiveDate>), ApiError> {
    match store::sheet_in_context(conn, id)? {
        Some((row, campaign, unit)) if readable(conn, v, &row)? => Ok((row, campaign, unit)),
        _ => Err(sheet_not_found(id)),
    }
}

/// The effective deadline: the unit's reopened one, else the campaign's.
pub(crate) fn effective_deadline(campaign: &CampaignFacts, unit: Option<NaiveDate>) -> NaiveDate {
    deadline::effective_deadline(campaign.deadline, unit)
}

/// Where a sheet in `status` stands against its deadline on `today`, on the wire
/// ([`crate::domain::deadline::deadline_status`]).
pub(crate) fn deadline_status(
    status: SheetStatus,
    today: NaiveDate,
    deadline: NaiveDate,
    lead_days: i32,
) -> ev::DeadlineStatus {
    match deadline::deadline_status(status.as_db(), today, deadline, lead_days) {
        deadline::DeadlineStatus::Normal => ev::DeadlineStatus::Normal,
        deadline::DeadlineStatus::DueSoon => ev::DeadlineStatus::DueSoon,
        deadline::DeadlineStatus::Overdue => ev::DeadlineStatus::Overdue,
        deadline::DeadlineStatus::Submitted => ev::DeadlineStatus::Submitted,
    }
}

pub(crate) fn status_of(row: &SheetRow) -> Result<SheetStatus, ApiError> {
    SheetStatus::from_db(&row.status)
        .ok_or_else(|| ApiError::internal(format!("sheet status {}", row.status)))
}

/// The sheet as the answer shows it, with its indicators.
pub(crate) fn message(
    row: &SheetRow,
    indicators: &[SheetIndicatorRow],
    campaign: &CampaignFacts,
    unit: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<ev::SelfEvaluation, ApiError> {
    let deadline = effective_deadline(campaign, unit);
    let view = DeadlineView {
        status: deadline_status(status_of(row)?, today, deadline, campaign.lead_days),
        deadline,
    };
    Ok(sheet_to(row, campaign.fiscal_year, Some(indicators), view))
}

fn step_context(
    row: &SheetRow,
    campaign: &CampaignFacts,
    unit: Option<NaiveDate>,
    today: NaiveDate,
) -> StepContext {
    StepContext {
        today,
        deadline: effective_deadline(campaign, unit),
        campaign_deadline: campaign.deadline,
        closed: campaign.status == "closed",
        department_whole: row.subject_key.starts_with("DEPT:"),
    }
}

/// What a save changes: the entries (by seq) and the sheet's two texts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Edit {
    pub entries: Vec<EntryInput>,
    pub execution_reason: String,
    pub summary: String,
}

/// Puts `entries` on the sheet's indicators: every seq one of them, once; a tier and a
/// qualitative score only for a 定性 indicator; a ≥ ≤ = indicator's achieved value at most
/// [`ACHIEVED_NUMBER`] characters (that it is a number is the engine's check, on the same
/// field). Every problem at once, on `entries[<seq>].<field>`.
pub(crate) fn put_entries(
    indicators: &mut [SheetIndicatorRow],
    entries: &[EntryInput],
) -> Result<(), Vec<FieldViolation>> {
    let mut bad = Vec::new();
    let mut seen = Vec::with_capacity(entries.len());
    for e in entries {
        let at = |f: &str| format!("entries[{}].{f}", e.seq);
        let Some(row) = indicators.iter_mut().find(|r| r.seq == e.seq) else {
            bad.push(FieldViolation::new(
                at("seq"),
                "INDICATOR_NOT_FOUND",
                format!("自评表中没有序号为 {} 的指标", e.seq),
            ));
            continue;
        };
        if seen.contains(&e.seq) {
            bad.push(FieldViolation::new(
                at("seq"),
                "INDICATOR_DUPLICATE",
                format!("指标 {} 填报了不止一次", e.seq),
            ));
            continue;
        }
        seen.push(e.seq);
        let qualitative = row.direction == "qualitative";
        if !qualitative && (e.tier.is_some() || e.qualitative_score.is_some()) {
            bad.push(FieldViolation::new(
                at("tier"),
                "TIER_NOT_ALLOWED",
                format!("指标「{}」不是定性指标，不能选择档次或打分", row.name),
            ));
        }
        if !qualitative && e.achieved_value.chars().count() > ACHIEVED_NUMBER {
            bad.push(FieldViolation::new(
                at("achieved_value"),
                "ACHIEVED_VALUE_INVALID",
                format!(
                    "指标「{}」的实际完成值应为数字（至多{ACHIEVED_NUMBER}个字符）",
                    row.name
                ),
            ));
        }
        row.achieved_value = e.achieved_value.clone();
        row.tier = e.tier.map_or("", tier_word).to_owned();
        row.qualitative_score = e.qualitative_score.map(Money);
        row.not_applicable = e.not_applicable;
        row.not_applicable_reason = e.not_applicable_reason.clone();
        row.deviation_causes = e.deviation_causes.clone();
        row.improvement_measures = e.improvement_measures.clone();
    }
    if bad.is_empty() { Ok(()) } else { Err(bad) }
}

/// Completeness of a scored sheet (FAILED_PRECONDITION `SHEET_INCOMPLETE`, every gap).
fn complete(
    row: &SheetRow,
    indicators: &[SheetIndicatorRow],
    needs_execution_reason: bool,
) -> Result<(), ApiError> {
    let facts = SheetFacts {
        indicators: indicators
            .iter()
            .map(|i| IndicatorFacts {
                seq: i.seq,
                name: &i.name,
                qualitative: i.direction == "qualitative",
                achieved_value: &i.achieved_value,
                tier_given: !i.tier.is_empty(),
                score_given: i.qualitative_score.is_some(),
                not_applicable: i.not_applicable,
                not_applicable_reason: &i.not_applicable_reason,
                deviates: i.deviates,
                deviation_causes: &i.deviation_causes,
                improvement_measures: &i.improvement_measures,
            })
            .collect(),
        needs_execution_reason,
        execution_reason: &row.execution_reason,
        summary: &row.summary,
    };
    let found = gaps(&facts);
    if found.is_empty() {
        return Ok(());
    }
    let mut e = ApiError::failed_precondition(
        SHEET_INCOMPLETE,
        format!(
            "自评表尚不完整，有 {} 处需要补充：{}",
            found.len(),
            found
                .iter()
                .map(|v| v.message.as_str())
                .collect::<Vec<_>>()
                .join("；")
        ),
    );
    e.violations = found;
    Err(e)
}

/// Scores the sheet with its campaign's rules and puts the figures on its row.
fn rescore(
    conn: &mut AnyConnection,
    row: &mut SheetRow,
    campaign: &CampaignFacts,
    indicators: &mut [SheetIndicatorRow],
) -> Result<bool, ApiError> {
    let rules = rules_of(conn, campaign.fiscal_year, campaign.rules_version)?;
    let s = score_sheet(&rules, &row.budget, &row.executed, indicators)?;
    row.total = s.total;
    row.grade = s.grade;
    row.execution_rate = s.execution_rate;
    row.score = s.json;
    Ok(s.score.needs_reason)
}

/// Writes step `t` on `row` (its indicators `now`, of which only those differing from `before`
/// are written) and its history row; STALE_REVISION when another writer got there first.
fn commit(
    conn: &mut AnyConnection,
    row: &mut SheetRow,
    t: &Transition,
    before: &[SheetIndicatorRow],
    now: &[SheetIndicatorRow],
    reason: &str,
    by: &str,
) -> Result<(), ApiError> {
    let (expected, changed, event) = stage(row, t, before, now, reason, by);
    write_staged(conn, row, expected, &changed, &event)
}

/// Puts step `t` on `row` (status, revision, stamps) and works out its write: the revision it
/// is guarded by, the indicators of `now` differing from `before`, and its history row.
fn stage(
    row: &mut SheetRow,
    t: &Transition,
    before: &[SheetIndicatorRow],
    now: &[SheetIndicatorRow],
    reason: &str,
    by: &str,
) -> (i64, Vec<SheetIndicatorRow>, SheetEventRow) {
    let expected = row.revision;
    row.status = t.to.as_db().to_owned();
    row.revision = t.revision;
    row.changed_by = by.to_owned();
    row.changed_at = pbm_db::now();
    let changed: Vec<SheetIndicatorRow> = now
        .iter()
        .filter(|r| !before.iter().any(|b| b == *r))
        .cloned()
        .collect();
    let event = SheetEventRow {
        sheet_id: row.id,
        revision: row.revision,
        action: t.action().to_owned(),
        from_status: t.from.as_db().to_owned(),
        to_status: t.to.as_db().to_owned(),
        reason: reason.to_owned(),
        total: row.total,
        grade: row.grade.clone(),
        at_by: by.to_owned(),
        at: row.changed_at,
    };
    (expected, changed, event)
}

/// The sheet moved since the step was decided on it at revision `expected`.
pub(crate) fn stale(expected: i64) -> ApiError {
    WorkflowError::StaleRevision {
        expected,
        actual: expected + 1,
    }
    .into()
}

/// One revision-guarded update of the sheet, one of its changed indicators, one history row.
fn write_staged(
    conn: &mut AnyConnection,
    row: &SheetRow,
    expected: i64,
    changed: &[SheetIndicatorRow],
    event: &SheetEventRow,
) -> Result<(), ApiError> {
    if !store::update_sheet(conn, row, expected)? {
        return Err(stale(expected));
    }
    let changed: Vec<&SheetIndicatorRow> = changed.iter().collect();
    store::update_indicators(conn, &changed)?;
    store::append_event(conn, event)?;
    Ok(())
}

/// A save's write, decided: the sheet's new row guarded by the revision read (`expected`), its
/// changed indicators and its history row.
pub(crate) struct SheetWrite {
    pub row: SheetRow,
    pub expected: i64,
    pub changed: Vec<SheetIndicatorRow>,
    pub event: SheetEventRow,
}

/// A save decided and scored, not yet written.
pub(crate) struct PlannedSave {
    pub row: SheetRow,
    pub transition: Transition,
    pub before: Vec<SheetIndicatorRow>,
    pub now: Vec<SheetIndicatorRow>,
}

/// Decides a save of `edit` on the sheet `row` (read with `campaign` and `unit`) by `v` at
/// `expected_revision`: the step, the entries, the score. Shared by SaveSelfEvaluation and
/// ImportSelfEvaluations (which checks a whole workbook this way before writing anything when
/// asked to validate only).
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan_save(
    conn: &mut AnyConnection,
    v: &Viewer,
    row: SheetRow,
    campaign: &CampaignFacts,
    unit: Option<NaiveDate>,
    edit: &Edit,
    expected_revision: i64,
    today: NaiveDate,
) -> Result<PlannedSave, ApiError> {
    let transition = apply(
        status_of(&row)?,
        row.revision,
        &Step::Save,
        v.role,
        expected_revision,
        &step_context(&row, campaign, unit, today),
    )?;
    let before = store::sheet_indicators(conn, row.id)?;
    plan_edit(conn, row, campaign, transition, before, edit)
}

/// The rest of [`plan_save`] once the step is allowed: the entries on the indicators `before`,
/// the texts, the score.
fn plan_edit(
    conn: &mut AnyConnection,
    mut row: SheetRow,
    campaign: &CampaignFacts,
    transition: Transition,
    before: Vec<SheetIndicatorRow>,
    edit: &Edit,
) -> Result<PlannedSave, ApiError> {
    let mut now = before.clone();
    put_entries(&mut now, &edit.entries).map_err(ApiError::validation)?;
    row.execution_reason = edit.execution_reason.clone();
    row.summary = edit.summary.clone();
    rescore(conn, &mut row, campaign, &mut now)?;
    Ok(PlannedSave {
        row,
        transition,
        before,
        now,
    })
}

/// Writes a planned save.
pub(crate) fn write_save(
    conn: &mut AnyConnection,
    p: PlannedSave,
    by: &str,
) -> Result<(SheetRow, Vec<SheetIndicatorRow>), ApiError> {
    let PlannedSave {
        mut row,
        transition,
        before,
        now,
    } = p;
    commit(conn, &mut row, &transition, &before, &now, "", by)?;
    Ok((row, now))
}

/// What a save reads: the sheet in its context and its indicators by seq.
pub(crate) type SaveFound = (store::SheetInContext, Vec<SheetIndicatorRow>);

/// SaveSelfEvaluation (see the module doc): in the transaction of `run_mutation` on SQLite,
/// batched with concurrent saves on PostgreSQL ([`super::saves`]).
pub async fn save(
    state: &AppState,
    ctx: MutationContext,
    m: ev::SaveSelfEvaluationRequest,
) -> Result<ev::SaveSelfEvaluationResponse, ApiError> {
    if state.saves.is_some() {
        return super::saves::run(state, ctx, m).await;
    }
    let st = state.clone();
    let entity = ("evaluation_sheet", m.self_evaluation_id.to_string());
    run_mutation(&state.db, ctx, entity, move |conn, ctx| {
        let (effect, w) = decide_save(conn, &st, ctx, &m, |conn| {
            let Some(found) = store::sheet_in_context(conn, m.self_evaluation_id)? else {
                return Ok(None);
            };
            let indicators = store::sheet_indicators(conn, found.0.id)?;
            Ok(Some((found, indicators)))
        })?;
        write_staged(conn, &w.row, w.expected, &w.changed, &w.event)?;
        Ok(effect)
    })
    .await
}

/// Decides save `m` by `ctx`'s caller: authorised first, the request checked, then the sheet
/// that `found` reads (NOT_FOUND when absent or out of the caller's scope), the step, the
/// entries and the score. Returns the answer and the write, not yet done.
pub(crate) fn decide_save(
    conn: &mut AnyConnection,
    st: &AppState,
    ctx: &MutationContext,
    m: &ev::SaveSelfEvaluationRequest,
    found: impl FnOnce(&mut AnyConnection) -> Result<Option<SaveFound>, ApiError>,
) -> Result<(Effect<ev::SaveSelfEvaluationResponse>, SheetWrite), ApiError> {
    let v = authorise(&ctx.caller, st, FILLERS, true)?;
    limits::check(m)?;
    if m.entries.len() > 200 {
        return Err(ApiError::invalid_field(
            "TOO_MANY_ENTRIES",
            "entries",
            "一次最多保存 200 条指标的填报",
        ));
    }
    let entries = entries_from(&m.entries).map_err(ApiError::validation)?;
    let today = st.today();
    let ((row, campaign, unit), before) = match found(conn)? {
        Some(f) if readable(conn, &v, &f.0.0)? => f,
        _ => return Err(sheet_not_found(m.self_evaluation_id)),
    };
    let edit = Edit {
        entries,
        execution_reason: m.execution_reason.trim().to_owned(),
        summary: m.summary.trim().to_owned(),
    };
    let transition = apply(
        status_of(&row)?,
        row.revision,
        &Step::Save,
        v.role,
        m.expected_revision,
        &step_context(&row, &campaign, unit, today),
    )?;
    let PlannedSave {
        mut row,
        transition,
        before,
        now,
    } = plan_edit(conn, row, &campaign, transition, before, &edit)?;
    let (expected, changed, event) = stage(
        &mut row,
        &transition,
        &before,
        &now,
        "",
        &ctx.caller.subject,
    );
    let sheet = message(&row, &now, &campaign, unit, today)?;
    let effect = Effect {
        response: ev::SaveSelfEvaluationResponse {
            self_evaluation: Some(sheet),
        },
        entity_type: "evaluation_sheet",
        entity_id: row.id.to_string(),
        detail: format!(
            "save {}: {} entries, total {} {}",
            row.subject_key,
            edit.entries.len(),
            row.total.0,
            row.grade
        ),
    };
    Ok((
        effect,
        SheetWrite {
            row,
            expected,
            changed,
            event,
        },
    ))
}

/// Submit, review, receive: decided on one read, written with one guarded update.
async fn step(
    state: &AppState,
    ctx: MutationContext,
    id: i64,
    expected_revision: i64,
    step: Step,
    roles: &'static [AuthRole],
    bounds: Result<(), ApiError>,
) -> Result<ev::SelfEvaluation, ApiError> {
    let st = state.clone();
    run_mutation(
        &state.db,
        ctx,
        ("evaluation_sheet", id.to_string()),
        move |conn, ctx| {
            let v = authorise(&ctx.caller, &st, roles, true)?;
            bounds?;
            let today = st.today();
            let (mut row, campaign, unit) = visible_sheet(conn, &v, id)?;
            let t = apply(
                status_of(&row)?,
                row.revision,
                &step,
                v.role,
                expected_revision,
                &step_context(&row, &campaign, unit, today),
            )?;
            let before = store::sheet_indicators(conn, row.id)?;
            let mut now = before.clone();
            let mut reason = String::new();
            match &step {
                Step::Submit => {
                    let needs_reason = rescore(conn, &mut row, &campaign, &mut now)?;
                    complete(&row, &now, needs_reason)?;
                    row.submitted_by = Some(ctx.caller.subject.clone());
                    row.submitted_at = Some(pbm_db::now());
                    row.late = t.late;
                }
                Step::Review { reason: r, .. } | Step::Receive { reason: r, .. } => {
                    reason = r.trim().to_owned();
                    if t.to == SheetStatus::Returned {
                        row.return_reason = reason.clone();
                    }
                }
                Step::Save => {}
            }
            commit(
                conn,
                &mut row,
                &t,
                &before,
                &now,
                &reason,
                &ctx.caller.subject,
            )?;
            let sheet = message(&row, &now, &campaign, unit, today)?;
            Ok(Effect {
                response: sheet,
                entity_type: "evaluation_sheet",
                entity_id: row.id.to_string(),
                detail: format!(
                    "{} {}: {} → {}",
                    t.action(),
                    row.subject_key,
                    t.from.as_db(),
                    t.to.as_db()
                ),
            })
        },
    )
    .await
}

pub async fn submit(
    state: &AppState,
    ctx: MutationContext,
    m: ev::SubmitSelfEvaluationRequest,
) -> Result<ev::SubmitSelfEvaluationResponse, ApiError> {
    let sheet = step(
        state,
        ctx,
        m.self_evaluation_id,
        m.expected_revision,
        Step::Submit,
        FILLERS,
        Ok(()),
    )
    .await?;
    Ok(ev::SubmitSelfEvaluationResponse {
        self_evaluation: Some(sheet),
    })
}

pub async fn review(
    state: &AppState,
    ctx: MutationContext,
    m: ev::ReviewSelfEvaluationRequest,
) -> Result<ev::ReviewSelfEvaluationResponse, ApiError> {
    let bounds = limits::check(&m);
    let s = Step::Review {
        pass: m.pass,
        reason: m.reason.clone(),
    };
    let sheet = step(
        state,
        ctx,
        m.self_evaluation_id,
        m.expected_revision,
        s,
        &[AuthRole::Department],
        bounds,
    )
    .await?;
    Ok(ev::ReviewSelfEvaluationResponse {
        self_evaluation: Some(sheet),
    })
}

pub async fn receive(
    state: &AppState,
    ctx: MutationContext,
    m: ev::ReceiveSelfEvaluationRequest,
) -> Result<ev::ReceiveSelfEvaluationResponse, ApiError> {
    let bounds = limits::check(&m);
    let s = Step::Receive {
        accept: m.accept,
        reason: m.reason.clone(),
    };
    let sheet = step(
        state,
        ctx,
        m.self_evaluation_id,
        m.expected_revision,
        s,
        &[AuthRole::FinanceAdmin],
        bounds,
    )
    .await?;
    Ok(ev::ReceiveSelfEvaluationResponse {
        self_evaluation: Some(sheet),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pbm_types::Decimal;

    fn indicator(seq: i32, direction: &str) -> SheetIndicatorRow {
        SheetIndicatorRow {
            sheet_id: 1,
            seq,
            level1_name: "产出指标".into(),
            level2_name: "数量指标".into(),
            name: format!("指标{seq}"),
            direction: direction.into(),
            unit: "处".into(),
            target_value: "12".into(),
            goal_weight: None,
            achieved_value: String::new(),
            tier: String::new(),
            qualitative_score: None,
            not_applicable: false,
            not_applicable_reason: String::new(),
            deviation_causes: String::new(),
            improvement_measures: String::new(),
            weight: Money(Decimal::ZERO),
            points: Money(Decimal::ZERO),
            applicable: true,
            deviates: false,
        }
    }

    #[test]
    fn entries_replace_their_indicators_and_every_problem_is_named_by_seq() {
        let mut rows = vec![indicator(1, "ge"), indicator(2, "qualitative")];
        rows[1].deviation_causes = "earlier".into();
        let entries = vec![EntryInput {
            seq: 1,
            achieved_value: "12".into(),
            ..Default::default()
        }];
        put_entries(&mut rows, &entries).unwrap();
        assert_eq!(rows[0].achieved_value, "12");
        // The indicator not named keeps its entry.
        assert_eq!(rows[1].deviation_causes, "earlier");
        let bad = vec![
            EntryInput {
                seq: 1,
                achieved_value: "1".repeat(65),
                tier: Some(pbm_scoring::Tier::Achieved),
                ..Default::default()
            },
            EntryInput {
                seq: 1,
                ..Default::default()
            },
            EntryInput {
                seq: 9,
                ..Default::default()
            },
        ];
        let found: Vec<(String, &str)> = put_entries(&mut rows, &bad)
            .unwrap_err()
            .into_iter()
            .map(|v| (v.field, v.reason))
            .collect();
        assert_eq!(
            found,
            [
                ("entries[1].tier".to_owned(), "TIER_NOT_ALLOWED"),
                (
                    "entries[1].achieved_value".to_owned(),
                    "ACHIEVED_VALUE_INVALID"
                ),
                ("entries[1].seq".to_owned(), "INDICATOR_DUPLICATE"),
                ("entries[9].seq".to_owned(), "INDICATOR_NOT_FOUND"),
            ]
        );
    }

    #[test]
    fn deadline_statuses() {
        let d = |day| NaiveDate::from_ymd_opt(2027, 3, day).unwrap();
        let s = |status, today| deadline_status(status, d(today), d(31), 5);
        assert_eq!(s(SheetStatus::Draft, 25), ev::DeadlineStatus::Normal);
        assert_eq!(s(SheetStatus::Draft, 26), ev::DeadlineStatus::DueSoon);
        assert_eq!(s(SheetStatus::NotStarted, 31), ev::DeadlineStatus::DueSoon);
        assert_eq!(
            deadline_status(SheetStatus::Returned, d(31).succ_opt().unwrap(), d(31), 5),
            ev::DeadlineStatus::Overdue
        );
        assert_eq!(s(SheetStatus::Reviewed, 1), ev::DeadlineStatus::Submitted);
    }
}
