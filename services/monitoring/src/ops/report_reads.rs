//! Reading reports: GetReport (by id, or by round and subject), ListReports (narrowed to the
//! caller's scope before anything is counted: docs/DOMAIN.md "Regions and roles"), and
//! GetReportHistory.

use pbm_auth::{Caller, Role as AuthRole};
use pbm_proto::monitoring::v1 as proto;
use pbm_server::ApiError;
use pbm_server::paging::Page;
use pbm_server::wire::stamp;

use super::reports::{deadline_of, readable, report_message, report_not_found, visible_report};
use super::subject_not_found;
use crate::convert::limits;
use crate::convert::reports::{report_to, status_to, status_word};
use crate::domain::access::{ListFilter, Viewer, list_filter, role_denied, viewer};
use crate::state::AppState;
use crate::store::{self, ReportFilter};

/// Who reads reports, their lists and histories and the monitoring table (the roles of
/// docs/drafts/MONITORING.md §3): finance, departments, units and auditors.
pub(crate) const READERS: &[AuthRole] = &[
    AuthRole::FinanceAdmin,
    AuthRole::Department,
    AuthRole::BudgetUnit,
    AuthRole::Auditor,
];

/// The caller as a reader, if its role is one of `roles` (ROLE_NOT_ALLOWED before anything of
/// the request is read). A department or unit of an enclosing region has no scope here
/// (`domain::access::viewer`): it is let through and sees nothing.
pub(crate) fn reader(
    caller: &Caller,
    region: &pbm_types::DivisionCode,
    roles: &[AuthRole],
) -> Result<Viewer, ApiError> {
    let v = viewer(caller, region)?;
    if !roles.contains(&caller.role) {
        return Err(role_denied(format!("「{}」不能查阅监控报告", v.role.chinese())).into());
    }
    Ok(v)
}

/// GetReport: a report the caller may read, by id or by round and subject; NOT_FOUND for one
/// outside the caller's scope, as for one that does not exist.
pub async fn get(
    state: &AppState,
    caller: Caller,
    m: proto::GetReportRequest,
) -> Result<proto::GetReportResponse, ApiError> {
    // An agency reads the reports of the key monitoring commissioned to it.
    let v = reader(
        &caller,
        &state.region,
        &[READERS, &[AuthRole::Agency]].concat(),
    )?;
    limits::check(&m)?;
    let key = m.subject_key.trim().to_owned();
    if m.report_id <= 0 && (m.round_id <= 0 || key.is_empty()) {
        return Err(ApiError::invalid_field(
            "REPORT_REF_REQUIRED",
            "report_id",
            "请指定监控报告编号，或监控轮次和监控对象",
        ));
    }
    let today = state.today();
    let report = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let id = if m.report_id > 0 {
                m.report_id
            } else {
                let (_, subject, _) = store::report_context(conn, m.round_id, &key)?
                    .ok_or_else(|| subject_not_found(m.round_id, &key))?;
                if !readable(conn, &v, &subject)? {
                    return Err(subject_not_found(m.round_id, &key));
                }
                store::report_of_subject(conn, m.round_id, &key)?
                    .ok_or_else(|| {
                        ApiError::not_found(
                            "REPORT_NOT_FOUND",
                            format!("「{key}」尚未填报监控报告"),
                        )
                    })?
                    .id
            };
            let (row, round, _, unit_deadline) = visible_report(conn, &v, id)?;
            let indicators = store::report_indicators(conn, row.id)?;
            report_message(conn, &row, &indicators, &round, unit_deadline, today)
        })
        .await?;
    Ok(proto::GetReportResponse {
        report: Some(report),
    })
}

/// ListReports: a round's reports the caller may read, by subject key, filtered by status,
/// department and unit, paged. Without their warnings (GetReport has them).
pub async fn list(
    state: &AppState,
    caller: Caller,
    m: proto::ListReportsRequest,
) -> Result<proto::ListReportsResponse, ApiError> {
    let v = reader(&caller, &state.region, READERS)?;
    limits::check(&m)?;
    let p = m.page.clone().unwrap_or_default();
    let page = Page::parse(p.page_size, &p.page_token)?;
    let status = match status_word(m.status) {
        Some(w) => Some(w.to_owned()),
        None if m.status != 0 => {
            return Err(ApiError::invalid_field(
                "STATUS_INVALID",
                "status",
                "报告状态无效",
            ));
        }
        None => None,
    };
    if m.round_id <= 0 {
        return Err(ApiError::invalid_field(
            "ROUND_REQUIRED",
            "round_id",
            "请指定监控轮次",
        ));
    }
    let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut f = ReportFilter {
        round_id: m.round_id,
        status,
        department_code: nonempty(&m.department_code),
        agency_code: nonempty(&m.agency_code),
        subject_keys: None,
    };
    let scope = list_filter(&v);
    // The caller's scope narrows the filter, so nothing outside it is listed or counted.
    let narrowed = match &scope {
        ListFilter::All | ListFilter::Agency(_) => true,
        ListFilter::Department(code) => {
            let fits = f.department_code.as_ref().is_none_or(|d| d == code);
            f.department_code = Some(code.clone());
            fits
        }
        ListFilter::Unit(code) => {
            let fits = f.agency_code.as_ref().is_none_or(|a| a == code);
            f.agency_code = Some(code.clone());
            fits
        }
        ListFilter::None => false,
    };
    if !narrowed {
        return Ok(empty_list());
    }
    let today = state.today();
    let (reports, total) = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            if let ListFilter::Agency(id) = &scope {
                f.subject_keys = Some(store::commissioned_keys(conn, f.round_id, id)?);
            }
            let Some(round) = store::round_row(conn, f.round_id)? else {
                return Ok((Vec::new(), 0));
            };
            let (rows, total) = store::list_reports(conn, &f, page.offset, page.limit)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let mut indicators: std::collections::HashMap<i64, Vec<_>> = Default::default();
            for i in store::indicators_of_reports(conn, &ids)? {
                indicators.entry(i.report_id).or_default().push(i);
            }
            let agencies: Vec<String> = rows.iter().map(|r| r.agency_code.clone()).collect();
            let reopened: std::collections::HashMap<String, chrono::NaiveDate> =
                store::unit_deadlines(conn, f.round_id, &agencies)?
                    .into_iter()
                    .collect();
            let out = rows
                .iter()
                .map(|r| {
                    let unit_deadline = reopened.get(&r.agency_code).copied();
                    let (status, late) = deadline_of(r, &round, unit_deadline, today);
                    let values = indicators.get(&r.id).map_or(&[][..], Vec::as_slice);
                    report_to(r, values, Vec::new(), status, late)
                })
                .collect();
            Ok((out, total))
        })
        .await?;
    Ok(proto::ListReportsResponse {
        reports,
        page: Some(pbm_proto::common::v1::PageResponse {
            next_page_token: page.next_token(total),
            total_size: total,
        }),
    })
}

fn empty_list() -> proto::ListReportsResponse {
    proto::ListReportsResponse {
        reports: Vec::new(),
        page: Some(pbm_proto::common::v1::PageResponse::default()),
    }
}

/// GetReportHistory: every step of a report the caller may read (saves, submissions, checks,
/// returns, acceptance, reopenings), oldest first.
pub async fn history(
    state: &AppState,
    caller: Caller,
    m: proto::GetReportHistoryRequest,
) -> Result<proto::GetReportHistoryResponse, ApiError> {
    let v = reader(&caller, &state.region, READERS)?;
    let id = m.report_id;
    if id <= 0 {
        return Err(report_not_found(id));
    }
    let events = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            visible_report(conn, &v, id)?;
            Ok(store::report_events(conn, id)?)
        })
        .await?;
    Ok(proto::GetReportHistoryResponse {
        events: events
            .into_iter()
            .map(|e| proto::ReportEvent {
                seq: e.seq,
                // save, submit, check, accept, return (ReportActionKind's words) or reopen.
                action: e.action,
                from: status_to(&e.from_status) as i32,
                to: status_to(&e.to_status) as i32,
                comments: e.comments,
                at: Some(stamp(&e.actor, e.at)),
            })
            .collect(),
    })
}
