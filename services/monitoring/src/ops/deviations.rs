//! The deviation views: a round's warnings, the deviation list (偏离清单) and the early warning
//! of year-end execution (docs/drafts/MONITORING.md §1 "Warning", "Deviation"; §2.8). Each is
//! narrowed to the subjects the caller sees (a unit its own, a department its units', an agency
//! the subjects commissioned to it, finance and auditors the region); then one read per kind of
//! detail for the whole page, never one per row.

use std::collections::HashMap;

use pbm_auth::{Caller, Role};
use pbm_proto::monitoring::v1 as mon;
use pbm_server::ApiError;
use pbm_server::paging::Page;

use crate::domain::access::list_filter;

use super::{authorise, page_of, round_of, subject_in_view};
use crate::convert::deviations::{
    axis_word, causes_to, colour_to, colour_word, decision_to, likelihood_to, warning_to,
};
use crate::convert::limits;
use crate::convert::rounds::subject_to;
use crate::ops::round_reads::Deadlines;
use crate::state::AppState;
use crate::store::{self, WarningRow};

/// Readers of a monitoring subject (tests/tests/authorization_matrix.rs `MON_READERS`).
pub(crate) const SUBJECT_READERS: &[Role] = &[
    Role::FinanceAdmin,
    Role::Department,
    Role::BudgetUnit,
    Role::Agency,
    Role::Auditor,
];
/// The same without agencies.
pub(crate) const READERS: &[Role] = &[
    Role::FinanceAdmin,
    Role::Department,
    Role::BudgetUnit,
    Role::Auditor,
];

/// ListWarnings: a round's (or one subject's) warnings, each explaining itself, of one axis
/// and some colours if asked.
pub async fn list_warnings(
    state: &AppState,
    caller: Caller,
    m: mon::ListWarningsRequest,
) -> Result<mon::ListWarningsResponse, ApiError> {
    let v = authorise(&caller, state, SUBJECT_READERS, false)?;
    limits::check(&m)?;
    let page = page_of(m.page.as_ref())?;
    let axis = match m.axis {
        0 => None,
        a => Some(axis_word(a).ok_or_else(|| {
            ApiError::invalid_field("AXIS_INVALID", "axis", "预警维度无效（AXIS_INVALID）")
        })?),
    };
    let colours = m
        .colours
        .iter()
        .map(|c| {
            colour_word(*c).ok_or_else(|| {
                ApiError::invalid_field(
                    "COLOUR_INVALID",
                    "colours",
                    "预警颜色无效（COLOUR_INVALID）",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let subject_key = Some(m.subject_key.trim().to_owned()).filter(|k| !k.is_empty());
    let round_id = m.round_id;
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            round_of(conn, round_id)?;
            let scope = list_filter(&v);
            if let Some(k) = &subject_key {
                subject_in_view(conn, &scope, round_id, k)?;
            }
            let filter = store::WarningFilter {
                round_id,
                subject_key,
                axis: axis.map(str::to_owned),
                colours: colours.into_iter().map(str::to_owned).collect(),
            };
            let (rows, total) =
                store::list_warnings(conn, &filter, &scope, page.offset, page.limit)?;
            Ok(mon::ListWarningsResponse {
                warnings: rows.iter().map(warning_to).collect(),
                page: Some(pbm_proto::common::v1::PageResponse {
                    next_page_token: page.next_token(total),
                    total_size: total,
                }),
            })
        })
        .await
}

/// The keyset token after (department, subject key): both in hex, so that no code can break it.
fn keyset_token(department: &str, key: &str) -> String {
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    format!("k{}.{}", hex(department), hex(key))
}

fn keyset_after(token: &str) -> Result<store::After, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::invalid_field("PAGE_TOKEN_INVALID", "page.page_token", "分页令牌无效");
    let unhex = |s: &str| -> Option<String> {
        if !s.len().is_multiple_of(2) {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
            .collect();
        String::from_utf8(bytes?).ok()
    };
    let (d, k) = token
        .strip_prefix('k')
        .and_then(|t| t.split_once('.'))
        .ok_or_else(bad)?;
    Ok(Some((unhex(d).ok_or_else(bad)?, unhex(k).ok_or_else(bad)?)))
}

/// ListDeviations (偏离清单): the deviated subjects of a round in (department, subject) order,
/// paged by keyset on the index `round_subjects_deviated`; for the page, one read each of the
/// warnings, the snapshot indicators with their reported values, the current decisions and
/// the open actions.
pub async fn list_deviations(
    state: &AppState,
    caller: Caller,
    m: mon::ListDeviationsRequest,
) -> Result<mon::ListDeviationsResponse, ApiError> {
    let v = authorise(&caller, state, READERS, false)?;
    limits::check(&m)?;
    let page = m.page.clone().unwrap_or_default();
    let limit = Page::parse(page.page_size, "")?.limit;
    let after = keyset_after(&page.page_token)?;
    let department = Some(m.department_code.trim().to_owned()).filter(|d| !d.is_empty());
    let round_id = m.round_id;
    let today = state.today();
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let round = round_of(conn, round_id)?;
            let deadlines = Deadlines::read(conn, &round, today)?;
            let scope = list_filter(&v);
            let (subjects, total) =
                store::deviated_page(conn, round_id, department.as_deref(), &scope, &after, limit)?;
            let keys: Vec<String> = subjects.iter().map(|s| s.subject_key.clone()).collect();
            let mut warnings: HashMap<String, Vec<WarningRow>> = HashMap::new();
            for w in store::warnings_of(
                conn,
                round_id,
                &keys,
                &["budget", "goal", "forecast", "indicator"],
            )? {
                warnings.entry(w.subject_key.clone()).or_default().push(w);
            }
            let mut indicators: HashMap<String, Vec<store::IndicatorReported>> = HashMap::new();
            for i in store::indicators_reported(conn, round_id, &keys)? {
                indicators.entry(i.subject_key.clone()).or_default().push(i);
            }
            let decisions: HashMap<String, mon::Decision> =
                store::current_decisions(conn, round_id, &keys)?
                    .iter()
                    .map(|d| (d.subject_key.clone(), decision_to(d)))
                    .collect();
            let open: HashMap<String, i64> = store::open_actions(conn, round_id, &keys)?
                .into_iter()
                .collect();
            let next_page_token = match subjects.last() {
                Some(last) if subjects.len() as i64 == limit => {
                    keyset_token(&last.department_code, &last.subject_key)
                }
                _ => String::new(),
            };
            let deviations = subjects
                .iter()
                .map(|s| {
                    let ws = warnings.remove(&s.subject_key).unwrap_or_default();
                    deviation(
                        subject_to(s, deadlines.of(s)),
                        &ws,
                        indicators.remove(&s.subject_key).unwrap_or_default(),
                        decisions.get(&s.subject_key).cloned(),
                        open.get(&s.subject_key).copied().unwrap_or(0),
                    )
                })
                .collect();
            Ok(mon::ListDeviationsResponse {
                deviations,
                page: Some(pbm_proto::common::v1::PageResponse {
                    next_page_token,
                    total_size: total,
                }),
            })
        })
        .await
}

/// One entry of the deviation list: the subject, its project-level warnings and its yellow and
/// red indicators (on the value to date or the forecast) with what the unit reported of them.
fn deviation(
    subject: mon::RoundSubject,
    ws: &[WarningRow],
    indicators: Vec<store::IndicatorReported>,
    decision: Option<mon::Decision>,
    open_actions: i64,
) -> mon::Deviation {
    let project = |axis: &str| {
        ws.iter()
            .find(|w| w.axis == axis && w.seq == 0)
            .map(warning_to)
    };
    let colour_of = |axis: &str, seq: i32| {
        ws.iter()
            .find(|w| w.axis == axis && w.seq == seq)
            .map_or(mon::Colour::Unspecified, |w| colour_to(&w.colour))
    };
    let bad = |c: mon::Colour| matches!(c, mon::Colour::Yellow | mon::Colour::Red);
    let indicators = indicators
        .into_iter()
        .filter_map(|i| {
            let (colour, forecast) = (colour_of("indicator", i.seq), colour_of("forecast", i.seq));
            (bad(colour) || bad(forecast)).then(|| mon::DeviatingIndicator {
                seq: i.seq,
                name: i.name,
                target_value: i.target_value,
                achieved: i.achieved,
                forecast: i.forecast,
                colour: colour as i32,
                forecast_colour: forecast as i32,
                likelihood: likelihood_to(&i.likelihood) as i32,
                causes: causes_to(&i.causes),
                other_text: i.other_text,
                remark: i.remark,
            })
        })
        .collect();
    mon::Deviation {
        subject: Some(subject),
        budget: project("budget"),
        goal: project("goal"),
        forecast: project("forecast"),
        indicators,
        decision,
        open_actions,
    }
}

/// ListExecutionForecasts: the early warning of year-end execution per subject (only the red
/// ones, forecast below the threshold, with `below_only`).
pub async fn list_execution_forecasts(
    state: &AppState,
    caller: Caller,
    m: mon::ListExecutionForecastsRequest,
) -> Result<mon::ListExecutionForecastsResponse, ApiError> {
    let v = authorise(&caller, state, READERS, false)?;
    let page = page_of(m.page.as_ref())?;
    let (round_id, red_only) = (m.round_id, m.below_only);
    let today = state.today();
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let round = round_of(conn, round_id)?;
            let deadlines = Deadlines::read(conn, &round, today)?;
            let scope = list_filter(&v);
            let (rows, total) = store::execution_forecasts(
                conn,
                round_id,
                red_only,
                &scope,
                page.offset,
                page.limit,
            )?;
            Ok(mon::ListExecutionForecastsResponse {
                forecasts: rows
                    .iter()
                    .map(|(s, w)| mon::ExecutionForecast {
                        subject: Some(subject_to(s, deadlines.of(s))),
                        forecast: w.as_ref().map(warning_to),
                    })
                    .collect(),
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
    fn keyset_tokens_read_back_and_refuse_garbage() {
        for (d, k) in [("140500100", "P-001"), ("", "D:140500100"), ("部门", "a.b")] {
            let t = keyset_token(d, k);
            assert_eq!(
                keyset_after(&t).unwrap(),
                Some((d.to_owned(), k.to_owned()))
            );
        }
        assert_eq!(keyset_after("").unwrap(), None);
        for bad in ["o50", "k1.2", "kzz.00", "k00"] {
            assert_eq!(keyset_after(bad).unwrap_err().reason, "PAGE_TOKEN_INVALID");
        }
    }
}
