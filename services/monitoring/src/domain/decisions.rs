//! Finance's decisions on deviated subjects, and the payments on hold they imply.
//!
//! Rule: docs/DOMAIN.md "Monitoring (双监控)" and docs/DOMAIN.md "Results and rectification"
//! (monitoring results feed back into the budget: slow or deviating projects are corrected,
//! payments held or stopped, budgets adjusted or funds recovered; 中发〔2018〕34号). The design:
//! docs/drafts/MONITORING.md §1 "Decision".
//!
//! The project's choices:
//! * One current decision per (round, subject); the earlier ones are kept (`superseded_by`).
//! * Kinds: CONTINUE (继续执行), HOLD_PAYMENTS (暂缓拨款), STOP_PAYMENTS (停止拨款),
//!   ADJUST_BUDGET (调整预算), RECOVER_FUNDS (收回资金).
//! * ADJUST_BUDGET and RECOVER_FUNDS need an amount in 元 (> 0, at most two places); the other
//!   kinds take none (`AMOUNT_NOT_ALLOWED`), so that an amount always means what its kind says.
//!   Every kind but CONTINUE needs a reason (≤ 2,000 characters).
//! * Only finance records decisions, and only on deviated subjects (`NOT_DEVIATED`,
//!   FAILED_PRECONDITION).
//! * **Payments on hold**: for a fiscal year, the PRO_CODEs whose latest decision over all rounds
//!   is HOLD_PAYMENTS or STOP_PAYMENTS ([`on_hold`], [`latest_by_code`]). A later CONTINUE (or
//!   any other kind) lifts a hold.

use std::collections::BTreeMap;

use pbm_types::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::common::{FieldViolation, money};
use crate::domain::report_workflow::{MAX_COMMENT_CHARS, WorkflowError};

/// The amount is missing.
pub const AMOUNT_REQUIRED: &str = "AMOUNT_REQUIRED";
/// The amount is not positive or has more than two places.
pub const AMOUNT_INVALID: &str = "AMOUNT_INVALID";
/// An amount for a kind that takes none.
pub const AMOUNT_NOT_ALLOWED: &str = "AMOUNT_NOT_ALLOWED";
/// The reason is missing.
pub const REASON_REQUIRED: &str = "REASON_REQUIRED";

/// What finance decides about a deviated subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// 继续执行.
    Continue,
    /// 暂缓拨款.
    HoldPayments,
    /// 停止拨款.
    StopPayments,
    /// 调整预算.
    AdjustBudget,
    /// 收回资金.
    RecoverFunds,
}

text_enum!(DecisionKind {
    Continue => "continue", "继续执行";
    HoldPayments => "hold_payments", "暂缓拨款";
    StopPayments => "stop_payments", "停止拨款";
    AdjustBudget => "adjust_budget", "调整预算";
    RecoverFunds => "recover_funds", "收回资金";
});

impl DecisionKind {
    /// ADJUST_BUDGET and RECOVER_FUNDS carry an amount.
    pub fn needs_amount(self) -> bool {
        matches!(
            self,
            DecisionKind::AdjustBudget | DecisionKind::RecoverFunds
        )
    }

    /// Every kind but CONTINUE carries a reason.
    pub fn needs_reason(self) -> bool {
        self != DecisionKind::Continue
    }

    /// HOLD_PAYMENTS and STOP_PAYMENTS put the project's payments on hold.
    pub fn holds_payments(self) -> bool {
        matches!(
            self,
            DecisionKind::HoldPayments | DecisionKind::StopPayments
        )
    }
}

/// Checks a decision's amount and reason; every violation at once.
pub fn validate(kind: DecisionKind, amount: Option<Decimal>, reason: &str) -> Vec<FieldViolation> {
    let mut v = Vec::new();
    match (kind.needs_amount(), amount) {
        (true, None) => v.push(FieldViolation::new(
            "amount",
            AMOUNT_REQUIRED,
            format!("「{}」须填写金额（元）", kind.chinese()),
        )),
        (true, Some(a)) if a <= Decimal::ZERO || a.normalize().scale() > 2 => {
            v.push(FieldViolation::new(
                "amount",
                AMOUNT_INVALID,
                format!("金额 {a} 无效：应大于 0，最多保留2位小数（分）"),
            ));
        }
        (false, Some(a)) => v.push(FieldViolation::new(
            "amount",
            AMOUNT_NOT_ALLOWED,
            format!(
                "「{}」不涉及金额，请不要填写金额（{}）",
                kind.chinese(),
                money(a)
            ),
        )),
        _ => {}
    }
    if kind.needs_reason() && reason.trim().is_empty() {
        v.push(FieldViolation::new(
            "reason",
            REASON_REQUIRED,
            format!("「{}」须填写理由", kind.chinese()),
        ));
    }
    v.extend(pbm_types::check_len(
        "reason",
        "理由",
        reason,
        MAX_COMMENT_CHARS,
    ));
    v
}

/// The deviation gate: decisions only on deviated subjects (`NOT_DEVIATED`).
pub fn ensure_deviated(deviated: bool) -> Result<(), WorkflowError> {
    if deviated {
        Ok(())
    } else {
        Err(WorkflowError::NotDeviated)
    }
}

/// Whether a project's payments are on hold, given its latest decision over all rounds.
pub fn on_hold(latest: Option<DecisionKind>) -> bool {
    latest.is_some_and(DecisionKind::holds_payments)
}

/// One recorded decision, as far as payment holds are concerned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecisionFact {
    /// The project.
    pub pro_code: String,
    /// Its order of recording (the decision id, or its time): the larger, the later.
    pub order: i64,
    /// What was decided.
    pub kind: DecisionKind,
}

/// The latest decision per PRO_CODE (ties: the one listed last).
pub fn latest_by_code(decisions: &[DecisionFact]) -> BTreeMap<&str, &DecisionFact> {
    let mut latest: BTreeMap<&str, &DecisionFact> = BTreeMap::new();
    for d in decisions {
        match latest.get(d.pro_code.as_str()) {
            Some(seen) if seen.order > d.order => {}
            _ => {
                latest.insert(d.pro_code.as_str(), d);
            }
        }
    }
    latest
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn codes(v: &[FieldViolation]) -> Vec<(&str, &'static str)> {
        v.iter().map(|v| (v.field.as_str(), v.reason)).collect()
    }

    #[test]
    fn amounts_and_reasons() {
        assert!(validate(DecisionKind::Continue, None, "").is_empty());
        assert!(validate(DecisionKind::HoldPayments, None, "执行率低于30%").is_empty());
        assert!(validate(DecisionKind::RecoverFunds, Some(dec!(250000.50)), "结余").is_empty());
        assert_eq!(
            codes(&validate(DecisionKind::AdjustBudget, None, " ")),
            [("amount", AMOUNT_REQUIRED), ("reason", REASON_REQUIRED)]
        );
        assert_eq!(
            codes(&validate(DecisionKind::RecoverFunds, Some(dec!(0)), "x")),
            [("amount", AMOUNT_INVALID)]
        );
        assert_eq!(
            codes(&validate(
                DecisionKind::RecoverFunds,
                Some(dec!(1.001)),
                "x"
            )),
            [("amount", AMOUNT_INVALID)]
        );
        let v = validate(DecisionKind::StopPayments, Some(dec!(1000)), "x");
        assert_eq!(codes(&v), [("amount", AMOUNT_NOT_ALLOWED)]);
        assert!(v[0].message.contains("1,000.00"));
        assert_eq!(
            codes(&validate(DecisionKind::Continue, None, &"字".repeat(2001))),
            [("reason", "TEXT_TOO_LONG")]
        );
        assert_eq!(ensure_deviated(false).unwrap_err().reason(), "NOT_DEVIATED");
        assert!(ensure_deviated(true).is_ok());
    }

    #[test]
    fn the_latest_decision_holds_or_lifts() {
        assert!(!on_hold(None));
        assert!(on_hold(Some(DecisionKind::HoldPayments)));
        assert!(on_hold(Some(DecisionKind::StopPayments)));
        assert!(!on_hold(Some(DecisionKind::AdjustBudget)));
        let d = |code: &str, order, kind| DecisionFact {
            pro_code: code.into(),
            order,
            kind,
        };
        let all = [
            d("P1", 1, DecisionKind::HoldPayments),
            d("P2", 2, DecisionKind::StopPayments),
            d("P1", 3, DecisionKind::Continue),
            d("P3", 5, DecisionKind::HoldPayments),
            d("P3", 4, DecisionKind::Continue),
        ];
        let latest = latest_by_code(&all);
        let held: Vec<_> = latest
            .iter()
            .filter(|(_, d)| on_hold(Some(d.kind)))
            .map(|(code, _)| *code)
            .collect();
        assert_eq!(held, ["P2", "P3"]);
    }
}
