//! Finance's decisions on deviated subjects and the payments on hold the budget system asks
//! about (docs/drafts/MONITORING.md §1 "Decision"; docs/DOMAIN.md "Deviation causes and
//! completeness"). One decision per (round, subject) is current; recording another supersedes
//! it (`superseded_by` = the new id), and the earlier ones are kept.
//!
//! Payments on hold: for a fiscal year, a project is on hold when its latest decision over all
//! rounds of the year is 暂缓拨款 or 停止拨款; a later 继续执行 (or any other later decision)
//! lifts it. CheckPaymentHolds answers like the goal service's CheckFundingEligibility: one
//! answer per asked code, read in one query.

use pbm_auth::{Caller, Role};
use pbm_db::Money;
use pbm_proto::monitoring::v1 as mon;
use pbm_server::{ApiError, Effect, MutationContext, run_mutation};
use rust_decimal::Decimal;

use super::{authorise, page_of, round_of, subject_in_view};
use crate::convert::deviations::{decision_kind_to, decision_to};
use crate::convert::limits;
use crate::domain::access::{ListFilter, list_filter};
use crate::domain::decisions::{DecisionKind, ensure_deviated, validate};
use crate::state::AppState;
use crate::store::{self, DecisionRow};

/// At most this many codes per CheckPaymentHolds (as the funding gate).
pub const MAX_CODES: usize = 5000;

/// The wire's decision kind.
fn kind_of(kind: i32) -> Option<DecisionKind> {
    match mon::DecisionKind::try_from(kind).ok()? {
        mon::DecisionKind::Continue => Some(DecisionKind::Continue),
        mon::DecisionKind::HoldPayments => Some(DecisionKind::HoldPayments),
        mon::DecisionKind::StopPayments => Some(DecisionKind::StopPayments),
        mon::DecisionKind::AdjustBudget => Some(DecisionKind::AdjustBudget),
        mon::DecisionKind::RecoverFunds => Some(DecisionKind::RecoverFunds),
        mon::DecisionKind::Unspecified => None,
    }
}

/// Whether a stored decision kind puts payments on hold.
pub(crate) fn holds(kind: &str) -> bool {
    DecisionKind::from_db(kind).is_some_and(DecisionKind::holds_payments)
}

/// The kind, amount and reason of a decision, checked (domain::decisions): every problem at
/// once.
fn checked(
    m: &mon::RecordDecisionRequest,
) -> Result<(DecisionKind, Option<Decimal>, String), ApiError> {
    let Some(kind) = kind_of(m.kind) else {
        return Err(ApiError::invalid_field(
            "KIND_INVALID",
            "kind",
            "请选择决定类型：继续执行、暂缓拨款、停止拨款、调整预算或收回资金（KIND_INVALID）",
        ));
    };
    let text = m
        .amount
        .as_ref()
        .map(|a| a.value.trim())
        .unwrap_or_default();
    let amount = if text.is_empty() {
        None
    } else {
        Some(
            pbm_types::decimal::parse(text)
                .map_err(|e| ApiError::invalid_field(e.reason, "amount", e.message))?,
        )
    };
    let reason = m.reason.trim().to_owned();
    ApiError::check(validate(kind, amount, &reason))?;
    Ok((kind, amount, reason))
}

/// RecordDecision: finance, on a deviated subject only (FAILED_PRECONDITION NOT_DEVIATED).
pub async fn record(
    state: &AppState,
    ctx: MutationContext,
    m: mon::RecordDecisionRequest,
) -> Result<mon::RecordDecisionResponse, ApiError> {
    authorise(&ctx.caller, state, &[Role::FinanceAdmin], true)?;
    limits::check(&m)?;
    let (kind, amount, reason) = checked(&m)?;
    let (round_id, key) = (m.round_id, m.subject_key.trim().to_owned());
    run_mutation(
        &state.db,
        ctx,
        ("monitoring_decision", format!("{round_id}/{key}")),
        move |conn, ctx| {
            let round = round_of(conn, round_id)?;
            let subject = subject_in_view(conn, &ListFilter::All, round_id, &key)?;
            ensure_deviated(subject.deviated).map_err(ApiError::from)?;
            let mut row = DecisionRow {
                id: 0,
                round_id,
                subject_key: key.clone(),
                fiscal_year: round.fiscal_year,
                pro_code: subject.pro_code.clone(),
                kind: kind.as_db().into(),
                amount: amount.map(Money),
                reason,
                superseded_by: 0,
                decided_by: ctx.caller.subject.clone(),
                decided_at: pbm_db::now(),
            };
            row.id = store::record_decision(conn, &row)?;
            Ok(Effect {
                response: mon::RecordDecisionResponse {
                    decision: Some(decision_to(&row)),
                },
                entity_type: "monitoring_decision",
                entity_id: row.id.to_string(),
                detail: format!(
                    "round {round_id} subject {key} {}{}",
                    kind.as_db(),
                    amount.map(|a| format!(" amount {a}")).unwrap_or_default()
                ),
            })
        },
    )
    .await
}

/// ListDecisions: a round's decisions (newest first) over the subjects the caller sees.
pub async fn list(
    state: &AppState,
    caller: Caller,
    m: mon::ListDecisionsRequest,
) -> Result<mon::ListDecisionsResponse, ApiError> {
    let v = authorise(&caller, state, super::deviations::READERS, false)?;
    limits::check(&m)?;
    let page = page_of(m.page.as_ref())?;
    let (round_id, current_only) = (m.round_id, m.current_only);
    let key = Some(m.subject_key.trim().to_owned()).filter(|k| !k.is_empty());
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            round_of(conn, round_id)?;
            let scope = list_filter(&v);
            if let Some(k) = &key {
                subject_in_view(conn, &scope, round_id, k)?;
            }
            let (rows, total) = store::list_decisions(
                conn,
                round_id,
                key.as_deref(),
                current_only,
                &scope,
                page.offset,
                page.limit,
            )?;
            Ok(mon::ListDecisionsResponse {
                decisions: rows.iter().map(decision_to).collect(),
                page: Some(pbm_proto::common::v1::PageResponse {
                    next_page_token: page.next_token(total),
                    total_size: total,
                }),
            })
        })
        .await
}

/// The hold answer of one project from its latest decision, if any.
fn hold_of(code: &str, latest: Option<&DecisionRow>) -> mon::PaymentHold {
    match latest {
        None => mon::PaymentHold {
            pro_code: code.to_owned(),
            ..Default::default()
        },
        Some(d) => mon::PaymentHold {
            pro_code: code.to_owned(),
            on_hold: holds(&d.kind),
            kind: decision_kind_to(&d.kind) as i32,
            round_id: d.round_id,
            // The bureau's calendar day (China Standard Time) of the decision.
            decided_on: (d.decided_at + chrono::TimeDelta::hours(8))
                .date()
                .to_string(),
            reason: d.reason.clone(),
        },
    }
}

/// CheckPaymentHolds: finance (the budget system) and auditors; `pro_codes` (up to 5,000) each
/// get an answer in the order asked; none asked = every project of the year on hold.
pub async fn check_holds(
    state: &AppState,
    caller: Caller,
    m: mon::CheckPaymentHoldsRequest,
) -> Result<mon::CheckPaymentHoldsResponse, ApiError> {
    authorise(&caller, state, &[Role::FinanceAdmin, Role::Auditor], false)?;
    limits::check(&m)?;
    let year = pbm_types::FiscalYear::new(m.fiscal_year)
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?
        .get();
    let codes: Vec<String> = m.pro_codes.iter().map(|c| c.trim().to_owned()).collect();
    if codes.len() > MAX_CODES || codes.iter().any(String::is_empty) {
        return Err(ApiError::invalid_field(
            "PRO_CODES_INVALID",
            "pro_codes",
            format!(
                "请提供不超过 {MAX_CODES} 个非空项目编码（不提供则列出全部暂缓或停止拨款的项目）（PRO_CODES_INVALID）"
            ),
        ));
    }
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let asked = (!codes.is_empty()).then_some(codes.as_slice());
            let latest = store::latest_per_project(conn, year, asked)?;
            let holds = if codes.is_empty() {
                latest
                    .iter()
                    .filter(|d| holds(&d.kind))
                    .map(|d| hold_of(&d.pro_code, Some(d)))
                    .collect()
            } else {
                let by_code: std::collections::HashMap<&str, &DecisionRow> =
                    latest.iter().map(|d| (d.pro_code.as_str(), d)).collect();
                codes
                    .iter()
                    .map(|c| hold_of(c, by_code.get(c.as_str()).copied()))
                    .collect()
            };
            Ok(mon::CheckPaymentHoldsResponse { holds })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: mon::DecisionKind, amount: &str, reason: &str) -> mon::RecordDecisionRequest {
        mon::RecordDecisionRequest {
            kind: kind as i32,
            amount: (!amount.is_empty()).then(|| pbm_proto::common::v1::Decimal {
                value: amount.into(),
            }),
            reason: reason.into(),
            ..Default::default()
        }
    }

    fn reasons(r: Result<(DecisionKind, Option<Decimal>, String), ApiError>) -> Vec<&'static str> {
        r.unwrap_err().violations.iter().map(|v| v.reason).collect()
    }

    #[test]
    fn amounts_and_reasons_follow_the_kind() {
        use mon::DecisionKind as K;
        assert_eq!(
            checked(&request(K::Continue, "", "")).unwrap().0,
            DecisionKind::Continue
        );
        assert_eq!(
            reasons(checked(&request(K::HoldPayments, "", " "))),
            ["REASON_REQUIRED"]
        );
        assert_eq!(
            reasons(checked(&request(K::AdjustBudget, "", ""))),
            ["AMOUNT_REQUIRED", "REASON_REQUIRED"]
        );
        assert_eq!(
            reasons(checked(&request(K::StopPayments, "5", "停止"))),
            ["AMOUNT_NOT_ALLOWED"]
        );
        assert_eq!(
            reasons(checked(&request(K::RecoverFunds, "1.005", "收回"))),
            ["AMOUNT_INVALID"]
        );
        assert_eq!(
            reasons(checked(&request(K::RecoverFunds, "-1", "收回"))),
            ["AMOUNT_INVALID"]
        );
        let (kind, amount, reason) =
            checked(&request(K::RecoverFunds, "1200000.50", " 收回 ")).unwrap();
        assert_eq!(
            (kind, amount, reason.as_str()),
            (
                DecisionKind::RecoverFunds,
                Some(Decimal::new(120_000_050, 2)),
                "收回"
            )
        );
        assert_eq!(
            checked(&request(K::Unspecified, "", ""))
                .unwrap_err()
                .reason,
            "KIND_INVALID"
        );
    }

    #[test]
    fn only_hold_and_stop_hold_payments() {
        assert!(holds("hold_payments") && holds("stop_payments"));
        for k in ["continue", "adjust_budget", "recover_funds"] {
            assert!(!holds(k));
        }
    }
}
