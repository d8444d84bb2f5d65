//! `pbm.monitoring.v1.DeviationService` on the wire: the stored words of colours, axes, action
//! statuses and decision kinds, warnings, actions and decisions as messages, and the text
//! maxima of its requests (docs/drafts/MONITORING.md §3 "Limits").

use pbm_proto::monitoring::v1 as mon;
use pbm_server::wire::{decimal, stamp};

use super::limits::{Bounded, CODE, LONG, Monitoring, NAME, Texts};
use crate::store::{ActionRow, DecisionRow, WarningRow};

/// A stored colour word as the wire's colour (`none` and anything unknown: unspecified).
pub fn colour_to(word: &str) -> mon::Colour {
    match word {
        "blue" => mon::Colour::Blue,
        "green" => mon::Colour::Green,
        "yellow" => mon::Colour::Yellow,
        "red" => mon::Colour::Red,
        _ => mon::Colour::Unspecified,
    }
}

/// The stored word of a wire colour (`None` for unspecified or unknown numbers).
pub fn colour_word(c: i32) -> Option<&'static str> {
    match mon::Colour::try_from(c).ok()? {
        mon::Colour::Blue => Some("blue"),
        mon::Colour::Green => Some("green"),
        mon::Colour::Yellow => Some("yellow"),
        mon::Colour::Red => Some("red"),
        mon::Colour::Unspecified => None,
    }
}

pub fn axis_to(word: &str) -> mon::Axis {
    match word {
        "budget" => mon::Axis::Budget,
        "indicator" => mon::Axis::Indicator,
        "goal" => mon::Axis::Goal,
        "forecast" => mon::Axis::Forecast,
        "execution_forecast" => mon::Axis::ExecutionForecast,
        _ => mon::Axis::Unspecified,
    }
}

pub fn axis_word(a: i32) -> Option<&'static str> {
    match mon::Axis::try_from(a).ok()? {
        mon::Axis::Budget => Some("budget"),
        mon::Axis::Indicator => Some("indicator"),
        mon::Axis::Goal => Some("goal"),
        mon::Axis::Forecast => Some("forecast"),
        mon::Axis::ExecutionForecast => Some("execution_forecast"),
        mon::Axis::Unspecified => None,
    }
}

pub fn action_status_to(word: &str) -> mon::ActionStatus {
    match word {
        "open" => mon::ActionStatus::Open,
        "in_progress" => mon::ActionStatus::InProgress,
        "done" => mon::ActionStatus::Done,
        "verified" => mon::ActionStatus::Verified,
        _ => mon::ActionStatus::Unspecified,
    }
}

pub fn action_status_word(s: i32) -> Option<&'static str> {
    match mon::ActionStatus::try_from(s).ok()? {
        mon::ActionStatus::Open => Some("open"),
        mon::ActionStatus::InProgress => Some("in_progress"),
        mon::ActionStatus::Done => Some("done"),
        mon::ActionStatus::Verified => Some("verified"),
        mon::ActionStatus::Unspecified => None,
    }
}

pub fn decision_kind_to(word: &str) -> mon::DecisionKind {
    match word {
        "continue" => mon::DecisionKind::Continue,
        "hold_payments" => mon::DecisionKind::HoldPayments,
        "stop_payments" => mon::DecisionKind::StopPayments,
        "adjust_budget" => mon::DecisionKind::AdjustBudget,
        "recover_funds" => mon::DecisionKind::RecoverFunds,
        _ => mon::DecisionKind::Unspecified,
    }
}

pub fn likelihood_to(word: &str) -> mon::Likelihood {
    match word {
        "certain" => mon::Likelihood::Certain,
        "possible" => mon::Likelihood::Possible,
        "impossible" => mon::Likelihood::Impossible,
        _ => mon::Likelihood::Unspecified,
    }
}

/// The causes as stored (the words joined by `,`: `funding,other`, see `crate::store::reports`)
/// on the wire.
pub fn causes_to(text: &str) -> Vec<i32> {
    text.split(',')
        .filter_map(|w| match w.trim() {
            "funding" => Some(mon::Cause::Funding),
            "system" => Some(mon::Cause::System),
            "staff" => Some(mon::Cause::Staff),
            "hardware" => Some(mon::Cause::Hardware),
            "other" => Some(mon::Cause::Other),
            _ => None,
        })
        .map(|c| c as i32)
        .collect()
}

/// A warning row as the message: its explanation, inputs and the rules version it used.
pub fn warning_to(w: &WarningRow) -> mon::Warning {
    let inputs: std::collections::HashMap<String, String> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&w.inputs)
            .map(|m| {
                m.into_iter()
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => (k, s),
                        other => (k, other.to_string()),
                    })
                    .collect()
            })
            .unwrap_or_default();
    mon::Warning {
        subject_key: w.subject_key.clone(),
        axis: axis_to(&w.axis) as i32,
        seq: w.seq,
        colour: colour_to(&w.colour) as i32,
        reason: w.reason.clone(),
        progress: w.progress.and_then(|p| decimal(p.0)),
        explanation: w.explanation.clone(),
        inputs,
        rules_version: w.rules_version,
        incomplete: w.incomplete,
        computed_at: stamp("", w.computed_at).at,
    }
}

/// An action as the message; `today` decides `overdue` (docs/drafts/MONITORING.md §1
/// "Corrective action": computed, never stored).
pub fn action_to(a: &ActionRow, today: chrono::NaiveDate) -> mon::CorrectiveAction {
    let finished = matches!(a.status.as_str(), "done" | "verified");
    mon::CorrectiveAction {
        id: a.id,
        round_id: a.round_id,
        subject_key: a.subject_key.clone(),
        seq: a.seq,
        description: a.description.clone(),
        owner_agency_code: a.owner_agency_code.clone(),
        department_code: a.department_code.clone(),
        contact: a.contact.clone(),
        due_on: a.due_on.to_string(),
        status: action_status_to(&a.status) as i32,
        completion_note: a.completion_note.clone(),
        comments: a.comments.clone(),
        overdue: today > a.due_on && !finished,
        late: finished && a.done_on.is_some_and(|d| d > a.due_on),
        revision: a.revision,
        created: Some(stamp(&a.created_by, a.created_at)),
        changed: Some(stamp(&a.changed_by, a.changed_at)),
    }
}

pub fn decision_to(d: &DecisionRow) -> mon::Decision {
    mon::Decision {
        id: d.id,
        round_id: d.round_id,
        subject_key: d.subject_key.clone(),
        pro_code: d.pro_code.clone(),
        fiscal_year: d.fiscal_year,
        kind: decision_kind_to(&d.kind) as i32,
        amount: d.amount.and_then(|a| decimal(a.0)),
        reason: d.reason.clone(),
        superseded_by: d.superseded_by,
        decided: Some(stamp(&d.decided_by, d.decided_at)),
    }
}

// -- text maxima ---------------------------------------------------------------------------------

impl Bounded<Monitoring> for mon::ListWarningsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
    }
}

impl Bounded<Monitoring> for mon::ListDeviationsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "department_code",
            "部门编码",
            &self.department_code,
            CODE,
        );
    }
}

impl Bounded<Monitoring> for mon::CreateCorrectiveActionRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
        t.text(at, "description", "整改措施", &self.description, LONG);
        t.text(
            at,
            "owner_agency_code",
            "责任单位",
            &self.owner_agency_code,
            CODE,
        );
        t.text(at, "contact", "联系人", &self.contact, NAME);
        t.text(at, "due_on", "整改期限", &self.due_on, CODE);
    }
}

impl Bounded<Monitoring> for mon::UpdateCorrectiveActionRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "completion_note",
            "完成情况",
            &self.completion_note,
            LONG,
        );
    }
}

impl Bounded<Monitoring> for mon::VerifyCorrectiveActionRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "comments", "核验意见", &self.comments, LONG);
    }
}

impl Bounded<Monitoring> for mon::ListCorrectiveActionsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "owner_agency_code",
            "责任单位",
            &self.owner_agency_code,
            CODE,
        );
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
    }
}

impl Bounded<Monitoring> for mon::RecordDecisionRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
        t.number(at, "amount", "金额", self.amount.as_ref());
        t.text(at, "reason", "决定理由", &self.reason, LONG);
    }
}

impl Bounded<Monitoring> for mon::ListDecisionsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
    }
}

impl Bounded<Monitoring> for mon::CheckPaymentHoldsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.each(at, "pro_codes", "项目编码", &self.pro_codes, CODE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_wire_values_round_trip() {
        for w in ["blue", "green", "yellow", "red"] {
            assert_eq!(colour_word(colour_to(w) as i32), Some(w));
        }
        assert_eq!(colour_to("none"), mon::Colour::Unspecified);
        for w in [
            "budget",
            "indicator",
            "goal",
            "forecast",
            "execution_forecast",
        ] {
            assert_eq!(axis_word(axis_to(w) as i32), Some(w));
        }
        for w in ["open", "in_progress", "done", "verified"] {
            assert_eq!(action_status_word(action_status_to(w) as i32), Some(w));
        }
        assert_eq!(axis_word(99), None);
    }

    #[test]
    fn causes_read_from_their_stored_form() {
        let want = vec![mon::Cause::Funding as i32, mon::Cause::Other as i32];
        assert_eq!(causes_to("funding,other"), want);
        assert!(causes_to("").is_empty());
    }

    #[test]
    fn overdue_and_late_are_computed() {
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 7, d).unwrap();
        let at = day(1).and_hms_opt(0, 0, 0).unwrap();
        let mut a = ActionRow {
            id: 1,
            round_id: 1,
            subject_key: "P1".into(),
            seq: 0,
            description: "整改".into(),
            owner_agency_code: "U".into(),
            department_code: "D".into(),
            contact: String::new(),
            due_on: day(10),
            status: "in_progress".into(),
            completion_note: String::new(),
            comments: String::new(),
            done_on: None,
            revision: 1,
            created_by: "f".into(),
            created_at: at,
            changed_by: "f".into(),
            changed_at: at,
        };
        assert!(
            !action_to(&a, day(10)).overdue,
            "the due day itself is not overdue"
        );
        assert!(action_to(&a, day(11)).overdue);
        a.status = "done".into();
        a.done_on = Some(day(12));
        let shown = action_to(&a, day(20));
        assert!(!shown.overdue && shown.late);
        a.done_on = Some(day(10));
        assert!(!action_to(&a, day(20)).late);
    }
}
