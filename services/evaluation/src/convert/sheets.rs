//! `pbm.evaluation.v1.SelfEvaluationService` on the wire: the text maxima of its requests, the
//! sheet and its history as messages, the sheet statuses and the unit's entries.

use pbm_proto::evaluation::v1 as ev;
use pbm_proto::goal::v1 as goal;
use pbm_proto::indicator::v1 as ind;
use pbm_server::wire::{decimal, stamp};
use pbm_types::FieldViolation;

use super::limits::{Bounded, CODE, Evaluation, LONG, Texts, each_nested};
use super::scores::{grade_word_to, score_to_proto, tier_from, tier_to};
use crate::domain::table::EntryInput;
use crate::domain::workflow::SheetStatus;
use crate::store::{SheetEventRow, SheetIndicatorRow, SheetRow};

/// Longest entry text (实际完成值 of a 定性 indicator, reasons, causes, measures) and return
/// reason: the contract's 2,000.
pub const ENTRY_TEXT: usize = 2000;
/// Longest 实际完成值 of a ≥ ≤ = indicator (a number).
pub const ACHIEVED_NUMBER: usize = 64;

impl Bounded<Evaluation> for ev::IndicatorEntry {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "achieved_value",
            "实际完成值",
            &self.achieved_value,
            ENTRY_TEXT,
        );
        t.number(
            at,
            "qualitative_score",
            "定性得分",
            self.qualitative_score.as_ref(),
        );
        t.text(
            at,
            "not_applicable_reason",
            "不适用理由",
            &self.not_applicable_reason,
            ENTRY_TEXT,
        );
        t.text(
            at,
            "deviation_causes",
            "偏差原因",
            &self.deviation_causes,
            ENTRY_TEXT,
        );
        t.text(
            at,
            "improvement_measures",
            "改进措施",
            &self.improvement_measures,
            ENTRY_TEXT,
        );
    }
}

impl Bounded<Evaluation> for ev::SaveSelfEvaluationRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        each_nested(t, at, "entries", &self.entries);
        t.text(
            at,
            "execution_reason",
            "预算执行率未达标原因",
            &self.execution_reason,
            ENTRY_TEXT,
        );
        t.text(at, "summary", "自评结论", &self.summary, LONG);
    }
}

impl Bounded<Evaluation> for ev::ListSelfEvaluationsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "department_code",
            "主管部门编码",
            &self.department_code,
            CODE,
        );
        t.text(at, "agency_code", "单位编码", &self.agency_code, CODE);
    }
}

impl Bounded<Evaluation> for ev::ReviewSelfEvaluationRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "reason", "退回理由", &self.reason, ENTRY_TEXT);
    }
}

impl Bounded<Evaluation> for ev::ReceiveSelfEvaluationRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "reason", "退回理由", &self.reason, ENTRY_TEXT);
    }
}

/// A sheet status on the wire.
pub fn status_to(s: SheetStatus) -> ev::SheetStatus {
    match s {
        SheetStatus::NotStarted => ev::SheetStatus::NotStarted,
        SheetStatus::Draft => ev::SheetStatus::Draft,
        SheetStatus::Submitted => ev::SheetStatus::Submitted,
        SheetStatus::Reviewed => ev::SheetStatus::Reviewed,
        SheetStatus::Received => ev::SheetStatus::Received,
        SheetStatus::Returned => ev::SheetStatus::Returned,
    }
}

/// A wire status (`None` for UNSPECIFIED or an unknown number).
pub fn status_from(s: i32) -> Option<SheetStatus> {
    let s = ev::SheetStatus::try_from(s).ok()?;
    SheetStatus::ALL
        .iter()
        .copied()
        .find(|x| status_to(*x) == s)
}

fn status_word_to(word: &str) -> ev::SheetStatus {
    SheetStatus::from_db(word).map_or(ev::SheetStatus::Unspecified, status_to)
}

fn direction_to(word: &str) -> ind::Direction {
    match word {
        "ge" => ind::Direction::Ge,
        "le" => ind::Direction::Le,
        "eq" => ind::Direction::Eq,
        "qualitative" => ind::Direction::Qualitative,
        _ => ind::Direction::Unspecified,
    }
}

fn fund_source_to(word: &str) -> goal::FundSource {
    goal::FundSource::from_str_name(&format!("FUND_SOURCE_{}", word.to_ascii_uppercase()))
        .unwrap_or_default()
}

fn special_field_to(word: &str) -> goal::SpecialField {
    goal::SpecialField::from_str_name(&format!("SPECIAL_FIELD_{}", word.to_ascii_uppercase()))
        .unwrap_or_default()
}

/// The unit's entry of a stored indicator.
pub fn entry_to(r: &SheetIndicatorRow) -> ev::IndicatorEntry {
    ev::IndicatorEntry {
        seq: r.seq,
        achieved_value: r.achieved_value.clone(),
        tier: crate::convert::scores::tier_of_word(&r.tier).map_or(0, |t| tier_to(t) as i32),
        qualitative_score: r.qualitative_score.and_then(|m| decimal(m.0)),
        not_applicable: r.not_applicable,
        not_applicable_reason: r.not_applicable_reason.clone(),
        deviation_causes: r.deviation_causes.clone(),
        improvement_measures: r.improvement_measures.clone(),
    }
}

/// The entries of a request as the domain's, or every entry's problem (an unknown tier, a
/// score that is not a decimal) under `entries[i]`.
pub fn entries_from(
    entries: &[ev::IndicatorEntry],
) -> Result<Vec<EntryInput>, Vec<FieldViolation>> {
    let mut out = Vec::with_capacity(entries.len());
    let mut bad = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let tier = match e.tier {
            0 => None,
            n => tier_from(n).or_else(|| {
                bad.push(FieldViolation::new(
                    format!("entries[{i}].tier"),
                    "TIER_INVALID",
                    format!("定性档次 {n} 不是有效的档次"),
                ));
                None
            }),
        };
        let qualitative_score = match e.qualitative_score.as_ref().map(|d| d.value.trim()) {
            None | Some("") => None,
            Some(text) => pbm_types::decimal::parse(text).ok().or_else(|| {
                bad.push(FieldViolation::new(
                    format!("entries[{i}].qualitative_score"),
                    "QUALITATIVE_SCORE_INVALID",
                    format!("定性得分「{text}」不是有效的数字"),
                ));
                None
            }),
        };
        out.push(EntryInput {
            seq: e.seq,
            achieved_value: e.achieved_value.trim().to_owned(),
            tier,
            qualitative_score,
            not_applicable: e.not_applicable,
            not_applicable_reason: e.not_applicable_reason.trim().to_owned(),
            deviation_causes: e.deviation_causes.trim().to_owned(),
            improvement_measures: e.improvement_measures.trim().to_owned(),
        });
    }
    if bad.is_empty() { Ok(out) } else { Err(bad) }
}

/// Where a sheet stands against its deadline, as the reads show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineView {
    pub status: ev::DeadlineStatus,
    /// The effective deadline.
    pub deadline: chrono::NaiveDate,
}

/// A sheet as a message; its indicators (with their entries and the engine's scores) only when
/// `indicators` is given (GetSelfEvaluation; lists leave them out).
pub fn sheet_to(
    row: &SheetRow,
    fiscal_year: i32,
    indicators: Option<&[SheetIndicatorRow]>,
    deadline: DeadlineView,
) -> ev::SelfEvaluation {
    let score = score_to_proto(&row.score);
    let indicators = indicators
        .unwrap_or_default()
        .iter()
        .map(|r| ev::SheetIndicator {
            seq: r.seq,
            level1_name: r.level1_name.clone(),
            level2_name: r.level2_name.clone(),
            name: r.name.clone(),
            direction: direction_to(&r.direction) as i32,
            unit: r.unit.clone(),
            target_value: r.target_value.clone(),
            goal_weight: r.goal_weight.and_then(|w| decimal(w.0)),
            entry: Some(entry_to(r)),
            score: score.indicators.iter().find(|s| s.seq == r.seq).cloned(),
        })
        .collect();
    ev::SelfEvaluation {
        id: row.id,
        campaign_id: row.campaign_id,
        fiscal_year,
        subject_key: row.subject_key.clone(),
        pro_code: row.pro_code.clone(),
        department_code: row.department_code.clone(),
        agency_code: row.agency_code.clone(),
        name: row.name.clone(),
        fund_source: fund_source_to(&row.fund_source) as i32,
        special_field: special_field_to(&row.special_field) as i32,
        goal_id: row.goal_id,
        goal_version: row.goal_version,
        year_goal: row.year_goal.clone(),
        budget: decimal(row.budget.0),
        executed: decimal(row.executed.0),
        execution_month: row.execution_month,
        execution_reason: row.execution_reason.clone(),
        summary: row.summary.clone(),
        indicators,
        score: Some(score),
        status: status_word_to(&row.status) as i32,
        revision: row.revision,
        deadline_status: deadline.status as i32,
        deadline: deadline.deadline.to_string(),
        late: row.late,
        red_warnings: row.red_warnings,
        return_reason: row.return_reason.clone(),
        submitted: match (&row.submitted_by, row.submitted_at) {
            (Some(by), Some(at)) => Some(stamp(by, at)),
            _ => None,
        },
        changed: Some(stamp(&row.changed_by, row.changed_at)),
    }
}

/// A row of a sheet's history as a message.
pub fn event_to(e: &SheetEventRow) -> ev::SheetEvent {
    ev::SheetEvent {
        revision: e.revision,
        action: e.action.clone(),
        from: status_word_to(&e.from_status) as i32,
        to: status_word_to(&e.to_status) as i32,
        reason: e.reason.clone(),
        total: decimal(e.total.0),
        grade: grade_word_to(&e.grade) as i32,
        at: Some(stamp(&e.at_by, e.at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_both_ways() {
        for &s in SheetStatus::ALL {
            assert_eq!(status_from(status_to(s) as i32), Some(s));
        }
        assert_eq!(status_from(0), None);
        assert_eq!(status_from(99), None);
    }

    #[test]
    fn entries_are_read_with_every_problem_at_once() {
        let entries = vec![
            ev::IndicatorEntry {
                seq: 1,
                achieved_value: " 12 ".into(),
                ..Default::default()
            },
            ev::IndicatorEntry {
                seq: 2,
                tier: 9,
                qualitative_score: Some(pbm_proto::common::v1::Decimal {
                    value: "八".into()
                }),
                ..Default::default()
            },
        ];
        let bad = entries_from(&entries).unwrap_err();
        let fields: Vec<(&str, &str)> = bad.iter().map(|v| (v.field.as_str(), v.reason)).collect();
        assert_eq!(
            fields,
            [
                ("entries[1].tier", "TIER_INVALID"),
                ("entries[1].qualitative_score", "QUALITATIVE_SCORE_INVALID")
            ]
        );
        let good = entries_from(&entries[..1]).unwrap();
        assert_eq!(good[0].achieved_value, "12");
    }
}
