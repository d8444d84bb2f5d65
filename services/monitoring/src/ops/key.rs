//! 重点监控 (docs/DOMAIN.md "Key monitoring (重点监控)"; docs/drafts/MONITORING.md §1 "Key
//! monitoring"): finance marks key subjects (青岛: at least 10 special funds a year; counted, not
//! enforced) and may commission the monitoring of one to an agency drawn from the pool. The
//! unit's own monitoring is never commissioned, but finance's key monitoring is, as evaluation
//! work (docs/DOMAIN.md "What may be commissioned", 财预〔2021〕6号: ENGAGEMENT_KIND_EVALUATION).
//! The commissioned agency reads that subject only and files one report; finance accepts it or
//! returns it with comments.
//!
//! States: MARKED → COMMISSIONED → FILED → ACCEPTED, or FILED → RETURNED → FILED again.

use pbm_auth::{Caller, Role};
use pbm_proto::agency::v1 as ag;
use pbm_proto::monitoring::v1 as mon;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};

use super::actions::{required_text, required_within, stale};
use super::{authorise, page_of, round_of, subject_in_view};
use crate::convert::key::{key_status_word, key_to};
use crate::convert::limits;
use crate::domain::access::{ListFilter, Role as Viewing, Viewer};
use crate::state::AppState;
use crate::store::{self, KeyRow};

/// At most this many findings in a report, each at most [`FINDING_MAX`] characters.
pub const MAX_FINDINGS: usize = 50;
pub const FINDING_MAX: usize = 500;
/// A conclusion at most this long.
pub const CONCLUSION_MAX: usize = 500;
/// A report at most this long.
pub const REPORT_MAX: usize = 4000;

fn key_not_found(round_id: i64, key: &str) -> ApiError {
    ApiError::not_found(
        "KEY_MONITORING_NOT_FOUND",
        format!(
            "监控轮次 {round_id} 中监控对象「{key}」没有重点监控记录（KEY_MONITORING_NOT_FOUND）"
        ),
    )
}

fn illegal(from: &str, action: &str) -> ApiError {
    ApiError::failed_precondition(
        "ILLEGAL_TRANSITION",
        format!("重点监控处于「{from}」状态，不能{action}（ILLEGAL_TRANSITION）"),
    )
}

fn already_commissioned(k: &KeyRow) -> ApiError {
    ApiError::failed_precondition(
        "KEY_ALREADY_COMMISSIONED",
        format!(
            "监控对象「{}」的重点监控已委托第三方机构「{}」（抽取记录 {}）（KEY_ALREADY_COMMISSIONED）",
            k.subject_key, k.agency_id, k.draw_id
        ),
    )
}

fn not_key(key: &str) -> ApiError {
    ApiError::failed_precondition(
        "NOT_KEY",
        format!("监控对象「{key}」未标记为重点监控，不能委托（NOT_KEY）"),
    )
}

/// MarkKeyMonitoring: finance marks (or unmarks, only while not commissioned) a key subject;
/// answers the round's key count after the change.
pub async fn mark(
    state: &AppState,
    ctx: MutationContext,
    m: mon::MarkKeyMonitoringRequest,
) -> Result<mon::MarkKeyMonitoringResponse, ApiError> {
    authorise(&ctx.caller, state, &[Role::FinanceAdmin], true)?;
    limits::check(&m)?;
    let (round_id, key, flag) = (m.round_id, m.subject_key.trim().to_owned(), m.key);
    run_mutation(
        &state.db,
        ctx,
        ("key_monitoring", format!("{round_id}/{key}")),
        move |conn, ctx| {
            round_of(conn, round_id)?;
            subject_in_view(conn, &ListFilter::All, round_id, &key)?;
            let current = store::key_row(conn, round_id, &key)?;
            let now = pbm_db::now();
            let (shown, detail) = match (flag, current) {
                (true, Some(k)) => (key_to(&k), "key already".to_owned()),
                (true, None) => {
                    let row = KeyRow {
                        round_id,
                        subject_key: key.clone(),
                        status: "marked".into(),
                        agency_id: String::new(),
                        draw_id: 0,
                        engagement_id: 0,
                        report: String::new(),
                        conclusion: String::new(),
                        findings: "[]".into(),
                        comments: String::new(),
                        revision: 1,
                        changed_by: ctx.caller.subject.clone(),
                        changed_at: now,
                    };
                    store::insert_key_row(conn, &row)?;
                    store::set_key_flag(conn, round_id, &key, true)?;
                    (key_to(&row), "marked".to_owned())
                }
                (false, Some(k)) if k.status != "marked" => {
                    return Err(ApiError::failed_precondition(
                        "KEY_COMMISSIONED",
                        format!(
                            "监控对象「{key}」的重点监控已委托第三方机构「{}」，不能取消重点监控（KEY_COMMISSIONED）",
                            k.agency_id
                        ),
                    ));
                }
                (false, current) => {
                    if current.is_some() {
                        store::delete_key_row(conn, round_id, &key)?;
                    }
                    store::set_key_flag(conn, round_id, &key, false)?;
                    let shown = mon::KeyMonitoring {
                        round_id,
                        subject_key: key.clone(),
                        changed: Some(pbm_server::wire::stamp(&ctx.caller.subject, now)),
                        ..Default::default()
                    };
                    (shown, "unmarked".to_owned())
                }
            };
            let key_subjects = store::key_subjects(conn, round_id)?;
            Ok(Effect {
                response: mon::MarkKeyMonitoringResponse {
                    key_monitoring: Some(shown),
                    key_subjects,
                },
                entity_type: "key_monitoring",
                entity_id: format!("{round_id}/{key}"),
                detail: format!("{detail}; {key_subjects} key subjects"),
            })
        },
    )
    .await
}

/// CommissionKeyMonitoring: finance draws one agency from the pool for a key subject and
/// records the engagement there, as evaluation work, independent of the subject's unit (the
/// agency service checks it). The agency service is called first with request ids derived from
/// the caller's, so that a retry replays the same draw and engagement; the commission is then
/// recorded in one transaction. A subject commissioned already is not drawn again (a retry of
/// the committed request replays its answer).
pub async fn commission(
    state: &AppState,
    ctx: MutationContext,
    auth: String,
    m: mon::CommissionKeyMonitoringRequest,
) -> Result<mon::CommissionKeyMonitoringResponse, ApiError> {
    authorise(&ctx.caller, state, &[Role::FinanceAdmin], true)?;
    limits::check(&m)?;
    let (round_id, key) = (m.round_id, m.subject_key.trim().to_owned());
    let lookup = key.clone();
    let (round, subject, current) = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let round = round_of(conn, round_id)?;
            let subject = subject_in_view(conn, &ListFilter::All, round_id, &lookup)?;
            let current = store::key_row(conn, round_id, &lookup)?;
            Ok((round, subject, current))
        })
        .await?;
    let Some(current) = current.filter(|_| subject.is_key) else {
        return Err(not_key(&key));
    };
    // Drawn and engaged only while marked; otherwise the transaction below refuses (or replays
    // this very request's answer).
    let engaged = if current.status == "marked" {
        let today = state.today();
        let task_ref: String = format!("key-monitoring/{round_id}/{key}")
            .chars()
            .take(limits::CODE)
            .collect();
        let drawn = state
            .pool
            .draw_agency(
                &auth,
                ag::DrawAgenciesRequest {
                    request_id: format!("{}#draw", ctx.request_id),
                    task_ref,
                    count: 1,
                    evaluated_party: subject.agency_code.clone(),
                    kind: ag::EngagementKind::Evaluation as i32,
                    weighted_by_rating: m.weighted,
                },
            )
            .await?;
        // Key monitoring runs until the fiscal year's end.
        let year_end = chrono::NaiveDate::from_ymd_opt(round.fiscal_year, 12, 31)
            .filter(|d| *d >= today)
            .unwrap_or(today);
        let engagement_id = state
            .pool
            .engage(
                &auth,
                ag::CreateEngagementRequest {
                    request_id: format!("{}#engagement", ctx.request_id),
                    commissioner: state.region.to_string(),
                    evaluated_party: subject.agency_code.clone(),
                    kind: ag::EngagementKind::Evaluation as i32,
                    agency_credit_code: drawn.credit_code.clone(),
                    expert_ids: Vec::new(),
                    started_on: today.to_string(),
                    ended_on: year_end.to_string(),
                },
            )
            .await?;
        Some((drawn, engagement_id))
    } else {
        None
    };
    run_mutation(
        &state.db,
        ctx,
        ("key_monitoring", format!("{round_id}/{key}")),
        move |conn, ctx| {
            let mut row = store::key_row(conn, round_id, &key)?.ok_or_else(|| not_key(&key))?;
            let Some((drawn, engagement_id)) = engaged.filter(|_| row.status == "marked") else {
                return Err(already_commissioned(&row));
            };
            let expected = row.revision;
            row.status = "commissioned".into();
            row.agency_id = drawn.credit_code;
            row.draw_id = drawn.draw_id;
            row.engagement_id = engagement_id;
            row.revision += 1;
            row.changed_by = ctx.caller.subject.clone();
            row.changed_at = pbm_db::now();
            if !store::update_key_row(conn, &row, expected)? {
                return Err(already_commissioned(&row));
            }
            Ok(Effect {
                response: mon::CommissionKeyMonitoringResponse {
                    key_monitoring: Some(key_to(&row)),
                },
                entity_type: "key_monitoring",
                entity_id: format!("{round_id}/{key}"),
                detail: format!(
                    "agency {} draw {} engagement {}",
                    row.agency_id, row.draw_id, row.engagement_id
                ),
            })
        },
    )
    .await
}

/// The report's texts, checked: every problem at once.
fn report_of(
    m: &mon::FileKeyMonitoringReportRequest,
) -> Result<(String, String, Vec<String>), ApiError> {
    let mut problems = Vec::new();
    let report = required_within(
        "report",
        "重点监控报告",
        "REPORT_REQUIRED",
        &m.report,
        REPORT_MAX,
    )
    .map_err(|v| problems.push(v))
    .unwrap_or_default();
    let conclusion = required_within(
        "conclusion",
        "监控结论",
        "CONCLUSION_REQUIRED",
        &m.conclusion,
        CONCLUSION_MAX,
    )
    .map_err(|v| problems.push(v))
    .unwrap_or_default();
    if m.findings.len() > MAX_FINDINGS {
        problems.push(FieldViolation::new(
            "findings",
            "FINDINGS_TOO_MANY",
            format!("发现的问题最多 {MAX_FINDINGS} 条（FINDINGS_TOO_MANY）"),
        ));
    }
    let findings: Vec<String> = m
        .findings
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            required_within(
                &format!("findings[{i}]"),
                "发现的问题",
                "FINDING_EMPTY",
                f,
                FINDING_MAX,
            )
            .map_err(|v| problems.push(v))
            .ok()
        })
        .collect();
    ApiError::check(problems)?;
    Ok((report, conclusion, findings))
}

/// FileKeyMonitoringReport: the commissioned agency only (anyone else: NOT_FOUND), from
/// COMMISSIONED or RETURNED to FILED.
pub async fn file(
    state: &AppState,
    ctx: MutationContext,
    m: mon::FileKeyMonitoringReportRequest,
) -> Result<mon::FileKeyMonitoringReportResponse, ApiError> {
    let v = authorise(&ctx.caller, state, &[Role::Agency], true)?;
    limits::check(&m)?;
    let (report, conclusion, findings) = report_of(&m)?;
    let findings = serde_json::to_string(&findings).map_err(ApiError::internal)?;
    let (round_id, key, expected) = (
        m.round_id,
        m.subject_key.trim().to_owned(),
        m.expected_revision,
    );
    run_mutation(
        &state.db,
        ctx,
        ("key_monitoring", format!("{round_id}/{key}")),
        move |conn, ctx| {
            let mut row = in_view(conn, &v, round_id, &key)?;
            if row.revision != expected {
                return Err(stale("重点监控", expected, row.revision));
            }
            if !matches!(row.status.as_str(), "commissioned" | "returned") {
                return Err(illegal(&row.status, "提交报告"));
            }
            let from = std::mem::replace(&mut row.status, "filed".into());
            row.report = report;
            row.conclusion = conclusion;
            row.findings = findings;
            row.revision += 1;
            row.changed_by = ctx.caller.subject.clone();
            row.changed_at = pbm_db::now();
            if !store::update_key_row(conn, &row, expected)? {
                return Err(stale("重点监控", expected, expected + 1));
            }
            Ok(Effect {
                response: mon::FileKeyMonitoringReportResponse {
                    key_monitoring: Some(key_to(&row)),
                },
                entity_type: "key_monitoring",
                entity_id: format!("{round_id}/{key}"),
                detail: format!("{from} -> filed"),
            })
        },
    )
    .await
}

/// DecideKeyMonitoringReport: finance, FILED → ACCEPTED, or RETURNED with comments.
pub async fn decide(
    state: &AppState,
    ctx: MutationContext,
    m: mon::DecideKeyMonitoringReportRequest,
) -> Result<mon::DecideKeyMonitoringReportResponse, ApiError> {
    let v = authorise(&ctx.caller, state, &[Role::FinanceAdmin], true)?;
    limits::check(&m)?;
    let comments = if m.accept {
        let c = m.comments.trim().to_owned();
        if let Some(v) = pbm_types::check_len("comments", "审核意见", &c, super::actions::RULE_TEXT)
        {
            return Err(ApiError::validation(vec![v]));
        }
        c
    } else {
        required_text("comments", "退回意见", "COMMENTS_REQUIRED", &m.comments)
            .map_err(|v| ApiError::validation(vec![v]))?
    };
    let (round_id, key, expected) = (
        m.round_id,
        m.subject_key.trim().to_owned(),
        m.expected_revision,
    );
    let to = if m.accept { "accepted" } else { "returned" };
    run_mutation(
        &state.db,
        ctx,
        ("key_monitoring", format!("{round_id}/{key}")),
        move |conn, ctx| {
            let mut row = in_view(conn, &v, round_id, &key)?;
            if row.revision != expected {
                return Err(stale("重点监控", expected, row.revision));
            }
            if row.status != "filed" {
                return Err(illegal(
                    &row.status,
                    if to == "accepted" { "验收" } else { "退回" },
                ));
            }
            row.status = to.into();
            row.comments = comments;
            row.revision += 1;
            row.changed_by = ctx.caller.subject.clone();
            row.changed_at = pbm_db::now();
            if !store::update_key_row(conn, &row, expected)? {
                return Err(stale("重点监控", expected, expected + 1));
            }
            Ok(Effect {
                response: mon::DecideKeyMonitoringReportResponse {
                    key_monitoring: Some(key_to(&row)),
                },
                entity_type: "key_monitoring",
                entity_id: format!("{round_id}/{key}"),
                detail: format!("filed -> {to}"),
            })
        },
    )
    .await
}

/// The key monitoring of `key` in `round_id` if `v` may see it: finance and auditors any, an
/// agency only what was commissioned to it. NOT_FOUND otherwise.
fn in_view(
    conn: &mut pbm_db::AnyConnection,
    v: &Viewer,
    round_id: i64,
    key: &str,
) -> Result<KeyRow, ApiError> {
    round_of(conn, round_id)?;
    store::key_row(conn, round_id, key)?
        .filter(|k| v.role != Viewing::Agency || k.agency_id == v.org_code)
        .ok_or_else(|| key_not_found(round_id, key))
}

const KEY_READERS: &[Role] = &[Role::FinanceAdmin, Role::Agency, Role::Auditor];

/// GetKeyMonitoring: finance and auditors; an agency only its own commissions.
pub async fn get(
    state: &AppState,
    caller: Caller,
    m: mon::GetKeyMonitoringRequest,
) -> Result<mon::GetKeyMonitoringResponse, ApiError> {
    let v = authorise(&caller, state, KEY_READERS, false)?;
    limits::check(&m)?;
    let (round_id, key) = (m.round_id, m.subject_key.trim().to_owned());
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            Ok(mon::GetKeyMonitoringResponse {
                key_monitoring: Some(key_to(&in_view(conn, &v, round_id, &key)?)),
            })
        })
        .await
}

/// ListKeyMonitoring: a round's key monitoring (an agency: only its own commissions).
pub async fn list(
    state: &AppState,
    caller: Caller,
    m: mon::ListKeyMonitoringRequest,
) -> Result<mon::ListKeyMonitoringResponse, ApiError> {
    let v = authorise(&caller, state, KEY_READERS, false)?;
    let page = page_of(m.page.as_ref())?;
    let status = match m.status {
        0 => None,
        s => Some(key_status_word(s).ok_or_else(|| {
            ApiError::invalid_field(
                "STATUS_INVALID",
                "status",
                "重点监控状态无效（STATUS_INVALID）",
            )
        })?),
    };
    let agency = (v.role == Viewing::Agency).then(|| v.org_code.clone());
    let round_id = m.round_id;
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            round_of(conn, round_id)?;
            let (rows, total) = store::list_key_rows(
                conn,
                round_id,
                status,
                agency.as_deref(),
                page.offset,
                page.limit,
            )?;
            Ok(mon::ListKeyMonitoringResponse {
                items: rows.iter().map(key_to).collect(),
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

    fn filing(
        report: &str,
        conclusion: &str,
        findings: &[&str],
    ) -> mon::FileKeyMonitoringReportRequest {
        mon::FileKeyMonitoringReportRequest {
            report: report.into(),
            conclusion: conclusion.into(),
            findings: findings.iter().map(|f| (*f).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_report_needs_its_texts_within_their_limits() {
        let (r, c, f) = report_of(&filing(" 报告 ", "基本达成", &["进度滞后"])).unwrap();
        assert_eq!(
            (r.as_str(), c.as_str(), f),
            ("报告", "基本达成", vec!["进度滞后".to_owned()])
        );
        let reasons = |m| -> Vec<&'static str> {
            report_of(&m)
                .unwrap_err()
                .violations
                .iter()
                .map(|v| v.reason)
                .collect()
        };
        assert_eq!(
            reasons(filing("", " ", &["", "ok"])),
            ["REPORT_REQUIRED", "CONCLUSION_REQUIRED", "FINDING_EMPTY"]
        );
        let many: Vec<&str> = vec!["问题"; MAX_FINDINGS + 1];
        assert_eq!(
            reasons(filing("报告", "结论", &many)),
            ["FINDINGS_TOO_MANY"]
        );
        let long = "字".repeat(CONCLUSION_MAX + 1);
        assert_eq!(reasons(filing("报告", &long, &[])), ["TEXT_TOO_LONG"]);
    }
}
