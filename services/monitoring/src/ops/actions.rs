//! Corrective actions (整改纠偏, docs/drafts/MONITORING.md §1 "Corrective action"; docs/DOMAIN.md
//! "Deviation causes and completeness": deviations are gathered into a list with corrective
//! actions, each tracked until it is closed). Finance or the subject's department creates an
//! action; the owner unit or its department moves it OPEN → IN_PROGRESS → DONE (with a
//! completion note); finance verifies it (DONE → VERIFIED) or sends it back to IN_PROGRESS with
//! comments. `overdue` and `late` are computed when shown ([`crate::convert::deviations::action_to`]).

use chrono::NaiveDate;
use pbm_auth::{Caller, Role};
use pbm_proto::monitoring::v1 as mon;
use pbm_server::{ApiError, Effect, ErrorKind, FieldViolation, MutationContext, run_mutation};

use super::{authorise, page_of, round_of, subject_in_view, subject_not_found, subject_ref};
use crate::convert::deviations::{action_status_word, action_to};
use crate::convert::limits;
use crate::domain::access::{Viewer, can_create_action, can_update_action, list_filter};
use crate::domain::actions::{ActionState, ActionStatus, ActionStep, apply};
use crate::state::AppState;
use crate::store::{self, ActionRow};

/// The rule's length of a description, a completion note and comments (docs/drafts/MONITORING.md
/// §3 "Limits": narratives, comments and reasons at most 2,000).
pub(crate) const RULE_TEXT: usize = 2000;

/// A required text of at most [`RULE_TEXT`] characters, trimmed; the violation otherwise.
pub(crate) fn required_text(
    field: &str,
    label: &str,
    reason: &'static str,
    value: &str,
) -> Result<String, FieldViolation> {
    required_within(field, label, reason, value, RULE_TEXT)
}

/// A required text of at most `max` characters, trimmed; the violation otherwise (`reason`
/// when empty, `TEXT_TOO_LONG` when over).
pub(crate) fn required_within(
    field: &str,
    label: &str,
    reason: &'static str,
    value: &str,
    max: usize,
) -> Result<String, FieldViolation> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldViolation::new(
            field,
            reason,
            format!("请填写{label}（{reason}）"),
        ));
    }
    match pbm_types::check_len(field, label, v, max) {
        Some(too_long) => Err(too_long),
        None => Ok(v.to_owned()),
    }
}

fn action_not_found(id: i64) -> ApiError {
    ApiError::not_found(
        "ACTION_NOT_FOUND",
        format!("整改措施 {id} 不存在（ACTION_NOT_FOUND）"),
    )
}

pub(crate) fn stale(what: &str, expected: i64, actual: i64) -> ApiError {
    ApiError::new(
        ErrorKind::Aborted,
        "STALE_REVISION",
        format!(
            "{what}已被他人修改（您读取的版本 {expected}，当前版本 {actual}），请刷新后重试（STALE_REVISION）"
        ),
    )
    .with_violation(
        "expected_revision",
        format!("expected {expected}, current {actual}"),
    )
}

fn parse_date(field: &str, label: &str, text: &str) -> Result<NaiveDate, FieldViolation> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2100).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| {
            FieldViolation::new(
                field,
                "DATE_INVALID",
                format!("{label}「{text}」应为 2000–2100 年间的 YYYY-MM-DD（DATE_INVALID）"),
            )
        })
}

/// CreateCorrectiveAction: finance, or the department of the subject.
pub async fn create(
    state: &AppState,
    ctx: MutationContext,
    m: mon::CreateCorrectiveActionRequest,
) -> Result<mon::CreateCorrectiveActionResponse, ApiError> {
    let v = authorise(
        &ctx.caller,
        state,
        &[Role::FinanceAdmin, Role::Department],
        true,
    )?;
    limits::check(&m)?;
    let today = state.today();
    let mut problems = Vec::new();
    let description = required_text(
        "description",
        "整改措施",
        "DESCRIPTION_REQUIRED",
        &m.description,
    )
    .map_err(|e| problems.push(e))
    .ok();
    let due_on = match parse_date("due_on", "整改期限", &m.due_on) {
        Ok(d) if d < today => {
            problems.push(FieldViolation::new(
                "due_on",
                "DUE_ON_PAST",
                format!("整改期限不能早于今天（{today}）（DUE_ON_PAST）"),
            ));
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    if m.seq < 0 {
        problems.push(FieldViolation::new(
            "seq",
            "SEQ_INVALID",
            "指标序号不能为负（SEQ_INVALID）",
        ));
    }
    ApiError::check(problems)?;
    let (Some(description), Some(due_on)) = (description, due_on) else {
        return Err(ApiError::internal("unreachable"));
    };
    let key = m.subject_key.trim().to_owned();
    let (round_id, seq) = (m.round_id, m.seq);
    let owner = m.owner_agency_code.trim().to_owned();
    let contact = m.contact.trim().to_owned();
    run_mutation(
        &state.db,
        ctx,
        ("corrective_action", format!("{round_id}/{key}")),
        move |conn, ctx| {
            round_of(conn, round_id)?;
            let scope = list_filter(&v);
            let subject = subject_in_view(conn, &scope, round_id, &key)?;
            if !can_create_action(&v, &subject_ref(&subject, None)) {
                return Err(subject_not_found(round_id, &key));
            }
            if seq > 0
                && !store::indicators_of(conn, round_id, Some(std::slice::from_ref(&key)))?
                    .get(&key)
                    .is_some_and(|list| list.iter().any(|i| i.seq == seq))
            {
                return Err(ApiError::invalid_field(
                    "SEQ_NOT_FOUND",
                    "seq",
                    format!("监控对象「{key}」没有序号为 {seq} 的指标（SEQ_NOT_FOUND）"),
                ));
            }
            // The owner: the subject's unit, or another unit of the round in its department.
            let owner = if owner.is_empty() || owner == subject.agency_code {
                subject.agency_code.clone()
            } else {
                match store::unit(conn, round_id, &owner)? {
                    Some(u) if u.department_code == subject.department_code => owner,
                    _ => {
                        return Err(ApiError::invalid_field(
                            "OWNER_NOT_IN_DEPARTMENT",
                            "owner_agency_code",
                            format!(
                                "责任单位「{owner}」不是本轮次中部门「{}」的预算单位（OWNER_NOT_IN_DEPARTMENT）",
                                subject.department_code
                            ),
                        ));
                    }
                }
            };
            let now = pbm_db::now();
            let mut row = ActionRow {
                id: 0,
                round_id,
                subject_key: key.clone(),
                seq,
                description,
                owner_agency_code: owner,
                department_code: subject.department_code.clone(),
                contact,
                due_on,
                status: "open".into(),
                completion_note: String::new(),
                comments: String::new(),
                done_on: None,
                revision: 1,
                created_by: ctx.caller.subject.clone(),
                created_at: now,
                changed_by: ctx.caller.subject.clone(),
                changed_at: now,
            };
            row.id = store::insert_action(conn, &row)?;
            Ok(Effect {
                response: mon::CreateCorrectiveActionResponse {
                    action: Some(action_to(&row, today)),
                },
                entity_type: "corrective_action",
                entity_id: row.id.to_string(),
                detail: format!(
                    "round {round_id} subject {key} seq {seq} owner {} due {due_on}",
                    row.owner_agency_code
                ),
            })
        },
    )
    .await
}

/// The action's state as the pure rules see it (its revision as stored; late once done after
/// its due day).
fn state_of(a: &ActionRow) -> Result<ActionState, ApiError> {
    Ok(ActionState {
        status: ActionStatus::from_db(&a.status)
            .ok_or_else(|| ApiError::internal(format!("action {} status {}", a.id, a.status)))?,
        revision: u64::try_from(a.revision).unwrap_or(0),
        late: a.done_on.is_some_and(|d| d > a.due_on),
    })
}

/// Applies `step` by `v` to the action `id` read at `expected` (domain::actions), within the
/// caller's scope (NOT_FOUND outside it), and writes it guarded by its revision; finance's
/// `comments` on a verification are kept with it.
fn step(
    conn: &mut pbm_db::AnyConnection,
    ctx: &MutationContext,
    v: &Viewer,
    (id, expected): (i64, i64),
    step: &ActionStep,
    comments: &str,
    today: NaiveDate,
) -> Result<(ActionRow, String), ApiError> {
    let mut row = store::action(conn, id)?
        .filter(|a| can_update_action(v, &a.owner_agency_code, &a.department_code))
        .ok_or_else(|| action_not_found(id))?;
    let t = apply(
        &state_of(&row)?,
        step,
        v.role,
        u64::try_from(expected).unwrap_or(u64::MAX),
        today,
        row.due_on,
    )
    .map_err(ApiError::from)?;
    row.status = t.to.status.as_db().into();
    match step {
        ActionStep::Complete { note } => {
            row.completion_note = note.trim().to_owned();
            row.done_on = Some(today);
        }
        ActionStep::SendBack { comments } => row.comments = comments.trim().to_owned(),
        ActionStep::Verify if !comments.is_empty() => row.comments = comments.to_owned(),
        ActionStep::Verify | ActionStep::Start => {}
    }
    row.revision += 1;
    row.changed_by = ctx.caller.subject.clone();
    row.changed_at = pbm_db::now();
    if !store::update_action(conn, &row, expected)? {
        return Err(stale("整改措施", expected, expected + 1));
    }
    Ok((
        row,
        format!("{} -> {}", t.from.as_db(), t.to.status.as_db()),
    ))
}

/// UpdateCorrectiveAction: the owner unit or its department, OPEN → IN_PROGRESS → DONE (a
/// completion note required).
pub async fn update(
    state: &AppState,
    ctx: MutationContext,
    m: mon::UpdateCorrectiveActionRequest,
) -> Result<mon::UpdateCorrectiveActionResponse, ApiError> {
    let v = authorise(
        &ctx.caller,
        state,
        &[Role::Department, Role::BudgetUnit],
        true,
    )?;
    limits::check(&m)?;
    let action = match action_status_word(m.status) {
        Some("in_progress") => ActionStep::Start,
        Some("done") => ActionStep::Complete {
            note: required_text(
                "completion_note",
                "完成情况",
                "COMPLETION_NOTE_REQUIRED",
                &m.completion_note,
            )
            .map_err(|v| ApiError::validation(vec![v]))?,
        },
        _ => {
            return Err(ApiError::invalid_field(
                "STATUS_INVALID",
                "status",
                "只能改为「整改中」或「已完成」（STATUS_INVALID）",
            ));
        }
    };
    let today = state.today();
    let (id, expected) = (m.action_id, m.expected_revision);
    run_mutation(
        &state.db,
        ctx,
        ("corrective_action", id.to_string()),
        move |conn, ctx| {
            let (row, detail) = step(conn, ctx, &v, (id, expected), &action, "", today)?;
            Ok(Effect {
                response: mon::UpdateCorrectiveActionResponse {
                    action: Some(action_to(&row, today)),
                },
                entity_type: "corrective_action",
                entity_id: id.to_string(),
                detail,
            })
        },
    )
    .await
}

/// VerifyCorrectiveAction: finance, DONE → VERIFIED, or back to IN_PROGRESS with comments.
pub async fn verify(
    state: &AppState,
    ctx: MutationContext,
    m: mon::VerifyCorrectiveActionRequest,
) -> Result<mon::VerifyCorrectiveActionResponse, ApiError> {
    let v = authorise(&ctx.caller, state, &[Role::FinanceAdmin], true)?;
    limits::check(&m)?;
    let action = if m.accept {
        if let Some(too_long) =
            pbm_types::check_len("comments", "核验意见", m.comments.trim(), RULE_TEXT)
        {
            return Err(ApiError::validation(vec![too_long]));
        }
        ActionStep::Verify
    } else {
        ActionStep::SendBack {
            comments: required_text("comments", "退回意见", "COMMENTS_REQUIRED", &m.comments)
                .map_err(|v| ApiError::validation(vec![v]))?,
        }
    };
    let comments = m.comments.trim().to_owned();
    let today = state.today();
    let (id, expected) = (m.action_id, m.expected_revision);
    run_mutation(
        &state.db,
        ctx,
        ("corrective_action", id.to_string()),
        move |conn, ctx| {
            let (row, detail) = step(conn, ctx, &v, (id, expected), &action, &comments, today)?;
            Ok(Effect {
                response: mon::VerifyCorrectiveActionResponse {
                    action: Some(action_to(&row, today)),
                },
                entity_type: "corrective_action",
                entity_id: id.to_string(),
                detail,
            })
        },
    )
    .await
}

/// ListCorrectiveActions: a round's actions the caller sees (finance and auditors all; a unit
/// those it owns; a department those of its units), filtered as asked.
pub async fn list(
    state: &AppState,
    caller: Caller,
    m: mon::ListCorrectiveActionsRequest,
) -> Result<mon::ListCorrectiveActionsResponse, ApiError> {
    let v = authorise(&caller, state, super::deviations::READERS, false)?;
    limits::check(&m)?;
    let page = page_of(m.page.as_ref())?;
    let status = match m.status {
        0 => None,
        s => Some(action_status_word(s).ok_or_else(|| {
            ApiError::invalid_field("STATUS_INVALID", "status", "整改状态无效（STATUS_INVALID）")
        })?),
    };
    let today = state.today();
    let filter = store::ActionFilter {
        round_id: m.round_id,
        status: status.map(str::to_owned),
        overdue_on: m.overdue_only.then_some(today),
        owner_agency_code: Some(m.owner_agency_code.trim().to_owned()).filter(|c| !c.is_empty()),
        subject_key: Some(m.subject_key.trim().to_owned()).filter(|k| !k.is_empty()),
    };
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            round_of(conn, filter.round_id)?;
            let scope = list_filter(&v);
            let (rows, total) =
                store::list_actions(conn, &filter, &scope, page.offset, page.limit)?;
            Ok(mon::ListCorrectiveActionsResponse {
                actions: rows.iter().map(|a| action_to(a, today)).collect(),
                page: Some(pbm_proto::common::v1::PageResponse {
                    next_page_token: page.next_token(total),
                    total_size: total,
                }),
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_texts_are_trimmed_and_bounded() {
        assert_eq!(
            required_text("f", "说明", "X_REQUIRED", " 有 ").unwrap(),
            "有"
        );
        assert_eq!(
            required_text("f", "说明", "X_REQUIRED", "  ")
                .unwrap_err()
                .reason,
            "X_REQUIRED"
        );
        let long = "字".repeat(RULE_TEXT + 1);
        assert_eq!(
            required_text("f", "说明", "X_REQUIRED", &long)
                .unwrap_err()
                .reason,
            "TEXT_TOO_LONG"
        );
    }
}
